//! The log as a library: create (genesis), open, append, read.
//!
//! ```no_run
//! # fn demo(path: &std::path::Path, event: ledger::event::SignedEvent, log_key: ed25519_dalek::SigningKey) -> anyhow::Result<()> {
//! use ledger::{Ledger, LedgerConfig, SystemClock};
//! let log = Ledger::open(path, log_key, LedgerConfig::default(), SystemClock::shared())?;
//! let receipt = log.append(event)?; // returns once the entry is durable
//! println!("appended at index {}", receipt.index);
//! # Ok(()) }
//! ```
//!
//! Appends go through a two-stage pipeline. The verifier stage takes everything queued
//! and checks the group's signatures on all cores at once; the writer thread, which
//! owns the redb write transaction, checks the group against the log, writes it in one
//! transaction and commits once, durably (group commit): many concurrent appenders share
//! one fsync, and the next group is verified while this one commits. Only after the
//! commit does any appender get its receipt.

use std::path::Path;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, mpsc};
use std::thread::JoinHandle;

use ed25519_dalek::SigningKey;
use redb::ReadableTable;

use crate::crypto;
use crate::event::{
    AuthorityId, Envelope, EventId, EventLimits, EventType, ExpectedVersion, KeyId, SignedEvent,
    StreamName, Timestamp,
};
use crate::json::{Json, Object};
use crate::merkle::Hash;
use crate::note::{NoteSigner, NoteVerifier};
use crate::policy::PolicyRunner;
use crate::registry::{AUTHORITY_REGISTERED, LogPosition, Registry};
use crate::rejection::{BatchRejection, Rejection};
use crate::store::{self, LogMeta, LogReader, StoreError};
use crate::verifier::{self, Batch, Incoming, Received, Replies, Request};
use crate::writer::Writer;

/// Where the ledger gets the time it records (`recorded_at`) and times checkpoints by.
/// Injected, so tests and replays control it; the domain rules never see it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_unix_millis(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl SystemClock {
    pub fn shared() -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now_unix_millis(&self) -> i64 {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        now.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Limits and timings of a ledger. Every limit is named with its unit last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    pub event_limits: EventLimits,
    /// The most events one append (a client's batch) may carry.
    pub batch_events_max: usize,
    /// The most events the writer puts in one commit (group commit).
    pub commit_events_max: usize,
    /// The most appends that may wait for the writer; beyond it appends are refused
    /// with `Overloaded` instead of queueing without bound.
    pub queue_appends_max: usize,
    /// A new checkpoint is signed at most this often, and at least this soon after the
    /// tree grows.
    pub checkpoint_interval_ms: u64,
    /// The stored bytes of decoded views that readers keep for the next read of the same
    /// view (zero: no cache).
    pub view_cache_bytes: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            event_limits: EventLimits::default(),
            batch_events_max: 1000,
            commit_events_max: 4096,
            queue_appends_max: 4096,
            checkpoint_interval_ms: 1000,
            view_cache_bytes: 32 << 20,
        }
    }
}

/// Events checked by [`Ledger::prepare`] on the caller's thread, for
/// [`Ledger::submit_prepared`].
pub struct PreparedEvents(Vec<verifier::Prepared>);

impl std::fmt::Debug for PreparedEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreparedEvents({} events)", self.0.len())
    }
}

/// What an append returns once the entry is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub index: u64,
    pub stream_version: u64,
    pub leaf_hash: Hash,
    pub recorded_at: String,
    /// True when the event was already in the log (an idempotent retry): the receipt is
    /// the original one.
    pub duplicate: bool,
}

/// Why a batch's body was not read as events ([`Ledger::parse_received_batch`]).
#[derive(Debug)]
pub enum BatchBodyError {
    /// The body is not JSON the ledger accepts: no member to point at.
    Json(Rejection),
    /// It is JSON, but not an array.
    NotAnArray,
    /// The member at `position` breaks a rule.
    Member(BatchRejection),
}

/// Why an append did not happen. Nothing of the append was written in any case.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    #[error(transparent)]
    Rejected(#[from] BatchRejection),
    #[error("the write queue is full; retry later")]
    Overloaded,
    #[error("the ledger is closed")]
    Closed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppendError {
    pub fn code(&self) -> &'static str {
        match self {
            AppendError::Rejected(r) => r.rejection.code(),
            AppendError::Overloaded => "overloaded",
            AppendError::Closed => "closed",
            AppendError::Store(_) => "storage_error",
        }
    }

    /// The rule broken, when the append was refused for what it said.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            AppendError::Rejected(r) => Some(&r.rejection),
            _ => None,
        }
    }
}

/// Why a ledger could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the log key does not match the ledger: it was created with {expected}")]
    WrongLogKey { expected: String },
    #[error("bad genesis: {0}")]
    Genesis(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("could not start the writer thread: {0}")]
    Thread(std::io::Error),
}

impl From<redb::DatabaseError> for OpenError {
    fn from(e: redb::DatabaseError) -> Self {
        OpenError::Store(e.into())
    }
}

/// What genesis needs: the log's name and key, and the root administrator.
#[derive(Debug)]
pub struct Genesis<'k> {
    /// The checkpoint origin, e.g. `armsledger.example.org/zz`; also the note key name.
    pub origin: String,
    pub log_key: SigningKey,
    pub root_authority: AuthorityId,
    pub root_name: String,
    /// ISO 3166-1 alpha-2 code of the State running the ledger.
    pub jurisdiction: String,
    pub root_key_id: KeyId,
    pub root_key: &'k SigningKey,
    /// The time the root claims for its registration.
    pub occurred_at: Timestamp,
}

/// Counters of what the writer has done since the ledger was opened.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) entries: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) policy_evaluations: AtomicU64,
    pub(crate) policy_refusals: AtomicU64,
}

/// What the writer has done since the ledger was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LedgerStats {
    /// Durable commits of appended entries (one per group).
    pub commits: u64,
    pub entries: u64,
    pub checkpoints: u64,
    /// Policy modules run on events being appended, and the appends they refused.
    pub policy_evaluations: u64,
    pub policy_refusals: u64,
}

pub(crate) struct Shared {
    pub(crate) counters: Counters,
    pub(crate) db: redb::Database,
    pub(crate) meta: LogMeta,
    pub(crate) config: LedgerConfig,
    /// The registry as of the last commit; the verifier checks signatures against it.
    pub(crate) registry: RwLock<Arc<Registry>>,
    /// Runs the policies that govern events; none until the process plugs a host in, and
    /// then every governed event is denied (deny by default).
    pub(crate) policy_runner: RwLock<Option<Arc<dyn PolicyRunner>>>,
    /// Views decoded by readers, kept for the next read of the same stored bytes.
    pub(crate) views: Arc<crate::view_cache::ViewCache>,
    /// The index of suffix and substring search, loaded at opening, grown by the writer.
    pub(crate) serial_grams: Arc<crate::serial_grams::SerialGrams>,
}

impl Shared {
    pub(crate) fn policy_runner(&self) -> Option<Arc<dyn PolicyRunner>> {
        match self.policy_runner.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(crate) fn registry_snapshot(&self) -> Arc<Registry> {
        match self.registry.read() {
            Ok(r) => Arc::clone(&r),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

struct Inner {
    shared: Arc<Shared>,
    sender: mpsc::SyncSender<Request>,
    /// The verifier and writer threads, in pipeline order.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ask the pipeline to finish what is queued, seal the file and stop; wait for it
        // so that the file is closed when the last handle is gone.
        let _ = self.sender.send(Request::Shutdown);
        if let Ok(mut threads) = self.threads.lock() {
            for handle in threads.drain(..) {
                let _ = handle.join();
            }
        }
    }
}

/// A handle to an open ledger. Cheap to clone; the ledger closes when the last clone is
/// dropped (after finishing the appends already queued).
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("origin", &self.inner.shared.meta.origin)
            .finish_non_exhaustive()
    }
}

/// An append on its way; `wait` (or `.await`) for its receipts.
#[derive(Debug)]
pub struct PendingAppend {
    reply: oneshot::Receiver<Result<Vec<Receipt>, AppendError>>,
}

impl PendingAppend {
    /// Blocks until the append is durable or refused.
    pub fn wait(self) -> Result<Vec<Receipt>, AppendError> {
        self.reply.recv().unwrap_or(Err(AppendError::Closed))
    }
}

impl std::future::IntoFuture for PendingAppend {
    type Output = Result<Vec<Receipt>, AppendError>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.reply.await.unwrap_or(Err(AppendError::Closed)) })
    }
}

impl Ledger {
    /// Creates a new ledger file and appends its genesis entry: the root administrator's
    /// self-signed registration. Fails if the file exists.
    pub fn create(
        path: &Path,
        genesis: Genesis<'_>,
        config: LedgerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Ledger, OpenError> {
        let signer = NoteSigner::new(&genesis.origin, genesis.log_key.clone())
            .map_err(|e| OpenError::Genesis(format!("origin: {e}")))?;
        let event = genesis_event(&genesis)?;
        // Check the genesis event before any file exists: a refused genesis must not
        // leave a file behind that a later open would take for a ledger.
        let at = LogPosition {
            index: 0,
            recorded_at: Timestamp::from_unix_millis(clock.now_unix_millis())
                .ok_or_else(|| OpenError::Genesis("the clock is out of range".into()))?,
        };
        crate::domain::check_registry_event(&event)
            .and_then(|()| Registry::default().apply_genesis(&event, &at))
            .map_err(|r| OpenError::Genesis(format!("the genesis event is invalid: {r}")))?;
        if path.exists() {
            return Err(OpenError::Genesis(format!(
                "{} already exists",
                path.display()
            )));
        }
        let db = redb::Database::create(path)?;
        let started = write_meta(&db, &genesis, &signer)
            .map_err(OpenError::from)
            .and_then(|()| Self::start(db, signer, config, clock));
        let appended = started.and_then(|ledger| match ledger.append(event) {
            Ok(_) => Ok(ledger),
            Err(e) => Err(OpenError::Genesis(format!(
                "the genesis event was refused: {e}"
            ))),
        });
        if appended.is_err() {
            // Whatever failed, no half-made ledger stays behind (open refuses one anyway).
            let _ = std::fs::remove_file(path);
        }
        appended
    }

    /// Opens an existing ledger file with its log key (which signs checkpoints).
    pub fn open(
        path: &Path,
        log_key: SigningKey,
        config: LedgerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Ledger, OpenError> {
        let db = redb::Database::open(path)?;
        let reader = LogReader::begin(&db)?;
        let meta = reader.meta()?;
        if reader.tree_size()? == 0 {
            // Only a create interrupted between its two commits leaves this behind.
            return Err(OpenError::Genesis(format!(
                "{} has no genesis entry: its creation did not finish; create it again",
                path.display()
            )));
        }
        drop(reader);
        let signer = NoteSigner::new(&meta.origin, log_key)
            .map_err(|e| OpenError::Genesis(format!("origin in the file: {e}")))?;
        if *signer.verifier().key() != meta.log_public_key {
            return Err(OpenError::WrongLogKey {
                expected: NoteVerifier::new(&meta.origin, meta.log_public_key)
                    .map(|v| v.to_vkey())
                    .unwrap_or_default(),
            });
        }
        if meta.format_version < store::FORMAT_VERSION {
            crate::projections::rebuild_database(&db)?;
        }
        Self::start(db, signer, config, clock)
    }

    fn start(
        db: redb::Database,
        signer: NoteSigner,
        config: LedgerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Ledger, OpenError> {
        if config.event_limits.json_depth_max > crate::entry::EVENT_DEPTH_MAX {
            return Err(OpenError::Config(format!(
                "json_depth_max must be at most {}: entries nest events one level deeper",
                crate::entry::EVENT_DEPTH_MAX
            )));
        }
        let reader = LogReader::begin(&db)?;
        let meta = reader.meta()?;
        let registry = replay_registry(&reader)?;
        let serial_grams = crate::serial_grams::SerialGrams::load(&reader.txn)?;
        drop(reader);
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            db,
            meta,
            config,
            registry: RwLock::new(Arc::new(registry)),
            policy_runner: RwLock::new(None),
            views: Arc::new(crate::view_cache::ViewCache::new(config.view_cache_bytes)),
            serial_grams: Arc::new(serial_grams),
        });
        let (sender, requests) = mpsc::sync_channel(config.queue_appends_max);
        // What the verifier prepares waits here, up to one commit's worth, while the
        // writer commits the previous group.
        let handoff = Arc::new(verifier::Handoff::new(config.commit_events_max));
        let writer = Writer::load(Arc::clone(&shared), signer, clock)?;
        let writer_handoff = Arc::clone(&handoff);
        let writer = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(&writer_handoff))
            .map_err(OpenError::Thread)?;
        let verifier_shared = Arc::clone(&shared);
        let verifier = std::thread::Builder::new()
            .name("ledger-verifier".into())
            .spawn(move || verifier::run(verifier_shared, requests, &handoff))
            .map_err(OpenError::Thread)?;
        Ok(Ledger {
            inner: Arc::new(Inner {
                shared,
                sender,
                threads: Mutex::new(vec![verifier, writer]),
            }),
        })
    }

    pub fn meta(&self) -> &LogMeta {
        &self.inner.shared.meta
    }

    pub fn config(&self) -> &LedgerConfig {
        &self.inner.shared.config
    }

    /// The log's verifier key (C2SP vkey), for auditors.
    pub fn verifier(&self) -> Result<NoteVerifier, crate::note::NoteError> {
        NoteVerifier::new(
            &self.inner.shared.meta.origin,
            self.inner.shared.meta.log_public_key,
        )
    }

    /// Plugs in the host that runs policy modules (the plugins crate's). Until one is,
    /// every event an active policy governs is denied.
    pub fn set_policy_runner(&self, runner: Arc<dyn PolicyRunner>) {
        let mut slot = match self.inner.shared.policy_runner.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Some(runner);
    }

    /// The host that runs policy modules, if one is plugged in.
    pub fn policy_runner(&self) -> Option<Arc<dyn PolicyRunner>> {
        self.inner.shared.policy_runner()
    }

    /// Stores a policy module or data file (content-addressed, idempotent) and returns its
    /// SHA-256 hex. A module is checked against the ABI first when a host is plugged in.
    pub fn put_policy_blob(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let sha256 = crate::policy::sha256_hex(bytes);
        let txn = self.inner.shared.db.begin_write()?;
        {
            let mut blobs = txn.open_table(store::POLICY_BLOBS)?;
            if blobs.get(sha256.as_str())?.is_none() {
                blobs.insert(sha256.as_str(), bytes)?;
            }
        }
        txn.commit()?;
        Ok(sha256)
    }

    /// Runs one policy (installed, or a candidate described as a `PolicyView`) on an event
    /// against the committed projections, without appending anything: what the policy
    /// would decide if the event were submitted now. A module or data file that is not
    /// stored is `policy_blob_missing`: a candidate names its blobs by hash, and one not
    /// uploaded is the caller's mistake to hear about, not a decision for the policy to
    /// record (an installed policy's were checked when it was installed).
    pub fn dry_run_policy(
        &self,
        event: &SignedEvent,
        policy: &crate::domain::views::PolicyView,
    ) -> Result<crate::policy::DryRun, crate::policy::DryRunError> {
        let reader = LogReader::begin(&self.inner.shared.db)?;
        let named = [
            ("module", Some(&policy.module_sha256)),
            ("data file", policy.data_sha256.as_ref()),
        ];
        for (what, sha256) in named {
            if let Some(sha256) = sha256
                && !reader.has_policy_blob(sha256)?
            {
                return Err(crate::policy::DryRunError::Rejected(
                    Rejection::PolicyBlobMissing {
                        what,
                        sha256: sha256.clone(),
                    },
                ));
            }
        }
        let runner = self.policy_runner();
        crate::policy::dry_run(&reader, &self.registry(), runner.as_deref(), event, policy)
    }

    /// The registry of authorities as of the last commit.
    pub fn registry(&self) -> Arc<Registry> {
        self.inner.shared.registry_snapshot()
    }

    pub fn stats(&self) -> LedgerStats {
        let c = &self.inner.shared.counters;
        LedgerStats {
            commits: c.commits.load(Ordering::Relaxed),
            entries: c.entries.load(Ordering::Relaxed),
            checkpoints: c.checkpoints.load(Ordering::Relaxed),
            policy_evaluations: c.policy_evaluations.load(Ordering::Relaxed),
            policy_refusals: c.policy_refusals.load(Ordering::Relaxed),
        }
    }

    /// Runs `verify` over a consistent snapshot of the open ledger. The last entries may
    /// still wait for their checkpoint (at most one interval).
    pub fn verify(&self) -> Result<crate::verify::VerifyReport, crate::verify::VerifyFailure> {
        let options = crate::verify::VerifyOptions {
            trusted: None,
            allow_unsigned_tail: true,
        };
        crate::verify::verify_database(&self.inner.shared.db, &options)
    }

    /// A consistent snapshot of the log for reading.
    pub fn reader(&self) -> Result<LogReader, StoreError> {
        let shared = &self.inner.shared;
        let mut reader = LogReader::begin(&shared.db)?.with_view_cache(Arc::clone(&shared.views));
        reader.serial_grams = Some(Arc::clone(&shared.serial_grams));
        Ok(reader)
    }

    /// Appends one event (signed in code, or received: [`Ledger::parse_received`]) and
    /// waits until it is durable.
    pub fn append(&self, event: impl Into<Incoming>) -> Result<Receipt, AppendError> {
        let mut receipts = self.submit(vec![event.into()])?.wait()?;
        receipts.pop().ok_or(AppendError::Closed)
    }

    /// Appends a batch, all or nothing, and waits until it is durable.
    pub fn append_batch<E: Into<Incoming>>(
        &self,
        events: Vec<E>,
    ) -> Result<Vec<Receipt>, AppendError> {
        self.submit(events)?.wait()
    }

    /// Checks the batch's shape, then queues it: the verifier stage checks signatures,
    /// the writer checks the rest against the log and commits.
    pub fn submit<E: Into<Incoming>>(&self, events: Vec<E>) -> Result<PendingAppend, AppendError> {
        let events: Vec<Incoming> = events.into_iter().map(Into::into).collect();
        self.check_shape(events.iter().map(Incoming::event))?;
        self.queue(Batch::Signed(events))
    }

    /// Queues `events` as appends of one event each, in this order: each is judged as if
    /// appended alone right after the ones before it, so a refused event holds back
    /// none of the others (what a bulk import wants; [`Ledger::submit`] is all or
    /// nothing). An event id repeated is judged as a repeat of the earlier event. Made
    /// for bulk callers: when the queue is full this waits for room instead of
    /// answering [`AppendError::Overloaded`]. Returns one pending receipt per event, in
    /// order.
    pub fn submit_each<E: Into<Incoming>>(
        &self,
        events: Vec<E>,
    ) -> Result<Vec<PendingAppend>, AppendError> {
        self.check_count(events.len())?;
        let events: Vec<Incoming> = events.into_iter().map(Into::into).collect();
        let (replies, pending) = (0..events.len())
            .map(|_| {
                let (tx, rx) = oneshot::channel();
                (tx, PendingAppend { reply: rx })
            })
            .unzip();
        let request = Request::Append {
            events: Batch::Signed(events),
            replies: Replies::Each(replies),
        };
        self.inner
            .sender
            .send(request)
            .map_err(|_| AppendError::Closed)?;
        Ok(pending)
    }

    /// Does the verifier stage's work for `events` on the calling thread: checks the
    /// signatures against the registry as it is now, the canonical form and the
    /// catalogue payloads. A server that checks each request on its own worker thread
    /// hands the single writer batches that are ready, without a second stage between.
    /// The writer still checks everything that depends on the log (a key revoked
    /// meanwhile included).
    pub fn prepare<E: Into<Incoming>>(&self, events: Vec<E>) -> PreparedEvents {
        let registry = self.registry();
        let limits = &self.inner.shared.config.event_limits;
        PreparedEvents(verifier::prepare_all(
            &registry,
            limits,
            events.into_iter().map(Into::into).collect(),
        ))
    }

    /// Parses an event as a client sent it, under this ledger's event limits, keeping the
    /// bytes: appending it then skips the check that its canonical form parses back when
    /// the client sent exactly that form (as careful clients do), since that is the parse
    /// just done.
    pub fn parse_received(&self, bytes: Vec<u8>) -> Result<Received, Rejection> {
        let event = SignedEvent::parse(&bytes, &self.inner.shared.config.event_limits)?;
        Ok(Received::new(event, bytes))
    }

    /// Parses a batch as a client sent it: a JSON array (one level of nesting more than an
    /// event may have), each member then read exactly as [`Ledger::parse_received`] reads
    /// the member's canonical bytes (the same rules and the same event; those bytes are
    /// what its entry embeds), without parsing them a second time.
    pub fn parse_received_batch(&self, bytes: &[u8]) -> Result<Vec<Received>, BatchBodyError> {
        let limits = &self.inner.shared.config.event_limits;
        let members = match Json::parse(bytes, limits.json_depth_max.saturating_add(1)) {
            Ok(Json::Array(members)) => members,
            Ok(_) => return Err(BatchBodyError::NotAnArray),
            Err(e) => return Err(BatchBodyError::Json(e.into())),
        };
        let read = |member: Json| -> Result<Received, Rejection> {
            // What `parse_received` of these bytes checks first; the parse itself cannot
            // fail on a canonical serialization, and its depth is within the limit since
            // the member was parsed one level down.
            let canonical = member.to_canonical_vec();
            SignedEvent::check_size(canonical.len(), limits)?;
            Ok(Received::new(SignedEvent::from_json(member)?, canonical))
        };
        members
            .into_iter()
            .enumerate()
            .map(|(position, member)| {
                read(member).map_err(|rejection| {
                    BatchBodyError::Member(BatchRejection {
                        position,
                        rejection,
                    })
                })
            })
            .collect()
    }

    /// Queues events prepared by [`Ledger::prepare`], as [`Ledger::submit`] does.
    pub fn submit_prepared(&self, events: PreparedEvents) -> Result<PendingAppend, AppendError> {
        self.check_shape(events.0.iter().map(|p| &p.event))?;
        self.queue(Batch::Prepared(events.0))
    }

    /// What every batch must be before it is queued: not empty, within the batch limit,
    /// no event id twice.
    fn check_shape<'e>(
        &self,
        events: impl ExactSizeIterator<Item = &'e SignedEvent>,
    ) -> Result<(), AppendError> {
        self.check_count(events.len())?;
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        for (position, e) in events.enumerate() {
            if !seen.insert(e.envelope().event_id) {
                return Err(AppendError::Rejected(BatchRejection {
                    position,
                    rejection: Rejection::BatchDuplicateEventId(e.envelope().event_id.to_string()),
                }));
            }
        }
        Ok(())
    }

    /// A batch holds at least one event and at most the configured number.
    fn check_count(&self, count: usize) -> Result<(), AppendError> {
        let max = self.inner.shared.config.batch_events_max;
        let rejection = match count {
            0 => Rejection::BatchEmpty,
            count if count > max => Rejection::BatchTooLarge { count, max },
            _ => return Ok(()),
        };
        Err(AppendError::Rejected(BatchRejection {
            position: 0,
            rejection,
        }))
    }

    fn queue(&self, events: Batch) -> Result<PendingAppend, AppendError> {
        let (tx, rx) = oneshot::channel();
        self.try_send(Request::Append {
            events,
            replies: Replies::Whole(tx),
        })?;
        Ok(PendingAppend { reply: rx })
    }

    /// Queues a request, or answers `Overloaded` at once when the queue is full.
    fn try_send(&self, request: Request) -> Result<(), AppendError> {
        match self.inner.sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(_)) => Err(AppendError::Overloaded),
            Err(mpsc::TrySendError::Disconnected(_)) => Err(AppendError::Closed),
        }
    }

    /// Finishes the queued appends, seals the file and closes it.
    pub fn close(self) {
        drop(self);
    }
}

fn genesis_event(g: &Genesis<'_>) -> Result<SignedEvent, OpenError> {
    let bad = |e: Rejection| OpenError::Genesis(e.to_string());
    let mut key = Object::new();
    key.insert("key_id", Json::str(g.root_key_id.as_str()));
    key.insert(
        "public_key",
        Json::str(crypto::public_key_of(g.root_key).to_base64()),
    );
    let mut payload = Object::new();
    payload.insert("authority_id", Json::str(g.root_authority.as_str()));
    payload.insert("name", Json::str(g.root_name.clone()));
    payload.insert("kind", Json::str("administrator"));
    payload.insert("jurisdiction", Json::str(g.jurisdiction.clone()));
    payload.insert("keys", Json::Array(vec![Json::Object(key)]));
    let envelope = Envelope {
        event_id: EventId::new_v7(),
        stream: StreamName::parse(&format!("authority:{}", g.root_authority)).map_err(bad)?,
        expected_version: ExpectedVersion::NoStream,
        event_type: EventType::parse(AUTHORITY_REGISTERED).map_err(bad)?,
        type_version: 1,
        payload,
        actor: g.root_authority.clone(),
        key_id: g.root_key_id.clone(),
        occurred_at: g.occurred_at.clone(),
    };
    Ok(envelope.sign(g.root_key))
}

fn write_meta(db: &redb::Database, g: &Genesis<'_>, signer: &NoteSigner) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(store::META)?;
        meta.insert(
            store::META_FORMAT,
            store::FORMAT_VERSION.to_be_bytes().as_slice(),
        )?;
        meta.insert(store::META_ORIGIN, g.origin.as_bytes())?;
        meta.insert(
            store::META_LOG_KEY,
            signer.verifier().key().as_bytes().as_slice(),
        )?;
        meta.insert(store::META_ROOT, g.root_authority.as_str().as_bytes())?;
        // Create every table now, so that readers of a fresh ledger find them.
        txn.open_table(store::ENTRIES)?;
        txn.open_table(store::NODES)?;
        txn.open_table(store::STREAM_ENTRIES)?;
        txn.open_table(store::EVENT_IDS)?;
        txn.open_table(store::CHECKPOINTS)?;
        txn.open_table(crate::projections::PROJECTIONS)?;
        txn.open_table(crate::projections::SERIAL_INDEX)?;
    }
    txn.commit()?;
    Ok(())
}

/// Rebuilds the registry from the `authority:` streams, in log order.
pub(crate) fn replay_registry(reader: &LogReader) -> Result<Registry, StoreError> {
    let mut registry = Registry::default();
    for index in reader.indexes_with_stream_prefix("authority:")? {
        let entry = reader.entry(index)?.ok_or_else(|| {
            StoreError::Corrupt(format!("stream index names missing entry {index}"))
        })?;
        let applied = if index == 0 {
            registry.apply_genesis(&entry.event, &entry.position())
        } else {
            registry.apply(&entry.event, &entry.position())
        };
        applied.map_err(|r| StoreError::Corrupt(format!("entry {index} does not replay: {r}")))?;
    }
    Ok(registry)
}
