//! `verify`: the fsck of the ledger. Trusts nothing in the file but its entries, and
//! checks every other table against what the entries imply.
//!
//! It re-reads every entry in order and checks: its bytes are canonical and its index
//! is its position; `recorded_at` never goes back; the leaf and every stored Merkle
//! node equal what the entries hash to; each stored checkpoint's root equals the
//! recomputed root at its size and carries a valid signature of the log key; each
//! event's signature verifies under the key its actor had registered and unrevoked at
//! that index (the registry replayed from entry 0; signatures checked in parallel on all
//! cores); each stream's versions count 0, 1, 2... with `stream_prev` linking them;
//! the idempotency and stream tables point exactly at the entries; and no table holds a
//! row the entries do not account for. Before any of that, redb checks the checksum
//! of every page of the file.
//!
//! The first problem found (lowest index) is reported with what is wrong.

use std::path::Path;
use std::sync::mpsc;

use rayon::prelude::*;
use redb::{ReadableTable, ReadableTableMetadata};

use crate::crypto::{self, PublicKey, Signature};
use crate::entry::Entry;
use crate::event::ExpectedVersion;
use crate::merkle::{self, Frontier, Hash};
use crate::note::{self, NoteVerifier};
use crate::registry::Registry;
use crate::store::{self, StoreError};

/// What a successful verify saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: u64,
    pub streams: u64,
    pub authorities: usize,
    pub root: Hash,
    /// The size of the newest checkpoint: entries below it are signed by the log key.
    pub checkpointed: u64,
    /// The log's verifier key (C2SP vkey) the checkpoints were checked against.
    pub vkey: String,
    /// Projections rebuilt from the log and found identical to the stored ones.
    pub views: usize,
}

/// The first thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{what} [{code}]", index.map(|i| format!("entry {i}: ")).unwrap_or_default())]
pub struct VerifyFailure {
    /// The first bad entry, when the problem belongs to one.
    pub index: Option<u64>,
    /// A stable snake_case name of the problem.
    pub code: &'static str,
    pub what: String,
}

fn fail(index: Option<u64>, code: &'static str, what: impl Into<String>) -> VerifyFailure {
    VerifyFailure {
        index,
        code,
        what: what.into(),
    }
}

fn store_fail(e: impl Into<StoreError>) -> VerifyFailure {
    let e: StoreError = e.into();
    let code = match e {
        StoreError::FormatVersion { .. } => "format_version",
        _ => "storage",
    };
    fail(None, code, e.to_string())
}

/// Signatures are checked in windows of this many entries, each spread over all cores
/// while the scan goes on.
const WINDOW_ENTRIES: usize = 4096;
/// ... or of this many bytes of signed messages, so memory stays bounded whatever the
/// size of the entries (up to three windows are alive at once).
const WINDOW_BYTES_MAX: usize = 16 * 1024 * 1024;

struct SignatureJob {
    index: u64,
    key: PublicKey,
    message: Vec<u8>,
    signature: Signature,
}

/// Verifies a ledger file that no process is writing. Opens it with redb's full
/// integrity check (page checksums) first.
pub fn verify_file(path: &Path) -> Result<VerifyReport, VerifyFailure> {
    verify_file_with(path, &VerifyOptions::default())
}

/// What `verify` trusts beyond the file itself.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The log's verifier key as the auditor was given it, out of band. Without it,
    /// checkpoints are checked against the key the file names, which proves only that
    /// the file agrees with itself.
    pub trusted: Option<NoteVerifier>,
    /// Accept entries after the newest checkpoint (a live ledger signs its last entries
    /// within a checkpoint interval). Offline, a file closed cleanly has none, and a tail
    /// that no checkpoint signs could have been rewritten unnoticed.
    pub allow_unsigned_tail: bool,
}

/// `verify_file` with explicit trust (see `VerifyOptions`).
pub fn verify_file_with(
    path: &Path,
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyFailure> {
    let db = redb::Database::builder()
        .set_check_integrity_on_open(true)
        .open(path)
        .map_err(|e| {
            fail(
                None,
                "storage_integrity",
                format!("redb refused the file: {e}"),
            )
        })?;
    verify_database(&db, options)
}

/// Verifies an open database (e.g. the server's, from a consistent snapshot).
pub fn verify_database(
    db: &redb::Database,
    options: &VerifyOptions,
) -> Result<VerifyReport, VerifyFailure> {
    use redb::ReadableDatabase;
    let txn = db.begin_read().map_err(store_fail)?;
    let meta = store::read_meta(&txn).map_err(store_fail)?;
    let verifier = NoteVerifier::new(&meta.origin, meta.log_public_key)
        .map_err(|e| fail(None, "meta", format!("origin or log key: {e}")))?;
    if let Some(trusted) = &options.trusted
        && trusted != &verifier
    {
        return Err(fail(
            None,
            "untrusted_log_key",
            format!(
                "the file's log key is {}, not the trusted {}",
                verifier.to_vkey(),
                trusted.to_vkey()
            ),
        ));
    }
    let scan = Scan::new(&txn, verifier.clone())?;
    let (window_tx, window_rx) = mpsc::sync_channel::<Vec<SignatureJob>>(2);
    let (scanned, checked) = std::thread::scope(|s| {
        let checker = s.spawn(move || check_signatures(window_rx));
        let scanned = scan.run(window_tx);
        (scanned, checker.join())
    });
    let first_bad_signature =
        checked.map_err(|_| fail(None, "internal", "the signature checker failed"))?;
    let scan_failure = scanned.as_ref().err().cloned();
    // Report whichever problem comes first in the log.
    let signature_failure =
        first_bad_signature.map(|(i, what)| fail(Some(i), "signature_invalid", what));
    let first = match (scan_failure, signature_failure) {
        (Some(a), Some(b)) => Some(if b.index < a.index || a.index.is_none() {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    };
    if let Some(f) = first {
        return Err(f);
    }
    let mut report = scanned?;
    if report.authorities == 0 || meta.root_authority.is_empty() {
        return Err(fail(None, "genesis", "the ledger has no root authority"));
    }
    if !options.allow_unsigned_tail && report.checkpointed < report.entries {
        return Err(fail(
            Some(report.checkpointed),
            "unsigned_tail",
            format!(
                "entries {}..{} are covered by no checkpoint signed by the log key (open the ledger once to sign one)",
                report.checkpointed, report.entries
            ),
        ));
    }
    report.vkey = verifier.to_vkey();
    // Projections are derived by the rules of the format that wrote them; an older file's
    // are rebuilt when it is opened (and upgraded), so only the current format's compare.
    if meta.format_version == store::FORMAT_VERSION {
        report.views = check_projections(db)?;
    }
    Ok(report)
}

/// Rebuilds the projections from the log in memory and requires the stored ones to be
/// the same, byte for byte. Returns how many views there are.
fn check_projections(db: &redb::Database) -> Result<usize, VerifyFailure> {
    let reader = store::LogReader::begin(db).map_err(store_fail)?;
    let rebuilt = crate::projections::rebuild(&reader).map_err(store_fail)?;
    match crate::projections::first_difference(&reader, &rebuilt.views).map_err(store_fail)? {
        None => Ok(rebuilt.views.len()),
        Some(stream) => Err(fail(
            None,
            "projection_mismatch",
            format!("the stored projection of {stream} is not what the log folds into"),
        )),
    }
}

fn check_signatures(windows: mpsc::Receiver<Vec<SignatureJob>>) -> Option<(u64, String)> {
    let mut first_bad: Option<(u64, String)> = None;
    for window in windows {
        let bad = window
            .par_chunks(crypto::CHECKS_PER_BATCH)
            .filter_map(|jobs| {
                let checks: Vec<_> = jobs
                    .iter()
                    .map(|j| crypto::SignatureCheck {
                        key: &j.key,
                        message: &j.message,
                        signature: &j.signature,
                    })
                    .collect();
                let verified = crypto::verify_strict_each(&checks);
                jobs.iter()
                    .zip(verified)
                    .filter(|(_, ok)| !ok)
                    .map(|(j, _)| j.index)
                    .min()
            })
            .min();
        if let Some(i) = bad
            && first_bad.as_ref().is_none_or(|(f, _)| i < *f)
        {
            first_bad = Some((
                i,
                "the event's signature does not verify under its actor's key".into(),
            ));
        }
    }
    first_bad
}

/// The sequential pass over the entries.
struct Scan<'t> {
    txn: &'t redb::ReadTransaction,
    verifier: NoteVerifier,
    root_authority: String,
}

impl<'t> Scan<'t> {
    fn new(txn: &'t redb::ReadTransaction, verifier: NoteVerifier) -> Result<Self, VerifyFailure> {
        let meta = store::read_meta(txn).map_err(store_fail)?;
        Ok(Self {
            txn,
            verifier,
            root_authority: meta.root_authority,
        })
    }

    fn run(
        self,
        windows: mpsc::SyncSender<Vec<SignatureJob>>,
    ) -> Result<VerifyReport, VerifyFailure> {
        let mut window = Vec::with_capacity(WINDOW_ENTRIES);
        let scanned = self.scan(&windows, &mut window);
        // Whatever stopped the scan, the signatures of the entries before it are still
        // checked: an earlier bad signature is the first problem to report.
        if !window.is_empty() {
            let _ = windows.send(window);
        }
        scanned
    }

    fn scan(
        &self,
        windows: &mpsc::SyncSender<Vec<SignatureJob>>,
        window: &mut Vec<SignatureJob>,
    ) -> Result<VerifyReport, VerifyFailure> {
        let open = |e: redb::TableError| store_fail(e);
        let entries = self.txn.open_table(store::ENTRIES).map_err(open)?;
        let nodes = self.txn.open_table(store::NODES).map_err(open)?;
        let stream_entries = self.txn.open_table(store::STREAM_ENTRIES).map_err(open)?;
        let event_ids = self.txn.open_table(store::EVENT_IDS).map_err(open)?;
        let checkpoints = self.txn.open_table(store::CHECKPOINTS).map_err(open)?;
        let mut checkpoint_rows = checkpoints.iter().map_err(store_fail)?.peekable();

        let mut frontier = Frontier::new();
        let mut registry = Registry::default();
        let mut last_recorded_ms = i64::MIN;
        let mut streams = 0u64;
        let mut checkpoint_count = 0u64;
        let mut checkpointed = 0u64;
        let mut window_bytes = 0usize;
        let mut expected = 0u64;

        for row in entries.iter().map_err(store_fail)? {
            let (key, value) = row.map_err(store_fail)?;
            let index = key.value();
            let at = Some(expected);
            if index != expected {
                return Err(fail(
                    at,
                    "entry_missing",
                    format!("the next stored entry has index {index}"),
                ));
            }
            let bytes = value.value();
            let entry =
                Entry::parse(bytes).map_err(|e| fail(at, "entry_malformed", e.to_string()))?;
            if entry.index != index {
                return Err(fail(
                    at,
                    "entry_index",
                    format!("the entry says it is index {}", entry.index),
                ));
            }
            let recorded_ms = entry.recorded_at.unix_millis();
            if recorded_ms < last_recorded_ms {
                return Err(fail(
                    at,
                    "recorded_at_regressed",
                    "recorded_at is earlier than the previous entry's",
                ));
            }
            last_recorded_ms = recorded_ms;

            // The tree: the leaf and every node this leaf completes must be stored as computed.
            let mut bad_node = None;
            frontier.append(merkle::leaf_hash(bytes), |id, hash| {
                let stored = nodes
                    .get((id.level, id.index))
                    .ok()
                    .flatten()
                    .map(|v| v.value());
                if bad_node.is_none() && stored != Some(*hash) {
                    bad_node = Some(id);
                }
            });
            if let Some(id) = bad_node {
                return Err(fail(
                    at,
                    "merkle_node",
                    format!("stored node {id:?} differs from the recomputed hash"),
                ));
            }

            if entry.stream_version == 0 {
                streams += 1;
            }
            self.check_stream(&stream_entries, &entry)?;
            let id = entry.event.envelope().event_id.as_u128();
            let stored_id = event_ids.get(id).map_err(store_fail)?.map(|v| v.value());
            if stored_id != Some((entry.event.content_digest(), index)) {
                return Err(fail(
                    at,
                    "event_id_index",
                    "the idempotency table does not point at this entry",
                ));
            }

            self.check_signer(&mut registry, entry, window)?;
            window_bytes += window.last().map_or(0, |j| j.message.len());
            if window.len() >= WINDOW_ENTRIES || window_bytes >= WINDOW_BYTES_MAX {
                window_bytes = 0;
                if windows.send(std::mem::take(window)).is_err() {
                    return Err(fail(at, "internal", "the signature checker stopped"));
                }
            }

            while let Some(Ok((size, note_text))) = checkpoint_rows.peek() {
                if size.value() != index + 1 {
                    break;
                }
                self.check_checkpoint(index + 1, note_text.value(), frontier.root())?;
                checkpoint_count += 1;
                checkpointed = index + 1;
                checkpoint_rows.next();
            }
            expected += 1;
        }

        if let Some(row) = checkpoint_rows.next() {
            let size = row.map_err(store_fail)?.0.value();
            return Err(fail(
                None,
                "checkpoint_size",
                format!("a checkpoint of size {size} does not match the log's {expected} entries"),
            ));
        }
        let n = expected;
        let count = |len: Result<u64, redb::StorageError>| len.map_err(store_fail);
        let nodes_expected: u64 = (0..64).map(|level| n >> level).sum();
        if count(nodes.len())? != nodes_expected {
            return Err(fail(
                None,
                "merkle_extra_nodes",
                "the node table holds nodes the entries do not account for",
            ));
        }
        if count(stream_entries.len())? != n || count(event_ids.len())? != n {
            return Err(fail(
                None,
                "index_extra_rows",
                "the stream or event id table holds rows the entries do not account for",
            ));
        }
        if let Some(root) = registry.get(
            &crate::event::AuthorityId::parse(&self.root_authority)
                .map_err(|_| fail(None, "meta", "root authority id"))?,
        ) {
            if root.registered.index != 0 {
                return Err(fail(
                    None,
                    "genesis",
                    "the root authority is not the one registered by entry 0",
                ));
            }
        } else if n > 0 {
            return Err(fail(
                None,
                "genesis",
                "the root authority named in meta is not registered",
            ));
        }
        Ok(VerifyReport {
            entries: n,
            checkpoints: checkpoint_count,
            checkpointed,
            streams,
            authorities: registry.len(),
            root: frontier.root(),
            vkey: String::new(),
            views: 0,
        })
    }

    fn check_stream(
        &self,
        stream_entries: &redb::ReadOnlyTable<(&str, u64), u64>,
        entry: &Entry,
    ) -> Result<(), VerifyFailure> {
        let at = Some(entry.index);
        let env = entry.event.envelope();
        let stream = env.stream.as_str();
        let slot = |v: u64| {
            stream_entries
                .get((stream, v))
                .map_err(store_fail)
                .map(|g| g.map(|x| x.value()))
        };
        if slot(entry.stream_version)? != Some(entry.index) {
            return Err(fail(
                at,
                "stream_index",
                "the stream table does not point at this entry",
            ));
        }
        let prev = match entry.stream_version.checked_sub(1) {
            Some(v) => slot(v)?,
            None => None,
        };
        if prev != entry.stream_prev || prev.is_some_and(|p| p >= entry.index) {
            return Err(fail(
                at,
                "stream_chain",
                "stream_prev does not name the stream's previous entry",
            ));
        }
        let version_ok = match env.expected_version {
            ExpectedVersion::NoStream => entry.stream_version == 0,
            ExpectedVersion::Exact(v) => v.checked_add(1) == Some(entry.stream_version),
            ExpectedVersion::Any => true,
        };
        if !version_ok {
            return Err(fail(
                at,
                "stream_version",
                "the stream version contradicts the event's expected version",
            ));
        }
        Ok(())
    }

    fn check_signer(
        &self,
        registry: &mut Registry,
        entry: Entry,
        window: &mut Vec<SignatureJob>,
    ) -> Result<(), VerifyFailure> {
        let at = Some(entry.index);
        let event = &entry.event;
        if entry.index == 0 {
            if event.envelope().actor.as_str() != self.root_authority {
                return Err(fail(
                    at,
                    "genesis",
                    "entry 0 is not the root authority named in meta",
                ));
            }
            // Genesis verifies its own signature against the key it registers.
            return registry
                .apply_genesis(event, &entry.position())
                .map_err(|r| fail(at, "genesis", r.to_string()));
        }
        let key = registry
            .signing_key(event, entry.index)
            .map_err(|r| fail(at, r.code(), r.to_string()))?;
        registry
            .apply(event, &entry.position())
            .map_err(|r| fail(at, "registry", r.to_string()))?;
        // The entry is done with: its signing bytes move into the job, uncopied.
        let (_, signature, message) = entry.event.into_parts();
        window.push(SignatureJob {
            index: entry.index,
            key,
            message,
            signature,
        });
        Ok(())
    }

    fn check_checkpoint(&self, size: u64, signed: &str, root: Hash) -> Result<(), VerifyFailure> {
        let cp = note::open_checkpoint(&self.verifier, signed).map_err(|e| {
            fail(
                Some(size - 1),
                "checkpoint_signature",
                format!("checkpoint at size {size}: {e}"),
            )
        })?;
        if cp.size != size || cp.root != root {
            return Err(fail(
                Some(size - 1),
                "checkpoint_root",
                format!("checkpoint at size {size} does not match the recomputed tree"),
            ));
        }
        Ok(())
    }
}
