//! The domain's rules: pure deciders that judge an event against the projections, and the
//! folds that apply it (DOMAIN.md "Invariants the ledger enforces on append").
//!
//! An event reaches [`decide`] once the log has checked it (signature, key, expected
//! version). The decider reads the projections through [`Views`] and either returns nothing
//! (the event may be appended) or a [`Rejection`]; it does no I/O of its own and reads no
//! clock: time is the event's `occurred_at` and the log position, given in [`Context`].
//! [`evolve`] then applies the accepted event to every projection it concerns. `rebuild`
//! runs [`evolve`] alone over the whole log: facts already in the log are never judged
//! again, so a rule added later never makes an old entry unreadable.
//!
//! The checks run in this order, so that one event always gets the same code:
//! 1. the catalogue: type, version, payload shape and the payload's own rules
//!    (`unknown_event_type`, `invalid_payload`, `marking_incomplete`, ...);
//! 2. the stream: the type belongs on this kind of stream (`wrong_stream_kind`);
//! 3. who may emit it: the actor's kind is on the type's allow-list (`actor_not_allowed`);
//! 4. where: the State fields the actor speaks for are its own jurisdiction
//!    (`jurisdiction_mismatch`);
//! 5. existence: a first event on a new stream (`stream_exists`), every other event on one
//!    that exists (`weapon_not_marked`, `document_not_found`);
//! 6. the stream's own state (`weapon_destroyed`, `weapon_missing`, `licence_already_decided`,
//!    `trace_not_open`, ...);
//! 7. the other streams the payload cites, in the payload's field order (licence, end-user
//!    certificate, weapons, re-export consent).

mod allow;
mod documents;
mod trace;
pub mod views;
pub mod visibility;
mod weapon;

use crate::catalogue::{DomainEvent, WeaponId};
use crate::event::{StreamKind, StreamName, Timestamp};
use crate::registry::AuthorityKind;
use crate::rejection::Rejection;
use crate::store::StoreError;
use crate::values::Date;

pub use allow::kinds_allowed;
use views::View;

/// Where and by whom an event is being recorded.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The index the entry gets (or has, when rebuilding).
    pub index: u64,
    pub stream: &'a StreamName,
    pub actor: &'a str,
    pub key_id: &'a str,
    pub actor_kind: AuthorityKind,
    /// The ISO 3166-1 code of the State the actor acts for.
    pub jurisdiction: &'a str,
    pub occurred_at: &'a Timestamp,
}

impl<'a> Context<'a> {
    /// The context of `envelope`, signed by `actor`, at log position `index`.
    pub fn of(
        envelope: &'a crate::event::Envelope,
        actor: &'a crate::registry::Authority,
        index: u64,
    ) -> Self {
        Self {
            index,
            stream: &envelope.stream,
            actor: envelope.actor.as_str(),
            key_id: envelope.key_id.as_str(),
            actor_kind: actor.kind,
            jurisdiction: &actor.jurisdiction,
            occurred_at: &envelope.occurred_at,
        }
    }

    /// The calendar date of `occurred_at` (UTC): what validity periods are judged by.
    pub fn date(&self) -> Date {
        let day = self.occurred_at.as_str().get(..10).unwrap_or_default();
        // A Timestamp is always `YYYY-MM-DDTHH:MM:SSZ` with a valid date.
        Date::parse(day).unwrap_or_else(|_| {
            Date::from_calendar(1970, 1, 1).unwrap_or_else(|_| unreachable!("a valid date"))
        })
    }
}

/// The projections as the decider sees them: committed, plus what the current group has
/// staged. Reads are by stream name.
pub trait Views {
    fn get(&mut self, stream: &str) -> Result<Option<View>, StoreError>;
    fn put(&mut self, stream: String, view: View);
    /// The view of `stream`, to be changed and put back: a store that can hand it over
    /// without a copy (the rebuild's memory) does so.
    fn take(&mut self, stream: &str) -> Result<Option<View>, StoreError> {
        self.get(stream)
    }
    /// The weapons whose serial number has this search form.
    fn serial_holders(&mut self, serial_normalized: &str) -> Result<Vec<WeaponId>, StoreError>;
    /// The stream of an earlier entry, if there is one at `index`.
    fn entry_stream(&mut self, index: u64) -> Result<Option<String>, StoreError>;
}

/// Why a decision could not be made or went against the event.
#[derive(Debug)]
pub enum DomainError {
    Rejected(Rejection),
    Store(StoreError),
}

impl From<Rejection> for DomainError {
    fn from(rejection: Rejection) -> Self {
        Self::Rejected(rejection)
    }
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

pub type Decided = Result<(), DomainError>;

/// Judges `event` against the projections (checks 2 to 7 of the module's order; the
/// catalogue has done 1).
pub fn decide(event: &DomainEvent, context: &Context<'_>, views: &mut dyn Views) -> Decided {
    let kind = event.stream_kind();
    if context.stream.kind() != kind {
        return Err(Rejection::WrongStreamKind {
            event_type: event.event_type().to_owned(),
            stream: context.stream.to_string(),
            expected: kind.prefix().trim_end_matches(':'),
        }
        .into());
    }
    if !allow::kinds_allowed(event.event_type()).contains(&context.actor_kind) {
        return Err(Rejection::ActorNotAllowed {
            actor: context.actor.to_owned(),
            event_type: event.event_type().to_owned(),
            reason: format!(
                "authorities of kind {} may not emit it",
                snake_name(context.actor_kind)
            ),
        }
        .into());
    }
    match kind {
        StreamKind::Weapon => weapon::decide(event, context, views),
        StreamKind::Trace => trace::decide(event, context, views),
        _ => documents::decide(event, context, views),
    }
}

/// Applies an accepted event to every projection it concerns.
pub fn evolve(
    event: &DomainEvent,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Result<(), StoreError> {
    match event.stream_kind() {
        StreamKind::Weapon => weapon::evolve(event, context, views),
        StreamKind::Trace => trace::evolve(event, context, views),
        _ => documents::evolve(event, context, views),
    }
}

/// The snake_case name a status or kind has in JSON (as rejections quote it).
fn snake_name<T: serde::Serialize + std::fmt::Debug>(value: T) -> String {
    serde_json::to_value(&value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{value:?}"))
}

/// `stream_exists` unless the event's stream has no view yet (the event opens it).
fn new_stream(event: &DomainEvent, context: &Context<'_>, views: &mut dyn Views) -> Decided {
    match views.get(context.stream.as_str())? {
        Some(_) => Err(stream_exists(event, context)),
        None => Ok(()),
    }
}

/// `jurisdiction_mismatch` unless `value` is the actor's own State.
fn own_state(context: &Context<'_>, field: &'static str, value: &str) -> Decided {
    if value == context.jurisdiction {
        Ok(())
    } else {
        Err(Rejection::JurisdictionMismatch {
            actor: context.actor.to_owned(),
            jurisdiction: context.jurisdiction.to_owned(),
            field,
            value: value.to_owned(),
        }
        .into())
    }
}

/// `stream_exists`: the event opens a stream, and this one already has a view.
fn stream_exists(event: &DomainEvent, context: &Context<'_>) -> DomainError {
    Rejection::StreamExists {
        stream: context.stream.to_string(),
        event_type: event.event_type().to_owned(),
    }
    .into()
}

fn not_found(stream: impl Into<String>) -> DomainError {
    Rejection::DocumentNotFound(stream.into()).into()
}

/// Checks that `index` is an earlier entry of the event's own stream.
fn entry_of_stream(
    views: &mut dyn Views,
    context: &Context<'_>,
    index: u64,
) -> Result<(), DomainError> {
    let same = index < context.index
        && views.entry_stream(index)?.as_deref() == Some(context.stream.as_str());
    if same {
        Ok(())
    } else {
        Err(Rejection::EntryNotInStream {
            index,
            stream: context.stream.to_string(),
        }
        .into())
    }
}

macro_rules! typed_view {
    ($load:ident, $take:ident, $variant:ident, $view:ty) => {
        /// Like the loader, but hands the view over to be changed and put back.
        #[allow(dead_code)]
        fn $take(views: &mut dyn Views, stream: &str) -> Result<Option<$view>, StoreError> {
            match views.take(stream)? {
                Some(View::$variant(view)) => Ok(Some(*view)),
                Some(_) => Err(StoreError::Corrupt(format!(
                    "projection of {stream} is not a {}",
                    stringify!($variant)
                ))),
                None => Ok(None),
            }
        }

        /// The view of `stream`, if it is of this kind (another kind under the same name
        /// would be a corrupt file: stream names carry their kind).
        fn $load(views: &mut dyn Views, stream: &str) -> Result<Option<$view>, StoreError> {
            match views.get(stream)? {
                Some(View::$variant(view)) => Ok(Some(*view)),
                Some(_) => Err(StoreError::Corrupt(format!(
                    "projection of {stream} is not a {}",
                    stringify!($variant)
                ))),
                None => Ok(None),
            }
        }
    };
}

typed_view!(load_weapon, take_weapon, Weapon, views::WeaponView);
typed_view!(load_licence, take_licence, Licence, views::LicenceView);
typed_view!(load_euc, take_euc, Euc, views::EucView);
typed_view!(
    load_consignment,
    take_consignment,
    Consignment,
    views::ConsignmentView
);
typed_view!(load_trace, take_trace, Trace, views::TraceView);
typed_view!(load_policy, take_policy, Policy, views::PolicyView);
typed_view!(load_broker, take_broker, Broker, views::BrokerView);

pub(crate) fn weapon_stream(id: &WeaponId) -> String {
    format!("weapon:{id}")
}

/// The domain's rule for the registry's own events, checked on append only (replaying the
/// log never re-judges them): an authority acts for a real State, an ISO 3166-1 code.
pub fn check_registry_event(event: &crate::event::SignedEvent) -> Result<(), Rejection> {
    let envelope = event.envelope();
    if envelope.event_type.as_str() != crate::registry::AUTHORITY_REGISTERED {
        return Ok(());
    }
    let jurisdiction = envelope
        .payload
        .get("jurisdiction")
        .and_then(crate::json::Json::as_str)
        .unwrap_or_default();
    crate::values::CountryCode::parse(jurisdiction)
        .map(|_| ())
        .map_err(|e| Rejection::InvalidPayload {
            event_type: envelope.event_type.to_string(),
            reason: format!("jurisdiction: {e}"),
        })
}
