//! `armsledger policy ...`: what a State's policy author and its licensing authority run.
//!
//! - `test`: a module against its fixtures, offline, on the same host the ledger runs;
//! - `diff`: a candidate over a ledger file's recorded decisions, listing those it would
//!   change (shadow mode, before it is installed);
//! - `install` / `activate` / `retire`: upload the module (and data) to a server by hash and
//!   submit the signed lifecycle events.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use ledger::json::{Json, Object};
use ledger::policy::{PolicyDecision, PolicyRunner};
use plugins::{HostLimits, PolicyHost};
use serde_json::json;

/// Where a signed event goes and who signs it (`submit` and the policy lifecycle).
#[derive(Debug, clap::Args)]
pub struct Signing {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// The signing authority's private key (PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// The signing authority (for a policy: a licensing authority, ministry or
    /// administrator of its State).
    #[arg(long)]
    pub actor: String,
    /// The key id the actor registered the key under.
    #[arg(long, default_value = "k1")]
    pub key_id: String,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run a module on every fixture of a directory (`{name, input, expect}` files) and
    /// say which decisions differ from the expected ones. Exits 1 if any does.
    Test {
        /// The compiled policy (.wasm).
        #[arg(long)]
        module: PathBuf,
        /// The directory of fixtures (*.json).
        #[arg(long)]
        fixtures: PathBuf,
        /// The policy's data file, given to fixtures whose input has no `data`.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Replay a candidate module over the decisions an installed policy recorded in a
    /// ledger file (stopped server, or a copy), on the very inputs it decided on, and list
    /// the decisions the candidate would change.
    Diff {
        /// The ledger file (not in use by a server).
        #[arg(long)]
        db: PathBuf,
        /// The installed policy whose recorded decisions are replayed.
        #[arg(long)]
        policy: String,
        /// The candidate module (.wasm).
        #[arg(long)]
        module: PathBuf,
        /// The candidate's data file, replacing the recorded inputs' `data`.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Upload a module (and its data file) to a server and submit the signed
    /// PolicyInstalled event; with --activate, the PolicyActivated event too.
    Install {
        #[command(flatten)]
        signing: Signing,
        /// A bearer token for the upload (authority or auditor).
        #[arg(long)]
        token: String,
        /// The policy's id, as in its stream `policy:<id>`.
        #[arg(long)]
        id: String,
        /// The compiled policy (.wasm).
        #[arg(long)]
        module: PathBuf,
        /// Its data file (JSON), if it reads one.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The event types it governs (default: those its metadata lists).
        #[arg(long)]
        governs: Vec<String>,
        /// Its version, as its State numbers it (each install of an id raises it).
        #[arg(long, default_value_t = 1)]
        version: u32,
        /// The State whose rules it encodes (default: its metadata's jurisdiction).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Activate it at once.
        #[arg(long)]
        activate: bool,
    },
    /// Submit PolicyActivated: the installed policy starts to govern its event types.
    Activate {
        #[command(flatten)]
        signing: Signing,
        #[arg(long)]
        id: String,
    },
    /// Submit PolicyRetired: the policy stops governing; its past decisions stay.
    Retire {
        #[command(flatten)]
        signing: Signing,
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub fn run(command: PolicyCommand, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    match command {
        PolicyCommand::Test {
            module,
            fixtures,
            data,
        } => test(&module, &fixtures, data.as_deref(), out, err),
        PolicyCommand::Diff {
            db,
            policy,
            module,
            data,
        } => diff(&db, &policy, &module, data.as_deref(), out),
        PolicyCommand::Install {
            signing,
            token,
            id,
            module,
            data,
            governs,
            version,
            jurisdiction,
            activate,
        } => {
            let installed = Install {
                id: &id,
                module: &module,
                data: data.as_deref(),
                governs,
                version,
                jurisdiction,
            };
            install(&signing, &token, &installed, out, err)?;
            if activate {
                lifecycle(&signing, &id, "PolicyActivated", Object::new(), out, err)
            } else {
                Ok(0)
            }
        }
        PolicyCommand::Activate { signing, id } => {
            lifecycle(&signing, &id, "PolicyActivated", Object::new(), out, err)
        }
        PolicyCommand::Retire {
            signing,
            id,
            reason,
        } => {
            let mut extra = Object::new();
            if let Some(reason) = reason {
                extra.insert("reason", Json::str(reason));
            }
            lifecycle(&signing, &id, "PolicyRetired", extra, out, err)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn read_data(path: Option<&Path>) -> anyhow::Result<Option<serde_json::Value>> {
    path.map(|p| {
        serde_json::from_slice(&read(p)?).with_context(|| format!("{} is not JSON", p.display()))
    })
    .transpose()
}

fn host() -> anyhow::Result<std::sync::Arc<PolicyHost>> {
    Ok(PolicyHost::new(HostLimits::default(), None)?)
}

fn test(
    module: &Path,
    fixtures: &Path,
    data: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let bytes = read(module)?;
    let data = read_data(data)?;
    let host = host()?;
    let metadata = host
        .inspect(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", module.display()))?;
    let results = plugins::run_fixtures(&host, &bytes, fixtures, data.as_ref())
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut failed = 0;
    for result in &results {
        match &result.failure {
            None => writeln!(
                out,
                "ok    {} ({} fuel)",
                result.name, result.verdict.fuel_used
            )?,
            Some(why) => {
                failed += 1;
                writeln!(out, "FAIL  {}: {why}", result.name)?;
            }
        }
    }
    let summary = format!(
        "{}: {} fixtures, {} passed, {failed} failed",
        metadata.name,
        results.len(),
        results.len() - failed
    );
    if failed == 0 {
        writeln!(out, "{summary}")?;
        Ok(0)
    } else {
        writeln!(err, "{summary}")?;
        Ok(1)
    }
}

fn diff(
    db: &Path,
    policy: &str,
    module: &Path,
    data: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let candidate = read(module)?;
    let data = read_data(data)?;
    let host = host()?;
    host.inspect(&candidate)
        .map_err(|e| anyhow::anyhow!("{}: {e}", module.display()))?;
    let reader = ledger::store::LogReader::open_file(db)
        .with_context(|| format!("opening {} (stop the server, or use a copy)", db.display()))?;
    let (mut replayed, mut changed) = (0_u64, 0_u64);
    for index in 0..reader.tree_size()? {
        let Some(entry) = reader.entry(index)? else {
            continue;
        };
        let decisions =
            PolicyDecision::from_entry(&entry.decisions).map_err(|e| anyhow::anyhow!(e))?;
        for recorded in decisions.iter().filter(|d| d.policy == policy) {
            let Some(input) = reader.policy_blob(&recorded.input_sha256)? else {
                bail!(
                    "entry {index}: the input {} is not stored",
                    recorded.input_sha256
                );
            };
            let input = match &data {
                Some(data) => {
                    let mut value: serde_json::Value = serde_json::from_slice(&input)?;
                    value["data"] = data.clone();
                    serde_json::to_vec(&value)?
                }
                None => input,
            };
            let verdict = host.evaluate_bytes(&candidate, &input);
            replayed += 1;
            let codes = |reasons: &[ledger::policy::PolicyReason]| {
                reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>()
            };
            if verdict.outcome != recorded.outcome
                || codes(&verdict.reasons) != codes(&recorded.reasons)
            {
                changed += 1;
                let env = entry.event.envelope();
                writeln!(
                    out,
                    "{}",
                    json!({
                        "index": index,
                        "stream": env.stream.as_str(),
                        "type": env.event_type.as_str(),
                        "occurred_at": env.occurred_at.as_str(),
                        "recorded": {"outcome": recorded.outcome, "reasons": recorded.reasons},
                        "candidate": {"outcome": verdict.outcome, "reasons": verdict.reasons},
                    })
                )?;
            }
        }
    }
    writeln!(
        out,
        "{replayed} recorded decisions of policy {policy} replayed; the candidate changes {changed}"
    )?;
    Ok(0)
}

/// What `install` installs.
struct Install<'a> {
    id: &'a str,
    module: &'a Path,
    data: Option<&'a Path>,
    governs: Vec<String>,
    version: u32,
    jurisdiction: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

/// POSTs a JSON `body` (with a bearer token if given); returns the status and the reply.
pub(crate) fn post(
    url: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> anyhow::Result<(u16, String)> {
    let target = format!("{}{path}", url.trim_end_matches('/'));
    let mut request = agent().post(&target);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request
        .header("Content-Type", "application/json")
        .send(body)
        .with_context(|| format!("POST {target}"))?;
    let status = response.status().as_u16();
    Ok((
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    ))
}

fn upload(url: &str, token: &str, bytes: &[u8]) -> anyhow::Result<serde_json::Value> {
    let (status, reply) = post(url, "/v1/policies/blobs", Some(token), bytes)?;
    if status != 201 {
        bail!("the server refused the upload ({status}): {reply}");
    }
    Ok(serde_json::from_str(&reply)?)
}

fn install(
    signing: &Signing,
    token: &str,
    policy: &Install<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let module = read(policy.module)?;
    let uploaded = upload(&signing.url, token, &module)?;
    let metadata = &uploaded["metadata"];
    let mut payload = json!({
        "policy_id": policy.id,
        "name": metadata["name"],
        "jurisdiction": policy.jurisdiction.as_deref().map_or(metadata["jurisdiction"].clone(), |j| json!(j)),
        "version": policy.version,
        "module_sha256": uploaded["sha256"],
        "governs": if policy.governs.is_empty() { metadata["governs"].clone() } else { json!(policy.governs) },
    });
    if let Some(data) = policy.data {
        let uploaded = upload(&signing.url, token, &read(data)?)?;
        payload["data_sha256"] = uploaded["sha256"].clone();
    }
    writeln!(
        out,
        "uploaded module {} ({})",
        uploaded["sha256"].as_str().unwrap_or_default(),
        metadata["name"].as_str().unwrap_or_default()
    )?;
    let Json::Object(payload) = Json::parse(&serde_json::to_vec(&payload)?, 16)? else {
        bail!("a payload is an object");
    };
    submit_lifecycle(
        signing,
        policy.id,
        "PolicyInstalled",
        "none",
        payload,
        out,
        err,
    )
}

fn lifecycle(
    signing: &Signing,
    id: &str,
    event_type: &str,
    mut payload: Object,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    payload.insert("policy_id", Json::str(id));
    submit_lifecycle(signing, id, event_type, "any", payload, out, err)
}

fn submit_lifecycle(
    signing: &Signing,
    id: &str,
    event_type: &str,
    expected_version: &str,
    payload: Object,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let pem = std::fs::read_to_string(&signing.key)
        .with_context(|| format!("reading {}", signing.key.display()))?;
    let key = ledger::crypto::signing_key_from_pem(&pem)
        .with_context(|| format!("{} is not a PKCS#8 ed25519 key", signing.key.display()))?;
    let mut event = Object::new();
    event.insert("stream", Json::str(format!("policy:{id}")));
    event.insert("type", Json::str(event_type));
    event.insert("type_version", Json::Int(1));
    event.insert("expected_version", Json::str(expected_version));
    event.insert("payload", Json::Object(payload));
    let signed = crate::cli::sign_event(event, &signing.actor, &signing.key_id, &key)?;
    let (status, reply) = post(&signing.url, "/v1/events", None, &signed.to_canonical_vec())?;
    if status == 200 || status == 201 {
        writeln!(out, "{event_type} policy:{id}: {reply}")?;
        Ok(0)
    } else {
        writeln!(err, "{event_type} refused ({status}): {reply}")?;
        Ok(1)
    }
}
