//! The signed event envelope (DESIGN.md "Event envelope") and the values it is made of.
//!
//! An authority signs `armsledger/event/v1\n` followed by the JCS serialization of the
//! envelope without its `signature`. Every field is parsed into a type whose only
//! constructor checks its rule, so the rest of the ledger never sees a malformed id,
//! stream name or time.
//!
//! ```
//! use ledger::event::SignedEvent;
//! let bad = SignedEvent::parse(br#"{"event_id": 1.5}"#, &Default::default()).unwrap_err();
//! assert_eq!(bad.code(), "float_not_allowed");
//! ```

use std::fmt;

use ed25519_dalek::SigningKey;
use sha2::{Digest, Sha256};

use crate::crypto::{self, Signature, SignatureError};
use crate::json::{Json, Object};
use crate::rejection::Rejection;

/// What every signature of an event covers first: a domain separator, so that a
/// signature over an event can never be replayed as a signature over anything else.
pub const SIGNING_PREFIX: &[u8] = b"armsledger/event/v1\n";

/// Limits applied to an event before it reaches the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventLimits {
    /// The largest event accepted, in bytes of its JSON text.
    pub event_bytes_max: usize,
    /// The deepest nesting of arrays and objects accepted.
    pub json_depth_max: usize,
}

impl Default for EventLimits {
    fn default() -> Self {
        Self {
            event_bytes_max: 64 * 1024,
            json_depth_max: 32,
        }
    }
}

/// The envelope's fields, in the order they are checked.
const ENVELOPE_FIELDS: [&str; 10] = [
    "event_id",
    "stream",
    "expected_version",
    "type",
    "type_version",
    "payload",
    "actor",
    "key_id",
    "occurred_at",
    "signature",
];

fn invalid(field: &'static str, reason: impl Into<String>) -> Rejection {
    Rejection::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// The idempotency key of an event: a UUID in its canonical lowercase hyphenated form
/// (so one id has one spelling, and one spelling one id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(uuid::Uuid);

impl EventId {
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let id = uuid::Uuid::try_parse(s).map_err(|_| {
            invalid(
                "event_id",
                "must be a UUID such as 0192f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f",
            )
        })?;
        if id.hyphenated().to_string() != s {
            return Err(invalid(
                "event_id",
                "must be a UUID in lowercase hyphenated form",
            ));
        }
        Ok(Self(id))
    }

    /// A new time-ordered id (UUIDv7, RFC 9562) from the system clock and randomness.
    /// Clients should mint ids this way: ids that grow with time keep the ledger's
    /// idempotency index appending at its right edge instead of rewriting random pages.
    pub fn new_v7() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    pub fn from_u128(v: u128) -> Self {
        Self(uuid::Uuid::from_u128(v))
    }

    pub fn as_u128(&self) -> u128 {
        self.0.as_u128()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Checks `s` against `[first][rest]{0,max-1}`; the grammars of ids are all of this shape.
fn fits_grammar(
    s: &str,
    max: usize,
    first: impl Fn(u8) -> bool,
    rest: impl Fn(u8) -> bool,
) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= max && first(b[0]) && b[1..].iter().all(|&c| rest(c))
}

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_id_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')
}

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $rule:literal, $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, Rejection> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(invalid($field, concat!("must match ", $rule)))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// An authority's id, e.g. `be-fn-herstal`: lowercase, stable, used in stream names.
    AuthorityId,
    "actor",
    "[a-z0-9][a-z0-9._-]{0,63}",
    |s| fits_grammar(s, 64, is_lower_alnum, |c| is_lower_alnum(c) || matches!(c, b'.' | b'_' | b'-'))
);

text_id!(
    /// The id of one of an authority's keys, e.g. `k1`; never reused within an authority.
    KeyId,
    "key_id",
    "[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
    |s| fits_grammar(s, 64, |c| c.is_ascii_alphanumeric(), is_id_char)
);

text_id!(
    /// An event type name in PascalCase, e.g. `WeaponMarked`.
    EventType,
    "type",
    "[A-Z][A-Za-z0-9]{0,63}",
    |s| fits_grammar(s, 64, |c| c.is_ascii_uppercase(), |c| c.is_ascii_alphanumeric())
);

/// The kind of thing a stream records the life of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Weapon,
    Euc,
    Licence,
    Consignment,
    Trace,
    Authority,
    Policy,
}

impl StreamKind {
    pub const ALL: [StreamKind; 7] = [
        StreamKind::Weapon,
        StreamKind::Euc,
        StreamKind::Licence,
        StreamKind::Consignment,
        StreamKind::Trace,
        StreamKind::Authority,
        StreamKind::Policy,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            StreamKind::Weapon => "weapon",
            StreamKind::Euc => "euc",
            StreamKind::Licence => "licence",
            StreamKind::Consignment => "consignment",
            StreamKind::Trace => "trace",
            StreamKind::Authority => "authority",
            StreamKind::Policy => "policy",
        }
    }
}

/// A stream name: `<kind>:<id>`. Weapons are named by a lowercase UUID (their identity
/// outlives any marking); authorities by their AuthorityId; the rest by their document
/// number, `[A-Za-z0-9][A-Za-z0-9._-]{0,127}` (no `/` or `:`, so a name is one URL
/// path segment).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName(String);

impl StreamName {
    pub fn parse(s: &str) -> Result<Self, Rejection> {
        let reject = |reason: &str| Rejection::InvalidStreamName {
            stream: s.chars().take(200).collect(),
            reason: reason.to_owned(),
        };
        let (prefix, id) = s
            .split_once(':')
            .ok_or_else(|| reject("must be <kind>:<id>"))?;
        let kind = StreamKind::ALL
            .into_iter()
            .find(|k| k.prefix() == prefix)
            .ok_or_else(|| {
                reject("kind must be weapon, euc, licence, consignment, trace, authority or policy")
            })?;
        match kind {
            StreamKind::Weapon => {
                let uuid =
                    uuid::Uuid::try_parse(id).map_err(|_| reject("weapon id must be a UUID"))?;
                if uuid.hyphenated().to_string() != id {
                    return Err(reject("weapon id must be a lowercase hyphenated UUID"));
                }
            }
            StreamKind::Authority => {
                AuthorityId::parse(id)
                    .map_err(|_| reject("authority id must match [a-z0-9][a-z0-9._-]{0,63}"))?;
            }
            _ => {
                if !fits_grammar(id, 128, |c| c.is_ascii_alphanumeric(), is_id_char) {
                    return Err(reject("id must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}"));
                }
            }
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> StreamKind {
        let prefix = self.0.split(':').next().unwrap_or_default();
        StreamKind::ALL
            .into_iter()
            .find(|k| k.prefix() == prefix)
            .unwrap_or(StreamKind::Weapon)
    }

    /// The part after `<kind>:`.
    pub fn id(&self) -> &str {
        self.0.split_once(':').map(|(_, id)| id).unwrap_or_default()
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the writer of an event believed about its stream (optimistic concurrency).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// The stream must not exist yet: this is its first event.
    NoStream,
    /// No expectation.
    Any,
    /// The stream's last event has this version; the new one gets the next.
    Exact(u64),
}

impl ExpectedVersion {
    fn from_json(v: &Json) -> Result<Self, Rejection> {
        match v {
            Json::String(s) if s == "none" => Ok(Self::NoStream),
            Json::String(s) if s == "any" => Ok(Self::Any),
            Json::Int(i) if *i >= 0 => Ok(Self::Exact(i.unsigned_abs())),
            _ => Err(invalid(
                "expected_version",
                "must be \"none\", \"any\" or a non-negative integer",
            )),
        }
    }

    fn to_json(self) -> Json {
        match self {
            Self::NoStream => Json::str("none"),
            Self::Any => Json::str("any"),
            // Versions come from parsed JSON or from the log, both below 2^53.
            Self::Exact(v) => Json::uint(v).unwrap_or(Json::Null),
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoStream => f.write_str("none"),
            Self::Any => f.write_str("any"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// An instant in UTC, written `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. The text is kept as
/// given, because the signature covers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timestamp {
    text: String,
    at: time::OffsetDateTime,
}

impl Timestamp {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        const RULE: &str = "must be UTC in the form YYYY-MM-DDTHH:MM:SS[.fraction]Z";
        let b = s.as_bytes();
        let digits =
            |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        let shape_ok = b.len() >= 20
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)
            && b[b.len() - 1] == b'Z'
            && (b.len() == 20
                || (b[19] == b'.' && (22..=30).contains(&b.len()) && digits(20..b.len() - 1)));
        if !shape_ok {
            return Err(RULE);
        }
        let at = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| "is not a valid date and time")?;
        Ok(Self {
            text: s.to_owned(),
            at,
        })
    }

    /// The ledger's own times (`recorded_at`): always milliseconds, always UTC.
    pub fn from_unix_millis(ms: i64) -> Option<Self> {
        let at =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        );
        Some(Self { text, at })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn unix_millis(&self) -> i64 {
        i64::try_from(self.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The unsigned part of an event: what an authority asserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub event_id: EventId,
    pub stream: StreamName,
    pub expected_version: ExpectedVersion,
    pub event_type: EventType,
    pub type_version: u32,
    pub payload: Object,
    pub actor: AuthorityId,
    pub key_id: KeyId,
    pub occurred_at: Timestamp,
}

impl Envelope {
    /// The envelope as a JSON object (without signature).
    pub fn to_object(&self) -> Object {
        let mut o = Object::new();
        o.insert("event_id", Json::str(self.event_id.to_string()));
        o.insert("stream", Json::str(self.stream.as_str()));
        o.insert("expected_version", self.expected_version.to_json());
        o.insert("type", Json::str(self.event_type.as_str()));
        o.insert("type_version", Json::Int(i64::from(self.type_version)));
        o.insert("payload", Json::Object(self.payload.clone()));
        o.insert("actor", Json::str(self.actor.as_str()));
        o.insert("key_id", Json::str(self.key_id.as_str()));
        o.insert("occurred_at", Json::str(self.occurred_at.as_str()));
        o
    }

    /// The bytes a signature covers: the prefix, then the JCS form of the envelope.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = SIGNING_PREFIX.to_vec();
        Json::Object(self.to_object()).write_canonical(&mut out);
        out
    }

    /// Signs the envelope (what a client does).
    pub fn sign(self, key: &SigningKey) -> SignedEvent {
        let canonical = self.signing_bytes();
        let signature = crypto::sign(key, &canonical);
        SignedEvent {
            envelope: self,
            signature,
            canonical,
        }
    }

    /// Takes the fields out of a checked envelope object (the payload is moved, not copied).
    fn from_object(mut obj: Object) -> Result<Self, Rejection> {
        fn field<'a>(obj: &'a Object, name: &'static str) -> Result<&'a Json, Rejection> {
            obj.get(name).ok_or(Rejection::MissingField(name))
        }
        fn string<'a>(obj: &'a Object, name: &'static str) -> Result<&'a str, Rejection> {
            let v = field(obj, name)?;
            v.as_str()
                .ok_or_else(|| invalid(name, format!("must be a string, not {}", v.kind())))
        }
        for name in ENVELOPE_FIELDS.iter().take(9) {
            field(&obj, name)?;
        }
        let event_id = EventId::parse(string(&obj, "event_id")?)?;
        let stream = StreamName::parse(string(&obj, "stream")?)?;
        let expected_version = ExpectedVersion::from_json(field(&obj, "expected_version")?)?;
        let event_type = EventType::parse(string(&obj, "type")?)?;
        let type_version = field(&obj, "type_version")?
            .as_i64()
            .and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v >= 1)
            .ok_or_else(|| invalid("type_version", "must be an integer from 1 to 2^32 - 1"))?;
        if let Some(other) = obj.get("payload").filter(|p| p.as_object().is_none()) {
            return Err(invalid(
                "payload",
                format!("must be an object, not {}", other.kind()),
            ));
        }
        let actor = AuthorityId::parse(string(&obj, "actor")?)?;
        let key_id = KeyId::parse(string(&obj, "key_id")?)?;
        let occurred_at = Timestamp::parse(string(&obj, "occurred_at")?)
            .map_err(|r| invalid("occurred_at", r))?;
        let Some(Json::Object(payload)) = obj.remove("payload") else {
            return Err(Rejection::MissingField("payload"));
        };
        Ok(Self {
            event_id,
            stream,
            expected_version,
            event_type,
            type_version,
            payload,
            actor,
            key_id,
            occurred_at,
        })
    }
}

/// An envelope with its signature, checked for shape but not yet for authenticity:
/// which key must have signed it is a question for the log (`Ledger::append`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEvent {
    envelope: Envelope,
    signature: Signature,
    /// `SIGNING_PREFIX` + JCS(envelope), computed once.
    canonical: Vec<u8>,
}

impl SignedEvent {
    /// Parses an event as a client submits it, applying every rule that needs no log.
    pub fn parse(bytes: &[u8], limits: &EventLimits) -> Result<Self, Rejection> {
        Self::check_size(bytes.len(), limits)?;
        Self::from_json(Json::parse(bytes, limits.json_depth_max)?)
    }

    /// `event_too_large` when an event's bytes are over the limit (checked before parsing).
    pub(crate) fn check_size(bytes: usize, limits: &EventLimits) -> Result<(), Rejection> {
        if bytes > limits.event_bytes_max {
            return Err(Rejection::EventTooLarge {
                bytes,
                max: limits.event_bytes_max,
            });
        }
        Ok(())
    }

    /// Builds an event from parsed JSON, which must be an object.
    pub(crate) fn from_json(value: Json) -> Result<Self, Rejection> {
        match value {
            Json::Object(obj) => Self::from_object(obj),
            _ => Err(Rejection::NotAnObject),
        }
    }

    /// Builds an event from a parsed JSON object (as found inside a log entry).
    pub fn from_object(mut obj: Object) -> Result<Self, Rejection> {
        if let Some(unknown) = obj.keys().find(|k| !ENVELOPE_FIELDS.contains(k)) {
            return Err(Rejection::UnknownField(unknown.chars().take(200).collect()));
        }
        let signature = obj
            .remove("signature")
            .ok_or(Rejection::MissingField("signature"))?;
        // The signing bytes first, while the object is whole; then the fields move out.
        let mut canonical = SIGNING_PREFIX.to_vec();
        let obj = Json::Object(obj);
        obj.write_canonical(&mut canonical);
        let Json::Object(obj) = obj else {
            return Err(Rejection::NotAnObject);
        };
        let envelope = Envelope::from_object(obj)?;
        let signature = match signature {
            Json::String(s) => Signature::from_base64(&s).map_err(|e| match e {
                SignatureError::NonCanonical => Rejection::SignatureNonCanonical,
                _ => Rejection::SignatureMalformed,
            })?,
            _ => return Err(Rejection::SignatureMalformed),
        };
        Ok(Self {
            envelope,
            signature,
            canonical,
        })
    }

    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The bytes the signature covers.
    pub fn signing_bytes(&self) -> &[u8] {
        &self.canonical
    }

    /// Takes the event apart: its envelope, signature and signing bytes.
    pub fn into_parts(self) -> (Envelope, Signature, Vec<u8>) {
        (self.envelope, self.signature, self.canonical)
    }

    /// The signed envelope as JSON, signature included: what the log entry embeds.
    pub fn to_object(&self) -> Object {
        let mut o = self.envelope.to_object();
        o.insert("signature", Json::str(self.signature.to_base64()));
        o
    }

    /// The event's JCS bytes, signature included (what a client sends, canonically).
    ///
    /// Spliced from the signing bytes rather than serialized again: JCS sorts members, so
    /// the full form is the envelope's with the `signature` member inserted before
    /// `stream`, the first key after it. Every envelope field is required, and the values
    /// after that point (stream name, type, type version) have grammars without quotes, so
    /// the last `,"stream":"` of the envelope's form is that member.
    pub fn to_canonical_vec(&self) -> Vec<u8> {
        const STREAM_MEMBER: &[u8] = b",\"stream\":\"";
        let envelope = &self.canonical[SIGNING_PREFIX.len()..];
        let Some(at) = envelope
            .windows(STREAM_MEMBER.len())
            .rposition(|w| w == STREAM_MEMBER)
        else {
            return Json::Object(self.to_object()).to_canonical_vec();
        };
        let signature = self.signature.to_base64();
        let mut out = Vec::with_capacity(envelope.len() + signature.len() + 16);
        out.extend_from_slice(&envelope[..at]);
        out.extend_from_slice(b",\"signature\":\"");
        out.extend_from_slice(signature.as_bytes());
        out.push(b'"');
        out.extend_from_slice(&envelope[at..]);
        out
    }

    /// A digest of everything signed plus the signature: two submissions are "the same
    /// event" for idempotency exactly when these agree.
    pub fn content_digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(&self.canonical);
        h.update(self.signature.to_bytes());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_follow_the_grammar() {
        for ok in [
            "weapon:7f1e2d3c-4b5a-4697-8877-665544332211",
            "euc:NG-2002-0042",
            "trace:ZZ-2026-000001",
            "authority:be-fn-herstal",
            "licence:BE.2026_1",
        ] {
            assert!(StreamName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "weapon",
            "weapon:7F1E2D3C-4B5A-4697-8877-665544332211",
            "weapon:not-a-uuid",
            "gun:1",
            "euc:",
            "euc:a/b",
            "euc:a:b",
            "euc:-lead",
            "authority:BE",
            &format!("euc:{}", "a".repeat(129)),
        ] {
            assert_eq!(
                StreamName::parse(bad).unwrap_err().code(),
                "invalid_stream_name",
                "{bad}"
            );
        }
    }

    #[test]
    fn timestamps_are_strict_utc() {
        for ok in ["1985-03-14T09:00:00Z", "2024-02-29T23:59:59.123456789Z"] {
            assert_eq!(Timestamp::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "1985-03-14 09:00:00Z",
            "1985-03-14T09:00:00+01:00",
            "1985-03-14T09:00:00z",
            "1985-03-14T09:00:00.Z",
            "2023-02-29T00:00:00Z",
            "1985-13-14T09:00:00Z",
            "85-03-14T09:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
        let t = Timestamp::from_unix_millis(1_764_237_600_123).unwrap();
        assert_eq!(t.as_str(), "2025-11-27T10:00:00.123Z");
        assert_eq!(t.unix_millis(), 1_764_237_600_123);
    }

    #[test]
    fn the_spliced_canonical_form_is_the_serialized_one() {
        let key = crypto::generate_signing_key().unwrap();
        let mut tricky = Object::new();
        // The text the splice looks for, inside the payload: a string and a nested key.
        tricky.insert("note", Json::str(r#"x","stream":"weapon:1","#));
        let mut nested = Object::new();
        nested.insert("stream", Json::str("\u{e9}\"\\\n"));
        tricky.insert("zz", Json::Object(nested));
        for payload in [Object::new(), tricky] {
            let envelope = Envelope {
                event_id: EventId::new_v7(),
                stream: StreamName::parse("euc:NG-2002-0042").unwrap(),
                expected_version: ExpectedVersion::Any,
                event_type: EventType::parse("EucIssued").unwrap(),
                type_version: 1,
                payload,
                actor: AuthorityId::parse("ng-defence").unwrap(),
                key_id: KeyId::parse("k1").unwrap(),
                occurred_at: Timestamp::parse("2002-03-01T10:00:00Z").unwrap(),
            };
            let event = envelope.sign(&key);
            let serialized = Json::Object(event.to_object()).to_canonical_vec();
            assert_eq!(event.to_canonical_vec(), serialized);
        }
    }

    #[test]
    fn event_ids_have_one_spelling() {
        assert!(EventId::parse("0192f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f").is_ok());
        assert!(EventId::parse("0192F1C2-7A3B-7C4D-8E5F-6A7B8C9D0E1F").is_err());
        assert!(EventId::parse("0192f1c27a3b7c4d8e5f6a7b8c9d0e1f").is_err());
    }
}
