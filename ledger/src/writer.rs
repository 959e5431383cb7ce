//! The single writer: group commit, stream versions, idempotency, Merkle nodes and
//! checkpoints, all in one redb write transaction per group.
//!
//! A group is what the verifier stage hands over: everything queued when it came round
//! (up to `commit_events_max`), signatures already checked. Each append in it is staged
//! against the log plus what the group has staged so far, all or nothing; then the
//! accepted ones are written and the group commits once, durably. Replies go out only
//! after the commit returns.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use crate::catalogue::{DomainEvent, PolicyInstalled, WeaponId};
use crate::crypto;
use crate::domain::views::{PolicyStatus, PolicyView, View};
use crate::domain::{self, Context, DomainError, Views};
use crate::entry::Entry;
use crate::event::AuthorityId;
use crate::event::{ExpectedVersion, StreamKind, Timestamp};
use crate::json::Json;
use crate::ledger::{AppendError, Clock, Receipt, Shared};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{self, Checkpoint, NoteSigner};
use crate::policy::{self, PolicyDecision};
use crate::projections::{self, FastHash};
use crate::registry::{self, Authority, LogPosition, Registry};
use crate::rejection::{BatchRejection, Rejection};
use crate::store::{self, StoreError, StreamHead};
use crate::verifier::{Group, Handoff, Prepared, Reply, Taken};

/// What the writer knows between commits; reloaded from the file if a commit fails.
struct State {
    next_index: u64,
    frontier: Frontier,
    registry: Registry,
    last_recorded_ms: i64,
    checkpoint_size: u64,
    checkpoint_ms: i64,
    /// The active policies as of the last commit (few: read once, changed by policy
    /// events only).
    active_policies: Vec<PolicyView>,
}

pub(crate) struct Writer {
    shared: Arc<Shared>,
    signer: NoteSigner,
    clock: Arc<dyn Clock>,
    state: State,
    /// Where committed groups' events go to be dropped (see [`Writer::run`]).
    reclaim: Option<mpsc::SyncSender<Vec<Vec<Prepared>>>>,
}

/// Committed groups waiting to be dropped; beyond this the writer drops them itself.
const RECLAIM_QUEUE: usize = 4;

/// One event staged for the group: where it goes.
struct Staged<'g> {
    prepared: &'g Prepared,
    index: u64,
    stream_version: u64,
    stream_prev: Option<u64>,
    policies: Evaluated,
}

/// What the policies that govern an event decided, and the inputs they were given.
#[derive(Default)]
struct Evaluated {
    decisions: Vec<Json>,
    /// (SHA-256 hex, bytes) of each decision's input, kept for replays.
    inputs: Vec<(String, Vec<u8>)>,
}

/// How one append ends within a group.
enum Outcome {
    /// New entries (positions into the group's staged list) and receipts of duplicates,
    /// in the batch's order.
    Staged(Vec<Slot>),
    Rejected(BatchRejection),
}

enum Slot {
    New(usize),
    /// The same event was staged earlier in this group by another append.
    SameAs(usize),
    Duplicate(Receipt),
}

enum Wait {
    Group(Group),
    CheckpointDue,
    Closed,
}

/// What the log says of one event before it is staged.
enum Check {
    /// Not in the log; the stream's head as the event found it, and what its policies
    /// decided.
    New(Option<StreamHead>, Evaluated),
    InLog(Receipt),
    StagedAt(usize),
}

/// What the group (or one append of it) has staged, on top of the committed log.
#[derive(Default)]
struct Overlay {
    heads: HashMap<String, StreamHead, FastHash>,
    event_ids: HashMap<u128, (Hash, u64), FastHash>,
    /// The group's working registry, once a registry event is staged (group level only).
    registry: Option<Registry>,
    /// The authorities an append changed and what they were before (append level only).
    undo: Vec<(AuthorityId, Option<Authority>)>,
    /// Projections changed by what is staged, by stream.
    views: ChangedViews,
    /// Policy streams changed by what is staged: the active policies differ from the
    /// writer's list for those.
    policy_streams: Vec<String>,
}

impl Overlay {
    /// A group's overlay, sized for its events (growing maps of thousands rehash them all
    /// several times).
    fn with_capacity(events: usize) -> Self {
        Self {
            heads: HashMap::with_capacity_and_hasher(events, FastHash::default()),
            event_ids: HashMap::with_capacity_and_hasher(events, FastHash::default()),
            views: ChangedViews {
                views: HashMap::with_capacity_and_hasher(events, FastHash::default()),
                streams_by_serial: HashMap::with_capacity_and_hasher(events, FastHash::default()),
                ..ChangedViews::default()
            },
            ..Self::default()
        }
    }

    /// Empty again, keeping the maps' capacity (an append-level overlay is reused).
    fn clear(&mut self) {
        self.heads.clear();
        self.event_ids.clear();
        self.undo.clear();
        self.views.clear();
        self.policy_streams.clear();
    }
}

impl Writer {
    pub(crate) fn load(
        shared: Arc<Shared>,
        signer: NoteSigner,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let state = load_state(&shared)?;
        Ok(Self {
            shared,
            signer,
            clock,
            state,
            reclaim: None,
        })
    }

    pub(crate) fn run(mut self, handoff: &Handoff) {
        /// Tells the verifier stage when this thread stops, even by a panic.
        struct Gone<'h>(&'h Handoff);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                self.0.writer_gone();
            }
        }
        let _gone = Gone(handoff);
        // Freeing a committed group's events (parsed trees, canonical bytes, catalogue
        // events: allocated on other threads) took ~4% of this thread, the ledger's
        // bottleneck; a helper thread frees them while the writer goes on. It ends when
        // the writer does (its queue's sender is dropped with the writer).
        let (reclaim, reclaimed) = mpsc::sync_channel::<Vec<Vec<Prepared>>>(RECLAIM_QUEUE);
        let spawned = std::thread::Builder::new()
            .name("ledger-reclaim".into())
            .spawn(move || reclaimed.into_iter().for_each(drop));
        self.reclaim = spawned.is_ok().then_some(reclaim);
        loop {
            match self.wait_for_group(handoff) {
                Wait::Group(group) => self.commit_group(group),
                Wait::CheckpointDue => self.checkpoint_if_due(),
                Wait::Closed => break,
            }
        }
        self.seal();
    }

    /// Waits for the next group, or until a checkpoint falls due.
    fn wait_for_group(&mut self, handoff: &Handoff) -> Wait {
        let timeout = (self.state.next_index > self.state.checkpoint_size).then(|| {
            let now = self.clock.now_unix_millis();
            let wait_ms = if self.checkpoint_due(now) {
                0
            } else {
                (self.state.checkpoint_ms + self.interval_ms() - now).max(0)
            };
            Duration::from_millis(wait_ms.unsigned_abs())
        });
        match handoff.take(timeout) {
            Taken::Appends(group) => Wait::Group(group),
            Taken::Timeout => Wait::CheckpointDue,
            Taken::Shutdown => Wait::Closed,
        }
    }

    fn interval_ms(&self) -> i64 {
        i64::try_from(self.shared.config.checkpoint_interval_ms).unwrap_or(i64::MAX)
    }

    /// Whether the interval since the last checkpoint has passed, by the raw clock (not
    /// the clamped `recorded_at`): a clock stepped back counts as due, so checkpoints
    /// never stop for as long as the step.
    fn checkpoint_due(&self, clock_ms: i64) -> bool {
        let elapsed = clock_ms.saturating_sub(self.state.checkpoint_ms);
        elapsed >= self.interval_ms() || elapsed < 0
    }

    fn commit_group(&mut self, group: Vec<(Vec<Prepared>, Reply)>) {
        match self.write_group(&group) {
            Ok(outcomes) => {
                let (events, replies): (Vec<_>, Vec<_>) = group.into_iter().unzip();
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome);
                }
                if let Some(reclaim) = &self.reclaim {
                    // A full queue (or a gone helper) hands the events back: dropped here.
                    let _ = reclaim.try_send(events);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, reply) in group {
                    let _ = reply.send(Err(AppendError::Store(StoreError::Corrupt(format!(
                        "the commit failed and the outcome is unknown; retry with the same event ids: {msg}"
                    )))));
                }
                // The transaction was dropped; what the writer believed may be ahead of
                // the file. Believe the file again.
                if let Ok(state) = load_state(&self.shared) {
                    self.state = state;
                }
            }
        }
    }

    fn write_group(
        &mut self,
        group: &[(Vec<Prepared>, Reply)],
    ) -> Result<Vec<Result<Vec<Receipt>, AppendError>>, StoreError> {
        // One time for the whole group, fixed before staging: key registrations and
        // revocations record it.
        let clock_ms = self.clock.now_unix_millis();
        let now_ms = clock_ms.max(self.state.last_recorded_ms);
        let recorded_at = Timestamp::from_unix_millis(now_ms)
            .ok_or_else(|| StoreError::Corrupt(format!("clock out of range: {now_ms}")))?;
        let txn = self.shared.db.begin_write()?;
        let events: usize = group.iter().map(|(events, _)| events.len()).sum();
        let mut overlay = Overlay::with_capacity(events);
        // One append's overlay, emptied into the group's after each append: a group of a
        // thousand single-event appends (an import, many clients) reuses its maps instead
        // of building and dropping a thousand sets of them.
        let mut mine = Overlay::default();
        let mut staged = Vec::with_capacity(events);
        let mut outcomes = Vec::with_capacity(group.len());
        {
            // Opened once per group (not per lookup), and closed before the writes.
            let lookup = Lookup {
                txn: &txn,
                stream_entries: txn.open_table(store::STREAM_ENTRIES)?,
                event_ids: txn.open_table(store::EVENT_IDS)?,
                projections: txn.open_table(projections::PROJECTIONS)?,
                serial_index: txn.open_table(projections::SERIAL_INDEX)?,
                policy_blobs: txn.open_table(store::POLICY_BLOBS)?,
            };
            for (events, _) in group {
                outcomes.push(self.stage_append(
                    &lookup,
                    &mut overlay,
                    &mut mine,
                    &mut staged,
                    events,
                    &recorded_at,
                )?);
            }
        }
        let mut frontier = self.state.frontier.clone();
        let receipts = write_entries(&txn, &staged, &recorded_at, &mut frontier)?;
        write_policy_inputs(&txn, &staged)?;
        projections::write_views(
            &txn,
            &overlay.views.views,
            &overlay.views.read_serials,
            &self.shared.serial_grams,
        )?;
        let checkpoint_due = !staged.is_empty() && self.checkpoint_due(clock_ms);
        if checkpoint_due {
            self.write_checkpoint(&txn, &frontier)?;
        }
        txn.commit()?;

        // Durable: now the in-memory state may move on.
        let counters = &self.shared.counters;
        counters.commits.fetch_add(1, Ordering::Relaxed);
        counters
            .entries
            .fetch_add(staged.len() as u64, Ordering::Relaxed);
        if checkpoint_due {
            counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        }
        self.state.next_index += staged.len() as u64;
        self.state.frontier = frontier;
        self.state.last_recorded_ms = now_ms;
        if checkpoint_due {
            self.state.checkpoint_size = self.state.next_index;
            self.state.checkpoint_ms = clock_ms;
        }
        if let Some(registry) = overlay.registry {
            self.publish_registry(registry);
        }
        if !overlay.policy_streams.is_empty() {
            self.state.active_policies = load_active_policies(&self.shared)?;
        }
        Ok(outcomes
            .into_iter()
            .map(|o| match o {
                Outcome::Rejected(r) => Err(AppendError::Rejected(r)),
                Outcome::Staged(slots) => Ok(slots
                    .into_iter()
                    .map(|s| match s {
                        Slot::New(i) => receipts[i].clone(),
                        Slot::SameAs(i) => Receipt {
                            duplicate: true,
                            ..receipts[i].clone()
                        },
                        Slot::Duplicate(r) => r,
                    })
                    .collect()),
            })
            .collect())
    }

    fn publish_registry(&mut self, registry: Registry) {
        self.state.registry = registry.clone();
        let snapshot = Arc::new(registry);
        match self.shared.registry.write() {
            Ok(mut r) => *r = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Stages one append (a client's batch) all or nothing, in `mine` (empty on entry and
    /// on return) before the group's `overlay`. Returns a store error only for failures
    /// of the file, which fail the whole group.
    fn stage_append<'g>(
        &self,
        lookup: &Lookup<'_>,
        overlay: &mut Overlay,
        mine: &mut Overlay,
        staged: &mut Vec<Staged<'g>>,
        events: &'g [Prepared],
        recorded_at: &Timestamp,
    ) -> Result<Outcome, StoreError> {
        let mut slots = Vec::with_capacity(events.len());
        let first_new = staged.len();
        for (position, prepared) in events.iter().enumerate() {
            let index = self.state.next_index + staged.len() as u64;
            let at = LogPosition {
                index,
                recorded_at: recorded_at.clone(),
            };
            match self.stage_event(lookup, overlay, mine, staged, prepared, &at)? {
                Ok(Check::InLog(receipt)) => slots.push(Slot::Duplicate(receipt)),
                Ok(Check::StagedAt(i)) => slots.push(Slot::SameAs(i)),
                Ok(Check::New(prev, policies)) => {
                    let event = &prepared.event;
                    let stream = event.envelope().stream.as_str();
                    let stream_version = prev.map_or(0, |h| h.version + 1);
                    let digest = prepared.digest;
                    mine.heads.insert(
                        stream.to_owned(),
                        StreamHead {
                            version: stream_version,
                            index,
                        },
                    );
                    mine.event_ids
                        .insert(event.envelope().event_id.as_u128(), (digest, index));
                    slots.push(Slot::New(staged.len()));
                    staged.push(Staged {
                        prepared,
                        index,
                        stream_version,
                        stream_prev: prev.map(|h| h.index),
                        policies,
                    });
                }
                Err(rejection) => {
                    staged.truncate(first_new);
                    if let Some(working) = overlay.registry.as_mut() {
                        for (id, prior) in mine.undo.drain(..).rev() {
                            working.restore(&id, prior);
                        }
                    }
                    mine.clear();
                    return Ok(Outcome::Rejected(BatchRejection {
                        position,
                        rejection,
                    }));
                }
            }
        }
        overlay.heads.extend(mine.heads.drain());
        overlay.event_ids.extend(mine.event_ids.drain());
        overlay.views.absorb(&mut mine.views);
        overlay.policy_streams.append(&mut mine.policy_streams);
        mine.clear();
        Ok(Outcome::Staged(slots))
    }

    /// Checks one event against the log in the documented order.
    fn stage_event(
        &self,
        lookup: &Lookup<'_>,
        overlay: &mut Overlay,
        mine: &mut Overlay,
        staged: &[Staged<'_>],
        prepared: &Prepared,
        at: &LogPosition,
    ) -> Result<Result<Check, Rejection>, StoreError> {
        let index = at.index;
        let event = &prepared.event;
        let env = event.envelope();
        if let Some(r) = &prepared.invalid {
            return Ok(Err(r.clone()));
        }
        let id = env.event_id.as_u128();
        if let Some((digest, original)) = lookup.event_id(overlay, mine, id)? {
            if digest == prepared.digest {
                if let Some(position) = original.checked_sub(self.state.next_index) {
                    // Another append of this group carries the same event: share its receipt.
                    let position = usize::try_from(position).unwrap_or(usize::MAX);
                    return Ok(Ok(Check::StagedAt(position)));
                }
                return receipt_of(lookup.txn, original).map(|r| Ok(Check::InLog(r)));
            }
            // Only a valid signer learns that the id is taken, and where.
            if let Err(r) = self.check_signature(overlay, prepared, index) {
                return Ok(Err(r));
            }
            return Ok(Err(Rejection::EventIdConflict {
                event_id: env.event_id.to_string(),
                index: original,
            }));
        }

        if index == 0 {
            // The first entry is the root named at creation, registering itself.
            if env.actor.as_str() != self.shared.meta.root_authority {
                return Ok(Err(Rejection::GenesisRequired));
            }
            let mut genesis = Registry::default();
            if let Err(r) = genesis.apply_genesis(event, at) {
                return Ok(Err(r));
            }
            mine.undo.push((env.actor.clone(), None));
            overlay.registry = Some(genesis);
        } else if let Err(r) = self.check_signature(overlay, prepared, index) {
            return Ok(Err(r));
        }

        let stream = env.stream.as_str();
        let head = lookup.head(overlay, mine, stream)?;
        let version_ok = match (env.expected_version, head) {
            (ExpectedVersion::Any, _) => true,
            (ExpectedVersion::NoStream, h) => h.is_none(),
            (ExpectedVersion::Exact(v), Some(h)) => h.version == v,
            (ExpectedVersion::Exact(_), None) => false,
        };
        if !version_ok {
            return Ok(Err(Rejection::WrongExpectedVersion {
                stream: stream.to_owned(),
                expected: env.expected_version,
                current: head.map(|h| h.version),
            }));
        }

        if index > 0 && registry::is_registry_event(env.event_type.as_str()) {
            // One working copy of the registry per group; each append keeps an undo log
            // of the authorities it changed, so a rejected batch costs what it changed,
            // not a copy of the whole registry.
            let Ok(subject) = AuthorityId::parse(env.stream.id()) else {
                return Ok(Err(Rejection::InvalidPayload {
                    event_type: env.event_type.to_string(),
                    reason: "registry events belong on the authority:<id> stream".into(),
                }));
            };
            if let Err(r) = domain::check_registry_event(event) {
                return Ok(Err(r));
            }
            let working = overlay
                .registry
                .get_or_insert_with(|| self.state.registry.clone());
            let prior = working.get(&subject).cloned();
            if let Err(r) = working.apply(event, at) {
                working.restore(&subject, prior);
                return Ok(Err(r));
            }
            mine.undo.push((subject, prior));
        }
        let mut policies = Evaluated::default();
        if let Some(domain_event) = &prepared.domain {
            let domain_event = match domain_event {
                Ok(event) => event,
                Err(e) => return Ok(Err(Rejection::Catalogue(e.clone()))),
            };
            let registry = overlay.registry.as_ref().unwrap_or(&self.state.registry);
            let Some(actor) = registry.get(&env.actor) else {
                return Ok(Err(Rejection::UnknownActor(env.actor.to_string())));
            };
            let context = Context::of(env, actor, index);
            let active = self.active_policies(overlay, mine);
            let mut views = StagedViews {
                lookup,
                group: &overlay.views,
                mine: &mut mine.views,
                staged,
                first_staged: self.state.next_index,
                opened: head.is_none().then_some(stream),
            };
            match domain::decide(domain_event, &context, &mut views) {
                Ok(()) => {}
                Err(DomainError::Rejected(r)) => return Ok(Err(r)),
                Err(DomainError::Store(e)) => return Err(e),
            }
            if let DomainEvent::PolicyInstalled(installed) = domain_event
                && let Err(r) = self.check_policy_blobs(lookup, installed)?
            {
                return Ok(Err(r));
            }
            policies = match self.evaluate_policies(
                lookup,
                &active,
                domain_event,
                &context,
                event,
                &mut views,
            )? {
                Ok(evaluated) => evaluated,
                Err(r) => return Ok(Err(r)),
            };
            domain::evolve(domain_event, &context, &mut views)?;
            if env.stream.kind() == StreamKind::Policy {
                mine.policy_streams.push(env.stream.to_string());
            }
        }
        Ok(Ok(Check::New(head, policies)))
    }

    /// The active policies as this event sees them: the writer's list, unless a policy
    /// event of this group changed one.
    fn active_policies(&self, overlay: &Overlay, mine: &Overlay) -> Cow<'_, [PolicyView]> {
        let touched: Vec<&String> = overlay
            .policy_streams
            .iter()
            .chain(&mine.policy_streams)
            .collect();
        if touched.is_empty() {
            return Cow::Borrowed(&self.state.active_policies);
        }
        let mut active: Vec<PolicyView> = self
            .state
            .active_policies
            .iter()
            .filter(|p| {
                !touched
                    .iter()
                    .any(|s| s.strip_prefix("policy:") == Some(&p.id))
            })
            .cloned()
            .collect();
        let mut seen = Vec::new();
        for stream in touched {
            if seen.contains(&stream) {
                continue;
            }
            seen.push(stream);
            let view = mine.views.get(stream).or_else(|| overlay.views.get(stream));
            if let Some(View::Policy(p)) = view
                && p.status == PolicyStatus::Active
            {
                active.push((**p).clone());
            }
        }
        Cow::Owned(active)
    }

    /// A policy may be installed only with its module (and data) uploaded, and a module
    /// the host accepts under the ABI.
    fn check_policy_blobs(
        &self,
        lookup: &Lookup<'_>,
        installed: &PolicyInstalled,
    ) -> Result<Result<(), Rejection>, StoreError> {
        let module_sha256 = installed.module_sha256.to_string();
        let Some(module) = lookup.policy_blob(&module_sha256)? else {
            return Ok(Err(Rejection::PolicyBlobMissing {
                what: "module",
                sha256: module_sha256,
            }));
        };
        if let Some(data) = &installed.data_sha256 {
            let data = data.to_string();
            match lookup.policy_blob(&data)? {
                None => {
                    return Ok(Err(Rejection::PolicyBlobMissing {
                        what: "data file",
                        sha256: data,
                    }));
                }
                Some(bytes) if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() => {
                    return Ok(Err(Rejection::PolicyModuleInvalid {
                        sha256: module_sha256,
                        reason: format!("its data file {data} is not JSON"),
                    }));
                }
                Some(_) => {}
            }
        }
        let Some(runner) = self.shared.policy_runner() else {
            return Ok(Ok(()));
        };
        let checked = runner.inspect(&module).and_then(|metadata| {
            match installed
                .governs
                .iter()
                .find(|t| !metadata.governs.iter().any(|g| g == t.as_str()))
            {
                Some(t) => Err(format!(
                    "the event has it govern {t}, which its metadata does not list ({})",
                    metadata.governs.join(", ")
                )),
                None => Ok(()),
            }
        });
        Ok(checked.map_err(|reason| Rejection::PolicyModuleInvalid {
            sha256: module_sha256,
            reason,
        }))
    }

    /// Runs every active policy that governs the event for a State it involves; one that
    /// does not allow stops it (policy.rs `compose`).
    fn evaluate_policies(
        &self,
        lookup: &Lookup<'_>,
        active: &[PolicyView],
        event: &DomainEvent,
        context: &Context<'_>,
        signed: &crate::event::SignedEvent,
        views: &mut dyn Views,
    ) -> Result<Result<Evaluated, Rejection>, StoreError> {
        let event_type = event.event_type();
        if !active
            .iter()
            .any(|p| p.governs.iter().any(|t| t == event_type))
        {
            return Ok(Ok(Evaluated::default()));
        }
        let resolved = policy::resolve(event, context, views)?;
        let governing = policy::governing(active, event_type, &resolved.states);
        if governing.is_empty() {
            return Ok(Ok(Evaluated::default()));
        }
        let runner = self.shared.policy_runner();
        let blobs = |sha256: &str| lookup.policy_blob(sha256);
        let mut decisions = Vec::with_capacity(governing.len());
        let mut inputs = Vec::with_capacity(governing.len());
        for governing_policy in governing {
            let (decision, input) = policy::run_policy(
                runner.as_deref(),
                governing_policy,
                signed,
                &resolved,
                &blobs,
            )?;
            self.shared
                .counters
                .policy_evaluations
                .fetch_add(1, Ordering::Relaxed);
            inputs.push((decision.input_sha256.clone(), input));
            decisions.push(decision);
        }
        if let Err(r) = policy::compose(&decisions) {
            self.shared
                .counters
                .policy_refusals
                .fetch_add(1, Ordering::Relaxed);
            return Ok(Err(r));
        }
        Ok(Ok(Evaluated {
            decisions: decisions.iter().map(PolicyDecision::to_json).collect(),
            inputs,
        }))
    }

    /// The event's signature under the key its actor may sign with at `index`.
    fn check_signature(
        &self,
        overlay: &Overlay,
        prepared: &Prepared,
        index: u64,
    ) -> Result<(), Rejection> {
        let event = &prepared.event;
        let env = event.envelope();
        let registry = overlay.registry.as_ref().unwrap_or(&self.state.registry);
        let key = registry.signing_key(event, index)?;
        let valid = match prepared.checked {
            Some((checked_key, valid)) if checked_key == key => valid,
            // The key was registered after the verifier looked (e.g. in this group).
            _ => crypto::verify_strict(&key, event.signing_bytes(), event.signature()).is_ok(),
        };
        if valid {
            Ok(())
        } else {
            Err(Rejection::SignatureInvalid {
                actor: env.actor.to_string(),
                key_id: env.key_id.to_string(),
            })
        }
    }

    fn checkpoint_if_due(&mut self) {
        if self.state.next_index <= self.state.checkpoint_size {
            return;
        }
        let now_ms = self.clock.now_unix_millis();
        if !self.checkpoint_due(now_ms) {
            return;
        }
        let written = self
            .shared
            .db
            .begin_write()
            .map_err(StoreError::from)
            .and_then(|txn| {
                self.write_checkpoint(&txn, &self.state.frontier)?;
                txn.commit().map_err(StoreError::from)
            });
        if written.is_ok() {
            self.shared
                .counters
                .checkpoints
                .fetch_add(1, Ordering::Relaxed);
            self.state.checkpoint_size = self.state.next_index;
        }
        // Success or not, the next try is an interval away: a failing disk must not turn
        // the timer into a busy loop.
        self.state.checkpoint_ms = now_ms;
    }

    fn write_checkpoint(
        &self,
        txn: &WriteTransaction,
        frontier: &Frontier,
    ) -> Result<(), StoreError> {
        let checkpoint = Checkpoint {
            origin: self.shared.meta.origin.clone(),
            size: frontier.size(),
            root: frontier.root(),
            extensions: Vec::new(),
        };
        let signed = note::sign_checkpoint(&self.signer, &checkpoint)
            .map_err(|e| StoreError::Corrupt(format!("signing the checkpoint: {e}")))?;
        txn.open_table(store::CHECKPOINTS)?
            .insert(checkpoint.size, signed.as_str())?;
        Ok(())
    }

    /// One empty durable commit at shutdown, so that both of redb's commit slots hold
    /// the final state and a damaged header cannot roll back the last appends.
    fn seal(&mut self) {
        self.checkpoint_now();
        if let Ok(txn) = self.shared.db.begin_write() {
            let _ = txn.commit();
        }
    }

    /// At shutdown, a checkpoint covers everything appended, whatever the interval.
    fn checkpoint_now(&mut self) {
        self.state.checkpoint_ms = i64::MIN / 2;
        self.checkpoint_if_due();
    }
}

/// The committed tables the staging reads, opened once per group.
struct Lookup<'t> {
    txn: &'t WriteTransaction,
    stream_entries: redb::Table<'t, (&'static str, u64), u64>,
    event_ids: redb::Table<'t, u128, ([u8; 32], u64)>,
    projections: redb::Table<'t, &'static str, &'static [u8]>,
    serial_index: redb::Table<'t, (&'static str, u128), u64>,
    policy_blobs: redb::Table<'t, &'static str, &'static [u8]>,
}

/// Projections changed by what is staged, with the streams of the weapons staged with
/// each serial: the duplicate-serial check asks for a serial's holders once per marking,
/// and scanning every staged view for it made a batch quadratic.
#[derive(Default)]
struct ChangedViews {
    views: HashMap<String, View, FastHash>,
    /// Every stream a weapon view was staged for under this serial, including views since
    /// replaced (so a reader checks the current view).
    streams_by_serial: HashMap<String, Vec<String>, FastHash>,
    /// The serial row of each stored view read while staging: the stored view is still
    /// that one when the group is written (one writer, one transaction), so writing its
    /// successor needs no second decoding of it.
    read_serials: HashMap<String, projections::SerialRow, FastHash>,
}

impl ChangedViews {
    fn get(&self, stream: &str) -> Option<&View> {
        self.views.get(stream)
    }

    fn insert(&mut self, stream: String, view: View) {
        if let Some((serial, _)) = projections::serial_of(&view) {
            self.streams_by_serial
                .entry(serial.to_owned())
                .or_default()
                .push(stream.clone());
        }
        self.views.insert(stream, view);
    }

    /// Takes over `other`'s views, leaving it empty (its capacity kept).
    fn absorb(&mut self, other: &mut Self) {
        for (stream, view) in other.views.drain() {
            self.insert(stream, view);
        }
        other.streams_by_serial.clear();
        for (stream, row) in other.read_serials.drain() {
            self.read_serials.entry(stream).or_insert(row);
        }
    }

    fn clear(&mut self) {
        self.views.clear();
        self.streams_by_serial.clear();
        self.read_serials.clear();
    }

    fn streams_with_serial(&self, serial: &str) -> &[String] {
        self.streams_by_serial
            .get(serial)
            .map_or(&[], Vec::as_slice)
    }
}

/// The projections as an event being staged sees them: what its own append staged, then
/// what the group staged, then the committed tables.
struct StagedViews<'a, 't, 'g> {
    lookup: &'a Lookup<'t>,
    group: &'a ChangedViews,
    mine: &'a mut ChangedViews,
    staged: &'a [Staged<'g>],
    first_staged: u64,
    /// The event's own stream when the event opens it (no entry in the log or staged):
    /// such a stream has no committed view, since every view is first put by an event on
    /// its own stream (views of other streams are only changed after being read, and
    /// brokers' keys are not stream names), so its reads skip the table.
    opened: Option<&'a str>,
}

impl Views for StagedViews<'_, '_, '_> {
    fn get(&mut self, stream: &str) -> Result<Option<View>, StoreError> {
        if let Some(view) = self.mine.get(stream).or_else(|| self.group.get(stream)) {
            return Ok(Some(view.clone()));
        }
        if self.opened == Some(stream) {
            return Ok(None);
        }
        let Some(bytes) = self.lookup.projections.get(stream)? else {
            return Ok(None);
        };
        let view = projections::decode(stream, bytes.value())?;
        self.mine
            .read_serials
            .insert(stream.to_owned(), projections::owned_serial_row(&view));
        Ok(Some(view))
    }

    fn put(&mut self, stream: String, view: View) {
        self.mine.insert(stream, view);
    }

    fn serial_holders(&mut self, serial: &str) -> Result<Vec<WeaponId>, StoreError> {
        // Staged views win over the committed index: a staged weapon may have taken or
        // left this serial.
        let (mine, group) = (&*self.mine, self.group);
        let staged = |stream: &str| mine.get(stream).or_else(|| group.get(stream));
        let holds = |view: &View| projections::serial_of(view).is_some_and(|(s, _)| s == serial);
        let mut holders: Vec<WeaponId> =
            projections::serial_holders(&self.lookup.serial_index, serial)?
                .into_iter()
                .filter(|id| staged(&crate::domain::weapon_stream(id)).is_none_or(holds))
                .collect();
        let candidates = mine
            .streams_with_serial(serial)
            .iter()
            .chain(group.streams_with_serial(serial));
        for stream in candidates {
            if let Some((_, id)) = staged(stream)
                .and_then(projections::serial_of)
                .filter(|(s, _)| *s == serial)
                && !holders.contains(&id)
            {
                holders.push(id);
            }
        }
        Ok(holders)
    }

    fn entry_stream(&mut self, index: u64) -> Result<Option<String>, StoreError> {
        if let Some(position) = index.checked_sub(self.first_staged) {
            let position = usize::try_from(position).unwrap_or(usize::MAX);
            return Ok(self
                .staged
                .get(position)
                .map(|s| s.prepared.event.envelope().stream.to_string()));
        }
        let entries = self.lookup.txn.open_table(store::ENTRIES)?;
        let Some(bytes) = entries.get(index)? else {
            return Ok(None);
        };
        let entry = Entry::parse(bytes.value())
            .map_err(|e| StoreError::Corrupt(format!("entry {index}: {e}")))?;
        Ok(Some(entry.event.envelope().stream.to_string()))
    }
}

impl Lookup<'_> {
    fn policy_blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.policy_blobs.get(sha256)?.map(|v| v.value().to_vec()))
    }

    /// Where a stream stands: what this append and this group staged, else the log.
    fn head(
        &self,
        overlay: &Overlay,
        mine: &Overlay,
        stream: &str,
    ) -> Result<Option<StreamHead>, StoreError> {
        if let Some(h) = mine.heads.get(stream).or_else(|| overlay.heads.get(stream)) {
            return Ok(Some(*h));
        }
        store::stream_head(&self.stream_entries, stream)
    }

    fn event_id(
        &self,
        overlay: &Overlay,
        mine: &Overlay,
        id: u128,
    ) -> Result<Option<(Hash, u64)>, StoreError> {
        if let Some(v) = mine
            .event_ids
            .get(&id)
            .or_else(|| overlay.event_ids.get(&id))
        {
            return Ok(Some(*v));
        }
        Ok(self.event_ids.get(id)?.map(|v| v.value()))
    }
}

/// The receipt of an entry already in the log.
fn receipt_of(txn: &WriteTransaction, index: u64) -> Result<Receipt, StoreError> {
    let entries = txn.open_table(store::ENTRIES)?;
    let bytes = entries
        .get(index)?
        .ok_or_else(|| StoreError::Corrupt(format!("event id names missing entry {index}")))?;
    let entry = Entry::parse(bytes.value())
        .map_err(|e| StoreError::Corrupt(format!("entry {index}: {e}")))?;
    Ok(Receipt {
        index,
        stream_version: entry.stream_version,
        leaf_hash: merkle::leaf_hash(bytes.value()),
        recorded_at: entry.recorded_at.to_string(),
        duplicate: true,
    })
}

/// Writes the staged entries and everything derived from them; returns their receipts.
fn write_entries(
    txn: &WriteTransaction,
    staged: &[Staged],
    recorded_at: &Timestamp,
    frontier: &mut Frontier,
) -> Result<Vec<Receipt>, StoreError> {
    let mut entries = txn.open_table(store::ENTRIES)?;
    let mut nodes = txn.open_table(store::NODES)?;
    let mut stream_entries = txn.open_table(store::STREAM_ENTRIES)?;
    let mut event_ids = txn.open_table(store::EVENT_IDS)?;
    let mut receipts = Vec::with_capacity(staged.len());
    for s in staged {
        // INVARIANT: entries are appended at exactly the next index of the tree.
        debug_assert_eq!(s.index, frontier.size());
        let bytes = Entry::encode(
            s.index,
            recorded_at,
            s.stream_version,
            s.stream_prev,
            &s.prepared.event_json,
            &s.policies.decisions,
        );
        let leaf = merkle::leaf_hash(&bytes);
        entries.insert(s.index, bytes.as_slice())?;
        let mut node_err = None;
        frontier.append(leaf, |id, hash| {
            if node_err.is_none()
                && let Err(e) = nodes.insert((id.level, id.index), *hash)
            {
                node_err = Some(e);
            }
        });
        if let Some(e) = node_err {
            return Err(e.into());
        }
        let envelope = s.prepared.event.envelope();
        let stream = envelope.stream.as_str();
        stream_entries.insert((stream, s.stream_version), s.index)?;
        event_ids.insert(envelope.event_id.as_u128(), (s.prepared.digest, s.index))?;
        receipts.push(Receipt {
            index: s.index,
            stream_version: s.stream_version,
            leaf_hash: leaf,
            recorded_at: recorded_at.to_string(),
            duplicate: false,
        });
    }
    Ok(receipts)
}

fn load_state(shared: &Shared) -> Result<State, StoreError> {
    let reader = crate::store::LogReader::begin(&shared.db)?;
    let next_index = reader.tree_size()?;
    let txn = shared.db.begin_read()?;
    let nodes = txn.open_table(store::NODES)?;
    let mut hashes = Vec::new();
    for id in Frontier::node_ids(next_index) {
        hashes.push(
            nodes
                .get((id.level, id.index))?
                .map(|v| v.value())
                .ok_or_else(|| StoreError::Corrupt(format!("merkle node {id:?} is missing")))?,
        );
    }
    let frontier = Frontier::from_hashes(next_index, hashes)
        .map_err(|e| StoreError::Corrupt(format!("frontier: {e}")))?;
    let last_recorded_ms = match next_index.checked_sub(1) {
        Some(last) => reader
            .entry(last)?
            .map_or(0, |e| e.recorded_at.unix_millis()),
        None => 0,
    };
    let checkpoint_size = reader.latest_checkpoint()?.map_or(0, |(size, _)| size);
    Ok(State {
        next_index,
        frontier,
        registry: crate::ledger::replay_registry(&reader)?,
        last_recorded_ms,
        checkpoint_size,
        // Sign promptly after a restart if the last appends have no checkpoint yet.
        checkpoint_ms: i64::MIN / 2,
        active_policies: load_active_policies(shared)?,
    })
}

fn load_active_policies(shared: &Shared) -> Result<Vec<PolicyView>, StoreError> {
    let reader = crate::store::LogReader::begin(&shared.db)?;
    Ok(reader
        .views_with_prefix("policy:", None, usize::MAX)?
        .into_iter()
        .filter_map(|(_, view)| match view {
            View::Policy(p) if p.status == PolicyStatus::Active => Some(*p),
            _ => None,
        })
        .collect())
}

/// Keeps each decision's input by its hash, beside the entries that commit to it.
fn write_policy_inputs(txn: &WriteTransaction, staged: &[Staged]) -> Result<(), StoreError> {
    if staged.iter().all(|s| s.policies.inputs.is_empty()) {
        return Ok(());
    }
    let mut blobs = txn.open_table(store::POLICY_BLOBS)?;
    for (sha256, bytes) in staged.iter().flat_map(|s| &s.policies.inputs) {
        if blobs.get(sha256.as_str())?.is_none() {
            blobs.insert(sha256.as_str(), bytes.as_slice())?;
        }
    }
    Ok(())
}
