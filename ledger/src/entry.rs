//! The log entry: what the Merkle tree commits to (DESIGN.md "The log entry").
//!
//! The log wraps each accepted event with its position (`index`), the log's time
//! (`recorded_at`), its place in its stream (`stream_version`, `stream_prev`) and the
//! policy decisions applied to it, and stores the JCS bytes of that object exactly. The
//! leaf hash is SHA-256(0x00 || entry bytes); JCS output never holds a raw newline, so
//! entries can be served one per line.

use crate::event::{SignedEvent, Timestamp};
use crate::json::{Json, JsonError, Object};
use crate::rejection::Rejection;

/// Entries nest the event's payload one level deeper than the event itself.
const ENTRY_DEPTH_MAX: usize = 64;

/// The deepest an event may nest so that its entry still parses (`json_depth_max` is
/// checked against it when a ledger opens).
pub const EVENT_DEPTH_MAX: usize = ENTRY_DEPTH_MAX - 2;

const ENTRY_FIELDS: [&str; 6] = [
    "decisions",
    "event",
    "index",
    "recorded_at",
    "stream_prev",
    "stream_version",
];

/// One accepted event in its place in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub index: u64,
    pub recorded_at: Timestamp,
    pub stream_version: u64,
    /// The index of the previous entry of the same stream; None for a stream's first.
    pub stream_prev: Option<u64>,
    pub event: SignedEvent,
    /// The policy decisions recorded with the event (empty until policies govern it).
    pub decisions: Vec<Json>,
}

/// Why stored bytes are not a valid entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    #[error("entry is not valid JSON: {0}")]
    Json(#[from] JsonError),
    #[error("entry field {0:?} is missing or has the wrong type")]
    Field(&'static str),
    #[error("entry has an unknown field {0:?}")]
    UnknownField(String),
    #[error("the entry's event is invalid: {0}")]
    Event(Rejection),
    #[error("entry bytes are not in canonical (RFC 8785) form")]
    NotCanonical,
}

impl Entry {
    /// Where the entry stands in the log.
    pub fn position(&self) -> crate::registry::LogPosition {
        crate::registry::LogPosition {
            index: self.index,
            recorded_at: self.recorded_at.clone(),
        }
    }

    pub fn to_object(&self) -> Result<Object, JsonError> {
        let mut o = Object::new();
        o.insert("decisions", Json::Array(self.decisions.clone()));
        o.insert("event", Json::Object(self.event.to_object()));
        o.insert("index", Json::uint(self.index)?);
        o.insert("recorded_at", Json::str(self.recorded_at.as_str()));
        o.insert(
            "stream_prev",
            match self.stream_prev {
                Some(p) => Json::uint(p)?,
                None => Json::Null,
            },
        );
        o.insert("stream_version", Json::uint(self.stream_version)?);
        Ok(o)
    }

    /// The exact bytes stored and hashed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsonError> {
        Ok(Json::Object(self.to_object()?).to_canonical_vec())
    }

    /// The entry's bytes, assembled around the event's precomputed JCS bytes. JCS
    /// orders the entry's keys `decisions, event, index, recorded_at, stream_prev,
    /// stream_version`, and none of the ledger's own values needs escaping, so the writer
    /// can build the bytes without re-serializing the event. Equal to `to_bytes` (tested).
    pub fn encode(
        index: u64,
        recorded_at: &Timestamp,
        stream_version: u64,
        stream_prev: Option<u64>,
        event_json: &[u8],
        decisions: &[Json],
    ) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::with_capacity(event_json.len() + 160);
        out.extend_from_slice(b"{\"decisions\":");
        Json::Array(decisions.to_vec()).write_canonical(&mut out);
        out.extend_from_slice(b",\"event\":");
        out.extend_from_slice(event_json);
        // Writing to a Vec cannot fail.
        let _ = write!(out, ",\"index\":{index},\"recorded_at\":");
        Json::str(recorded_at.as_str()).write_canonical(&mut out);
        let _ = match stream_prev {
            Some(p) => write!(out, ",\"stream_prev\":{p}"),
            None => write!(out, ",\"stream_prev\":null"),
        };
        let _ = write!(out, ",\"stream_version\":{stream_version}}}");
        out
    }

    /// Parses stored entry bytes and checks that they are exactly canonical, so that one
    /// entry has one byte form (and one leaf hash).
    pub fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
        let parsed = Json::parse(bytes, ENTRY_DEPTH_MAX)?;
        // Canonical exactly when re-serializing what was parsed gives the same bytes;
        // every field below round-trips, so the entry's `to_bytes` does too.
        if parsed.to_canonical_vec() != bytes {
            return Err(EntryError::NotCanonical);
        }
        let Json::Object(mut o) = parsed else {
            return Err(EntryError::Field("entry"));
        };
        if let Some(k) = o.keys().find(|k| !ENTRY_FIELDS.contains(k)) {
            return Err(EntryError::UnknownField(k.to_owned()));
        }
        let uint = |o: &Object, name: &'static str| {
            o.get(name)
                .and_then(Json::as_i64)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or(EntryError::Field(name))
        };
        let index = uint(&o, "index")?;
        let stream_version = uint(&o, "stream_version")?;
        let stream_prev = match o.get("stream_prev") {
            Some(Json::Null) => None,
            Some(_) => Some(uint(&o, "stream_prev")?),
            None => return Err(EntryError::Field("stream_prev")),
        };
        let recorded_at = o
            .get("recorded_at")
            .and_then(Json::as_str)
            .and_then(|s| Timestamp::parse(s).ok())
            .ok_or(EntryError::Field("recorded_at"))?;
        let decisions = match o.remove("decisions") {
            Some(Json::Array(d)) => d,
            _ => return Err(EntryError::Field("decisions")),
        };
        let event = match o.remove("event") {
            Some(Json::Object(e)) => SignedEvent::from_object(e).map_err(EntryError::Event)?,
            _ => return Err(EntryError::Field("event")),
        };
        Ok(Entry {
            index,
            recorded_at,
            stream_version,
            stream_prev,
            event,
            decisions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_equals_the_jcs_of_the_entry() {
        let event_text = br#"{"actor":"zz-admin","event_id":"0192f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f","expected_version":"any","key_id":"k1","occurred_at":"2026-11-27T10:00:00Z","payload":{"note":"a \"quoted\" value\n","n":-3},"signature":"NkN10jxPT7dPsOLpYNK8cRK+yu2aI0HbnsHJgHDViLSTe5bLqeGhLPLU1fTW5lZ2jqbj/WXDJBjTWbu8jnQwBg==","stream":"euc:NG-1","type":"EndUserCertificateIssued","type_version":1}"#;
        let event = crate::event::SignedEvent::parse(event_text, &Default::default()).unwrap();
        for (prev, decisions) in [
            (None, vec![]),
            (Some(7), vec![Json::str("d"), Json::Int(1)]),
        ] {
            let entry = Entry {
                index: 12,
                recorded_at: Timestamp::from_unix_millis(1_764_237_600_123).unwrap(),
                stream_version: 3,
                stream_prev: prev,
                event: event.clone(),
                decisions: decisions.clone(),
            };
            let encoded = Entry::encode(
                12,
                &entry.recorded_at,
                3,
                prev,
                &event.to_canonical_vec(),
                &decisions,
            );
            assert_eq!(encoded, entry.to_bytes().unwrap());
            assert_eq!(Entry::parse(&encoded).unwrap(), entry);
            // Any other spelling of the same entry is refused: one entry, one leaf hash.
            let text = String::from_utf8(encoded).unwrap();
            let spaced = text.replacen(",\"index\"", ", \"index\"", 1);
            let spaced_array = text.replacen("{\"decisions\":[", "{\"decisions\": [", 1);
            let escaped = text.replacen(
                "EndUserCertificateIssued",
                "EndUserCertificate\\u0049ssued",
                1,
            );
            for other in [spaced, spaced_array, escaped] {
                assert_eq!(
                    Entry::parse(other.as_bytes()),
                    Err(EntryError::NotCanonical),
                    "{other}"
                );
            }
        }
    }
}
