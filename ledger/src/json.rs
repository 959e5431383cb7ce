//! The JSON that events are made of, and its canonical form (RFC 8785, JCS).
//!
//! Events are signed over their canonical bytes, so every language must produce the same
//! bytes for the same event. JCS gets there by formatting numbers as IEEE doubles, which
//! only agrees across languages for integers within +-(2^53 - 1); so this value type has
//! no floats at all and refuses integers outside that range. It also refuses duplicate
//! object keys, which parsers resolve differently (first or last wins) and which would
//! let two readers see two different events behind one signature.
//!
//! ```
//! use ledger::json::Json;
//! let v = Json::parse(br#"{"b":1,"a":[true,null,"\u00e9"]}"#, 8).unwrap();
//! assert_eq!(v.to_canonical_string(), r#"{"a":[true,null,"é"],"b":1}"#);
//! ```

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

/// The largest integer every JCS implementation formats exactly (2^53 - 1).
pub const SAFE_INTEGER_MAX: i64 = 9_007_199_254_740_991;

/// A JSON value as the ledger accepts it: no floats, integers within the safe range,
/// object keys unique and kept in JCS order (UTF-16 code units).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

/// A JSON object whose members are kept sorted in JCS order, so that serialization is a
/// straight walk and equality is structural.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Object {
    members: Vec<(String, Json)>,
}

/// Why bytes were not accepted as ledger JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    #[error("malformed JSON: {0}")]
    Malformed(String),
    #[error("duplicate object key {0:?}")]
    DuplicateKey(String),
    #[error("floating-point numbers are not allowed; use integers or strings")]
    FloatNotAllowed,
    #[error("integer outside +-(2^53 - 1)")]
    IntegerOutOfRange,
    #[error("nesting deeper than {0} levels")]
    NestingTooDeep(usize),
}

/// Compares two keys by their UTF-16 code units, the order RFC 8785 prescribes.
fn jcs_key_order(a: &str, b: &str) -> std::cmp::Ordering {
    // Byte order and UTF-16 order agree except between supplementary characters
    // (4-byte UTF-8, surrogate pairs in UTF-16) and U+E000..U+FFFF; ASCII is the
    // common case, so only fall back to UTF-16 when a non-ASCII byte is present.
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// The RFC 8785 serialization of this object, as [`Json::write_canonical`] writes it
    /// inside a tree (a payload is serialized this way without being cloned into one).
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (n, (k, v)) in self.members.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_string(k, out);
            out.push(b':');
            v.write_canonical(out);
        }
        out.push(b'}');
    }

    pub fn to_canonical_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_canonical(&mut out);
        out
    }

    /// Builds an object from members; a repeated key is an error, as in parsing.
    pub fn from_members(mut members: Vec<(String, Json)>) -> Result<Self, JsonError> {
        // Stored entries are canonical, so their keys arrive in order: check before sorting.
        let sorted = members
            .windows(2)
            .all(|w| jcs_key_order(&w[0].0, &w[1].0) == std::cmp::Ordering::Less);
        if sorted {
            return Ok(Self { members });
        }
        members.sort_by(|a, b| jcs_key_order(&a.0, &b.0));
        if let Some(w) = members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(JsonError::DuplicateKey(w[0].0.clone()));
        }
        Ok(Self { members })
    }

    /// Sets a member, replacing any member with the same key.
    pub fn insert(&mut self, key: impl Into<String>, value: Json) {
        let key = key.into();
        match self
            .members
            .binary_search_by(|(k, _)| jcs_key_order(k, &key))
        {
            Ok(i) => self.members[i].1 = value,
            Err(i) => self.members.insert(i, (key, value)),
        }
    }

    /// Removes and returns a member.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let i = self.members.iter().position(|(k, _)| k == key)?;
        Some(self.members.remove(i).1)
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(k, _)| k.as_str())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl Json {
    /// Parses UTF-8 JSON text, allowing at most `depth_max` nested arrays/objects.
    pub fn parse(bytes: &[u8], depth_max: usize) -> Result<Json, JsonError> {
        let failure = Cell::new(None);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let seed = Seed {
            depth_left: depth_max,
            depth_max,
            failure: &failure,
        };
        let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
        match parsed {
            Ok(v) => Ok(v),
            // A rule of ours stopped the parse: report that, not serde's wording of it.
            Err(e) => Err(failure
                .take()
                .unwrap_or(JsonError::Malformed(e.to_string()))),
        }
    }

    /// The RFC 8785 serialization.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            Json::Int(i) => write_int(*i, out),
            Json::String(s) => write_string(s, out),
            Json::Array(items) => {
                out.push(b'[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    item.write_canonical(out);
                }
                out.push(b']');
            }
            Json::Object(obj) => obj.write_canonical(out),
        }
    }

    pub fn to_canonical_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.write_canonical(&mut out);
        out
    }

    pub fn to_canonical_string(&self) -> String {
        let mut out = String::with_capacity(256);
        // The writer only ever emits valid UTF-8 (input strings are valid UTF-8 and
        // escapes are ASCII), so this conversion cannot fail; keep it total anyway.
        out.push_str(&String::from_utf8_lossy(&self.to_canonical_vec()));
        out
    }

    /// An integer within the safe range, or an error naming the rule.
    pub fn int(i: i64) -> Result<Json, JsonError> {
        if (-SAFE_INTEGER_MAX..=SAFE_INTEGER_MAX).contains(&i) {
            Ok(Json::Int(i))
        } else {
            Err(JsonError::IntegerOutOfRange)
        }
    }

    /// An unsigned count (an index or version) as JSON; these stay far below 2^53 in any
    /// real ledger, and the conversion refuses rather than wraps if one ever did not.
    pub fn uint(u: u64) -> Result<Json, JsonError> {
        i64::try_from(u)
            .map_err(|_| JsonError::IntegerOutOfRange)
            .and_then(Json::int)
    }

    pub fn str(s: impl Into<String>) -> Json {
        Json::String(s.into())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// A short name of the value's JSON type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Int(_) => "integer",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Int(i) => s.serialize_i64(*i),
            Json::String(v) => s.serialize_str(v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(obj) => {
                let mut map = s.serialize_map(Some(obj.len()))?;
                for (k, v) in obj.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// Writes an integer in decimal, as ECMAScript prints a safe integer (no allocation: a
/// payload's integers are written once per event received).
fn write_int(i: i64, out: &mut Vec<u8>) {
    if i < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Writes a JSON string the way ECMAScript's JSON.stringify does, as RFC 8785 requires:
/// only `"`, `\` and control characters are escaped; everything else is literal UTF-8.
fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most strings (ids, names, base64) need no escape: one pass without early exit,
    // which the compiler vectorises, then one copy.
    let needs_escape = bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if !needs_escape {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Parses one value, enforcing the ledger's rules as it goes. A rule violation is
/// recorded in `failure` (so the caller gets a typed error) and aborts the parse.
#[derive(Clone, Copy)]
struct Seed<'f> {
    depth_left: usize,
    depth_max: usize,
    failure: &'f Cell<Option<JsonError>>,
}

impl Seed<'_> {
    fn fail<E: de::Error>(&self, e: JsonError) -> E {
        let msg = e.to_string();
        self.failure.set(Some(e));
        E::custom(msg)
    }

    fn nested(&self) -> Option<Seed<'_>> {
        Some(Seed {
            depth_left: self.depth_left.checked_sub(1)?,
            depth_max: self.depth_max,
            failure: self.failure,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Json;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Json::int(v).map_err(|e| self.fail(e))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Json::uint(v).map_err(|e| self.fail(e))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        // serde_json hands integers too large for u64/i64 over as floats; call those
        // what they are rather than blaming a decimal point that was never there.
        let err = if v.fract() == 0.0 && v.abs() > 9_007_199_254_740_991.0 {
            JsonError::IntegerOutOfRange
        } else {
            JsonError::FloatNotAllowed
        };
        Err(self.fail(err))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let Some(child) = self.nested() else {
            return Err(self.fail(JsonError::NestingTooDeep(self.depth_max)));
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let Some(child) = self.nested() else {
            return Err(self.fail(JsonError::NestingTooDeep(self.depth_max)));
        };
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(child)?;
            members.push((key, value));
        }
        Object::from_members(members)
            .map(Json::Object)
            .map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        Json::parse(text.as_bytes(), 16)
            .unwrap()
            .to_canonical_string()
    }

    fn err(text: &str) -> JsonError {
        Json::parse(text.as_bytes(), 4).unwrap_err()
    }

    #[test]
    fn integers_are_written_as_rust_prints_them() {
        let safe = (1i64 << 53) - 1;
        let mut values = vec![
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            safe,
            -safe,
            i64::MAX,
            i64::MIN,
        ];
        values.extend((0..64).map(|shift| 1i64 << shift));
        values.extend((0..63).map(|shift| -(1i64 << shift)));
        values.extend((0..19).map(|e| 10i64.pow(e) - 1));
        for i in values {
            let mut out = Vec::new();
            write_int(i, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), i.to_string(), "{i}");
        }
    }

    #[test]
    fn an_object_is_written_alone_as_inside_a_tree() {
        let Json::Object(object) = Json::parse(br#"{"b":[1,-2,{"c":null}],"a":"x"}"#, 8).unwrap()
        else {
            panic!("an object")
        };
        assert_eq!(
            object.to_canonical_vec(),
            Json::Object(object.clone()).to_canonical_vec()
        );
        assert_eq!(
            object.to_canonical_vec(),
            br#"{"a":"x","b":[1,-2,{"c":null}]}"#
        );
    }

    #[test]
    fn sorts_keys_by_utf16_code_units() {
        // U+FF01 (fullwidth '!') is above the surrogates used by U+1F600 in UTF-16,
        // but below it in UTF-8 byte order: JCS puts the emoji first.
        assert_eq!(
            canon(r#"{"！":1,"😀":2,"é":3,"a":4,"A":5}"#),
            r#"{"A":5,"a":4,"é":3,"😀":2,"！":1}"#
        );
    }

    #[test]
    fn escapes_like_ecmascript() {
        assert_eq!(
            canon(r#""\u0008\t\n\u000b\f\r\u001f\"\\/\u007f\u2028é""#),
            "\"\\b\\t\\n\\u000b\\f\\r\\u001f\\\"\\\\/\u{7f}\u{2028}é\""
        );
    }

    #[test]
    fn integers_at_the_safe_limits_are_kept() {
        assert_eq!(
            canon("[9007199254740991,-9007199254740991,0,-1]"),
            "[9007199254740991,-9007199254740991,0,-1]"
        );
        // `-0` has no integer of its own; parsers read it as the float -0.0.
        assert_eq!(err("-0"), JsonError::FloatNotAllowed);
    }

    #[test]
    fn rejections_are_typed() {
        assert_eq!(err("1.5"), JsonError::FloatNotAllowed);
        assert_eq!(err("1e3"), JsonError::FloatNotAllowed);
        assert_eq!(err("9007199254740992"), JsonError::IntegerOutOfRange);
        assert_eq!(err("-9007199254740992"), JsonError::IntegerOutOfRange);
        assert_eq!(
            err("123456789012345678901234"),
            JsonError::IntegerOutOfRange
        );
        assert_eq!(err(r#"{"a":1,"a":2}"#), JsonError::DuplicateKey("a".into()));
        assert_eq!(err("[[[[[1]]]]]"), JsonError::NestingTooDeep(4));
        assert!(matches!(err("[1,]"), JsonError::Malformed(_)));
        assert!(matches!(err("{} x"), JsonError::Malformed(_)));
        assert!(matches!(err(r#""\ud800""#), JsonError::Malformed(_)));
        assert!(matches!(
            Json::parse(b"\"\xff\"", 4).unwrap_err(),
            JsonError::Malformed(_)
        ));
    }

    #[test]
    fn depth_limit_counts_containers() {
        assert!(Json::parse(b"[[[[1]]]]", 4).is_ok());
        assert!(Json::parse(br#"{"a":{"b":{"c":{"d":1}}}}"#, 4).is_ok());
        assert!(Json::parse(br#"{"a":{"b":{"c":{"d":{}}}}}"#, 4).is_err());
    }

    #[test]
    fn insert_keeps_order_and_replaces() {
        let mut o = Object::new();
        o.insert("b", Json::Int(1));
        o.insert("a", Json::Int(2));
        o.insert("b", Json::Int(3));
        assert_eq!(Json::Object(o).to_canonical_string(), r#"{"a":2,"b":3}"#);
    }
}
