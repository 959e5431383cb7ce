//! Why the ledger refuses an event: one enum, one stable snake_case code per rule.
//!
//! Rejections are data, not failures of the system: a client learns exactly which rule
//! its event broke, and nothing was appended. The checks run in a fixed order of
//! precedence, so the same bad event always gets the same code:
//!
//! 1. size (`event_too_large`), then JSON syntax and value rules (`malformed_json`,
//!    `duplicate_key`, `float_not_allowed`, `integer_out_of_range`, `nesting_too_deep`);
//! 2. envelope shape: `not_an_object`, `unknown_field`, `missing_field`, then each field in
//!    envelope order (`invalid_field`, `invalid_stream_name`);
//! 3. signature encoding (`signature_malformed`, `signature_non_canonical`);
//! 4. in the writer, against the log: idempotency (`event_id_conflict`), the signer
//!    (`unknown_actor`, `unknown_key`, `key_revoked`), the signature itself
//!    (`signature_invalid`), the expected version (`wrong_expected_version`), the
//!    registry's rules for its own events (`authority_exists`, `key_exists`, ...);
//! 5. the domain's rules for every other type, in the order of `domain`'s documentation:
//!    the catalogue (`unknown_event_type`, `invalid_payload`, `marking_incomplete`, ...),
//!    the stream kind, who may emit it (`actor_not_allowed`), where
//!    (`jurisdiction_mismatch`), existence, and the state of the streams involved.
//!
//! A batch is all or nothing: the first rejected event rejects the batch, and the
//! rejection says which event (`BatchRejection`).

use crate::event::ExpectedVersion;

/// A rule an event broke. `code()` is the stable name clients match on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error("event is {bytes} bytes, over the limit of {max}")]
    EventTooLarge { bytes: usize, max: usize },
    #[error("{0}")]
    MalformedJson(String),
    #[error("duplicate object key {0:?}")]
    DuplicateKey(String),
    #[error("floating-point numbers are not allowed; use integers or strings")]
    FloatNotAllowed,
    #[error("integer outside +-(2^53 - 1)")]
    IntegerOutOfRange,
    #[error("JSON nested deeper than {0} levels")]
    NestingTooDeep(usize),
    #[error("the event must be a JSON object")]
    NotAnObject,
    #[error("unknown field {0:?}")]
    UnknownField(String),
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    #[error("invalid {field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("invalid stream name {stream:?}: {reason}")]
    InvalidStreamName { stream: String, reason: String },
    #[error("signature is not base64 of 64 bytes")]
    SignatureMalformed,
    #[error("signature scalar is not reduced (S >= L)")]
    SignatureNonCanonical,
    #[error("signature does not verify under key {key_id:?} of {actor:?}")]
    SignatureInvalid { actor: String, key_id: String },
    #[error("no authority {0:?} is registered")]
    UnknownActor(String),
    #[error("authority {actor:?} has no key {key_id:?}")]
    UnknownKey { actor: String, key_id: String },
    #[error("key {key_id:?} of {actor:?} was revoked at log index {revoked_at}")]
    KeyRevoked {
        actor: String,
        key_id: String,
        revoked_at: u64,
    },
    #[error("event id {event_id} is already in the log at index {index} with other content")]
    EventIdConflict { event_id: String, index: u64 },
    #[error("stream {stream:?} is at version {current:?}, the event expected {expected}")]
    WrongExpectedVersion {
        stream: String,
        expected: ExpectedVersion,
        /// None when the stream does not exist yet.
        current: Option<u64>,
    },
    #[error("invalid payload of {event_type}: {reason}")]
    InvalidPayload { event_type: String, reason: String },
    #[error("{actor:?} may not emit {event_type}: {reason}")]
    ActorNotAllowed {
        actor: String,
        event_type: String,
        reason: String,
    },
    #[error("{0}")]
    Catalogue(crate::catalogue::CatalogueError),
    #[error("{event_type} belongs on a {expected}: stream, not {stream:?}")]
    WrongStreamKind {
        event_type: String,
        stream: String,
        expected: &'static str,
    },
    #[error("{actor:?} acts for {jurisdiction}, but {field} is {value}")]
    JurisdictionMismatch {
        actor: String,
        jurisdiction: String,
        field: &'static str,
        value: String,
    },
    #[error("stream {stream:?} already exists; {event_type} opens a new one")]
    StreamExists { stream: String, event_type: String },
    #[error("{0:?} is not in the log")]
    DocumentNotFound(String),
    #[error("weapon {0} has no marking or legacy record in the log (invariant 1)")]
    WeaponNotMarked(String),
    #[error("weapon {0} was destroyed: destruction is terminal")]
    WeaponDestroyed(String),
    #[error("weapon {weapon} is reported {status}: no transfer until it is recovered")]
    WeaponMissing { weapon: String, status: String },
    #[error("weapon {0} is not reported lost or stolen")]
    WeaponNotMissing(String),
    #[error("weapon {weapon} is in transit on consignment {consignment}")]
    WeaponInTransit { weapon: String, consignment: String },
    #[error("weapon {0} is already deactivated")]
    WeaponAlreadyDeactivated(String),
    #[error("licence {licence} is {status}, not in force")]
    LicenceNotInForce { licence: String, status: String },
    #[error("licence {0} is already decided")]
    LicenceAlreadyDecided(String),
    #[error("licence {licence} is not valid on {date}: {reason}")]
    LicenceNotValidOnDate {
        licence: String,
        date: String,
        reason: String,
    },
    #[error("licence {licence} does not cover the {what}: {detail}")]
    LicenceDoesNotCover {
        licence: String,
        what: &'static str,
        detail: String,
    },
    #[error("end-user certificate {0} is revoked")]
    EucRevoked(String),
    #[error(
        "end-user certificate {euc} is not valid on {date} (issued {date_of_issue}, valid until {valid_until})"
    )]
    EucOutsideValidity {
        euc: String,
        date: String,
        date_of_issue: String,
        valid_until: String,
    },
    #[error("end-user certificate {euc} has {remaining} items left; {requested} requested")]
    EucQuantityExceeded {
        euc: String,
        remaining: u64,
        requested: u64,
    },
    #[error("end-user certificate {euc} serves the transaction of licence {bound}, not {other}")]
    EucSingleTransaction {
        euc: String,
        bound: String,
        other: String,
    },
    #[error("end-user certificate {euc} does not cover the {what}: {detail}")]
    EucDoesNotCover {
        euc: String,
        what: &'static str,
        detail: String,
    },
    #[error(
        "weapon {weapon} is under the non-re-export clause of {euc}: re-export needs the consent of {exporting_state}"
    )]
    ReexportConsentRequired {
        weapon: String,
        euc: String,
        exporting_state: String,
    },
    #[error("trace request {trace} is {status}")]
    TraceNotOpen { trace: String, status: String },
    #[error("a trace request goes to another State, not to {0}")]
    TraceToOwnState(String),
    #[error("entry {index} is not an earlier entry of {stream:?}")]
    EntryNotInStream { index: u64, stream: String },
    #[error("invalid correction of {field}: {reason}")]
    CorrectionInvalid { field: String, reason: String },
    #[error("consignment {consignment} is {status}; {event_type} needs it {expected}")]
    ConsignmentStatusInvalid {
        consignment: String,
        status: String,
        event_type: String,
        expected: &'static str,
    },
    #[error("policy {policy} is {status}")]
    PolicyStatusInvalid { policy: String, status: String },
    #[error("the policies that govern this event answered {}", outcome.rejection_code())]
    PolicyRefused {
        outcome: crate::policy::PolicyOutcome,
        decisions: Vec<crate::policy::PolicyDecision>,
    },
    #[error(
        "no {what} with SHA-256 {sha256} was uploaded; upload it before the event that names it"
    )]
    PolicyBlobMissing { what: &'static str, sha256: String },
    #[error("the module {sha256} is not a policy of ABI v1: {reason}")]
    PolicyModuleInvalid { sha256: String, reason: String },
    #[error("authority {0:?} is already registered")]
    AuthorityExists(String),
    #[error("authority {actor:?} already has a key {key_id:?}; key ids are never reused")]
    KeyExists { actor: String, key_id: String },
    #[error("the first event of a ledger must be the root authority's self-registration")]
    GenesisRequired,
    #[error("a batch must hold at least one event")]
    BatchEmpty,
    #[error("batch of {count} events is over the limit of {max}")]
    BatchTooLarge { count: usize, max: usize },
    #[error("the batch repeats event id {0}")]
    BatchDuplicateEventId(String),
}

impl Rejection {
    /// The stable snake_case code of the rule.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::EventTooLarge { .. } => "event_too_large",
            Rejection::MalformedJson(_) => "malformed_json",
            Rejection::DuplicateKey(_) => "duplicate_key",
            Rejection::FloatNotAllowed => "float_not_allowed",
            Rejection::IntegerOutOfRange => "integer_out_of_range",
            Rejection::NestingTooDeep(_) => "nesting_too_deep",
            Rejection::NotAnObject => "not_an_object",
            Rejection::UnknownField(_) => "unknown_field",
            Rejection::MissingField(_) => "missing_field",
            Rejection::InvalidField { .. } => "invalid_field",
            Rejection::InvalidStreamName { .. } => "invalid_stream_name",
            Rejection::SignatureMalformed => "signature_malformed",
            Rejection::SignatureNonCanonical => "signature_non_canonical",
            Rejection::SignatureInvalid { .. } => "signature_invalid",
            Rejection::UnknownActor(_) => "unknown_actor",
            Rejection::UnknownKey { .. } => "unknown_key",
            Rejection::KeyRevoked { .. } => "key_revoked",
            Rejection::EventIdConflict { .. } => "event_id_conflict",
            Rejection::WrongExpectedVersion { .. } => "wrong_expected_version",
            Rejection::InvalidPayload { .. } => "invalid_payload",
            Rejection::ActorNotAllowed { .. } => "actor_not_allowed",
            Rejection::Catalogue(e) => e.code(),
            Rejection::WrongStreamKind { .. } => "wrong_stream_kind",
            Rejection::JurisdictionMismatch { .. } => "jurisdiction_mismatch",
            Rejection::StreamExists { .. } => "stream_exists",
            Rejection::DocumentNotFound(_) => "document_not_found",
            Rejection::WeaponNotMarked(_) => "weapon_not_marked",
            Rejection::WeaponDestroyed(_) => "weapon_destroyed",
            Rejection::WeaponMissing { .. } => "weapon_missing",
            Rejection::WeaponNotMissing(_) => "weapon_not_missing",
            Rejection::WeaponInTransit { .. } => "weapon_in_transit",
            Rejection::WeaponAlreadyDeactivated(_) => "weapon_already_deactivated",
            Rejection::LicenceNotInForce { .. } => "licence_not_in_force",
            Rejection::LicenceAlreadyDecided(_) => "licence_already_decided",
            Rejection::LicenceNotValidOnDate { .. } => "licence_not_valid_on_date",
            Rejection::LicenceDoesNotCover { .. } => "licence_does_not_cover",
            Rejection::EucRevoked(_) => "euc_revoked",
            Rejection::EucOutsideValidity { .. } => "euc_outside_validity",
            Rejection::EucQuantityExceeded { .. } => "euc_quantity_exceeded",
            Rejection::EucSingleTransaction { .. } => "euc_single_transaction",
            Rejection::EucDoesNotCover { .. } => "euc_does_not_cover",
            Rejection::ReexportConsentRequired { .. } => "reexport_consent_required",
            Rejection::TraceNotOpen { .. } => "trace_not_open",
            Rejection::TraceToOwnState(_) => "trace_to_own_state",
            Rejection::EntryNotInStream { .. } => "entry_not_in_stream",
            Rejection::CorrectionInvalid { .. } => "correction_invalid",
            Rejection::ConsignmentStatusInvalid { .. } => "consignment_status_invalid",
            Rejection::PolicyStatusInvalid { .. } => "policy_status_invalid",
            Rejection::PolicyRefused { outcome, .. } => outcome.rejection_code(),
            Rejection::PolicyBlobMissing { .. } => "policy_blob_missing",
            Rejection::PolicyModuleInvalid { .. } => "policy_module_invalid",
            Rejection::AuthorityExists(_) => "authority_exists",
            Rejection::KeyExists { .. } => "key_exists",
            Rejection::GenesisRequired => "genesis_required",
            Rejection::BatchEmpty => "batch_empty",
            Rejection::BatchTooLarge { .. } => "batch_too_large",
            Rejection::BatchDuplicateEventId(_) => "batch_duplicate_event_id",
        }
    }
}

impl From<crate::json::JsonError> for Rejection {
    fn from(e: crate::json::JsonError) -> Self {
        use crate::json::JsonError as J;
        match e {
            J::Malformed(m) => Rejection::MalformedJson(m),
            J::DuplicateKey(k) => Rejection::DuplicateKey(k),
            J::FloatNotAllowed => Rejection::FloatNotAllowed,
            J::IntegerOutOfRange => Rejection::IntegerOutOfRange,
            J::NestingTooDeep(d) => Rejection::NestingTooDeep(d),
        }
    }
}

/// A rejected batch: which event (by position in the batch) broke which rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event {position} of the batch: {rejection}")]
pub struct BatchRejection {
    pub position: usize,
    pub rejection: Rejection,
}
