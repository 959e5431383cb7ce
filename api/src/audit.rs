//! `armsledger audit`: the auditor's tool. It trusts nothing but the log's verifier key it
//! was given, and checks what a server says of one weapon (or licence, end-user
//! certificate, consignment):
//! 1. the checkpoint is signed by that key, and is consistent (RFC 9162 consistency proof)
//!    with the checkpoint this auditor saw last time (kept in a local state file), so the
//!    log was neither rewritten nor forked between two audits;
//! 2. every entry of the weapon's history hashes to a leaf whose inclusion proof leads to
//!    that checkpoint's root;
//! 3. the entries form the stream's chain: versions 0, 1, 2... each pointing at the one
//!    before (`stream_prev`), so no entry between the ones shown was left out;
//! 4. every event's signature verifies under its actor's key, and that key was registered
//!    (by an entry the auditor checks the same way) before the event and not revoked at it.
//!
//! 5. every policy decision recorded with an entry re-runs to the same answer: the module
//!    and the input are fetched by the hashes the entry commits to and checked against
//!    them, the input must judge this very event, and the auditor's own policy host runs
//!    the module on it (same outcome, reasons, conditions and fuel).
//!
//! Any failure names what the server got wrong, with a stable code; the command exits 1.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::entry::Entry;
use ledger::json::Json;
use ledger::merkle::{self, Hash};
use ledger::note::{self, NoteVerifier};
use serde::{Deserialize, Serialize};

/// Something the server said that does not hold.
#[derive(Debug, thiserror::Error)]
#[error("{what} [{code}]")]
pub struct AuditFailure {
    pub code: &'static str,
    pub what: String,
}

fn failure(code: &'static str, what: impl Into<String>) -> AuditFailure {
    AuditFailure {
        code,
        what: what.into(),
    }
}

/// What the auditor keeps between audits.
#[derive(Debug, Serialize, Deserialize)]
struct AuditState {
    origin: String,
    tree_size: u64,
    root: String,
}

/// What an audit found.
#[derive(Debug)]
pub struct AuditReport {
    pub tree_size: u64,
    pub entries: usize,
    /// The tree size of the checkpoint this one was proved consistent with, if any.
    pub consistent_with: Option<u64>,
    /// Policy decisions re-run to the same answer.
    pub decisions_replayed: usize,
}

struct Server<'a> {
    base: &'a str,
    token: &'a str,
    agent: ureq::Agent,
}

impl Server<'_> {
    fn get(&self, path: &str) -> Result<Vec<u8>, AuditFailure> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let mut response = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .call()
            .map_err(|e| failure("server_unreachable", format!("GET {url}: {e}")))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| failure("server_unreachable", format!("GET {url}: {e}")))?;
        if status != 200 {
            return Err(failure(
                "server_error",
                format!("GET {url}: {status} {}", String::from_utf8_lossy(&body)),
            ));
        }
        Ok(body)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, AuditFailure> {
        serde_json::from_slice(&self.get(path)?)
            .map_err(|e| failure("malformed_response", format!("{path}: {e}")))
    }
}

#[derive(Deserialize)]
struct HistoryItem {
    index: u64,
    entry: serde_json::Value,
    leaf_hash: String,
    inclusion_proof: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct History {
    checkpoint: String,
    entries: Vec<HistoryItem>,
}

#[derive(Deserialize)]
struct InclusionProof {
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct ConsistencyProof {
    proof: Vec<String>,
}

#[derive(Deserialize)]
struct KeyItem {
    key_id: String,
    public_key: String,
    registered_at_index: u64,
    revoked_at_index: Option<u64>,
}

#[derive(Deserialize)]
struct AuthorityItem {
    id: String,
    keys: Vec<KeyItem>,
}

#[derive(Deserialize)]
struct Authorities {
    authorities: Vec<AuthorityItem>,
}

fn hashes(list: &[String]) -> Result<Vec<Hash>, AuditFailure> {
    list.iter()
        .map(|h| {
            merkle::hash_from_base64(h).map_err(|e| failure("malformed_response", e.to_string()))
        })
        .collect()
}

/// The stored bytes of an entry the server showed as JSON: entries are canonical JCS, so
/// the canonical form of what was shown is what was stored, if the server did not edit it.
fn canonical(entry: &serde_json::Value) -> Result<Vec<u8>, AuditFailure> {
    let text =
        serde_json::to_vec(entry).map_err(|e| failure("malformed_response", e.to_string()))?;
    Json::parse(&text, ledger::entry::EVENT_DEPTH_MAX + 2)
        .map(|j| j.to_canonical_vec())
        .map_err(|e| failure("malformed_entry", e.to_string()))
}

/// Checks that `bytes` is the leaf at `index` of the checkpointed tree.
fn included(
    index: u64,
    bytes: &[u8],
    proof: &[Hash],
    checkpoint: &note::Checkpoint,
) -> Result<(), AuditFailure> {
    let leaf = merkle::leaf_hash(bytes);
    merkle::verify_inclusion(index, checkpoint.size, &leaf, proof, &checkpoint.root).map_err(|e| {
        failure(
            "inclusion_failed",
            format!("entry {index} is not in the checkpointed tree as shown: {e}"),
        )
    })
}

/// Whether `entry` registers (or rotates in) `key_id` with `public_key` for `actor`.
fn registers(entry: &Entry, actor: &str, key_id: &str, public_key: &str) -> bool {
    let envelope = entry.event.envelope();
    if envelope.stream.as_str() != format!("authority:{actor}") {
        return false;
    }
    let names = |o: &ledger::json::Object| {
        o.get("key_id").and_then(Json::as_str) == Some(key_id)
            && o.get("public_key").and_then(Json::as_str) == Some(public_key)
    };
    match envelope.event_type.as_str() {
        ledger::registry::AUTHORITY_REGISTERED => matches!(
            envelope.payload.get("keys"),
            Some(Json::Array(keys)) if keys.iter().any(|k| k.as_object().is_some_and(names))
        ),
        ledger::registry::AUTHORITY_KEY_ROTATED => names(&envelope.payload),
        _ => false,
    }
}

/// Audits one weapon's history as served at `base`.
/// What is audited: a stream with a history endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    Weapon(&'a str),
    Licence(&'a str),
    Euc(&'a str),
    Consignment(&'a str),
}

impl Subject<'_> {
    fn history_path(&self) -> String {
        match self {
            Subject::Weapon(id) => format!("/v1/weapons/{id}/history"),
            Subject::Licence(id) => format!("/v1/licences/{id}/history"),
            Subject::Euc(id) => format!("/v1/eucs/{id}/history"),
            Subject::Consignment(id) => format!("/v1/consignments/{id}/history"),
        }
    }
}

/// Audits one weapon's history.
pub fn audit_weapon(
    base: &str,
    token: &str,
    vkey: &str,
    weapon: &str,
    state_file: &Path,
) -> Result<AuditReport, AuditFailure> {
    audit(base, token, vkey, Subject::Weapon(weapon), state_file)
}

/// Audits one stream's history: checks 1 to 5 of the module.
pub fn audit(
    base: &str,
    token: &str,
    vkey: &str,
    subject: Subject<'_>,
    state_file: &Path,
) -> Result<AuditReport, AuditFailure> {
    let verifier = NoteVerifier::from_vkey(vkey)
        .map_err(|e| failure("invalid_vkey", format!("the verifier key: {e}")))?;
    let server = Server {
        base,
        token,
        agent: ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build(),
        ),
    };
    let history: History = server.json(&subject.history_path())?;
    let checkpoint = note::open_checkpoint(&verifier, &history.checkpoint).map_err(|e| {
        failure(
            "checkpoint_signature",
            format!("the checkpoint is not signed by the trusted key: {e}"),
        )
    })?;

    // 1. Consistency with what this auditor saw before.
    let previous: Option<AuditState> = match std::fs::read(state_file) {
        Ok(bytes) => Some(
            serde_json::from_slice(&bytes)
                .map_err(|e| failure("state_file", format!("{}: {e}", state_file.display())))?,
        ),
        Err(_) => None,
    };
    let mut consistent_with = None;
    if let Some(previous) = &previous {
        if previous.origin != checkpoint.origin {
            return Err(failure(
                "other_log",
                "the state file belongs to another log",
            ));
        }
        let old_root = merkle::hash_from_base64(&previous.root)
            .map_err(|e| failure("state_file", e.to_string()))?;
        if previous.tree_size > checkpoint.size {
            return Err(failure(
                "log_rolled_back",
                format!(
                    "the log shrank from {} to {} entries since the last audit",
                    previous.tree_size, checkpoint.size
                ),
            ));
        }
        // A server that cannot prove the step from the last checkpoint to this one has
        // shown a checkpoint that is not an extension of it.
        let proof: ConsistencyProof = server
            .json(&format!(
                "/v1/log/proof/consistency?from={}&to={}",
                previous.tree_size, checkpoint.size
            ))
            .map_err(|e| failure("log_forked", format!("no consistency proof: {}", e.what)))?;
        merkle::verify_consistency(
            previous.tree_size,
            checkpoint.size,
            &old_root,
            &checkpoint.root,
            &hashes(&proof.proof)?,
        )
        .map_err(|e| {
            failure(
                "log_forked",
                format!(
                    "the checkpoint of {} entries is not an extension of the one of {} seen last time: {e}",
                    checkpoint.size, previous.tree_size
                ),
            )
        })?;
        consistent_with = Some(previous.tree_size);
    }

    // 2-4. Every entry: its leaf, its place in the chain, its signature.
    let authorities: Authorities = server.json("/v1/authorities")?;
    let keys: HashMap<(String, String), &KeyItem> = authorities
        .authorities
        .iter()
        .flat_map(|a| {
            a.keys
                .iter()
                .map(move |k| ((a.id.clone(), k.key_id.clone()), k))
        })
        .collect();
    let mut verified_registrations: HashMap<u64, Entry> = HashMap::new();
    let mut replayer = Replayer::default();
    let mut decisions_replayed = 0;
    let mut previous_index: Option<u64> = None;
    for (version, item) in history.entries.iter().enumerate() {
        let bytes = canonical(&item.entry)?;
        let leaf = merkle::leaf_hash(&bytes);
        if STANDARD.encode(leaf) != item.leaf_hash {
            return Err(failure(
                "leaf_mismatch",
                format!(
                    "entry {} does not hash to the leaf the server gives",
                    item.index
                ),
            ));
        }
        let proof = item.inclusion_proof.as_ref().ok_or_else(|| {
            failure(
                "unproven_entry",
                format!("entry {} comes without a proof", item.index),
            )
        })?;
        included(item.index, &bytes, &hashes(proof)?, &checkpoint)?;
        let entry = Entry::parse(&bytes)
            .map_err(|e| failure("malformed_entry", format!("entry {}: {e}", item.index)))?;
        if entry.index != item.index
            || entry.stream_version != version as u64
            || entry.stream_prev != previous_index
        {
            return Err(failure(
                "chain_broken",
                format!(
                    "entry {} is version {} after entry {:?}; the chain expects version {version} after {previous_index:?}: an entry is missing or out of place",
                    item.index, entry.stream_version, entry.stream_prev
                ),
            ));
        }
        previous_index = Some(item.index);
        let envelope = entry.event.envelope();
        let key = keys
            .get(&(envelope.actor.to_string(), envelope.key_id.to_string()))
            .ok_or_else(|| {
                failure(
                    "unknown_signer",
                    format!(
                        "entry {}: no key {} of {}",
                        item.index, envelope.key_id, envelope.actor
                    ),
                )
            })?;
        let valid = key.registered_at_index <= item.index
            && key.revoked_at_index.is_none_or(|r| item.index < r);
        if !valid {
            return Err(failure(
                "key_not_valid",
                format!(
                    "entry {}: key {} of {} was not valid at it",
                    item.index, key.key_id, envelope.actor
                ),
            ));
        }
        // The key itself must be what the log recorded: check its registration entry.
        if let std::collections::hash_map::Entry::Vacant(slot) =
            verified_registrations.entry(key.registered_at_index)
        {
            let at = key.registered_at_index;
            let line = server.get(&format!("/v1/log/entries?from={at}&limit=1"))?;
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let proof: InclusionProof = server.json(&format!(
                "/v1/log/proof/inclusion?index={at}&tree_size={}",
                checkpoint.size
            ))?;
            included(at, line, &hashes(&proof.proof)?, &checkpoint)?;
            let registration = Entry::parse(line)
                .map_err(|e| failure("malformed_entry", format!("entry {at}: {e}")))?;
            slot.insert(registration);
        }
        let registration = &verified_registrations[&key.registered_at_index];
        let names_key = registers(
            registration,
            envelope.actor.as_str(),
            &key.key_id,
            &key.public_key,
        );
        if !names_key {
            return Err(failure(
                "key_not_in_log",
                format!(
                    "the key the server gives for {} is not the one its entry {} registered",
                    envelope.actor, key.registered_at_index
                ),
            ));
        }
        let public_key = ledger::crypto::PublicKey::from_base64(&key.public_key)
            .map_err(|e| failure("malformed_response", e.to_string()))?;
        ledger::crypto::verify_strict(
            &public_key,
            entry.event.signing_bytes(),
            entry.event.signature(),
        )
        .map_err(|_| {
            failure(
                "signature_invalid",
                format!(
                    "entry {}: the event's signature does not verify",
                    item.index
                ),
            )
        })?;
        decisions_replayed += replay_decisions(&server, &mut replayer, item.index, &entry)?;
    }

    let state = AuditState {
        origin: checkpoint.origin.clone(),
        tree_size: checkpoint.size,
        root: STANDARD.encode(checkpoint.root),
    };
    let text =
        serde_json::to_vec_pretty(&state).map_err(|e| failure("state_file", e.to_string()))?;
    std::fs::write(state_file, text)
        .map_err(|e| failure("state_file", format!("{}: {e}", state_file.display())))?;
    Ok(AuditReport {
        tree_size: checkpoint.size,
        entries: history.entries.len(),
        consistent_with,
        decisions_replayed,
    })
}

/// The auditor's own policy host and the modules it fetched, by hash.
#[derive(Default)]
struct Replayer {
    host: Option<std::sync::Arc<plugins::PolicyHost>>,
    modules: HashMap<String, Vec<u8>>,
}

/// A blob by its hash, checked against it.
fn fetch_blob(server: &Server<'_>, sha256: &str, what: &str) -> Result<Vec<u8>, AuditFailure> {
    let bytes = server.get(&format!("/v1/policies/blobs/{sha256}"))?;
    if ledger::policy::sha256_hex(&bytes) != sha256 {
        return Err(failure(
            "blob_mismatch",
            format!("the {what} the server gives for {sha256} has another hash"),
        ));
    }
    Ok(bytes)
}

/// Re-runs every decision recorded with `entry`; returns how many.
fn replay_decisions(
    server: &Server<'_>,
    replayer: &mut Replayer,
    index: u64,
    entry: &Entry,
) -> Result<usize, AuditFailure> {
    let decisions = ledger::policy::PolicyDecision::from_entry(&entry.decisions)
        .map_err(|e| failure("malformed_entry", format!("entry {index}: {e}")))?;
    for recorded in &decisions {
        let input = fetch_blob(server, &recorded.input_sha256, "decision input")?;
        let judged: serde_json::Value = serde_json::from_slice(&input)
            .map_err(|e| failure("blob_mismatch", format!("entry {index}: the input: {e}")))?;
        let event: serde_json::Value =
            serde_json::from_slice(&entry.event.to_canonical_vec()).unwrap_or_default();
        if judged.get("event") != Some(&event) {
            return Err(failure(
                "decision_input_mismatch",
                format!(
                    "entry {index}: the input of policy {}'s decision judges another event",
                    recorded.policy
                ),
            ));
        }
        let module = match replayer.modules.get(&recorded.sha256) {
            Some(module) => module.clone(),
            None => {
                let module = fetch_blob(server, &recorded.sha256, "policy module")?;
                replayer
                    .modules
                    .insert(recorded.sha256.clone(), module.clone());
                module
            }
        };
        let host = match &replayer.host {
            Some(host) => host.clone(),
            None => {
                let host = plugins::PolicyHost::new(plugins::HostLimits::default(), None)
                    .map_err(|e| failure("policy_host", e.to_string()))?;
                replayer.host = Some(host.clone());
                host
            }
        };
        let verdict = host.evaluate_bytes(&module, &input);
        let same = verdict.outcome == recorded.outcome
            && verdict.reasons == recorded.reasons
            && verdict.conditions == recorded.conditions
            && verdict.fuel_used == recorded.fuel_used;
        if !same {
            return Err(failure(
                "decision_mismatch",
                format!(
                    "entry {index}: policy {} (module {}) decides {:?} with {} fuel on the recorded input; the entry records {:?} with {}",
                    recorded.policy,
                    recorded.sha256,
                    verdict.outcome,
                    verdict.fuel_used,
                    recorded.outcome,
                    recorded.fuel_used
                ),
            ));
        }
    }
    Ok(decisions.len())
}
