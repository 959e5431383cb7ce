//! The first stage of the append pipeline: takes everything queued, checks the
//! signatures of the whole group on all cores at once, precomputes what the writer
//! would otherwise compute alone (digests, the events' canonical bytes), and leaves the
//! group in the [`Handoff`]. While the writer writes and commits one group, this stage
//! already checks the next. Events a caller prepared on its own thread
//! (`Ledger::prepare`) pass through unchanged.
//!
//! Why not check signatures on the appending threads: with hundreds of appenders the
//! scheduler shares the cores between hundreds of runnable threads, the single writer
//! gets a sliver of one, and every durable commit waits for the CPU (measured: 8 ms per
//! commit instead of under 1 ms). Bursts of parallel verification leave the writer, and
//! the kernel's journal threads behind its fsync, room to run.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::catalogue::{CatalogueError, DomainEvent};
use crate::crypto::{self, PublicKey};
use crate::event::{EventLimits, SignedEvent};
use crate::ledger::{AppendError, Receipt, Shared};
use crate::merkle::Hash;
use crate::registry::{self, Registry};
use crate::rejection::Rejection;

pub(crate) type Reply = oneshot::Sender<Result<Vec<Receipt>, AppendError>>;

/// What a caller queues.
pub(crate) enum Request {
    Append { events: Batch, replies: Replies },
    Shutdown,
}

/// Who waits for a queued batch.
pub(crate) enum Replies {
    /// One caller for the whole batch: it is appended all or nothing.
    Whole(Reply),
    /// One reply per event: each event is an append of its own (`Ledger::submit_each`).
    Each(Vec<Reply>),
}

/// A batch's prepared events as the writer's appends.
fn appends_of(prepared: Vec<Prepared>, replies: Replies) -> Group {
    match replies {
        Replies::Whole(reply) => vec![(prepared, reply)],
        Replies::Each(replies) => prepared
            .into_iter()
            .zip(replies)
            .map(|(event, reply)| (vec![event], reply))
            .collect(),
    }
}

/// A batch as queued: as the caller signed or received it, or already prepared on the
/// caller's thread ([`crate::Ledger::prepare`]), in which case this stage only passes it
/// on.
pub(crate) enum Batch {
    Signed(Vec<Incoming>),
    Prepared(Vec<Prepared>),
}

/// An event as the append methods take it: built or parsed by the caller
/// (`SignedEvent`), or parsed by the ledger from the bytes a client sent
/// ([`Received`], from [`crate::Ledger::parse_received`]).
#[derive(Debug)]
pub struct Incoming {
    event: SignedEvent,
    /// The bytes the event was parsed from under the ledger's own limits, if it was.
    received: Option<Vec<u8>>,
}

impl Incoming {
    pub(crate) fn event(&self) -> &SignedEvent {
        &self.event
    }
}

impl From<SignedEvent> for Incoming {
    fn from(event: SignedEvent) -> Self {
        Self {
            event,
            received: None,
        }
    }
}

/// An event with the bytes the ledger parsed it from ([`crate::Ledger::parse_received`]).
/// Preparing it skips the check that its canonical form parses back when those bytes are
/// that form: it is the parse already done.
#[derive(Debug)]
pub struct Received(Incoming);

impl Received {
    pub(crate) fn new(event: SignedEvent, bytes: Vec<u8>) -> Self {
        Self(Incoming {
            event,
            received: Some(bytes),
        })
    }
}

impl From<Received> for Incoming {
    fn from(received: Received) -> Self {
        received.0
    }
}

impl Batch {
    fn len(&self) -> usize {
        match self {
            Self::Signed(events) => events.len(),
            Self::Prepared(events) => events.len(),
        }
    }

    fn prepare(self, registry: &Registry, limits: &EventLimits) -> Vec<Prepared> {
        match self {
            Self::Signed(events) => {
                // Chunks of up to CHECKS_PER_BATCH, small enough that each thread of the
                // pool gets one: twenty events are two chunks of ten on two cores, not
                // one of twenty on one (ten already share most of what a chunk saves).
                let chunk = events
                    .len()
                    .div_ceil(rayon::current_num_threads())
                    .clamp(1, crypto::CHECKS_PER_BATCH);
                events
                    .into_par_iter()
                    .chunks(chunk)
                    .flat_map_iter(|chunk| prepare_all(registry, limits, chunk))
                    .collect()
            }
            Self::Prepared(prepared) => prepared,
        }
    }
}

/// Prepared appends, each with the reply its caller waits for.
pub(crate) type Group = Vec<(Vec<Prepared>, Reply)>;

/// Where this stage leaves prepared appends for the writer, which takes all of them at
/// once when it is ready: whatever was prepared while it committed the last group
/// becomes one commit, however many requests it came in. At most `events_max` events
/// wait here (unless one append alone is larger); beyond that this stage waits, so
/// back-pressure reaches the request queue.
pub(crate) struct Handoff {
    slot: Mutex<Slot>,
    filled: Condvar,
    drained: Condvar,
    events_max: usize,
}

#[derive(Default)]
struct Slot {
    appends: Group,
    events: usize,
    /// No more appends will come.
    shutdown: bool,
    /// The writer has stopped: nothing left here will be taken.
    writer_gone: bool,
}

/// What the writer finds in the handoff.
pub(crate) enum Taken {
    Appends(Group),
    /// Nothing came within the time asked.
    Timeout,
    Shutdown,
}

impl Handoff {
    pub(crate) fn new(events_max: usize) -> Self {
        Self {
            slot: Mutex::default(),
            filled: Condvar::new(),
            drained: Condvar::new(),
            events_max,
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds prepared appends for the writer; false if the writer has stopped.
    fn put(&self, group: Group) -> bool {
        let events: usize = group.iter().map(|(e, _)| e.len()).sum();
        let mut slot = self.slot();
        while !slot.writer_gone
            && !slot.appends.is_empty()
            && slot.events + events > self.events_max
        {
            slot = self
                .drained
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if slot.writer_gone {
            return false;
        }
        slot.events += events;
        slot.appends.extend(group);
        self.filled.notify_one();
        true
    }

    fn shut(&self) {
        self.slot().shutdown = true;
        self.filled.notify_one();
    }

    /// The writer: everything waiting, as soon as there is something; `Timeout` after
    /// `timeout` (None: no limit) with nothing; `Shutdown` once all is taken.
    pub(crate) fn take(&self, timeout: Option<Duration>) -> Taken {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut slot = self.slot();
        loop {
            if !slot.appends.is_empty() {
                slot.events = 0;
                self.drained.notify_all();
                return Taken::Appends(std::mem::take(&mut slot.appends));
            }
            if slot.shutdown {
                return Taken::Shutdown;
            }
            slot = match deadline {
                None => self
                    .filled
                    .wait(slot)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return Taken::Timeout;
                    };
                    self.filled
                        .wait_timeout(slot, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// The writer has stopped (for any reason): this stage stops waiting for it.
    pub(crate) fn writer_gone(&self) {
        self.slot().writer_gone = true;
        self.drained.notify_all();
    }
}

/// An event with everything the writer needs precomputed.
pub(crate) struct Prepared {
    pub(crate) event: SignedEvent,
    /// The key the signature was checked against and whether it verified; None when the
    /// key was not registered when the group was checked (the writer checks it then).
    pub(crate) checked: Option<(PublicKey, bool)>,
    /// See `SignedEvent::content_digest`.
    pub(crate) digest: Hash,
    /// The JCS bytes of the signed event, as the entry embeds them.
    pub(crate) event_json: Vec<u8>,
    /// Set when the event breaks a rule of the envelope: events built in code (not
    /// parsed from a client's bytes) are checked here, so that every stored entry parses.
    pub(crate) invalid: Option<Rejection>,
    /// The payload read as a catalogue event (checked here, on all cores, rather than by
    /// the single writer); None for the registry's own events.
    pub(crate) domain: Option<Result<DomainEvent, CatalogueError>>,
}

/// Prepares events, in order; `limits` are the ledger's, which a received event was parsed
/// under. Their signatures are checked together ([`crypto::verify_strict_each`]); callers
/// spreading work over threads hand this [`crypto::CHECKS_PER_BATCH`] events at a time.
pub(crate) fn prepare_all(
    registry: &Registry,
    limits: &EventLimits,
    events: Vec<Incoming>,
) -> Vec<Prepared> {
    let mut prepared: Vec<Prepared> = events
        .into_iter()
        .map(|incoming| prepare_unchecked(registry, limits, incoming))
        .collect();
    let (keyed, checks): (Vec<usize>, Vec<crypto::SignatureCheck<'_>>) = prepared
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let (key, _) = p.checked.as_ref()?;
            Some((
                i,
                crypto::SignatureCheck {
                    key,
                    message: p.event.signing_bytes(),
                    signature: p.event.signature(),
                },
            ))
        })
        .unzip();
    let verified = crypto::verify_strict_each(&checks);
    for (i, ok) in keyed.into_iter().zip(verified) {
        if let Some((_, checked)) = &mut prepared[i].checked {
            *checked = ok;
        }
    }
    prepared
}

/// Everything but the signature check: `checked` holds the key and `false` until
/// [`prepare_all`] checks the signatures of its events together.
fn prepare_unchecked(registry: &Registry, limits: &EventLimits, incoming: Incoming) -> Prepared {
    let Incoming { event, received } = incoming;
    let event_json = event.to_canonical_vec();
    // Check twice: what the entry will embed must parse back, under the same limits, to
    // exactly this event (an event signed in code skips `SignedEvent::parse`). When those
    // are the very bytes the event was parsed from, it does: parsing is a function of
    // the bytes.
    let invalid = if received.as_deref() == Some(event_json.as_slice()) {
        None
    } else {
        match SignedEvent::parse(&event_json, limits) {
            Ok(reparsed) if reparsed == event => None,
            Ok(_) => Some(Rejection::MalformedJson(
                "the event does not survive its own canonical form".into(),
            )),
            Err(r) => Some(r),
        }
    };
    let env = event.envelope();
    // Keys never change once registered (key ids are not reused), so a key found here
    // is the key the writer will find; whether it is still unrevoked at the event's
    // index is the writer's question.
    let checked = registry
        .get(&env.actor)
        .and_then(|a| a.keys.get(&env.key_id))
        .map(|k| (k.public_key, false));
    let event_type = env.event_type.as_str();
    let domain = (!registry::is_registry_event(event_type))
        .then(|| DomainEvent::from_payload(event_type, env.type_version, &env.payload));
    Prepared {
        domain,
        digest: event.content_digest(),
        event_json,
        checked,
        invalid,
        event,
    }
}

/// Prepares the appends taken together. The signed events of all of them are checked as
/// one list, [`crypto::CHECKS_PER_BATCH`] at a time, whatever append each came in: a group
/// of single-event appends (many clients, one event each) shares the batch check's one
/// inversion per chunk instead of paying a whole check for each event (a check alone
/// costs ~1.7x one in a chunk of 64). Preparing an event depends on nothing but the event
/// and the registry, so the appends get what they would have got one by one.
fn prepare_group(
    appends: Vec<(Batch, Replies)>,
    registry: &Registry,
    limits: &EventLimits,
) -> Group {
    enum Waiting {
        Prepared(Vec<Prepared>),
        /// This many of the signed events, in order.
        Signed(usize),
    }
    let mut signed = Vec::new();
    let waiting: Vec<(Waiting, Replies)> = appends
        .into_iter()
        .map(|(batch, replies)| match batch {
            Batch::Signed(events) => {
                let count = events.len();
                signed.extend(events);
                (Waiting::Signed(count), replies)
            }
            Batch::Prepared(prepared) => (Waiting::Prepared(prepared), replies),
        })
        .collect();
    let mut checked = Batch::Signed(signed).prepare(registry, limits).into_iter();
    waiting
        .into_iter()
        .flat_map(|(waiting, replies)| {
            let prepared = match waiting {
                Waiting::Prepared(prepared) => prepared,
                Waiting::Signed(count) => checked.by_ref().take(count).collect(),
            };
            appends_of(prepared, replies)
        })
        .collect()
}

pub(crate) fn run(shared: Arc<Shared>, requests: mpsc::Receiver<Request>, writer: &Handoff) {
    let mut shutting_down = false;
    while !shutting_down {
        let Ok(first) = requests.recv() else { break };
        let mut appends = Vec::new();
        let mut events = 0;
        let mut take = |r: Request, appends: &mut Vec<_>| match r {
            Request::Append { events: e, replies } => {
                events += e.len();
                appends.push((e, replies));
                events
            }
            Request::Shutdown => {
                shutting_down = true;
                usize::MAX
            }
        };
        let mut queued = take(first, &mut appends);
        while queued < shared.config.commit_events_max {
            match requests.try_recv() {
                Ok(r) => queued = take(r, &mut appends),
                Err(_) => break,
            }
        }
        if appends.is_empty() {
            continue;
        }
        let registry = shared.registry_snapshot();
        if !writer.put(prepare_group(
            appends,
            &registry,
            &shared.config.event_limits,
        )) {
            return;
        }
    }
    // Finish what is queued, then let the writer seal the file.
    while let Ok(r) = requests.try_recv() {
        if let Request::Append { events, replies } = r {
            let registry = shared.registry_snapshot();
            let prepared = events.prepare(&registry, &shared.config.event_limits);
            if !writer.put(appends_of(prepared, replies)) {
                return;
            }
        }
    }
    writer.shut();
}
