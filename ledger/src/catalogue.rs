//! The event catalogue: the typed, versioned payload of every domain event of DOMAIN.md
//! ("Event catalogue"), so that the deciders match on [`DomainEvent`] instead of raw JSON.
//!
//! One struct per event type, named as the type (`WeaponMarked` is the payload of the type
//! `"WeaponMarked"`). Every struct refuses unknown fields (DESIGN.md "Event envelope": unknown
//! fields are rejected, not ignored), holds the parsed values of [`crate::values`] wherever
//! they apply, and holds no float: quantities are `u32`, money is integer minor units, and
//! everything else that could be fractional is text.
//!
//! [`DomainEvent::from_payload`] turns an envelope's `type`, `type_version` and `payload` into
//! a [`DomainEvent`], in a fixed order:
//! 1. the type: one of the three registry events of [`crate::registry`] is
//!    `registry_event_type` (the registry interprets those, and this module does not redefine
//!    them); a name outside the catalogue is `unknown_event_type`;
//! 2. the version: an older version is upcast to the current one (below); a version with no
//!    upcaster, or newer than the current one, is `unknown_type_version`;
//! 3. the shape: serde over the payload's JCS bytes, so a missing or unknown field, a wrong
//!    JSON type or a value that its type's `parse` refuses is `invalid_payload`, with serde's
//!    message;
//! 4. the rules that tie fields together (the payload's `validate()`), each with its own
//!    code: `marking_incomplete`, `mark_not_on_frame_or_receiver`, `reason_required`,
//!    `decision_inconsistent`, `dates_out_of_order`, `quantity_zero`, `empty_list`.
//!
//! What needs the log (does the weapon exist, is the EUC used up, is the licence valid on the
//! event's date, may this actor emit this type) is the deciders' business, not this module's:
//! a payload is judged here on its own.
//!
//! ```
//! use ledger::catalogue::DomainEvent;
//! use ledger::event::StreamKind;
//! use ledger::json::Json;
//!
//! let payload = Json::parse(br#"{
//!     "reason": "An ongoing criminal investigation",
//!     "responding_state": "BE",
//!     "kind": "refused"
//! }"#, 32)?;
//! let payload = payload.as_object().ok_or("not an object")?;
//! let event = DomainEvent::from_payload("TraceResponded", 1, payload)?;
//! assert_eq!(event.event_type(), "TraceResponded");
//! assert_eq!(event.stream_kind(), StreamKind::Trace);
//!
//! // A refusal must say why (DOMAIN.md "Tracing"): the rule has its own code.
//! let payload = Json::parse(br#"{"responding_state": "BE", "kind": "refused"}"#, 32)?;
//! let payload = payload.as_object().ok_or("not an object")?;
//! let refused = DomainEvent::from_payload("TraceResponded", 1, payload).unwrap_err();
//! assert_eq!(refused.code(), "reason_required");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Common fields
//!
//! DOMAIN.md gives every event a legal basis and evidence document hashes, and the envelope
//! (DESIGN.md) has no field for either, so every payload carries both, optional:
//! `"legal_basis": "ITI 8(a)"` and `"evidence": [{"sha256": "<64 lowercase hex>",
//! "description": "..."}]`. They are repeated in each struct rather than shared through
//! `#[serde(flatten)]`, which does not work with `deny_unknown_fields`; a test checks that
//! every type accepts them. An optional field is left out when absent (an explicit `null`
//! reads as absent too); an optional list is left out when empty.
//!
//! Visibility (who may read an entry) is not a payload field: it is access control, decided
//! by the reader's role and the States involved (DESIGN.md "Authorities, keys and access").
//!
//! # References
//!
//! Other streams are referred to by their id as it appears in the stream name: weapons by
//! [`WeaponId`] (a lowercase hyphenated UUID), licences, certificates, consignments and
//! policies by [`DocumentNumber`] (the grammar of document ids in stream names), authorities
//! by [`AuthorityRef`]. References to documents that the ledger does not hold (a court order,
//! a police case, a deactivation certificate, a broker's licence) are [`Text`], because their
//! numbering is each issuer's own.
//!
//! # Versions and upcasting
//!
//! Stored bytes never change: an entry is signed and hashed into the Merkle tree as written.
//! A payload shape is therefore never edited in place once released. To change one:
//! 1. copy the current struct to a private `<Type>V<n>` (the shape as released, kept forever)
//!    and change the public struct, which is always the current version;
//! 2. bump the type's version in the `catalogue!` table to `n + 1`;
//! 3. add an [`Upcaster`] to `UPCASTERS` for `(type, n)`: it deserializes the stored payload
//!    as `<Type>V<n>`, converts it with a `From` impl, and serializes the result (the helpers
//!    `decode` and `encode` do both halves);
//! 4. keep the old version's example payload in the tests, read through the upcaster.
//!
//! [`upcast`] chains the steps (v1 -> v2 -> v3...), so each step only knows its neighbour,
//! and [`DomainEvent::from_payload`] reads any version it has a path for. Every type is at
//! version 1 today, so `UPCASTERS` is empty; the test `upcasting_reads_an_older_shape` runs the
//! whole path with a fictitious `TraceRequested` version 0 defined inside `#[cfg(test)]`.
//! Writers always emit the current version ([`DomainEvent::type_version`]).

use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::event::{AuthorityId, StreamKind, StreamName};
use crate::json::{Json, Object};
use crate::registry;
use crate::values::{Calibre, CountryCode, Date, ManufactureYear, SalwCategory, SerialNumber};

/// The most characters (Unicode scalar values) a [`Text`] may have. Long enough for a trace
/// request's account of circumstances; the envelope's `event_bytes_max` bounds the whole.
pub const TEXT_CHARS_MAX: usize = 4096;

/// The deepest nesting of a payload that [`DomainEvent::to_payload`] rebuilds as ledger JSON:
/// the envelope's default `json_depth_max`.
const PAYLOAD_DEPTH_MAX: usize = 32;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a payload is not an event of the catalogue.
///
/// `code()` is stable and meant for machines; messages are for people. The checks run in the
/// order the module documentation gives, and each `validate()` checks its rules in a fixed
/// order, so the same payload always gets the same code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// The type is not in the catalogue.
    #[error("unknown event type {event_type:?}")]
    UnknownEventType {
        /// The type as given, cut to 64 characters.
        event_type: String,
    },
    /// The type is known, but not at this version, and no upcaster reads it.
    #[error("{event_type} has no version {type_version} (current version: {current})")]
    UnknownTypeVersion {
        event_type: &'static str,
        type_version: u32,
        current: u32,
    },
    /// One of the authority registry's own events, which `registry.rs` interprets.
    #[error("{event_type} is interpreted by the authority registry, not the catalogue")]
    RegistryEventType { event_type: &'static str },
    /// The payload does not have the type's shape, or a value breaks its type's rule.
    #[error("invalid payload of {event_type}: {reason}")]
    InvalidPayload {
        event_type: &'static str,
        reason: String,
    },
    /// A marking event that lacks what the ITI requires of the marking.
    #[error("marking incomplete: {rule}")]
    MarkingIncomplete { rule: &'static str },
    /// No mark of the list is on the frame or receiver (ITI 10).
    #[error("{field}: the unique marking must be on the frame or receiver (ITI 10)")]
    MarkNotOnFrameOrReceiver { field: &'static str },
    /// A reason that the rule makes mandatory is missing.
    #[error("{field} is required: {rule}")]
    ReasonRequired {
        field: &'static str,
        rule: &'static str,
    },
    /// A decision whose outcome and fields disagree.
    #[error("inconsistent decision: {rule}")]
    DecisionInconsistent { rule: &'static str },
    /// Two dates in the wrong order.
    #[error("dates out of order: {rule}")]
    DatesOutOfOrder { rule: String },
    /// A quantity of zero, where a quantity counts items.
    #[error("{field} is zero: a quantity counts at least one item")]
    QuantityZero { field: String },
    /// A list that must hold at least one item is empty.
    #[error("{field} is empty: {rule}")]
    EmptyList {
        field: &'static str,
        rule: &'static str,
    },
}

impl CatalogueError {
    /// The stable snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownEventType { .. } => "unknown_event_type",
            Self::UnknownTypeVersion { .. } => "unknown_type_version",
            Self::RegistryEventType { .. } => "registry_event_type",
            Self::InvalidPayload { .. } => "invalid_payload",
            Self::MarkingIncomplete { .. } => "marking_incomplete",
            Self::MarkNotOnFrameOrReceiver { .. } => "mark_not_on_frame_or_receiver",
            Self::ReasonRequired { .. } => "reason_required",
            Self::DecisionInconsistent { .. } => "decision_inconsistent",
            Self::DatesOutOfOrder { .. } => "dates_out_of_order",
            Self::QuantityZero { .. } => "quantity_zero",
            Self::EmptyList { .. } => "empty_list",
        }
    }
}

fn invalid_payload(event_type: &'static str, reason: impl Into<String>) -> CatalogueError {
    CatalogueError::InvalidPayload {
        event_type,
        reason: reason.into(),
    }
}

/// Why a value of this module (a weapon id, a document number, a text...) was refused.
/// Inside a payload it becomes part of an `invalid_payload` message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {rule}")]
pub struct InvalidValue {
    /// What the value was meant to be.
    pub what: &'static str,
    /// The rule it broke.
    pub rule: &'static str,
}

// ---------------------------------------------------------------------------------------
// Values of the catalogue
// ---------------------------------------------------------------------------------------

use crate::values::text_serde;

/// The internal id of a weapon, as in its stream name `weapon:<uuid>`: a UUID in lowercase
/// hyphenated form, so that one id has one spelling (ARCHITECTURE.md "Identifiers have one
/// spelling").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WeaponId(uuid::Uuid);

impl WeaponId {
    /// Parses a lowercase hyphenated UUID such as `7f1e2d3c-4b5a-4697-8877-665544332211`.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let refused = InvalidValue {
            what: "weapon id",
            rule: "must be a UUID in lowercase hyphenated form",
        };
        let id = uuid::Uuid::try_parse(input).map_err(|_| refused)?;
        if id.hyphenated().to_string() != input {
            return Err(refused);
        }
        Ok(Self(id))
    }

    /// The UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl fmt::Display for WeaponId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(formatter)
    }
}

text_serde!(WeaponId, "a weapon id (lowercase hyphenated UUID)");

/// The number of a document that has its own stream (a licence, an end-user certificate, a
/// consignment, a trace request, a policy): `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`, the grammar
/// that [`StreamName`] applies to document ids, so that `euc:<number>` is always a valid
/// stream name. A number with a `/` must be written with another separator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentNumber(String);

impl DocumentNumber {
    /// Parses a document number.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        // Parsing through StreamName keeps one definition of the grammar; every document
        // kind (licence, euc, consignment, trace, policy) shares it.
        StreamName::parse(&format!("licence:{input}"))
            .map(|_| Self(input.to_owned()))
            .map_err(|_| InvalidValue {
                what: "document number",
                rule: "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}",
            })
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

text_serde!(DocumentNumber, "a document number");

/// A reference to an authority registered in the ledger, by its [`AuthorityId`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorityRef(AuthorityId);

impl AuthorityRef {
    /// Parses an authority id, `[a-z0-9][a-z0-9._-]{0,63}`.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        AuthorityId::parse(input)
            .map(Self)
            .map_err(|_| InvalidValue {
                what: "authority id",
                rule: "must match [a-z0-9][a-z0-9._-]{0,63}",
            })
    }

    /// The authority id.
    pub fn id(&self) -> &AuthorityId {
        &self.0
    }
}

impl fmt::Display for AuthorityRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0.as_str())
    }
}

text_serde!(AuthorityRef, "an authority id");

/// A SHA-256 digest written as 64 lowercase hex digits (one spelling per digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hex([u8; 32]);

impl Sha256Hex {
    /// Parses 64 lowercase hex digits.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let refused = InvalidValue {
            what: "SHA-256",
            rule: "must be 64 lowercase hex digits",
        };
        let lowercase_hex = input
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        if input.len() != 64 || !lowercase_hex {
            return Err(refused);
        }
        let mut digest = [0_u8; 32];
        hex::decode_to_slice(input, &mut digest).map_err(|_| refused)?;
        Ok(Self(digest))
    }

    /// The digest's bytes.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&hex::encode(self.0))
    }
}

text_serde!(Sha256Hex, "a SHA-256 digest in lowercase hex");

/// An ISO 4217 currency code such as `EUR`: three upper-case ASCII letters. Only the shape is
/// checked; the ledger keeps no currency table, and a policy that converts values has its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    /// Parses three upper-case ASCII letters.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        if input.len() == 3 && input.bytes().all(|byte| byte.is_ascii_uppercase()) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidValue {
                what: "currency code",
                rule: "must be three upper-case letters (ISO 4217)",
            })
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

text_serde!(CurrencyCode, "an ISO 4217 currency code");

/// Free text written by an authority: a name, an address, a reason, an account of events.
///
/// Kept exactly as written (the signature covers it), but never blank: a required reason of
/// `" "` is no reason. At most [`TEXT_CHARS_MAX`] characters; no control characters except
/// line feeds, which addresses and accounts of events need.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(String);

impl Text {
    /// Parses a text.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let refuse = |rule| Err(InvalidValue { what: "text", rule });
        if input.trim().is_empty() {
            return refuse("must not be empty or blank");
        }
        // No more bytes than the limit is no more characters; otherwise `nth` stops
        // counting after the limit, so a huge input costs no more than a long one.
        if input.len() > TEXT_CHARS_MAX && input.chars().nth(TEXT_CHARS_MAX).is_some() {
            return refuse("longer than 4096 characters");
        }
        if has_control_other_than_line_feed(input) {
            return refuse("control character other than a line feed");
        }
        Ok(Self(input.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

text_serde!(Text, "a non-blank text");

/// Whether `text` holds a control character (`char::is_control`: U+0000 to U+001F and
/// U+007F to U+009F) other than a line feed. Read as bytes, not decoded characters (every
/// text of every payload passes here, a rebuild's millions included): the C0 controls and
/// DEL are single bytes, and the C1 controls are 0xC2 0x80 to 0xC2 0x9F in UTF-8, where
/// 0xC2 only ever starts a character.
fn has_control_other_than_line_feed(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(at, byte)| match byte {
        b'\n' => false,
        0x00..=0x1f | 0x7f => true,
        0xc2 => matches!(bytes.get(at + 1), Some(0x80..=0x9f)),
        _ => false,
    })
}

/// The name of an event type that a policy may govern: one of the catalogue's types or one
/// of the registry's. A typo would otherwise install a policy that silently never runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventTypeName(&'static str);

impl EventTypeName {
    /// Parses the name of a known event type.
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        CATALOGUE
            .iter()
            .map(|entry| entry.event_type)
            .chain(REGISTRY_EVENT_TYPES)
            .find(|name| *name == input)
            .map(Self)
            .ok_or(InvalidValue {
                what: "event type",
                rule: "must be a type of the catalogue or of the authority registry",
            })
    }

    /// The name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl fmt::Display for EventTypeName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}

text_serde!(EventTypeName, "an event type name");

/// One of the eight criteria of EU Common Position 2008/944/CFSP (article 2), by number:
/// denial notifications cite criteria by number ("criterion 7").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EuCriterion(u8);

impl EuCriterion {
    /// The criterion `number`, 1..=8.
    pub fn new(number: u8) -> Result<Self, InvalidValue> {
        if (1..=8).contains(&number) {
            Ok(Self(number))
        } else {
            Err(InvalidValue {
                what: "EU Common Position criterion",
                rule: "must be 1 to 8",
            })
        }
    }

    /// The criterion's number.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Serialize for EuCriterion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for EuCriterion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = u8::deserialize(deserializer)?;
        Self::new(number).map_err(de::Error::custom)
    }
}

/// A JSON object held as ledger JSON: no floats, integers within +-(2^53 - 1), unique keys.
/// Used where a payload carries JSON whose shape is not the catalogue's (the new values of a
/// [`RecordCorrected`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JsonObject(Object);

impl JsonObject {
    /// Wraps an object.
    pub fn new(object: Object) -> Self {
        Self(object)
    }

    /// The object.
    pub fn as_object(&self) -> &Object {
        &self.0
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0.iter() {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match LedgerJson::deserialize(deserializer)?.0 {
            Json::Object(object) => Ok(Self(object)),
            other => Err(de::Error::custom(format!(
                "expected a JSON object, not {}",
                other.kind()
            ))),
        }
    }
}

/// A [`Json`] read by serde with the ledger's rules (json.rs): floats, integers beyond 2^53
/// and duplicate keys are refused here too, for the day a payload is read from other bytes
/// than a parsed [`Object`].
struct LedgerJson(Json);

impl<'de> Deserialize<'de> for LedgerJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LedgerJsonVisitor).map(Self)
    }
}

struct LedgerJsonVisitor;

impl<'de> Visitor<'de> for LedgerJsonVisitor {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value without floats")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json, E> {
        Json::int(value).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json, E> {
        Json::uint(value).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Json, E> {
        Err(E::custom(
            "floating-point numbers are not allowed; use integers or strings",
        ))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(LedgerJson(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        while let Some((key, LedgerJson(value))) = map.next_entry::<String, LedgerJson>()? {
            members.push((key, value));
        }
        Object::from_members(members)
            .map(Json::Object)
            .map_err(de::Error::custom)
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

// ---------------------------------------------------------------------------------------
// Parts shared by several payloads
// ---------------------------------------------------------------------------------------

/// A document backing an event, by the SHA-256 of its bytes: the ledger holds the hash, the
/// authority keeps the document, and anyone shown the document can check it is the one
/// recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceDocument {
    pub sha256: Sha256Hex,
    /// What the document is, e.g. "Destruction certificate, signed by the witness".
    pub description: Text,
}

/// The component of a weapon a mark is on, recorded for every mark (DOMAIN.md "Identity of
/// a weapon"). ITI 10 wants the unique marking on an essential or structural component whose
/// destruction makes the weapon permanently inoperable, "such as the frame and/or receiver";
/// DOMAIN.md makes frame or receiver the rule, and so does this catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MarkComponent {
    Frame,
    Receiver,
    Barrel,
    Slide,
    Bolt,
    Other,
}

impl MarkComponent {
    /// Whether a unique marking may be on this component (ITI 10).
    pub fn is_frame_or_receiver(self) -> bool {
        matches!(self, Self::Frame | Self::Receiver)
    }
}

/// One mark on a weapon, as read, and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    pub component: MarkComponent,
    /// The mark as read, e.g. "FN HERSTAL BELGIUM 123456" (kept as read: it is evidence).
    pub text: Text,
}

/// The ITI 8(a) alternative to name, country and serial: simple geometric symbols combined
/// with a numeric or alphanumeric code that identifies the country of manufacture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlternativeCode {
    /// The symbols, described in words (e.g. "triangle in a circle").
    pub symbols: Text,
    /// The numeric or alphanumeric code.
    pub code: Text,
    /// The country of manufacture the code identifies.
    pub country: CountryCode,
}

/// What a party is (DOMAIN.md "End-user certificates": end-user kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PartyKind {
    Government,
    Commercial,
    Individual,
}

/// A company or public body with an address: an exporter, a consignee, an importer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organisation {
    pub name: Text,
    pub address: Text,
    pub country: CountryCode,
}

/// The end user of a transfer, as an end-user certificate names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndUser {
    pub name: Text,
    /// The position of the person who represents the end user, e.g. "Chief of logistics".
    /// Optional because an individual end user holds none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Text>,
    pub address: Text,
    pub kind: PartyKind,
}

/// A lawful holder of a weapon inside a State.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    pub name: Text,
    pub kind: PartyKind,
    /// The holder's firearm or dealer licence number, when the law gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licence_number: Option<Text>,
}

/// A broker named in a transfer, with the licence or registration number that ATT art. 10
/// requires (policy rule 6 matches it against the broker's registration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Broker {
    pub name: Text,
    pub country: CountryCode,
    pub licence_number: Text,
}

/// A line of goods in a licence, certificate or consignment: type, quantity and
/// characteristics (DOMAIN.md "End-user certificates").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoodsLine {
    /// What the goods are, e.g. "Assault rifle FN SCAR-L".
    pub description: Text,
    pub category: SalwCategory,
    /// Items of this line; at least one.
    pub quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibre: Option<Calibre>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<Text>,
}

/// An amount of money in integer minor units (cents), never a float.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount in the currency's minor unit (e.g. 125000 EUR cents is EUR 1250.00).
    pub amount_minor: u64,
    pub currency: CurrencyCode,
}

/// What is known of a weapon's identity from looking at it or at a record: every field is
/// optional because records and weapons are incomplete (obliterated marks, lost registers).
/// Used by legacy records, by seizures and finds, and by trace requests (ITI 17(b)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identification {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_of_manufacture: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<SerialNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative_code: Option<AlternativeCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Text>,
    /// The "type" of ITI 17(b).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<SalwCategory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibre: Option<Calibre>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_of_manufacture: Option<ManufactureYear>,
    /// Whether marks were found obliterated, altered or removed (ITI 6, 8).
    #[serde(default, skip_serializing_if = "is_false")]
    pub obliterated_marks: bool,
    /// Anything else that identifies the weapon (import marks described in words, a
    /// registry entry's wording, distinctive features).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_identifiers: Option<Text>,
}

impl Identification {
    /// Whether this is enough to look the weapon up again: a serial number, an alternative
    /// code, a mark or some other identifier. Make, model and calibre alone match thousands.
    pub fn identifies(&self) -> bool {
        self.serial_number.is_some()
            || self.alternative_code.is_some()
            || !self.marks.is_empty()
            || self.other_identifiers.is_some()
    }
}

/// Why a weapon is illicit (ITI 6 (a)-(e)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IllicitGround {
    /// (a) illicit under the law of the State where it is found.
    IllicitUnderNationalLaw,
    /// (b) transferred in violation of a UN Security Council arms embargo.
    TransferredInBreachOfUnEmbargo,
    /// (c) not marked in accordance with the ITI.
    NotMarkedPerIti,
    /// (d) manufactured or assembled without a licence or authorisation.
    ManufacturedWithoutLicence,
    /// (e) transferred without a licence or authorisation.
    TransferredWithoutLicence,
}

/// How a weapon came into an authority's hands (ITI 17(a): the circumstances in which it
/// was found).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquisitionCircumstances {
    Seized,
    Found,
    Surrendered,
    Other,
}

// ---------------------------------------------------------------------------------------
// Validation helpers (each rule cites where it comes from at its call site)
// ---------------------------------------------------------------------------------------

fn require_items<T>(
    list: &[T],
    field: &'static str,
    rule: &'static str,
) -> Result<(), CatalogueError> {
    if list.is_empty() {
        Err(CatalogueError::EmptyList { field, rule })
    } else {
        Ok(())
    }
}

/// At least one line of goods, each of at least one item.
fn check_goods(goods: &[GoodsLine], field: &'static str) -> Result<(), CatalogueError> {
    require_items(goods, field, "a document covers at least one line of goods")?;
    check_quantities(goods, field)
}

fn check_quantities(goods: &[GoodsLine], field: &'static str) -> Result<(), CatalogueError> {
    match goods.iter().position(|line| line.quantity == 0) {
        Some(index) => Err(CatalogueError::QuantityZero {
            field: format!("{field}[{index}].quantity"),
        }),
        None => Ok(()),
    }
}

/// A validity window: `until` strictly after `from` (a document valid for no day is void).
fn check_validity(
    from: Date,
    from_field: &'static str,
    until: Date,
    until_field: &'static str,
) -> Result<(), CatalogueError> {
    if until > from {
        Ok(())
    } else {
        Err(CatalogueError::DatesOutOfOrder {
            rule: format!("{until_field} must be after {from_field}"),
        })
    }
}

/// ITI 10: the unique marking is on the frame or receiver.
fn check_frame_or_receiver(marks: &[Mark], field: &'static str) -> Result<(), CatalogueError> {
    if marks
        .iter()
        .any(|mark| mark.component.is_frame_or_receiver())
    {
        Ok(())
    } else {
        Err(CatalogueError::MarkNotOnFrameOrReceiver { field })
    }
}

// ---------------------------------------------------------------------------------------
// Authorities and policies (streams authority:<id> and policy:<id>)
// ---------------------------------------------------------------------------------------
//
// AuthorityRegistered, AuthorityKeyRotated and AuthorityKeyRevoked are the registry's
// (registry.rs): see REGISTRY_EVENT_TYPES.

/// An instrument under which a State designates a national point of contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointOfContactInstrument {
    /// International Tracing Instrument, para. 25 (tracing and the ITI's other matters).
    Iti,
    /// UN Programme of Action, section II.5.
    Poa,
    /// Arms Trade Treaty, art. 5(6).
    Att,
    /// UN Firearms Protocol, art. 13(2).
    FirearmsProtocol,
}

/// A State designates the authority of the stream as its national point of contact
/// (ITI 25), the one that sends and answers trace requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointOfContactDesignated {
    pub state: CountryCode,
    /// The instruments the designation is under; at least one.
    pub instruments: Vec<PointOfContactInstrument>,
    /// The office, e.g. "Federal Police, Central Weapons Service".
    pub unit: Text,
    /// How to reach it (address, telephone, e-mail), as text.
    pub contact: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl PointOfContactDesignated {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        require_items(
            &self.instruments,
            "instruments",
            "a designation names the instruments it is under",
        )
    }
}

/// A State registers or licenses a broker (ATT art. 10), on the broker's `authority:` stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerRegistered {
    pub broker_name: Text,
    pub address: Text,
    pub registering_state: CountryCode,
    /// The registration or licence number that EUCs and licences quote for this broker.
    pub registration_number: Text,
    pub valid_from: Date,
    /// Absent when the registration does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl BrokerRegistered {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        match self.valid_until {
            Some(until) => check_validity(self.valid_from, "valid_from", until, "valid_until"),
            None => Ok(()),
        }
    }
}

/// A State withdraws a broker's registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerRevoked {
    pub registration_number: Text,
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A State installs a WASM policy module (DESIGN.md "Policy plugins"); the module bytes
/// travel beside the event, and only the hash is signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInstalled {
    /// The policy's id, as in its stream name `policy:<id>`.
    pub policy_id: DocumentNumber,
    pub name: Text,
    /// The State whose rules the policy encodes.
    pub jurisdiction: CountryCode,
    /// The policy's version, as its State numbers it: an integer so that "later" is
    /// unambiguous (the decider requires each install of an id to raise it).
    pub version: u32,
    /// SHA-256 of the module bytes: the policy's identity (DESIGN.md).
    pub module_sha256: Sha256Hex,
    /// SHA-256 of the policy's data file (e.g. an embargo table), which is part of every
    /// decision's input, so that a replay uses the same data (DOMAIN.md invariant 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_sha256: Option<Sha256Hex>,
    /// The event types it governs; at least one.
    pub governs: Vec<EventTypeName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl PolicyInstalled {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        require_items(
            &self.governs,
            "governs",
            "a policy governs at least one event type",
        )
    }
}

/// The installed policy starts to run on the event types it governs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyActivated {
    pub policy_id: DocumentNumber,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// The policy stops running; its past decisions stay in the log and can still be replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRetired {
    pub policy_id: DocumentNumber,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

// ---------------------------------------------------------------------------------------
// Weapons (stream weapon:<uuid>)
// ---------------------------------------------------------------------------------------
//
// The event's own moment (when a weapon was seized, destroyed...) is the envelope's
// `occurred_at`; payloads carry only the dates of other facts (when it was last seen).

/// The manufacturer marks a weapon (ITI 8(a)): the weapon's first record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponMarked {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_of_manufacture: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<SerialNumber>,
    /// The ITI 8(a) alternative to manufacturer, country and serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative_code: Option<AlternativeCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibre: Option<Calibre>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<SalwCategory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_of_manufacture: Option<ManufactureYear>,
    /// Every mark applied, with its component; the unique one on the frame or receiver.
    pub marks: Vec<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl WeaponMarked {
    /// DOMAIN.md invariant 1 and ITI 8(a), then ITI 10.
    pub fn validate(&self) -> Result<(), CatalogueError> {
        let named = self.manufacturer.is_some()
            && self.country_of_manufacture.is_some()
            && self.serial_number.is_some();
        if !named && self.alternative_code.is_none() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "ITI 8(a): manufacturer, country_of_manufacture and serial_number, \
                       or an alternative_code",
            });
        }
        check_frame_or_receiver(&self.marks, "marks")
    }
}

/// The importing State marks an imported weapon (ITI 8(b)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponImportMarked {
    pub country_of_import: CountryCode,
    /// "Where possible" (ITI 8(b)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_of_import: Option<ManufactureYear>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importer: Option<Text>,
    /// A temporary lawful import, which ITI 8(b) exempts from import marking.
    pub temporary_import: bool,
    /// The import marks applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    /// A unique mark applied because the weapon had none (ITI 8(b)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_mark: Option<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_licence: Option<DocumentNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consignment: Option<DocumentNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl WeaponImportMarked {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if !self.temporary_import && self.marks.is_empty() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "ITI 8(b): a permanent import records the import marks applied; \
                       only temporary lawful imports are exempt",
            });
        }
        match &self.unique_mark {
            Some(mark) => check_frame_or_receiver(std::slice::from_ref(mark), "unique_mark"),
            None => Ok(()),
        }
    }
}

/// A State marks a weapon of its own forces' holdings (ITI 8(d)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponStateMarked {
    pub state: CountryCode,
    /// The force or agency that holds it, e.g. "Ministry of Defence, Army".
    pub holder: Text,
    pub marks: Vec<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl WeaponStateMarked {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.marks.is_empty() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "ITI 8(d): a State marking records the marks applied",
            });
        }
        Ok(())
    }
}

/// A weapon leaves government stocks for permanent civilian use, marked by the transferring
/// State (ITI 8(c)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponTransferredToCivilianUse {
    pub transferring_state: CountryCode,
    /// The marks identifying the transferring State.
    pub marks: Vec<Mark>,
    pub recipient: Holder,
    /// The authorisation of the transfer, as the State numbers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl WeaponTransferredToCivilianUse {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.marks.is_empty() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "ITI 8(c): the transfer records the transferring State's mark",
            });
        }
        Ok(())
    }
}

/// Where a legacy record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegacySourceKind {
    /// Records of a company that closed, handed to the State (ITI 13).
    ClosedCompany,
    PaperRegister,
    ElectronicRegister,
}

/// A weapon's record brought in from before the ledger: a closed company's books (ITI 13) or
/// a national register. It is the weapon's first record, like a marking (DOMAIN.md invariant
/// 1), and says only what the source knew.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyRecordImported {
    pub source_kind: LegacySourceKind,
    /// The register or company, e.g. "Register of firearms dealers, Liège (1962-1998)".
    pub source: Text,
    /// The record's reference in its source (book and page, file number, row id).
    pub original_reference: Text,
    /// The date the original record was made, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_date: Option<Date>,
    /// The fields the source knew.
    pub known: Identification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_known_holder: Option<Holder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl LegacyRecordImported {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        // A record that cannot be matched to a weapon again starts a stream nobody can find
        // (ITI 12: records must allow identification).
        if !self.known.identifies() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "a legacy record knows a serial number, an alternative code, a mark \
                       or another identifier",
            });
        }
        Ok(())
    }
}

/// A weapon changes lawful holder inside a State.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomesticTransferRecorded {
    pub from_holder: Holder,
    pub to_holder: Holder,
    /// The permit or licence authorising the transfer, as its issuer numbers it (domestic
    /// permits mostly live outside the ledger, so this is text, not a stream reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permit_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A holder reports a weapon lost; transfers are blocked until it is recovered (DOMAIN.md
/// invariant 2). `occurred_at` is the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponReportedLost {
    pub reported_by: Text,
    pub place: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_on: Option<Date>,
    pub circumstances: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A holder reports a weapon stolen; as for a loss, transfers are blocked until recovery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponReportedStolen {
    pub reported_by: Text,
    pub place: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen_on: Option<Date>,
    pub circumstances: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A lost or stolen weapon is back with a lawful holder or an authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponRecovered {
    pub place: Text,
    pub circumstances: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Text>,
    /// The marks as read at recovery, which may differ from the record (altered marks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Identification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// An authority seizes a weapon; it must be marked and recorded, or destroyed, within the
/// policy deadline (DOMAIN.md invariant 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponSeized {
    pub seizing_authority: Text,
    pub place: Text,
    pub circumstances: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Text>,
    /// Why the weapon is thought illicit (ITI 6), when it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suspected_illicit: Vec<IllicitGround>,
    /// The marks as read at seizure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Identification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A weapon is found (abandoned, in a cache...) and recorded by an authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponFound {
    pub recording_authority: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found_by: Option<Text>,
    pub place: Text,
    pub circumstances: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Identification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A weapon is handed in, e.g. in an amnesty or a weapons-collection programme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponSurrendered {
    pub receiving_authority: Text,
    /// Absent when the programme lets people surrender anonymously.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub surrendered_by: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<Text>,
    pub place: Text,
    pub circumstances: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed: Option<Identification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A forensic laboratory restores obliterated marks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialNumberRestored {
    pub laboratory: Text,
    /// The method, e.g. "magnetic particle, then chemical etching (Fry's reagent)".
    pub method: Text,
    /// The marks as restored; an illegible character may be written `?`.
    pub restored_marks: Vec<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_serial_number: Option<SerialNumber>,
    /// Whether every character was recovered.
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl SerialNumberRestored {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.restored_marks.is_empty() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "a restoration records the marks it restored",
            });
        }
        Ok(())
    }
}

/// A court or authority orders a weapon forfeited to the State.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponConfiscated {
    pub ordered_by: Text,
    pub order_reference: Text,
    /// Who holds the weapon for the State from now on.
    pub custodian: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A weapon is deactivated, verified by a competent authority (Firearms Protocol art. 9,
/// EU 2015/2403); it changes class (DOMAIN.md invariant 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponDeactivated {
    pub certificate_number: Text,
    /// The standard applied, e.g. "EU 2015/2403".
    pub standard: Text,
    pub verifying_authority: Text,
    /// The deactivation marks applied (EU 2015/2403 marks every modified essential part).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A weapon is destroyed: terminal (DOMAIN.md invariant 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponDestroyed {
    /// The method, e.g. "cutting through the receiver, then smelting".
    pub method: Text,
    pub witness: Text,
    pub certificate_number: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A correction of an earlier entry of the stream. The original is never rewritten
/// (DOMAIN.md "Records and retention", invariant 7): this records what changed, why, and
/// (through the envelope) who and when, as ATF ruling 2016-1 does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordCorrected {
    /// The log index of the corrected entry.
    pub corrected_index: u64,
    /// The corrected fields of that entry's payload, with their new values.
    pub corrected_fields: JsonObject,
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl RecordCorrected {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.corrected_fields.is_empty() {
            return Err(CatalogueError::EmptyList {
                field: "corrected_fields",
                rule: "a correction changes at least one field",
            });
        }
        Ok(())
    }
}

/// Records that other weapon streams are the same weapon (recorded twice, e.g. once from a
/// legacy register and once at seizure). Streams are linked, never merged or deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateWeaponsLinked {
    pub other_weapons: Vec<WeaponId>,
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl DuplicateWeaponsLinked {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        require_items(
            &self.other_weapons,
            "other_weapons",
            "a link names at least one other weapon",
        )
    }
}

/// Documents added to a weapon's history after the fact (photographs, a laboratory report).
/// The documents are the common `evidence` field, required here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceAttached {
    /// What the documents are about.
    pub subject: Text,
    /// The log index of the entry the documents support, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relates_to_index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl EvidenceAttached {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        require_items(
            &self.evidence,
            "evidence",
            "an attachment holds at least one document",
        )
    }
}

// ---------------------------------------------------------------------------------------
// Licences (stream licence:<number>)
// ---------------------------------------------------------------------------------------

/// An exporter applies for an export licence; the application opens the licence's stream.
/// The fields are those Firearms Protocol art. 10(3) requires of the licence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLicenceApplied {
    pub exporter: Organisation,
    pub exporting_country: CountryCode,
    pub importing_country: CountryCode,
    /// The final recipient.
    pub end_user: EndUser,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consignee: Option<Organisation>,
    pub end_use: Text,
    pub goods: Vec<GoodsLine>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transit_countries: Vec<CountryCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<Broker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub euc: Option<DocumentNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_licence: Option<DocumentNumber>,
    /// For value thresholds (DOMAIN.md policy rule 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_value: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl ExportLicenceApplied {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        check_goods(&self.goods, "goods")
    }
}

/// The outcome of a licence application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LicenceDecision {
    Granted,
    Denied,
    GrantedWithConditions,
}

/// The licensing authority decides an export licence application. The policy decisions
/// behind it are recorded by the log with the entry, not in the payload (DESIGN.md "The log
/// entry"). A grant covers the goods, parties and route of the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportLicenceDecided {
    pub decision: LicenceDecision,
    /// The place of issue (Firearms Protocol 10(3)); the date of issue is `occurred_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_of_issue: Option<Text>,
    /// First and last day of validity: required for a grant, absent for a denial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// Required exactly when the decision is `granted_with_conditions`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Text>,
    /// Required for a denial (EU Common Position art. 4: a denial is notified with an
    /// explanation), e.g. "EU Common Position criterion 7: risk of diversion".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl ExportLicenceDecided {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        let granted = self.decision != LicenceDecision::Denied;
        if self.decision == LicenceDecision::Denied && self.reasons.is_empty() {
            return Err(CatalogueError::ReasonRequired {
                field: "reasons",
                rule: "a denial states its grounds (EU Common Position art. 4)",
            });
        }
        let conditional = self.decision == LicenceDecision::GrantedWithConditions;
        if conditional == self.conditions.is_empty() {
            return Err(CatalogueError::DecisionInconsistent {
                rule: "conditions are listed exactly when the decision is \
                       granted_with_conditions",
            });
        }
        match (granted, self.valid_from, self.valid_until) {
            // Invariant 3 judges every export against the licence's validity.
            (true, Some(from), Some(until)) => {
                check_validity(from, "valid_from", until, "valid_until")
            }
            (true, _, _) => Err(CatalogueError::DecisionInconsistent {
                rule: "a grant states valid_from and valid_until (Firearms Protocol 10(3))",
            }),
            (false, None, None) => Ok(()),
            (false, _, _) => Err(CatalogueError::DecisionInconsistent {
                rule: "a denial has no validity",
            }),
        }
    }
}

/// The importing State issues an import licence (Firearms Protocol 10(2)(a)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLicenceIssued {
    pub importer: Organisation,
    pub importing_country: CountryCode,
    pub exporting_country: CountryCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporter: Option<Organisation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user: Option<EndUser>,
    pub goods: Vec<GoodsLine>,
    pub valid_from: Date,
    pub valid_until: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl ImportLicenceIssued {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        check_goods(&self.goods, "goods")?;
        check_validity(
            self.valid_from,
            "valid_from",
            self.valid_until,
            "valid_until",
        )
    }
}

/// A transit State's written no-objection to the transit (Firearms Protocol 10(2)(b)),
/// recorded on the export licence it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitNoObjectionRecorded {
    pub transit_state: CountryCode,
    /// The transit State's reference (a note verbale, a permit number).
    pub reference: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// What a policy asked for before it would allow an event on a licence (DOMAIN.md:
/// "require consultation / approval / notification (with whom)").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PolicyRequirement {
    Consultation,
    Approval,
    Notification,
}

/// The State records that a policy's requirement is met for a licence: the minister
/// approved, the denying State was consulted, the committee was notified. Events a policy
/// held with `require_*` pass once the policy sees it (ARCHITECTURE.md "Policies").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequirementMet {
    /// The policy that asked, as in its stream `policy:<id>`.
    pub policy_id: DocumentNumber,
    pub requirement: PolicyRequirement,
    /// The rule of the policy that asked (its reason's `rule`).
    pub rule: Text,
    /// Who approved, was consulted or was notified.
    pub by: Text,
    /// Their reference (a decision number, a note verbale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A licence is suspended: no export under it until lifted or `until`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceSuspended {
    pub reason: Text,
    /// The last day of the suspension, when it is set; otherwise until revoked or lifted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A licence is revoked: dead from `occurred_at` on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceRevoked {
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A denial notified under EU Common Position 2008/944/CFSP art. 4: another State that
/// considers an essentially identical transaction within three years must consult the
/// denying State (DOMAIN.md policy rule 7). Recorded on the denied licence's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenialNotified {
    pub denying_state: CountryCode,
    /// The denying State's notification number.
    pub denial_reference: Text,
    /// The criteria the denial rests on; at least one.
    pub criteria: Vec<EuCriterion>,
    pub destination_country: CountryCode,
    pub end_user: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consignee: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<SalwCategory>,
    /// The transaction, described so that another State can tell an essentially identical
    /// one: goods, quantities, end use.
    pub transaction_description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl DenialNotified {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        require_items(
            &self.criteria,
            "criteria",
            "a denial notification cites its criteria (EU Common Position art. 4)",
        )
    }
}

// ---------------------------------------------------------------------------------------
// End-user certificates (stream euc:<number>)
// ---------------------------------------------------------------------------------------

/// The official who signs a certificate for the issuing authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatory {
    pub name: Text,
    pub position: Text,
}

/// The contract or order a certificate is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractReference {
    pub reference: Text,
    pub date: Date,
}

/// A government's certification that a non-government end user is authentic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovernmentAuthentication {
    pub authority: Text,
    pub reference: Text,
    pub date: Date,
}

/// The importing State issues an end-user certificate, with the standard elements of
/// DOMAIN.md "End-user certificates" (OSCE 2004, PoA reporting template). Whether a
/// non-government end user carries a government authentication is policy rule 3, not a
/// payload rule: States differ on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUserCertificateIssued {
    /// The unique number, as in the stream name `euc:<number>`.
    pub certificate_number: DocumentNumber,
    pub issuing_state: CountryCode,
    pub issuing_authority: Text,
    pub authorised_signatory: Signatory,
    pub exporter: Organisation,
    pub end_user: EndUser,
    pub goods: Vec<GoodsLine>,
    pub contract: ContractReference,
    pub final_destination_country: CountryCode,
    pub end_use: Text,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub brokers: Vec<Broker>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intermediate_consignees: Vec<Organisation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transit_states: Vec<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub government_authentication: Option<GovernmentAuthentication>,
    pub date_of_issue: Date,
    pub valid_until: Date,
    /// "No re-export without the written consent of the exporting State" (invariant 5).
    pub non_reexport_clause: bool,
    /// The end user undertakes to provide a delivery verification certificate.
    pub dvc_undertaking: bool,
    pub consent_to_post_shipment_verification: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl EndUserCertificateIssued {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        check_goods(&self.goods, "goods")?;
        // Shipments must fall inside the validity (DOMAIN.md invariant 4).
        check_validity(
            self.date_of_issue,
            "date_of_issue",
            self.valid_until,
            "valid_until",
        )
    }
}

/// An authority confirms a certificate is genuine (with the issuer, or by its signature).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUserCertificateVerified {
    /// How, e.g. "signature checked against the issuer's registered key".
    pub method: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// What a failed verification found, after the frauds DOMAIN.md lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EucVerificationFailure {
    /// The stated authority did not issue it (forged, or a blank pre-signed form).
    NotIssuedByStatedAuthority,
    /// The signatory was not authorised, or the key not valid, when it signed.
    SignatoryNotAuthorised,
    /// The end user does not exist (Liberia 2002: a non-existent company).
    EndUserNotFound,
    /// The certificate was altered after issue.
    Altered,
    Expired,
    Revoked,
    /// Already used for another transaction (IATG 03.40: one transaction only).
    AlreadyUsed,
    Other,
}

/// An authority could not verify a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUserCertificateVerificationFailed {
    pub failure: EucVerificationFailure,
    pub reason: Text,
    pub method: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A shipment draws on a certificate; the decider keeps the cumulative quantity within the
/// certificate's and the certificate to one transaction (DOMAIN.md invariant 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUserCertificateUsed {
    pub quantity: u32,
    pub consignment: DocumentNumber,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl EndUserCertificateUsed {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.quantity == 0 {
            return Err(CatalogueError::QuantityZero {
                field: "quantity".to_owned(),
            });
        }
        Ok(())
    }
}

/// A certificate is revoked: dead from then on (DOMAIN.md invariant 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndUserCertificateRevoked {
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// The original exporting State consents to a re-export of goods delivered under a
/// certificate with a non-re-export clause (DOMAIN.md invariant 5); recorded on that
/// certificate's stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReexportConsentGranted {
    pub consenting_state: CountryCode,
    pub reexporting_state: CountryCode,
    pub new_destination_country: CountryCode,
    pub new_end_user: EndUser,
    /// The weapons the consent covers, or (for goods not tracked one by one) a quantity, or
    /// both; at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weapons: Vec<WeaponId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// The consenting State's reference for the written consent.
    pub reference: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl ReexportConsentGranted {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        match self.quantity {
            Some(0) => Err(CatalogueError::QuantityZero {
                field: "quantity".to_owned(),
            }),
            None if self.weapons.is_empty() => Err(CatalogueError::EmptyList {
                field: "weapons",
                rule: "a consent names its weapons or a quantity",
            }),
            _ => Ok(()),
        }
    }
}

/// The original exporting State refuses a re-export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReexportConsentDenied {
    pub denying_state: CountryCode,
    pub reexporting_state: CountryCode,
    pub new_destination_country: CountryCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_end_user: Option<EndUser>,
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

// ---------------------------------------------------------------------------------------
// Movements (stream consignment:<id>)
// ---------------------------------------------------------------------------------------

/// How goods travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Air,
    Sea,
    Road,
    Rail,
    Multimodal,
}

/// The route of a consignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// In the order the goods pass them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transit_countries: Vec<CountryCode>,
    pub carrier: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_mode: Option<TransportMode>,
    /// The air waybill, bill of lading or consignment note number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport_document: Option<Text>,
}

/// An export consignment leaves; it cites its licence and certificate (DOMAIN.md
/// invariants 3 and 4). Weapons tracked one by one are listed by id; other goods by line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsignmentDispatched {
    pub export_licence: DocumentNumber,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub euc: Option<DocumentNumber>,
    pub exporter: Organisation,
    pub consignee: Organisation,
    pub destination_country: CountryCode,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weapons: Vec<WeaponId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goods: Vec<GoodsLine>,
    pub route: Route,
    /// The goods as declared to customs, when the declaration says something else than the
    /// goods lines (Liberia 2002: rifles declared as mining equipment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_as: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl ConsignmentDispatched {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.weapons.is_empty() && self.goods.is_empty() {
            return Err(CatalogueError::EmptyList {
                field: "weapons",
                rule: "a consignment carries weapons or goods lines",
            });
        }
        check_quantities(&self.goods, "goods")
    }
}

/// A consignment passes through a transit State.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitRecorded {
    pub transit_state: CountryCode,
    /// The port, airport or border crossing.
    pub place: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remarks: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// A consignment clears customs in the importing State.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsignmentImported {
    pub importing_country: CountryCode,
    pub customs_office: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customs_reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_licence: Option<DocumentNumber>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// The quantity received of one goods line of the dispatch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedGoods {
    /// The line's position in the dispatch's `goods`, from 0.
    pub goods_line: u32,
    /// May be zero: nothing of the line arrived.
    pub quantity: u32,
}

/// What a discrepancy is about: one weapon, or one goods line of the dispatch. Written
/// `{"weapon": "<uuid>"}` or `{"goods_line": 0}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyItem {
    Weapon(WeaponId),
    GoodsLine(u32),
}

/// A difference between what was dispatched and what arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discrepancy {
    pub item: DiscrepancyItem,
    pub expected: u32,
    pub received: u32,
    pub note: Text,
}

/// The importing State confirms receipt: the delivery verification certificate (Firearms
/// Protocol 10(4)), with every discrepancy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryVerified {
    pub dvc_reference: Text,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received_weapons: Vec<WeaponId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received_goods: Vec<ReceivedGoods>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discrepancies: Vec<Discrepancy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// What an on-site inspection found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionOutcome {
    AllAccountedFor,
    DiscrepanciesFound,
    AccessRefused,
}

/// The exporting State inspects delivered goods at the end user's (post-shipment on-site
/// verification, which the certificate consented to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostShipmentVerificationConducted {
    pub inspecting_state: CountryCode,
    pub inspectors: Text,
    pub place: Text,
    pub outcome: InspectionOutcome,
    pub findings: Text,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weapons_sighted: Vec<WeaponId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weapons_not_located: Vec<WeaponId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

// ---------------------------------------------------------------------------------------
// Trace requests (stream trace:<id>)
// ---------------------------------------------------------------------------------------

/// The circumstances in which a weapon was found (ITI 17(a)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoundCircumstances {
    pub how: AcquisitionCircumstances,
    pub place: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    pub description: Text,
}

/// A State asks another to trace a weapon (ITI 14-17). The three elements of ITI 17 are
/// all required: (a) `illicit_grounds`, `legal_justification` and `circumstances`;
/// (b) `identification`; (c) `intended_use`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceRequested {
    pub requesting_state: CountryCode,
    pub requested_state: CountryCode,
    /// The weapon's stream, if the ledger knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weapon: Option<WeaponId>,
    pub illicit_grounds: Vec<IllicitGround>,
    pub legal_justification: Text,
    pub circumstances: FoundCircumstances,
    pub identification: Identification,
    /// What the information will be used for; it may be used for nothing else (DOMAIN.md
    /// "Tracing").
    pub intended_use: Text,
    /// The requesting State's deadline: national policy, not the ITI's (DOMAIN.md
    /// "Tracing").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_deadline: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl TraceRequested {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        require_items(
            &self.illicit_grounds,
            "illicit_grounds",
            "ITI 17(a): a request states why the weapon is illicit (ITI 6)",
        )?;
        if !self.identification.identifies() {
            return Err(CatalogueError::MarkingIncomplete {
                rule: "ITI 17(b): a request gives the markings or another identifier",
            });
        }
        Ok(())
    }
}

/// The requested State acknowledges the request, within a reasonable time (DOMAIN.md
/// "Tracing").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceAcknowledged {
    /// The requested State's own case reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_response_by: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// One side asks the other for more information about a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceInformationRequested {
    pub asking_state: CountryCode,
    pub information_needed: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// One side supplies the information asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceInformationSupplied {
    pub supplying_state: CountryCode,
    pub information: Text,
    /// Better identification of the weapon, when that is what was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identification: Option<Identification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// How a requested State answers: it may delay, restrict or refuse, with reasons (DOMAIN.md
/// "Tracing").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TraceResponseKind {
    Full,
    /// Restricted: some information withheld.
    Partial,
    Delayed,
    Refused,
    NotFound,
}

/// One holder in a weapon's chain of custody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyLink {
    pub holder: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
    /// The record that shows it: a licence, an invoice, a register entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<Text>,
}

/// Where the weapon left legal custody: the goal of a trace (DOMAIN.md "Tracing").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointOfDiversion {
    pub description: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
}

/// The requested State answers a trace request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceResponded {
    pub responding_state: CountryCode,
    pub kind: TraceResponseKind,
    /// Required unless the response is full: a State that delays, restricts or refuses
    /// gives its reasons (DOMAIN.md "Tracing", invariant 6); a "not found" says what was
    /// searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information: Option<Text>,
    /// Holders in time order, first (the manufacturer) to last known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain_of_custody: Vec<CustodyLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point_of_diversion: Option<PointOfDiversion>,
    /// For a delayed response: when the full one is expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub further_response_by: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

impl TraceResponded {
    pub fn validate(&self) -> Result<(), CatalogueError> {
        if self.kind != TraceResponseKind::Full && self.reason.is_none() {
            return Err(CatalogueError::ReasonRequired {
                field: "reason",
                rule: "a response that is not full gives its reasons (DOMAIN.md invariant 6)",
            });
        }
        for (index, link) in self.chain_of_custody.iter().enumerate() {
            if let (Some(from), Some(to)) = (link.from, link.to)
                && to < from
            {
                return Err(CatalogueError::DatesOutOfOrder {
                    rule: format!(
                        "chain_of_custody[{index}].to must not be before \
                         chain_of_custody[{index}].from"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The request is passed on to another State or authority that can answer it (e.g. the
/// State the weapon was exported to, or an INTERPOL NCB).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceForwarded {
    pub to_state: CountryCode,
    /// The receiving authority, when it is registered in this ledger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_authority: Option<AuthorityRef>,
    pub reason: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

/// How a trace ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceOutcome {
    /// The point of diversion is known.
    DiversionPointIdentified,
    /// The last legal holder is known, the diversion itself not.
    LastLegalHolderIdentified,
    Untraceable,
    Refused,
    Withdrawn,
}

/// The requesting State closes the trace; a closed trace takes no response (invariant 6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceClosed {
    pub outcome: TraceOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceDocument>,
}

// ---------------------------------------------------------------------------------------
// The catalogue table and DomainEvent
// ---------------------------------------------------------------------------------------

/// The event types the authority registry interprets (registry.rs). They live on
/// `authority:` streams beside the catalogue's authority events, but are not in the
/// catalogue: `from_payload` answers `registry_event_type` for them.
pub const REGISTRY_EVENT_TYPES: [&str; 3] = [
    registry::AUTHORITY_REGISTERED,
    registry::AUTHORITY_KEY_ROTATED,
    registry::AUTHORITY_KEY_REVOKED,
];

/// One event type of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub event_type: &'static str,
    /// The current version: what writers emit and what the payload struct describes.
    pub type_version: u32,
    /// The kind of stream events of this type are appended to.
    pub stream_kind: StreamKind,
}

/// What every payload struct knows about its type.
pub trait Payload: Serialize + DeserializeOwned + Into<DomainEvent> {
    const EVENT_TYPE: &'static str;
    const TYPE_VERSION: u32;
    const STREAM_KIND: StreamKind;
}

/// Calls the payload's `validate()` when the table marks the type `rules`.
macro_rules! validate_payload {
    ($payload:ident) => {{
        let _ = $payload;
        Ok(())
    }};
    ($payload:ident, rules) => {
        $payload.validate()
    };
}

/// Generates, from one table, [`DomainEvent`], [`CATALOGUE`], the [`Payload`] impls and the
/// per-variant dispatch, so that a type's name, version, stream kind and struct cannot drift
/// apart. `rules` marks the types whose struct has a `validate()`.
macro_rules! catalogue {
    ($($name:ident => $kind:ident, version $version:literal $(, $rules:ident)?;)*) => {
        /// Every event of the catalogue, with its typed payload. The variant, the payload
        /// struct and the event type share one name.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum DomainEvent {
            $(
                #[doc = concat!("A `", stringify!($name), "` event.")]
                $name($name),
            )*
        }

        /// Every type of the catalogue, in DOMAIN.md's order.
        pub const CATALOGUE: &[CatalogueEntry] = &[
            $(
                CatalogueEntry {
                    event_type: stringify!($name),
                    type_version: $version,
                    stream_kind: StreamKind::$kind,
                },
            )*
        ];

        $(
            impl Payload for $name {
                const EVENT_TYPE: &'static str = stringify!($name);
                const TYPE_VERSION: u32 = $version;
                const STREAM_KIND: StreamKind = StreamKind::$kind;
            }

            impl From<$name> for DomainEvent {
                fn from(payload: $name) -> Self {
                    Self::$name(payload)
                }
            }
        )*

        impl DomainEvent {
            /// The event type, as in the envelope's `type`.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => stringify!($name),)*
                }
            }

            /// The current version of the type: what a writer puts in `type_version`.
            pub fn type_version(&self) -> u32 {
                match self {
                    $(Self::$name(_) => $version,)*
                }
            }

            /// The kind of stream the event belongs on.
            pub fn stream_kind(&self) -> StreamKind {
                match self {
                    $(Self::$name(_) => StreamKind::$kind,)*
                }
            }

            /// Checks the rules that tie the payload's fields together. `from_payload` runs
            /// it; a decider that builds an event in code runs it before emitting.
            pub fn validate(&self) -> Result<(), CatalogueError> {
                match self {
                    $(Self::$name(payload) => validate_payload!(payload $(, $rules)?),)*
                }
            }

            /// The payload as ledger JSON, for the envelope's `payload`.
            pub fn to_payload(&self) -> Result<Object, CatalogueError> {
                match self {
                    $(Self::$name(payload) => encode(stringify!($name), payload),)*
                }
            }

            /// Deserializes a payload of the current version of `event_type`; no rules.
            fn decode_current(
                event_type: &'static str,
                bytes: &[u8],
            ) -> Result<Self, CatalogueError> {
                match event_type {
                    $(stringify!($name) => decode::<$name>(event_type, bytes).map(Self::$name),)*
                    _ => Err(CatalogueError::UnknownEventType {
                        event_type: event_type.to_owned(),
                    }),
                }
            }
        }
    };
}

catalogue! {
    // Authorities and policies.
    PointOfContactDesignated => Authority, version 1, rules;
    BrokerRegistered => Authority, version 1, rules;
    BrokerRevoked => Authority, version 1;
    PolicyInstalled => Policy, version 1, rules;
    PolicyActivated => Policy, version 1;
    PolicyRetired => Policy, version 1;
    // Weapons.
    WeaponMarked => Weapon, version 1, rules;
    WeaponImportMarked => Weapon, version 1, rules;
    WeaponStateMarked => Weapon, version 1, rules;
    WeaponTransferredToCivilianUse => Weapon, version 1, rules;
    LegacyRecordImported => Weapon, version 1, rules;
    DomesticTransferRecorded => Weapon, version 1;
    WeaponReportedLost => Weapon, version 1;
    WeaponReportedStolen => Weapon, version 1;
    WeaponRecovered => Weapon, version 1;
    WeaponSeized => Weapon, version 1;
    WeaponFound => Weapon, version 1;
    WeaponSurrendered => Weapon, version 1;
    SerialNumberRestored => Weapon, version 1, rules;
    WeaponConfiscated => Weapon, version 1;
    WeaponDeactivated => Weapon, version 1;
    WeaponDestroyed => Weapon, version 1;
    RecordCorrected => Weapon, version 1, rules;
    DuplicateWeaponsLinked => Weapon, version 1, rules;
    EvidenceAttached => Weapon, version 1, rules;
    // Authorisations and documents.
    ExportLicenceApplied => Licence, version 1, rules;
    ExportLicenceDecided => Licence, version 1, rules;
    ImportLicenceIssued => Licence, version 1, rules;
    TransitNoObjectionRecorded => Licence, version 1;
    PolicyRequirementMet => Licence, version 1;
    LicenceSuspended => Licence, version 1;
    LicenceRevoked => Licence, version 1;
    DenialNotified => Licence, version 1, rules;
    EndUserCertificateIssued => Euc, version 1, rules;
    EndUserCertificateVerified => Euc, version 1;
    EndUserCertificateVerificationFailed => Euc, version 1;
    EndUserCertificateUsed => Euc, version 1, rules;
    EndUserCertificateRevoked => Euc, version 1;
    ReexportConsentGranted => Euc, version 1, rules;
    ReexportConsentDenied => Euc, version 1;
    // Movements.
    ConsignmentDispatched => Consignment, version 1, rules;
    TransitRecorded => Consignment, version 1;
    ConsignmentImported => Consignment, version 1;
    DeliveryVerified => Consignment, version 1;
    PostShipmentVerificationConducted => Consignment, version 1;
    // Trace requests.
    TraceRequested => Trace, version 1, rules;
    TraceAcknowledged => Trace, version 1;
    TraceInformationRequested => Trace, version 1;
    TraceInformationSupplied => Trace, version 1;
    TraceResponded => Trace, version 1, rules;
    TraceForwarded => Trace, version 1;
    TraceClosed => Trace, version 1;
}

/// The catalogue's entry for `event_type`, if it is one of the catalogue's types.
pub fn entry(event_type: &str) -> Option<&'static CatalogueEntry> {
    CATALOGUE
        .iter()
        .find(|entry| entry.event_type == event_type)
}

/// The entry for a type, or why there is none: the registry's own types first, then
/// unknown names.
fn catalogued(event_type: &str) -> Result<&'static CatalogueEntry, CatalogueError> {
    if let Some(name) = REGISTRY_EVENT_TYPES
        .into_iter()
        .find(|name| *name == event_type)
    {
        return Err(CatalogueError::RegistryEventType { event_type: name });
    }
    entry(event_type).ok_or_else(|| CatalogueError::UnknownEventType {
        event_type: event_type.chars().take(64).collect(),
    })
}

fn decode<T: DeserializeOwned>(
    event_type: &'static str,
    bytes: &[u8],
) -> Result<T, CatalogueError> {
    serde_json::from_slice(bytes).map_err(|error| invalid_payload(event_type, error.to_string()))
}

fn encode<T: Serialize>(event_type: &'static str, payload: &T) -> Result<Object, CatalogueError> {
    let bytes = serde_json::to_vec(payload)
        .map_err(|error| invalid_payload(event_type, error.to_string()))?;
    // Through the ledger's own parser, so that what comes out obeys its rules (no integer
    // beyond 2^53, which a u64 field could hold).
    match Json::parse(&bytes, PAYLOAD_DEPTH_MAX) {
        Ok(Json::Object(object)) => Ok(object),
        Ok(other) => Err(invalid_payload(
            event_type,
            format!("serializes as {}, not an object", other.kind()),
        )),
        Err(error) => Err(invalid_payload(event_type, error.to_string())),
    }
}

impl DomainEvent {
    /// Reads an envelope's `type`, `type_version` and `payload` as a catalogue event: older
    /// versions are upcast, then the payload is deserialized and its rules are checked (the
    /// order is in the module documentation).
    pub fn from_payload(
        event_type: &str,
        type_version: u32,
        payload: &Object,
    ) -> Result<DomainEvent, CatalogueError> {
        from_payload_with(UPCASTERS, event_type, type_version, payload)
    }
}

impl DomainEvent {
    /// Reads a payload straight from its JSON bytes (as stored inside an entry) when it is
    /// at the current version: no intermediate tree. Older versions take the upcasting
    /// path. Same checks and codes as [`DomainEvent::from_payload`].
    pub fn from_payload_bytes(
        event_type: &str,
        type_version: u32,
        payload: &[u8],
    ) -> Result<DomainEvent, CatalogueError> {
        let entry = catalogued(event_type)?;
        if type_version != entry.type_version {
            let parsed = Json::parse(payload, PAYLOAD_DEPTH_MAX)
                .map_err(|e| invalid_payload(entry.event_type, e.to_string()))?;
            let Json::Object(object) = parsed else {
                return Err(invalid_payload(
                    entry.event_type,
                    "the payload is not an object",
                ));
            };
            return Self::from_payload(event_type, type_version, &object);
        }
        let event = DomainEvent::decode_current(entry.event_type, payload)?;
        event.validate()?;
        Ok(event)
    }
}

fn from_payload_with(
    upcasters: &[Upcaster],
    event_type: &str,
    type_version: u32,
    payload: &Object,
) -> Result<DomainEvent, CatalogueError> {
    let entry = catalogued(event_type)?;
    let bytes = if type_version == entry.type_version {
        payload.to_canonical_vec()
    } else {
        let (_, current) = upcast_with(upcasters, event_type, type_version, payload)?;
        current.to_canonical_vec()
    };
    let event = DomainEvent::decode_current(entry.event_type, &bytes)?;
    event.validate()?;
    Ok(event)
}

// ---------------------------------------------------------------------------------------
// Upcasting
// ---------------------------------------------------------------------------------------

/// One step of an upcast: reads a payload of `event_type` at `from_version` and returns the
/// same event at `from_version + 1`.
#[derive(Clone, Copy, Debug)]
pub struct Upcaster {
    pub event_type: &'static str,
    pub from_version: u32,
    pub step: fn(&Object) -> Result<Object, CatalogueError>,
}

/// Every upcast step the ledger knows. Empty: every type is still at version 1. The module
/// documentation says how to add a version.
const UPCASTERS: &[Upcaster] = &[];

/// Maps a payload of any version that has a path to the current one, and returns the
/// current version with the payload as it would have been written at that version. A payload
/// already current comes back unchanged. The stored bytes are never touched: this is how
/// they are read.
pub fn upcast(
    event_type: &str,
    type_version: u32,
    payload: &Object,
) -> Result<(u32, Object), CatalogueError> {
    upcast_with(UPCASTERS, event_type, type_version, payload)
}

fn upcast_with(
    upcasters: &[Upcaster],
    event_type: &str,
    type_version: u32,
    payload: &Object,
) -> Result<(u32, Object), CatalogueError> {
    let entry = catalogued(event_type)?;
    let unknown_version = || CatalogueError::UnknownTypeVersion {
        event_type: entry.event_type,
        type_version,
        current: entry.type_version,
    };
    if type_version > entry.type_version {
        return Err(unknown_version());
    }
    let mut version = type_version;
    let mut current = payload.clone();
    while version < entry.type_version {
        let upcaster = upcasters
            .iter()
            .find(|step| step.event_type == entry.event_type && step.from_version == version)
            .ok_or_else(unknown_version)?;
        current = (upcaster.step)(&current)?;
        // Cannot overflow: `version` is below the current version, itself a u32.
        version += 1;
    }
    Ok((version, current))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_as_char_is_control_finds_them() {
        for character in char::MIN..=char::MAX {
            let text = format!("a{character}\u{e9}");
            assert_eq!(
                has_control_other_than_line_feed(&text),
                character.is_control() && character != '\n',
                "U+{:04X}",
                u32::from(character)
            );
        }
    }

    #[test]
    fn payload_bytes_read_like_the_parsed_payload() {
        let bytes =
            br#"{"kind":"refused","reason":"Ongoing investigation","responding_state":"BE"}"#;
        let parsed = Json::parse(bytes, 32).unwrap();
        let object = parsed.as_object().unwrap();
        assert_eq!(
            DomainEvent::from_payload_bytes("TraceResponded", 1, bytes).unwrap(),
            DomainEvent::from_payload("TraceResponded", 1, object).unwrap()
        );
        let refused = br#"{"kind":"refused","responding_state":"BE"}"#;
        assert_eq!(
            DomainEvent::from_payload_bytes("TraceResponded", 1, refused)
                .unwrap_err()
                .code(),
            "reason_required"
        );
        assert_eq!(
            DomainEvent::from_payload_bytes("TraceResponded", 9, bytes)
                .unwrap_err()
                .code(),
            "unknown_type_version"
        );
        assert_eq!(
            DomainEvent::from_payload_bytes("NoSuchThing", 1, bytes)
                .unwrap_err()
                .code(),
            "unknown_event_type"
        );
    }
    use crate::json::JsonError;

    const WEAPON: &str = "7f1e2d3c-4b5a-4697-8877-665544332211";
    const OTHER_WEAPON: &str = "0192f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f";
    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// One valid payload per event type, written as a client would send it. `{W}`, `{W2}`
    /// and `{SHA}` stand for a weapon id, another weapon id and a SHA-256.
    pub(crate) const EXAMPLES: [(&str, &str); 52] = [
        // ------------------------------------------------------ authorities and policies
        (
            "PointOfContactDesignated",
            r#"{"state": "BE", "instruments": ["iti", "att"],
                "unit": "Federal Police, Central Weapons Service",
                "contact": "Rue Fritz Toussaint 8, 1050 Brussels\n+32 2 000 00 00",
                "legal_basis": "ITI 25"}"#,
        ),
        (
            "BrokerRegistered",
            r#"{"broker_name": "Meuse Trading SPRL", "address": "Quai de la Batte 10, 4000 Liège",
                "registering_state": "BE", "registration_number": "BE-BRK-2026-014",
                "valid_from": "2026-01-01", "valid_until": "2030-12-31", "legal_basis": "ATT 10"}"#,
        ),
        (
            "BrokerRevoked",
            r#"{"registration_number": "BE-BRK-2026-014",
                "reason": "Broker convicted of false declarations"}"#,
        ),
        (
            "PolicyInstalled",
            r#"{"policy_id": "be-embargo", "name": "UN arms embargoes as applied by Belgium",
                "jurisdiction": "BE", "version": 3, "module_sha256": "{SHA}", "data_sha256": "{SHA}",
                "governs": ["ExportLicenceDecided", "ConsignmentDispatched"]}"#,
        ),
        ("PolicyActivated", r#"{"policy_id": "be-embargo"}"#),
        (
            "PolicyRetired",
            r#"{"policy_id": "be-embargo", "reason": "Superseded by version 4"}"#,
        ),
        // ---------------------------------------------------------------------- weapons
        (
            "WeaponMarked",
            r#"{"manufacturer": "FN Herstal", "country_of_manufacture": "BE",
                "serial_number": "FN 123-456", "model": "SCAR-L", "calibre": "5.56x45mm",
                "category": "assault_rifles", "year_of_manufacture": 2026,
                "marks": [{"component": "receiver", "text": "FN HERSTAL BELGIUM FN 123-456 2026"},
                          {"component": "barrel", "text": "5.56x45"}],
                "legal_basis": "ITI 8(a)"}"#,
        ),
        (
            "WeaponImportMarked",
            r#"{"country_of_import": "NG", "year_of_import": 2026,
                "importer": "Nigeria Police Force, Armament Department", "temporary_import": false,
                "marks": [{"component": "receiver", "text": "NG 26"}],
                "import_licence": "NG-IMP-2026-0042", "consignment": "BE-2026-000731",
                "legal_basis": "ITI 8(b)"}"#,
        ),
        (
            "WeaponStateMarked",
            r#"{"state": "NG", "holder": "Nigeria Police Force",
                "marks": [{"component": "frame", "text": "NPF 0001234"}], "legal_basis": "ITI 8(d)"}"#,
        ),
        (
            "WeaponTransferredToCivilianUse",
            r#"{"transferring_state": "BE", "marks": [{"component": "receiver", "text": "BE-ETAT"}],
                "recipient": {"name": "Jean Dupont", "kind": "individual", "licence_number": "LG-2026-7781"},
                "authorisation": "Decision 2026/44 of the Ministry of Defence", "legal_basis": "ITI 8(c)"}"#,
        ),
        (
            "LegacyRecordImported",
            r#"{"source_kind": "closed_company", "source": "Armurerie Lejeune SA, Liège (closed 1998)",
                "original_reference": "Book 12, page 87, line 4", "record_date": "1987-05-12",
                "known": {"manufacturer": "FN Herstal", "serial_number": "1987-44?1", "model": "FAL",
                          "category": "rifles_and_carbines", "calibre": "7.62x51mm"},
                "last_known_holder": {"name": "Armurerie Lejeune SA", "kind": "commercial"},
                "legal_basis": "ITI 13"}"#,
        ),
        (
            "DomesticTransferRecorded",
            r#"{"from_holder": {"name": "Armurerie Centrale SPRL", "kind": "commercial",
                                "licence_number": "DLR-LG-0042"},
                "to_holder": {"name": "Marie Martin", "kind": "individual", "licence_number": "LG-2026-9001"},
                "permit_reference": "Model 9 permit 2026/1187"}"#,
        ),
        (
            "WeaponReportedLost",
            r#"{"reported_by": "Marie Martin", "place": "Liège, home address", "last_seen_on": "2026-10-01",
                "circumstances": "Noticed missing from the locked safe during a move",
                "case_reference": "LG.12.L1.045123/26"}"#,
        ),
        (
            "WeaponReportedStolen",
            r#"{"reported_by": "Armurerie Centrale SPRL", "place": "Shop, Rue Léopold 3, Liège",
                "circumstances": "Burglary overnight; display case forced",
                "case_reference": "LG.12.L1.045999/26"}"#,
        ),
        (
            "WeaponRecovered",
            r#"{"place": "Seraing", "circumstances": "Found during a house search in another case",
                "case_reference": "LG.12.L1.046001/26",
                "observed": {"serial_number": "FN 123-456",
                             "marks": [{"component": "receiver", "text": "FN HERSTAL BELGIUM FN 123-456 2026"}]}}"#,
        ),
        (
            "WeaponSeized",
            r#"{"seizing_authority": "Police Judiciaire Fédérale Liège",
                "place": "E40 motorway, Battice customs area",
                "circumstances": "In a hidden compartment of a lorry during a customs check",
                "case_reference": "LG.21.F3.000777/26",
                "suspected_illicit": ["illicit_under_national_law", "transferred_without_licence"],
                "observed": {"category": "assault_rifles", "calibre": "7.62x39mm", "obliterated_marks": true,
                             "other_identifiers": "Grinding marks where the serial number was"}}"#,
        ),
        (
            "WeaponFound",
            r#"{"recording_authority": "Police locale Seraing", "found_by": "Municipal worker",
                "place": "Bank of the Meuse, Seraing", "circumstances": "Wrapped in plastic, buried near the towpath",
                "observed": {"manufacturer": "Norinco", "model": "Type 56",
                             "marks": [{"component": "receiver", "text": "56-1 26 1234567"}]}}"#,
        ),
        (
            "WeaponSurrendered",
            r#"{"receiving_authority": "Police locale Liège", "programme": "2026 national firearms amnesty",
                "place": "Commissariat Liège-Centre", "circumstances": "Inherited pistol handed in anonymously",
                "observed": {"serial_number": "12345", "manufacturer": "Walther", "model": "P38",
                             "year_of_manufacture": 1943}}"#,
        ),
        (
            "SerialNumberRestored",
            r#"{"laboratory": "National Institute of Criminalistics and Criminology",
                "method": "Magnetic particle inspection, then chemical etching (Fry's reagent)",
                "restored_marks": [{"component": "receiver", "text": "56-1 ?? 1234567"}],
                "restored_serial_number": "1234567", "complete": false, "report_reference": "NICC-2026-00412"}"#,
        ),
        (
            "WeaponConfiscated",
            r#"{"ordered_by": "Tribunal de première instance de Liège", "order_reference": "Judgment 26/1234",
                "custodian": "Central Weapons Service, Brussels"}"#,
        ),
        (
            "WeaponDeactivated",
            r#"{"certificate_number": "BPB-DEACT-2026-0091", "standard": "EU 2015/2403",
                "verifying_authority": "Banc d'épreuves des armes à feu de Liège",
                "marks": [{"component": "receiver", "text": "BE BPB 2026 DEACT"},
                          {"component": "barrel", "text": "BE BPB 2026 DEACT"}],
                "legal_basis": "Firearms Protocol art. 9; EU 2015/2403"}"#,
        ),
        (
            "WeaponDestroyed",
            r#"{"method": "Receiver cut in three places, then smelted",
                "witness": "Insp. A. Peeters, Central Weapons Service",
                "certificate_number": "CWS-DESTR-2026-0456", "place": "Steelworks furnace, Seraing",
                "evidence": [{"sha256": "{SHA}", "description": "Destruction certificate signed by the witness"}]}"#,
        ),
        (
            "RecordCorrected",
            r#"{"corrected_index": 18446,
                "corrected_fields": {"serial_number": "FN 123-465", "year_of_manufacture": 2026},
                "reason": "Digits transposed at data entry; checked against the weapon"}"#,
        ),
        (
            "DuplicateWeaponsLinked",
            r#"{"other_weapons": ["{W2}"],
                "reason": "Same weapon recorded from the Lejeune register and at seizure"}"#,
        ),
        (
            "EvidenceAttached",
            r#"{"subject": "Photographs of the restored serial number", "relates_to_index": 18500,
                "evidence": [{"sha256": "{SHA}", "description": "Photograph 1 of 3"}]}"#,
        ),
        // --------------------------------------------------------------------- licences
        (
            "ExportLicenceApplied",
            r#"{"exporter": {"name": "FN Herstal SA", "address": "Voie de Liège 33, 4040 Herstal", "country": "BE"},
                "exporting_country": "BE", "importing_country": "NG",
                "end_user": {"name": "Nigeria Police Force", "position": "Inspector-General of Police",
                             "address": "Louis Edet House, Abuja", "kind": "government"},
                "end_use": "Equipment of the police mobile force",
                "goods": [{"description": "Assault rifle FN SCAR-L", "category": "assault_rifles",
                           "quantity": 500, "model": "SCAR-L", "calibre": "5.56x45mm",
                           "manufacturer": "FN Herstal"}],
                "transit_countries": ["FR"],
                "brokers": [{"name": "Meuse Trading SPRL", "country": "BE", "licence_number": "BE-BRK-2026-014"}],
                "euc": "NG-EUC-2026-0042", "import_licence": "NG-IMP-2026-0042",
                "contract_value": {"amount_minor": 125000000, "currency": "EUR"}}"#,
        ),
        (
            "ExportLicenceDecided",
            r#"{"decision": "granted_with_conditions", "place_of_issue": "Namur",
                "valid_from": "2026-12-01", "valid_until": "2027-11-30",
                "conditions": ["Delivery verification certificate within 3 months of arrival"]}"#,
        ),
        (
            "ImportLicenceIssued",
            r#"{"importer": {"name": "Nigeria Police Force", "address": "Louis Edet House, Abuja", "country": "NG"},
                "importing_country": "NG", "exporting_country": "BE",
                "exporter": {"name": "FN Herstal SA", "address": "Voie de Liège 33, 4040 Herstal", "country": "BE"},
                "goods": [{"description": "Assault rifle FN SCAR-L", "category": "assault_rifles", "quantity": 500}],
                "valid_from": "2026-11-01", "valid_until": "2027-10-31",
                "legal_basis": "Firearms Protocol art. 10(2)(a)"}"#,
        ),
        (
            "TransitNoObjectionRecorded",
            r#"{"transit_state": "FR", "reference": "Note verbale 2026-1187", "valid_until": "2027-06-30",
                "legal_basis": "Firearms Protocol art. 10(2)(b)"}"#,
        ),
        (
            "PolicyRequirementMet",
            r#"{"policy_id": "be-thresholds", "requirement": "approval", "rule": "ml1_quantity_over_500",
                "by": "Minister-President of Wallonia", "reference": "Decision 2026/118"}"#,
        ),
        (
            "LicenceSuspended",
            r#"{"reason": "Under review after reports of diversion", "until": "2027-03-31"}"#,
        ),
        (
            "LicenceRevoked",
            r#"{"reason": "UN Security Council arms embargo adopted on the destination"}"#,
        ),
        (
            "DenialNotified",
            r#"{"denying_state": "BE", "denial_reference": "BE-DEN-2026-007", "criteria": [2, 7],
                "destination_country": "NG", "end_user": "Private security company X",
                "categories": ["assault_rifles"],
                "transaction_description": "500 assault rifles 5.56 mm for a private security company, site protection",
                "legal_basis": "EU Common Position 2008/944/CFSP art. 4"}"#,
        ),
        // -------------------------------------------------------- end-user certificates
        (
            "EndUserCertificateIssued",
            r#"{"certificate_number": "NG-EUC-2026-0042", "issuing_state": "NG",
                "issuing_authority": "Office of the National Security Adviser",
                "authorised_signatory": {"name": "A. Bello", "position": "Director, Arms Control"},
                "exporter": {"name": "FN Herstal SA", "address": "Voie de Liège 33, 4040 Herstal", "country": "BE"},
                "end_user": {"name": "Nigeria Police Force", "position": "Inspector-General of Police",
                             "address": "Louis Edet House, Abuja", "kind": "government"},
                "goods": [{"description": "Assault rifle FN SCAR-L", "category": "assault_rifles",
                           "quantity": 500, "calibre": "5.56x45mm"}],
                "contract": {"reference": "NPF/PROC/2026/118", "date": "2026-09-15"},
                "final_destination_country": "NG", "end_use": "Equipment of the police mobile force",
                "brokers": [{"name": "Meuse Trading SPRL", "country": "BE", "licence_number": "BE-BRK-2026-014"}],
                "intermediate_consignees": [{"name": "Apapa bonded warehouse", "address": "Apapa, Lagos", "country": "NG"}],
                "transit_states": ["FR"],
                "date_of_issue": "2026-10-01", "valid_until": "2027-09-30",
                "non_reexport_clause": true, "dvc_undertaking": true,
                "consent_to_post_shipment_verification": true}"#,
        ),
        (
            "EndUserCertificateVerified",
            r#"{"method": "Signature checked against the issuer's registered key; issue confirmed by the embassy",
                "reference": "Cable 2026/4471"}"#,
        ),
        (
            "EndUserCertificateVerificationFailed",
            r#"{"failure": "end_user_not_found",
                "reason": "No company of that name is registered in Monrovia",
                "method": "Enquiry with the registry of companies through the embassy"}"#,
        ),
        (
            "EndUserCertificateUsed",
            r#"{"quantity": 500, "consignment": "BE-2026-000731"}"#,
        ),
        (
            "EndUserCertificateRevoked",
            r#"{"reason": "Contract cancelled by the end user"}"#,
        ),
        (
            "ReexportConsentGranted",
            r#"{"consenting_state": "BE", "reexporting_state": "NG", "new_destination_country": "GH",
                "new_end_user": {"name": "Ghana Police Service", "address": "Accra", "kind": "government"},
                "weapons": ["{W}"], "reference": "BE consent 2026/12", "valid_until": "2027-06-30"}"#,
        ),
        (
            "ReexportConsentDenied",
            r#"{"denying_state": "BE", "reexporting_state": "NG", "new_destination_country": "SS",
                "reason": "UN Security Council arms embargo on South Sudan", "reference": "BE refusal 2026/13"}"#,
        ),
        // -------------------------------------------------------------------- movements
        (
            "ConsignmentDispatched",
            r#"{"export_licence": "BE-EXP-2026-0815", "euc": "NG-EUC-2026-0042",
                "exporter": {"name": "FN Herstal SA", "address": "Voie de Liège 33, 4040 Herstal", "country": "BE"},
                "consignee": {"name": "Nigeria Police Force", "address": "Louis Edet House, Abuja", "country": "NG"},
                "destination_country": "NG", "weapons": ["{W}", "{W2}"],
                "goods": [{"description": "Assault rifle FN SCAR-L", "category": "assault_rifles", "quantity": 498}],
                "route": {"transit_countries": ["FR"], "carrier": "Cargo airline", "transport_mode": "air",
                          "transport_document": "AWB 000-12345675"}}"#,
        ),
        (
            "TransitRecorded",
            r#"{"transit_state": "FR", "place": "Paris-Charles de Gaulle airport", "remarks": "Seals intact"}"#,
        ),
        (
            "ConsignmentImported",
            r#"{"importing_country": "NG", "customs_office": "Nnamdi Azikiwe International Airport, Abuja",
                "customs_reference": "NCS-2026-ABJ-99812", "import_licence": "NG-IMP-2026-0042"}"#,
        ),
        (
            "DeliveryVerified",
            r#"{"dvc_reference": "NG-DVC-2026-0042", "received_weapons": ["{W}"],
                "received_goods": [{"goods_line": 0, "quantity": 497}],
                "discrepancies": [
                    {"item": {"weapon": "{W2}"}, "expected": 1, "received": 0, "note": "Not in the crate on opening"},
                    {"item": {"goods_line": 0}, "expected": 498, "received": 497, "note": "One rifle missing from crate 12"}],
                "legal_basis": "Firearms Protocol art. 10(4)"}"#,
        ),
        (
            "PostShipmentVerificationConducted",
            r#"{"inspecting_state": "BE", "inspectors": "Two officers of the licensing authority",
                "place": "Police armoury, Abuja", "outcome": "discrepancies_found",
                "findings": "499 of 500 rifles sighted; one reported missing on delivery",
                "weapons_sighted": ["{W}"], "weapons_not_located": ["{W2}"]}"#,
        ),
        // --------------------------------------------------------------- trace requests
        (
            "TraceRequested",
            r#"{"requesting_state": "BE", "requested_state": "NG", "weapon": "{W}",
                "illicit_grounds": ["illicit_under_national_law"],
                "legal_justification": "Possession without licence, Weapons Act of 8 June 2006, art. 11",
                "circumstances": {"how": "seized", "place": "Battice customs area", "date": "2026-11-02",
                                  "description": "Hidden in a lorry with 11 other rifles"},
                "identification": {"manufacturer": "FN Herstal", "country_of_manufacture": "BE",
                                   "serial_number": "FN 123-456", "category": "assault_rifles",
                                   "calibre": "5.56x45mm",
                                   "marks": [{"component": "receiver", "text": "NG 26"}]},
                "intended_use": "Criminal investigation LG.21.F3.000777/26 and prosecution",
                "response_deadline": "2027-01-31", "legal_basis": "ITI 14-17"}"#,
        ),
        (
            "TraceAcknowledged",
            r#"{"reference": "NG-NCB-2026-1187", "expected_response_by": "2027-01-15", "legal_basis": "ITI 14-23"}"#,
        ),
        (
            "TraceInformationRequested",
            r#"{"asking_state": "NG", "information_needed": "Photographs of the import marks on the receiver"}"#,
        ),
        (
            "TraceInformationSupplied",
            r#"{"supplying_state": "BE", "information": "Photographs attached",
                "identification": {"marks": [{"component": "receiver", "text": "NG 26"}]},
                "evidence": [{"sha256": "{SHA}", "description": "Photograph of the receiver, left side"}]}"#,
        ),
        (
            "TraceResponded",
            r#"{"responding_state": "NG", "kind": "full",
                "information": "Delivered to the police armoury in Abuja; missing at the 2027 inventory",
                "chain_of_custody": [
                    {"holder": "FN Herstal SA", "country": "BE", "from": "2026-03-01", "to": "2026-12-03",
                     "reference": "BE-EXP-2026-0815"},
                    {"holder": "Nigeria Police Force, Abuja armoury", "country": "NG", "from": "2026-12-05",
                     "reference": "NG-DVC-2026-0042"}],
                "point_of_diversion": {"description": "Missing from the Abuja armoury", "date": "2027-04-30",
                                       "country": "NG"},
                "legal_basis": "ITI 14-23"}"#,
        ),
        (
            "TraceForwarded",
            r#"{"to_state": "FR", "to_authority": "fr-interpol-ncb",
                "reason": "The consignment transited through France; its records are there"}"#,
        ),
        (
            "TraceClosed",
            r#"{"outcome": "diversion_point_identified",
                "summary": "Diverted from the Abuja police armoury in 2027"}"#,
        ),
    ];

    pub(crate) fn parse_object(text: &str) -> Object {
        let text = text
            .replace("{W2}", OTHER_WEAPON)
            .replace("{W}", WEAPON)
            .replace("{SHA}", SHA);
        match Json::parse(text.as_bytes(), PAYLOAD_DEPTH_MAX) {
            Ok(Json::Object(object)) => object,
            other => panic!("example is not a JSON object: {other:?}\n{text}"),
        }
    }

    fn example(event_type: &str) -> Object {
        let (_, text) = EXAMPLES
            .iter()
            .find(|(name, _)| *name == event_type)
            .unwrap_or_else(|| panic!("no example of {event_type}"));
        parse_object(text)
    }

    /// Sets (`Some`) or removes (`None`) the member at a dotted path such as `goods.0.quantity`.
    fn patch(value: &mut Json, path: &[&str], new: Option<Json>) {
        let (head, rest) = path.split_first().expect("a non-empty path");
        match value {
            Json::Object(object) => {
                if rest.is_empty() {
                    match new {
                        Some(new) => object.insert(*head, new),
                        None => {
                            object.remove(head).expect("the member to remove exists");
                        }
                    }
                } else {
                    let mut child = object.remove(head).expect("the path exists");
                    patch(&mut child, rest, new);
                    object.insert(*head, child);
                }
            }
            Json::Array(items) => {
                let index: usize = head.parse().expect("an array index");
                if rest.is_empty() {
                    match new {
                        Some(new) => items[index] = new,
                        None => {
                            items.remove(index);
                        }
                    }
                } else {
                    patch(&mut items[index], rest, new);
                }
            }
            other => panic!("cannot follow {head} into {other:?}"),
        }
    }

    /// The example of `event_type` with patches applied: `(path, Some(json))` sets a member,
    /// `(path, None)` removes it.
    fn patched(event_type: &str, patches: &[(&str, Option<&str>)]) -> Object {
        let mut value = Json::Object(example(event_type));
        for (path, new) in patches {
            let new = new.map(|text| {
                let text = text.replace("{W}", WEAPON);
                Json::parse(text.as_bytes(), 8).expect("patch value is JSON")
            });
            let path: Vec<&str> = path.split('.').collect();
            patch(&mut value, &path, new);
        }
        match value {
            Json::Object(object) => object,
            _ => unreachable!(),
        }
    }

    // ------------------------------------------------------------------ the catalogue

    #[test]
    fn every_type_has_one_example_and_they_are_in_catalogue_order() {
        let examples: Vec<&str> = EXAMPLES.iter().map(|(name, _)| *name).collect();
        let catalogue: Vec<&str> = CATALOGUE.iter().map(|entry| entry.event_type).collect();
        assert_eq!(examples, catalogue);
    }

    #[test]
    fn type_names_are_unique_valid_and_apart_from_the_registry() {
        for (position, entry) in CATALOGUE.iter().enumerate() {
            assert!(
                crate::event::EventType::parse(entry.event_type).is_ok(),
                "{}",
                entry.event_type
            );
            assert_eq!(entry.type_version, 1, "{}", entry.event_type);
            assert!(
                CATALOGUE[position + 1..]
                    .iter()
                    .all(|other| other.event_type != entry.event_type),
                "{} is listed twice",
                entry.event_type
            );
            assert!(!registry::is_registry_event(entry.event_type));
        }
        for name in REGISTRY_EVENT_TYPES {
            assert!(registry::is_registry_event(name));
            assert!(entry(name).is_none());
        }
    }

    #[test]
    fn every_example_parses_and_round_trips() {
        for (event_type, text) in EXAMPLES {
            let payload = parse_object(text);
            let event = DomainEvent::from_payload(event_type, 1, &payload)
                .unwrap_or_else(|error| panic!("{event_type}: {error}"));
            // event_type() gives back the type it was read as, and the table agrees.
            assert_eq!(event.event_type(), event_type);
            let entry = entry(event_type).expect("catalogued");
            assert_eq!(event.type_version(), entry.type_version, "{event_type}");
            assert_eq!(event.stream_kind(), entry.stream_kind, "{event_type}");
            // The example is written in the canonical shape: serializing gives it back.
            let written = event.to_payload().expect("serializes");
            assert_eq!(
                Json::Object(written.clone()).to_canonical_string(),
                Json::Object(payload).to_canonical_string(),
                "{event_type}"
            );
            assert_eq!(
                DomainEvent::from_payload(event_type, 1, &written).as_ref(),
                Ok(&event)
            );
        }
    }

    #[test]
    fn stream_kinds_follow_the_catalogue_sections() {
        let kind = |event_type| entry(event_type).map(|entry| entry.stream_kind);
        let cases = [
            ("PointOfContactDesignated", StreamKind::Authority),
            ("BrokerRevoked", StreamKind::Authority),
            ("PolicyInstalled", StreamKind::Policy),
            ("PolicyRetired", StreamKind::Policy),
            ("WeaponMarked", StreamKind::Weapon),
            ("EvidenceAttached", StreamKind::Weapon),
            ("ExportLicenceDecided", StreamKind::Licence),
            ("DenialNotified", StreamKind::Licence),
            ("EndUserCertificateIssued", StreamKind::Euc),
            ("ReexportConsentDenied", StreamKind::Euc),
            ("ConsignmentDispatched", StreamKind::Consignment),
            ("PostShipmentVerificationConducted", StreamKind::Consignment),
            ("TraceRequested", StreamKind::Trace),
            ("TraceClosed", StreamKind::Trace),
        ];
        for (event_type, expected) in cases {
            assert_eq!(kind(event_type), Some(expected), "{event_type}");
        }
        assert_eq!(WeaponMarked::EVENT_TYPE, "WeaponMarked");
        assert_eq!(WeaponMarked::TYPE_VERSION, 1);
        assert_eq!(TraceResponded::STREAM_KIND, StreamKind::Trace);
    }

    #[test]
    fn every_type_takes_the_common_fields() {
        let evidence =
            format!(r#"[{{"sha256": "{SHA}", "description": "Scan of the signed original"}}]"#);
        for (event_type, _) in EXAMPLES {
            let payload = patched(
                event_type,
                &[
                    ("legal_basis", Some(r#""National law, art. 1""#)),
                    ("evidence", Some(&evidence)),
                ],
            );
            let event = DomainEvent::from_payload(event_type, 1, &payload)
                .unwrap_or_else(|error| panic!("{event_type}: {error}"));
            let written = event.to_payload().expect("serializes");
            assert_eq!(written, payload, "{event_type} keeps the common fields");
        }
    }

    #[test]
    fn every_type_refuses_unknown_fields() {
        for (event_type, _) in EXAMPLES {
            let payload = patched(event_type, &[("unexpected", Some("true"))]);
            let error = DomainEvent::from_payload(event_type, 1, &payload).unwrap_err();
            assert_eq!(error.code(), "invalid_payload", "{event_type}");
            assert!(
                error.to_string().contains("unknown field `unexpected`"),
                "{event_type}: {error}"
            );
        }
    }

    #[test]
    fn unknown_types_and_versions() {
        let payload = example("WeaponMarked");
        let cases = [
            ("WeaponMelted", 1, "unknown_event_type"),
            ("weaponMarked", 1, "unknown_event_type"),
            ("", 1, "unknown_event_type"),
            ("AuthorityRegistered", 1, "registry_event_type"),
            ("AuthorityKeyRotated", 1, "registry_event_type"),
            ("AuthorityKeyRevoked", 1, "registry_event_type"),
            ("WeaponMarked", 2, "unknown_type_version"),
            ("WeaponMarked", 0, "unknown_type_version"),
            ("WeaponMarked", u32::MAX, "unknown_type_version"),
        ];
        for (event_type, type_version, code) in cases {
            let error = DomainEvent::from_payload(event_type, type_version, &payload).unwrap_err();
            assert_eq!(error.code(), code, "{event_type} v{type_version}");
        }
        let long = "W".repeat(1000);
        assert_eq!(
            DomainEvent::from_payload(&long, 1, &payload),
            Err(CatalogueError::UnknownEventType {
                event_type: "W".repeat(64)
            })
        );
        assert_eq!(
            DomainEvent::from_payload("WeaponMarked", 2, &payload),
            Err(CatalogueError::UnknownTypeVersion {
                event_type: "WeaponMarked",
                type_version: 2,
                current: 1
            })
        );
    }

    // ------------------------------------------------------------------------- rules

    /// Variations on the examples: `Ok(())` when the variation is still valid, else the code.
    #[test]
    fn cross_field_rules() {
        type Case = (
            &'static str,
            &'static [(&'static str, Option<&'static str>)],
            Result<(), &'static str>,
        );
        let cases: &[Case] = &[
            // ITI 8(a): manufacturer + country + serial, or the alternative code.
            (
                "WeaponMarked",
                &[("serial_number", None)],
                Err("marking_incomplete"),
            ),
            (
                "WeaponMarked",
                &[("manufacturer", None)],
                Err("marking_incomplete"),
            ),
            (
                "WeaponMarked",
                &[("country_of_manufacture", None)],
                Err("marking_incomplete"),
            ),
            (
                "WeaponMarked",
                &[
                    ("manufacturer", None),
                    ("country_of_manufacture", None),
                    ("serial_number", None),
                    (
                        "alternative_code",
                        Some(
                            r#"{"symbols": "triangle in a circle", "code": "27-4411", "country": "BE"}"#,
                        ),
                    ),
                ],
                Ok(()),
            ),
            (
                "WeaponMarked",
                &[(
                    "alternative_code",
                    Some(r#"{"symbols": "triangle", "code": "27-4411", "country": "BE"}"#),
                )],
                Ok(()),
            ),
            // ITI 10: the unique mark on the frame or receiver.
            (
                "WeaponMarked",
                &[("marks.0.component", Some(r#""slide""#))],
                Err("mark_not_on_frame_or_receiver"),
            ),
            (
                "WeaponMarked",
                &[("marks", Some("[]"))],
                Err("mark_not_on_frame_or_receiver"),
            ),
            (
                "WeaponMarked",
                &[("marks.0.component", Some(r#""frame""#))],
                Ok(()),
            ),
            // Marking checked before the marks' place.
            (
                "WeaponMarked",
                &[("serial_number", None), ("marks", Some("[]"))],
                Err("marking_incomplete"),
            ),
            // ITI 8(b): permanent imports are marked; temporary ones exempt.
            (
                "WeaponImportMarked",
                &[("marks", None)],
                Err("marking_incomplete"),
            ),
            (
                "WeaponImportMarked",
                &[("marks", None), ("temporary_import", Some("true"))],
                Ok(()),
            ),
            (
                "WeaponImportMarked",
                &[(
                    "unique_mark",
                    Some(r#"{"component": "barrel", "text": "NG 26 0001"}"#),
                )],
                Err("mark_not_on_frame_or_receiver"),
            ),
            (
                "WeaponImportMarked",
                &[(
                    "unique_mark",
                    Some(r#"{"component": "frame", "text": "NG 26 0001"}"#),
                )],
                Ok(()),
            ),
            (
                "WeaponStateMarked",
                &[("marks", Some("[]"))],
                Err("marking_incomplete"),
            ),
            (
                "WeaponTransferredToCivilianUse",
                &[("marks", Some("[]"))],
                Err("marking_incomplete"),
            ),
            (
                "LegacyRecordImported",
                &[("known", Some(r#"{"model": "FAL", "calibre": "7.62x51mm"}"#))],
                Err("marking_incomplete"),
            ),
            (
                "LegacyRecordImported",
                &[(
                    "known",
                    Some(r#"{"other_identifiers": "Register: 'FAL rifle, No. 4471'"}"#),
                )],
                Ok(()),
            ),
            (
                "SerialNumberRestored",
                &[("restored_marks", Some("[]"))],
                Err("marking_incomplete"),
            ),
            // ITI 17: the three elements of a trace request.
            (
                "TraceRequested",
                &[(
                    "identification",
                    Some(r#"{"calibre": "5.56x45mm", "model": "SCAR-L"}"#),
                )],
                Err("marking_incomplete"),
            ),
            (
                "TraceRequested",
                &[("illicit_grounds", Some("[]"))],
                Err("empty_list"),
            ),
            (
                "TraceRequested",
                &[("intended_use", None)],
                Err("invalid_payload"),
            ),
            // Invariant 6: a response that is not full gives its reasons.
            (
                "TraceResponded",
                &[("kind", Some(r#""refused""#))],
                Err("reason_required"),
            ),
            (
                "TraceResponded",
                &[("kind", Some(r#""partial""#))],
                Err("reason_required"),
            ),
            (
                "TraceResponded",
                &[("kind", Some(r#""delayed""#))],
                Err("reason_required"),
            ),
            (
                "TraceResponded",
                &[("kind", Some(r#""not_found""#))],
                Err("reason_required"),
            ),
            (
                "TraceResponded",
                &[
                    ("kind", Some(r#""refused""#)),
                    ("reason", Some(r#""Ongoing investigation""#)),
                ],
                Ok(()),
            ),
            (
                "TraceResponded",
                &[("chain_of_custody.0.to", Some(r#""2026-02-28""#))],
                Err("dates_out_of_order"),
            ),
            (
                "TraceResponded",
                &[("chain_of_custody.0.to", Some(r#""2026-03-01""#))],
                Ok(()),
            ),
            // Licence decisions.
            (
                "ExportLicenceDecided",
                &[
                    ("decision", Some(r#""denied""#)),
                    ("conditions", None),
                    ("valid_from", None),
                    ("valid_until", None),
                ],
                Err("reason_required"),
            ),
            (
                "ExportLicenceDecided",
                &[
                    ("decision", Some(r#""denied""#)),
                    ("conditions", None),
                    ("valid_from", None),
                    ("valid_until", None),
                    (
                        "reasons",
                        Some(r#"["EU Common Position criterion 7: risk of diversion"]"#),
                    ),
                ],
                Ok(()),
            ),
            (
                "ExportLicenceDecided",
                &[
                    ("decision", Some(r#""denied""#)),
                    ("conditions", None),
                    ("reasons", Some(r#"["criterion 7"]"#)),
                ],
                Err("decision_inconsistent"),
            ),
            (
                "ExportLicenceDecided",
                &[("decision", Some(r#""granted""#))],
                Err("decision_inconsistent"),
            ),
            (
                "ExportLicenceDecided",
                &[("decision", Some(r#""granted""#)), ("conditions", None)],
                Ok(()),
            ),
            (
                "ExportLicenceDecided",
                &[("conditions", None)],
                Err("decision_inconsistent"),
            ),
            (
                "ExportLicenceDecided",
                &[("valid_until", None)],
                Err("decision_inconsistent"),
            ),
            (
                "ExportLicenceDecided",
                &[("valid_until", Some(r#""2026-12-01""#))],
                Err("dates_out_of_order"),
            ),
            // Validity windows.
            (
                "EndUserCertificateIssued",
                &[("valid_until", Some(r#""2026-10-01""#))],
                Err("dates_out_of_order"),
            ),
            (
                "EndUserCertificateIssued",
                &[("valid_until", Some(r#""2025-10-01""#))],
                Err("dates_out_of_order"),
            ),
            (
                "EndUserCertificateIssued",
                &[("valid_until", Some(r#""2026-10-02""#))],
                Ok(()),
            ),
            (
                "ImportLicenceIssued",
                &[("valid_until", Some(r#""2026-10-31""#))],
                Err("dates_out_of_order"),
            ),
            (
                "BrokerRegistered",
                &[("valid_until", Some(r#""2025-12-31""#))],
                Err("dates_out_of_order"),
            ),
            ("BrokerRegistered", &[("valid_until", None)], Ok(())),
            // Goods and quantities.
            (
                "EndUserCertificateIssued",
                &[("goods", Some("[]"))],
                Err("empty_list"),
            ),
            (
                "EndUserCertificateIssued",
                &[("goods.0.quantity", Some("0"))],
                Err("quantity_zero"),
            ),
            // Goods are checked before validity.
            (
                "EndUserCertificateIssued",
                &[
                    ("goods.0.quantity", Some("0")),
                    ("valid_until", Some(r#""2020-01-01""#)),
                ],
                Err("quantity_zero"),
            ),
            (
                "ExportLicenceApplied",
                &[("goods", Some("[]"))],
                Err("empty_list"),
            ),
            (
                "ExportLicenceApplied",
                &[("goods.0.quantity", Some("0"))],
                Err("quantity_zero"),
            ),
            (
                "ImportLicenceIssued",
                &[("goods.0.quantity", Some("0"))],
                Err("quantity_zero"),
            ),
            (
                "EndUserCertificateUsed",
                &[("quantity", Some("0"))],
                Err("quantity_zero"),
            ),
            (
                "ReexportConsentGranted",
                &[("quantity", Some("0"))],
                Err("quantity_zero"),
            ),
            (
                "ReexportConsentGranted",
                &[("weapons", None)],
                Err("empty_list"),
            ),
            (
                "ReexportConsentGranted",
                &[("weapons", None), ("quantity", Some("10"))],
                Ok(()),
            ),
            (
                "ConsignmentDispatched",
                &[("weapons", None), ("goods", None)],
                Err("empty_list"),
            ),
            ("ConsignmentDispatched", &[("goods", None)], Ok(())),
            ("ConsignmentDispatched", &[("weapons", None)], Ok(())),
            (
                "ConsignmentDispatched",
                &[("goods.0.quantity", Some("0"))],
                Err("quantity_zero"),
            ),
            // Lists that must not be empty.
            (
                "PointOfContactDesignated",
                &[("instruments", Some("[]"))],
                Err("empty_list"),
            ),
            (
                "PolicyInstalled",
                &[("governs", Some("[]"))],
                Err("empty_list"),
            ),
            // The registry's types may be governed too.
            (
                "PolicyInstalled",
                &[("governs", Some(r#"["AuthorityRegistered"]"#))],
                Ok(()),
            ),
            (
                "RecordCorrected",
                &[("corrected_fields", Some("{}"))],
                Err("empty_list"),
            ),
            (
                "DuplicateWeaponsLinked",
                &[("other_weapons", Some("[]"))],
                Err("empty_list"),
            ),
            ("EvidenceAttached", &[("evidence", None)], Err("empty_list")),
            (
                "DenialNotified",
                &[("criteria", Some("[]"))],
                Err("empty_list"),
            ),
        ];
        for (event_type, patches, expected) in cases {
            let payload = patched(event_type, patches);
            let actual = DomainEvent::from_payload(event_type, 1, &payload)
                .map(|_| ())
                .map_err(|error| error.code());
            assert_eq!(actual, *expected, "{event_type} {patches:?}");
        }
    }

    /// Values that their type's `parse` refuses, wrong JSON types and unknown nested fields:
    /// all `invalid_payload`, with serde's message naming the problem.
    #[test]
    fn shape_refusals() {
        type Case = (
            &'static str,
            &'static [(&'static str, Option<&'static str>)],
            &'static str,
        );
        let cases: &[Case] = &[
            (
                "WeaponMarked",
                &[("serial_number", Some(r#"" FN1""#))],
                "invalid serial number",
            ),
            (
                "WeaponMarked",
                &[("country_of_manufacture", Some(r#""be""#))],
                "country code",
            ),
            (
                "WeaponMarked",
                &[("country_of_manufacture", Some(r#""XK""#))],
                "country code",
            ),
            (
                "WeaponMarked",
                &[("category", Some(r#""pistols""#))],
                "unknown SALW category",
            ),
            (
                "WeaponMarked",
                &[("year_of_manufacture", Some("999"))],
                "invalid year",
            ),
            (
                "WeaponMarked",
                &[("calibre", Some(r#""""#))],
                "invalid calibre",
            ),
            (
                "WeaponMarked",
                &[("marks.0.component", Some(r#""stock""#))],
                "unknown variant",
            ),
            (
                "WeaponMarked",
                &[("marks.0.colour", Some(r#""blue""#))],
                "unknown field `colour`",
            ),
            ("WeaponMarked", &[("marks", None)], "missing field `marks`"),
            ("WeaponMarked", &[("model", Some("42"))], "invalid type"),
            (
                "TraceRequested",
                &[("weapon", Some(r#""7F1E2D3C-4B5A-4697-8877-665544332211""#))],
                "invalid weapon id",
            ),
            (
                "TraceRequested",
                &[("identification.colour", Some(r#""black""#))],
                "unknown field `colour`",
            ),
            (
                "TraceResponded",
                &[("kind", Some(r#""refused""#)), ("reason", Some(r#""   ""#))],
                "invalid text",
            ),
            (
                "TraceResponded",
                &[("reason", Some(r#""a\tb""#))],
                "invalid text",
            ),
            (
                "TraceForwarded",
                &[("to_authority", Some(r#""FR-NCB""#))],
                "invalid authority id",
            ),
            (
                "ConsignmentDispatched",
                &[("export_licence", Some(r#""BE/EXP/2026/0815""#))],
                "invalid document number",
            ),
            (
                "PolicyInstalled",
                &[(
                    "module_sha256",
                    Some(r#""9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08""#),
                )],
                "invalid SHA-256",
            ),
            (
                "PolicyInstalled",
                &[("governs", Some(r#"["WeaponMarkd"]"#))],
                "invalid event type",
            ),
            (
                "EndUserCertificateIssued",
                &[("end_user.kind", Some(r#""ngo""#))],
                "unknown variant",
            ),
            (
                "EndUserCertificateIssued",
                &[("non_reexport_clause", None)],
                "missing field `non_reexport_clause`",
            ),
            (
                "EndUserCertificateIssued",
                &[("date_of_issue", Some(r#""2026-02-30""#))],
                "invalid date",
            ),
            (
                "ExportLicenceApplied",
                &[("contract_value.currency", Some(r#""eur""#))],
                "invalid currency code",
            ),
            (
                "ExportLicenceApplied",
                &[("goods.0.quantity", Some("-1"))],
                "invalid value",
            ),
            (
                "ExportLicenceApplied",
                &[("goods.0.quantity", Some("4294967296"))],
                "invalid value",
            ),
            (
                "ExportLicenceApplied",
                &[("goods.0.quantity", Some(r#""500""#))],
                "invalid type",
            ),
            (
                "DeliveryVerified",
                &[(
                    "discrepancies.0.item",
                    Some(r#"{"weapon": "{W}", "goods_line": 0}"#),
                )],
                "",
            ),
            (
                "DenialNotified",
                &[("criteria", Some("[2, 9]"))],
                "criterion",
            ),
        ];
        for (event_type, patches, message) in cases {
            let payload = patched(event_type, patches);
            let error = DomainEvent::from_payload(event_type, 1, &payload).unwrap_err();
            assert_eq!(
                error.code(),
                "invalid_payload",
                "{event_type} {patches:?}: {error}"
            );
            assert!(
                error.to_string().contains(message),
                "{event_type} {patches:?}: {error}"
            );
        }
    }

    #[test]
    fn floats_are_refused() {
        // A payload reaches the catalogue as ledger JSON, whose parser refuses floats.
        let text = br#"{"quantity": 1.5, "consignment": "BE-2026-000731"}"#;
        assert_eq!(Json::parse(text, 8), Err(JsonError::FloatNotAllowed));
        assert_eq!(
            Json::parse(br#"{"quantity": 5e2}"#, 8),
            Err(JsonError::FloatNotAllowed)
        );
        // Read straight from other bytes, the structs refuse them too, including inside the
        // free-form JSON of a correction.
        assert!(serde_json::from_slice::<EndUserCertificateUsed>(text).is_err());
        let correction = r#"{"corrected_index": 1, "corrected_fields": {"bore": 7.62},
                             "reason": "Bore entered wrongly"}"#;
        let error = serde_json::from_str::<RecordCorrected>(correction).unwrap_err();
        assert!(error.to_string().contains("floating-point"), "{error}");
        let duplicate = r#"{"corrected_index": 1, "corrected_fields": {"a": 1, "a": 2},
                            "reason": "r"}"#;
        let error = serde_json::from_str::<RecordCorrected>(duplicate).unwrap_err();
        assert!(error.to_string().contains("duplicate"), "{error}");
        let huge = r#"{"corrected_index": 1, "corrected_fields": {"a": 9007199254740992},
                       "reason": "r"}"#;
        assert!(serde_json::from_str::<RecordCorrected>(huge).is_err());
    }

    #[test]
    fn to_payload_refuses_integers_beyond_json_safe_range() {
        let event = DomainEvent::RecordCorrected(RecordCorrected {
            corrected_index: u64::MAX,
            corrected_fields: JsonObject::new(example("PolicyActivated")),
            reason: Text::parse("test").unwrap(),
            legal_basis: None,
            evidence: Vec::new(),
        });
        assert_eq!(event.validate(), Ok(()));
        assert_eq!(event.to_payload().unwrap_err().code(), "invalid_payload");
    }

    // ------------------------------------------------------------------ value types

    #[test]
    fn values_of_the_catalogue() {
        assert_eq!(WeaponId::parse(WEAPON).unwrap().to_string(), WEAPON);
        for refused in [
            "7F1E2D3C-4B5A-4697-8877-665544332211",
            "7f1e2d3c4b5a46978877665544332211",
            "{7f1e2d3c-4b5a-4697-8877-665544332211}",
            "",
        ] {
            assert!(WeaponId::parse(refused).is_err(), "{refused}");
        }
        assert!(DocumentNumber::parse("NG-EUC-2026.0042_a").is_ok());
        let too_long = "a".repeat(129);
        for refused in ["", "-lead", "a/b", "a:b", "a b", too_long.as_str()] {
            assert!(DocumentNumber::parse(refused).is_err(), "{refused}");
        }
        assert_eq!(Sha256Hex::parse(SHA).unwrap().to_string(), SHA);
        assert!(Sha256Hex::parse(&SHA[1..]).is_err());
        assert!(Sha256Hex::parse(&format!("{}g", &SHA[1..])).is_err());
        assert!(CurrencyCode::parse("EUR").is_ok());
        for refused in ["eur", "EU", "EURO", "€UR"] {
            assert!(CurrencyCode::parse(refused).is_err(), "{refused}");
        }
        assert!(Text::parse("Line one\nLine two").is_ok());
        assert!(Text::parse(&"x".repeat(TEXT_CHARS_MAX)).is_ok());
        for refused in ["", " \n ", "a\u{0}b", "a\rb"] {
            assert!(Text::parse(refused).is_err(), "{refused:?}");
        }
        assert!(Text::parse(&"x".repeat(TEXT_CHARS_MAX + 1)).is_err());
        // Characters are counted, not bytes.
        assert!(Text::parse(&"\u{e9}".repeat(TEXT_CHARS_MAX)).is_ok());
        assert!(Text::parse(&"\u{e9}".repeat(TEXT_CHARS_MAX + 1)).is_err());
        assert_eq!(EuCriterion::new(8).map(EuCriterion::get), Ok(8));
        assert!(EuCriterion::new(0).is_err() && EuCriterion::new(9).is_err());
        assert!(EventTypeName::parse("TraceClosed").is_ok());
        assert!(EventTypeName::parse("AuthorityKeyRevoked").is_ok());
        assert!(EventTypeName::parse("traceclosed").is_err());
        assert!(AuthorityRef::parse("fr-interpol-ncb").is_ok());
        assert!(AuthorityRef::parse("FR").is_err());
    }

    #[test]
    fn error_codes_are_stable() {
        let cases = [
            (
                CatalogueError::UnknownEventType {
                    event_type: String::new(),
                },
                "unknown_event_type",
            ),
            (
                CatalogueError::UnknownTypeVersion {
                    event_type: "",
                    type_version: 0,
                    current: 1,
                },
                "unknown_type_version",
            ),
            (
                CatalogueError::RegistryEventType { event_type: "" },
                "registry_event_type",
            ),
            (invalid_payload("", ""), "invalid_payload"),
            (
                CatalogueError::MarkingIncomplete { rule: "" },
                "marking_incomplete",
            ),
            (
                CatalogueError::MarkNotOnFrameOrReceiver { field: "" },
                "mark_not_on_frame_or_receiver",
            ),
            (
                CatalogueError::ReasonRequired {
                    field: "",
                    rule: "",
                },
                "reason_required",
            ),
            (
                CatalogueError::DecisionInconsistent { rule: "" },
                "decision_inconsistent",
            ),
            (
                CatalogueError::DatesOutOfOrder {
                    rule: String::new(),
                },
                "dates_out_of_order",
            ),
            (
                CatalogueError::QuantityZero {
                    field: String::new(),
                },
                "quantity_zero",
            ),
            (
                CatalogueError::EmptyList {
                    field: "",
                    rule: "",
                },
                "empty_list",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    // -------------------------------------------------------------------- upcasting

    /// A fictitious first shape of `TraceRequested`, to run the upcasting path: it called
    /// the ITI 17(c) element `purpose` and had no response deadline. No ledger ever stored
    /// it (envelopes start at version 1); a real old shape would live outside `cfg(test)`.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TraceRequestedV0 {
        requesting_state: CountryCode,
        requested_state: CountryCode,
        weapon: Option<WeaponId>,
        illicit_grounds: Vec<IllicitGround>,
        legal_justification: Text,
        circumstances: FoundCircumstances,
        identification: Identification,
        purpose: Text,
        legal_basis: Option<Text>,
        #[serde(default)]
        evidence: Vec<EvidenceDocument>,
    }

    impl From<TraceRequestedV0> for TraceRequested {
        fn from(old: TraceRequestedV0) -> Self {
            Self {
                requesting_state: old.requesting_state,
                requested_state: old.requested_state,
                weapon: old.weapon,
                illicit_grounds: old.illicit_grounds,
                legal_justification: old.legal_justification,
                circumstances: old.circumstances,
                identification: old.identification,
                intended_use: old.purpose,
                response_deadline: None,
                legal_basis: old.legal_basis,
                evidence: old.evidence,
            }
        }
    }

    fn trace_requested_v0_to_v1(payload: &Object) -> Result<Object, CatalogueError> {
        let bytes = Json::Object(payload.clone()).to_canonical_vec();
        let old: TraceRequestedV0 = decode(TraceRequested::EVENT_TYPE, &bytes)?;
        encode(TraceRequested::EVENT_TYPE, &TraceRequested::from(old))
    }

    const TEST_UPCASTERS: &[Upcaster] = &[Upcaster {
        event_type: "TraceRequested",
        from_version: 0,
        step: trace_requested_v0_to_v1,
    }];

    #[test]
    fn upcasting_reads_an_older_shape() {
        let current = example("TraceRequested");
        let old = patched(
            "TraceRequested",
            &[
                ("intended_use", None),
                ("response_deadline", None),
                ("purpose", Some(r#""Criminal investigation""#)),
            ],
        );

        // The step maps the old shape to the current one...
        let (version, mapped) = upcast_with(TEST_UPCASTERS, "TraceRequested", 0, &old).unwrap();
        assert_eq!(version, 1);
        assert_eq!(
            mapped.get("intended_use"),
            Some(&Json::str("Criminal investigation"))
        );
        assert_eq!(mapped.get("purpose"), None);

        // ...and from_payload reads the old version through it, rules included.
        let event = from_payload_with(TEST_UPCASTERS, "TraceRequested", 0, &old).unwrap();
        let DomainEvent::TraceRequested(request) = &event else {
            panic!("{event:?}");
        };
        assert_eq!(request.intended_use.as_str(), "Criminal investigation");
        assert_eq!(request.response_deadline, None);
        assert_eq!(
            event.type_version(),
            1,
            "an upcast event is the current version"
        );
        let unidentified = patched("TraceRequested", &[("identification", Some("{}"))]);
        let mut unidentified_old = old.clone();
        unidentified_old.insert(
            "identification",
            unidentified.get("identification").cloned().unwrap(),
        );
        assert_eq!(
            from_payload_with(TEST_UPCASTERS, "TraceRequested", 0, &unidentified_old)
                .unwrap_err()
                .code(),
            "marking_incomplete"
        );

        // The old step reads only the old shape: a current payload labelled 0 is refused.
        assert_eq!(
            from_payload_with(TEST_UPCASTERS, "TraceRequested", 0, &current)
                .unwrap_err()
                .code(),
            "invalid_payload"
        );
        // A current payload is not touched.
        assert_eq!(
            upcast_with(TEST_UPCASTERS, "TraceRequested", 1, &current),
            Ok((1, current.clone()))
        );
        // Without the step (the real table), version 0 is unknown; so is a future version.
        for version in [0, 2] {
            assert_eq!(
                upcast("TraceRequested", version, &old).unwrap_err().code(),
                "unknown_type_version"
            );
            assert_eq!(
                DomainEvent::from_payload("TraceRequested", version, &old)
                    .unwrap_err()
                    .code(),
                "unknown_type_version"
            );
        }
        assert_eq!(
            upcast("AuthorityRegistered", 1, &current)
                .unwrap_err()
                .code(),
            "registry_event_type"
        );
    }
}
