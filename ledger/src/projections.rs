//! The projections on disk: the views of `domain::views` in the `projections` table and the
//! serial-number index beside them, written by the writer in the same transaction as the
//! entries, rebuilt from the log alone by [`rebuild`], and read through [`LogReader`].
//!
//! | table | key -> value | what |
//! |---|---|---|
//! | `projections` | stream -> JSON of its view | weapon, licence, euc, consignment, trace, policy |
//! | `serial_index` | (serial search form, weapon id) -> index of the weapon's first entry | exact and prefix search; the in-memory index of suffix and substring search (`serial_grams`) is loaded from it |
//!
//! Unlike the log's tables, these rows are rewritten: they are derived data. `verify`
//! rebuilds them in memory and requires the stored ones to be identical.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rayon::prelude::*;
use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::catalogue::{DomainEvent, WeaponId};
use crate::domain::views::View;
use crate::domain::{self, Context, Views};
use crate::registry::{self, Registry};
use crate::serial_grams::{SerialForm, SerialGrams};
use crate::store::{LogReader, StoreError};

pub(crate) const PROJECTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("projections");
pub(crate) const SERIAL_INDEX: TableDefinition<(&str, u128), u64> =
    TableDefinition::new("serial_index");
/// Format 3's table of every suffix of every serial, which format 4 keeps in memory
/// instead (`serial_grams`); deleted when an older file is upgraded.
const FORMAT_3_SERIAL_SUFFIXES: TableDefinition<(&str, u128), ()> =
    TableDefinition::new("serial_suffixes");

/// A decoded view beside its stored JSON.
pub type ViewAndJson = (Arc<View>, Vec<u8>);

/// Views by stream name, sorted so that writing and comparing them is deterministic.
pub type ViewMap = BTreeMap<String, View>;

pub(crate) fn encode(view: &View) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(view).map_err(|e| StoreError::Corrupt(format!("encoding a view: {e}")))
}

pub(crate) fn decode(stream: &str, bytes: &[u8]) -> Result<View, StoreError> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt(format!("projection of {stream}: {e}")))
}

pub(crate) fn serial_of(view: &View) -> Option<(&str, WeaponId)> {
    match view {
        View::Weapon(weapon) => weapon
            .identity
            .serial_normalized
            .as_deref()
            .map(|serial| (serial, weapon.id)),
        _ => None,
    }
}

/// The `serial_index` row of a view: (search form, weapon id) -> first entry's index.
fn serial_row(view: &View) -> Option<((&str, u128), u64)> {
    let View::Weapon(weapon) = view else {
        return None;
    };
    serial_of(view).map(|(serial, id)| ((serial, id.as_uuid().as_u128()), weapon.first_index))
}

/// A view's `serial_index` row, owned: what the writer keeps of a stored view it read,
/// so that writing the view's successor does not decode the stored one a second time.
pub(crate) type SerialRow = Option<((String, u128), u64)>;

pub(crate) fn owned_serial_row(view: &View) -> SerialRow {
    serial_row(view).map(|((serial, id), first_index)| ((serial.to_owned(), id), first_index))
}

/// Writes changed views, keeps the serial index in step with them, and adds the serials
/// they take to the in-memory index of partial search (before the commit, so that every
/// snapshot holding them finds them there). `read` holds the serial rows of the stored
/// views the writer read; a stored view it did not read is decoded.
pub(crate) fn write_views<'v>(
    txn: &WriteTransaction,
    views: impl IntoIterator<Item = (&'v String, &'v View)>,
    read: &HashMap<String, SerialRow, FastHash>,
    grams: &SerialGrams,
) -> Result<(), StoreError> {
    let mut table = txn.open_table(PROJECTIONS)?;
    let mut serials = txn.open_table(SERIAL_INDEX)?;
    let mut taken = Vec::new();
    for (stream, view) in views {
        let bytes = encode(view)?;
        let old = table.insert(stream.as_str(), bytes.as_slice())?;
        let before = match old {
            None => None,
            Some(old) => match read.get(stream) {
                Some(row) => row.clone(),
                None => owned_serial_row(&decode(stream, old.value())?),
            },
        };
        let before = before
            .as_ref()
            .map(|((serial, id), first_index)| ((serial.as_str(), *id), *first_index));
        let after = serial_row(view);
        if before != after {
            if let Some((key, _)) = before {
                serials.remove(key)?;
            }
            if let Some(((serial, id), first_index)) = after {
                serials.insert((serial, id), first_index)?;
                taken.push(SerialForm {
                    first_index,
                    id,
                    form: serial.to_owned(),
                });
            }
        }
    }
    grams.add(taken);
    Ok(())
}

/// Weapons whose serial has exactly this search form, from the committed index.
pub(crate) fn serial_holders(
    table: &impl ReadableTable<(&'static str, u128), u64>,
    serial: &str,
) -> Result<Vec<WeaponId>, StoreError> {
    let mut out = Vec::new();
    for row in table.range((serial, 0)..=(serial, u128::MAX))? {
        let id = row?.0.value().1;
        out.extend(WeaponId::parse(&uuid::Uuid::from_u128(id).hyphenated().to_string()).ok());
    }
    Ok(out)
}

/// Views held in memory: what `rebuild` folds into, and what deciders' tests run on.
#[derive(Debug, Default)]
pub struct MemoryViews {
    views: HashMap<String, View, FastHash>,
    serials: HashMap<String, Holders, FastHash>,
}

/// The weapons that hold one serial: nearly always one, kept without a vector of its own
/// (a million serials' vectors were a million more allocations to make and free).
#[derive(Debug)]
enum Holders {
    One(WeaponId),
    Many(Vec<WeaponId>),
}

impl Holders {
    fn as_slice(&self) -> &[WeaponId] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }

    fn push(&mut self, id: WeaponId) {
        match self {
            Self::One(first) => *self = Self::Many(vec![*first, id]),
            Self::Many(ids) => ids.push(id),
        }
    }

    fn forget(&mut self, id: WeaponId) {
        match self {
            Self::One(held) if *held == id => *self = Self::Many(Vec::new()),
            Self::One(_) => {}
            Self::Many(ids) => ids.retain(|held| *held != id),
        }
    }
}

/// The hasher of the maps the rebuild and the writer keep per stream or serial: keys are
/// stream names and serials of signed events, hashed several times per event; SipHash was
/// 8% of a rebuild. foldhash is seeded per process, so keys chosen to collide still cannot
/// be chosen in advance.
pub(crate) type FastHash = foldhash::fast::RandomState;

impl MemoryViews {
    /// Room for `views` views (and as many serials) before the maps grow.
    pub fn with_capacity(views: usize) -> Self {
        Self {
            views: HashMap::with_capacity_and_hasher(views, FastHash::default()),
            serials: HashMap::with_capacity_and_hasher(views, FastHash::default()),
        }
    }

    /// The views, sorted by stream: on all cores (a million stream names sorted on one
    /// took ~7% of a rebuild), then into the map, which finds them already in order. The
    /// serial index is not part of them; freeing it took as long as the sort (a million
    /// entries, made on other threads), so it is freed beside the sort.
    pub fn into_views(self) -> ViewMap {
        let Self { views, serials } = self;
        let (views, ()) = rayon::join(
            move || {
                let mut views: Vec<(String, View)> = views.into_iter().collect();
                views.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
                views
            },
            move || drop(serials),
        );
        views.into_iter().collect()
    }

    fn unindex(&mut self, view: &View) {
        if let Some((serial, id)) = serial_of(view) {
            forget_holder(&mut self.serials, serial, id);
        }
    }
}

/// `id` no longer holds `serial` (a map of its own: `put` still reads the view map).
fn forget_holder(serials: &mut HashMap<String, Holders, FastHash>, serial: &str, id: WeaponId) {
    if let Some(holders) = serials.get_mut(serial) {
        holders.forget(id);
    }
}

impl Views for MemoryViews {
    fn get(&mut self, stream: &str) -> Result<Option<View>, StoreError> {
        Ok(self.views.get(stream).cloned())
    }

    fn take(&mut self, stream: &str) -> Result<Option<View>, StoreError> {
        let view = self.views.remove(stream);
        if let Some(view) = &view {
            self.unindex(view);
        }
        Ok(view)
    }

    fn put(&mut self, stream: String, view: View) {
        use std::collections::hash_map::Entry;
        // One lookup of the stream; the serial index changes only if the serial did.
        let (old, new) = match self.views.entry(stream) {
            Entry::Occupied(mut slot) => {
                let old = slot.insert(view);
                (Some(old), &*slot.into_mut())
            }
            Entry::Vacant(slot) => (None, &*slot.insert(view)),
        };
        let (old_serial, new_serial) = (old.as_ref().and_then(serial_of), serial_of(new));
        if old_serial == new_serial {
            return;
        }
        if let Some((serial, id)) = old_serial {
            forget_holder(&mut self.serials, serial, id);
        }
        if let Some((serial, id)) = new_serial {
            self.serials
                .entry(serial.to_owned())
                .and_modify(|holders| holders.push(id))
                .or_insert(Holders::One(id));
        }
    }

    fn serial_holders(&mut self, serial: &str) -> Result<Vec<WeaponId>, StoreError> {
        Ok(self
            .serials
            .get(serial)
            .map(|holders| holders.as_slice().to_vec())
            .unwrap_or_default())
    }

    fn entry_stream(&mut self, _index: u64) -> Result<Option<String>, StoreError> {
        // Only deciders ask, and a rebuild runs no decider.
        Ok(None)
    }
}

/// What a rebuild found.
#[derive(Debug, Default)]
pub struct Rebuilt {
    pub views: ViewMap,
    /// Entries folded into the views.
    pub applied: u64,
    /// Entries whose payload this build's catalogue cannot read (written under older rules,
    /// or by a log without the domain): kept in the log, left out of the views.
    pub uninterpreted: Vec<u64>,
}

/// What the fold needs of one entry, read straight from its stored bytes.
#[cfg_attr(test, derive(Debug, PartialEq))]
struct EntryFields<'a> {
    index: u64,
    stream: &'a str,
    event_type: &'a str,
    type_version: u32,
    payload: &'a [u8],
    actor: &'a str,
    key_id: &'a str,
    occurred_at: &'a str,
}

impl<'a> EntryFields<'a> {
    /// Reads the fields of an entry in its canonical form, whose layout JCS fixes: the
    /// envelope's fields in key order, each of a grammar without escapes except the
    /// payload. The payload is not scanned here: it ends at the last `},"signature":"`
    /// of the entry (nothing after the payload can hold that sequence), and its one
    /// parse is the typed one. Serde's reading scanned it twice (once to skip it inside
    /// the entry, once typed: the type comes after it) and was ~20% of a rebuild. None
    /// for bytes not laid out so; [`EntryFields::parse`] reads those.
    fn scan(bytes: &'a [u8]) -> Option<Self> {
        const SIGNATURE: &[u8] = b"},\"signature\":\"";
        let mut at = Cursor { bytes, at: 0 };
        at.literal(b"{\"decisions\":")?;
        at.skip_decisions()?;
        at.literal(b",\"event\":{\"actor\":\"")?;
        let actor = at.plain_string()?;
        at.literal(b",\"event_id\":\"")?;
        at.plain_string()?;
        at.literal(b",\"expected_version\":")?;
        if at.literal(b"\"").is_some() {
            at.plain_string()?;
        } else {
            at.number()?;
        }
        at.literal(b",\"key_id\":\"")?;
        let key_id = at.plain_string()?;
        at.literal(b",\"occurred_at\":\"")?;
        let occurred_at = at.plain_string()?;
        at.literal(b",\"payload\":")?;
        let start = at.at;
        // The candidates are the few closing braces from the end (the event's, the
        // payload's), cheaper to walk than to set up a substring search for each entry.
        let end = 1 + memchr::memrchr_iter(b'}', bytes.get(start..)?)
            .map(|offset| start + offset)
            .find(|&brace| {
                bytes
                    .get(brace..)
                    .is_some_and(|rest| rest.starts_with(SIGNATURE))
            })?;
        let payload = bytes.get(start..end)?;
        at.at = end;
        at.literal(&SIGNATURE[1..])?;
        at.plain_string()?;
        at.literal(b",\"stream\":\"")?;
        let stream = at.plain_string()?;
        at.literal(b",\"type\":\"")?;
        let event_type = at.plain_string()?;
        at.literal(b",\"type_version\":")?;
        let type_version = u32::try_from(at.number()?).ok()?;
        at.literal(b"},\"index\":")?;
        let index = at.number()?;
        at.literal(b",\"recorded_at\":\"")?;
        at.plain_string()?;
        at.literal(b",\"stream_prev\":")?;
        if at.literal(b"null").is_none() {
            at.number()?;
        }
        at.literal(b",\"stream_version\":")?;
        at.number()?;
        at.literal(b"}")?;
        (at.at == bytes.len()).then_some(Self {
            index,
            stream,
            event_type,
            type_version,
            payload,
            actor,
            key_id,
            occurred_at,
        })
    }

    /// Reads the fields of any entry serde can read, canonical or not.
    fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        let entry: StoredEntry<'a> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let event = entry.event;
        Ok(Self {
            index: entry.index,
            stream: event.stream,
            event_type: event.event_type,
            type_version: event.type_version,
            payload: event.payload.get().as_bytes(),
            actor: event.actor,
            key_id: event.key_id,
            occurred_at: event.occurred_at,
        })
    }
}

/// A position in an entry's bytes, for [`EntryFields::scan`].
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.at..).unwrap_or_default()
    }

    fn literal(&mut self, expected: &[u8]) -> Option<()> {
        self.rest()
            .starts_with(expected)
            .then(|| self.at += expected.len())
    }

    /// The rest of a string whose opening quote was read, if it holds no escape and no
    /// byte JSON refuses in a string (a control character).
    fn plain_string(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let end = memchr::memchr(b'"', rest)?;
        let text = rest.get(..end)?;
        if text.iter().any(|&byte| byte == b'\\' || byte < 0x20) {
            return None;
        }
        self.at += end + 1;
        std::str::from_utf8(text).ok()
    }

    /// An unsigned integer as JCS writes it (no sign, no leading zero, no exponent).
    fn number(&mut self) -> Option<u64> {
        let rest = self.rest();
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let text = rest.get(..digits)?;
        if digits == 0 || (digits > 1 && text.first() == Some(&b'0')) {
            return None;
        }
        self.at += digits;
        std::str::from_utf8(text).ok()?.parse().ok()
    }

    /// The entry's decisions: none (as in most entries), or an array read by serde.
    fn skip_decisions(&mut self) -> Option<()> {
        if self.literal(b"[]").is_some() {
            return Some(());
        }
        if !self.rest().starts_with(b"[") {
            return None;
        }
        let mut values =
            serde_json::Deserializer::from_slice(self.rest()).into_iter::<serde::de::IgnoredAny>();
        values.next()?.ok()?;
        self.at += values.byte_offset();
        Some(())
    }
}

/// An entry as serde reads it: only what the fold needs, borrowed where it can be.
#[derive(serde::Deserialize)]
struct StoredEntry<'a> {
    index: u64,
    #[serde(borrow)]
    event: StoredEvent<'a>,
}

/// The envelope's fields the fold uses. Stream names, types, actors, key ids and times
/// have grammars without escapes, so they borrow from the entry's bytes.
#[derive(serde::Deserialize)]
struct StoredEvent<'a> {
    stream: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    type_version: u32,
    #[serde(borrow)]
    payload: &'a serde_json::value::RawValue,
    actor: &'a str,
    key_id: &'a str,
    occurred_at: &'a str,
}

/// One entry decoded for folding.
#[cfg_attr(test, derive(Debug))]
struct Decoded {
    index: u64,
    stream: crate::event::StreamName,
    actor: crate::event::AuthorityId,
    key_id: String,
    occurred_at: crate::event::Timestamp,
    /// None for the registry's own events; Err for a payload this build cannot read.
    event: Option<Result<DomainEvent, ()>>,
}

/// Entries decoded per parallel chunk: large enough to keep both cores busy, small enough
/// to bound memory on a log of billions.
const REBUILD_CHUNK: u64 = 8192;

/// Folds the whole log into views: decoding in parallel, then `domain::evolve` in log
/// order. Runs no decider: the log's facts are not judged again. The stored bytes are
/// trusted to be canonical entries here (that is `verify`'s check); a payload is read
/// straight from them into its typed event.
pub fn rebuild(reader: &LogReader) -> Result<Rebuilt, StoreError> {
    let registry = crate::ledger::replay_registry(reader)?;
    let size = reader.tree_size()?;
    let mut memory = MemoryViews::with_capacity(stored_view_count(reader)?);
    let mut rebuilt = Rebuilt::default();
    let mut from = 0;
    let mut decoded = decode_chunk(from, &read_chunk(reader, from, size)?);
    let mut read = read_chunk(reader, decoded.len() as u64, size)?;
    // The fold is sequential (log order); decoding is not, and neither is reading. While
    // one thread folds this chunk, the pool decodes the next one and reads the one after
    // (reading alone, between folds, left both cores idle for a sixth of the time).
    while !decoded.is_empty() {
        from += decoded.len() as u64;
        let after = from + read.len() as u64;
        let ((next, following), folded) = rayon::join(
            || {
                rayon::join(
                    || decode_chunk(from, &read),
                    || read_chunk(reader, after, size),
                )
            },
            || fold_chunk(&registry, decoded, &mut memory, &mut rebuilt),
        );
        folded?;
        decoded = next;
        read = following?;
    }
    rebuilt.views = memory.into_views();
    Ok(rebuilt)
}

/// How many views the file holds now (none in a file from before projections): the
/// rebuild sizes its maps for them up front, instead of rehashing a million views a
/// dozen times as they grow. A hint only: a wrong count costs time, never a result.
fn stored_view_count(reader: &LogReader) -> Result<usize, StoreError> {
    use redb::ReadableTableMetadata as _;
    match reader.txn.open_table(PROJECTIONS) {
        Ok(table) => Ok(usize::try_from(table.len()?).unwrap_or(usize::MAX)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// The stored bytes of up to [`REBUILD_CHUNK`] entries from `from`; none past the end.
fn read_chunk(reader: &LogReader, from: u64, size: u64) -> Result<Vec<Vec<u8>>, StoreError> {
    if from >= size {
        return Ok(Vec::new());
    }
    let limit = usize::try_from(REBUILD_CHUNK.min(size - from)).unwrap_or(usize::MAX);
    reader.entries_bytes(from, limit)
}

/// Decodes a chunk of entries, the first being entry `from`, on all cores. Each lands in its
/// place (collecting a `Result` of a vector went through per-thread lists concatenated
/// afterwards: a decoded entry is ~700 bytes, and copying them was 8% of a rebuild), and a
/// bad entry's error stays in its place, so that the first one in log order is reported.
fn decode_chunk(from: u64, chunk: &[Vec<u8>]) -> Vec<Result<Decoded, StoreError>> {
    let mut decoded = Vec::with_capacity(chunk.len());
    chunk
        .par_iter()
        .enumerate()
        .map(|(offset, bytes)| decode_entry(from + offset as u64, bytes))
        .collect_into_vec(&mut decoded);
    decoded
}

fn fold_chunk(
    registry: &Registry,
    decoded: Vec<Result<Decoded, StoreError>>,
    memory: &mut MemoryViews,
    rebuilt: &mut Rebuilt,
) -> Result<(), StoreError> {
    // By reference: moving each ~700-byte entry out of the vector was 1.5% of a rebuild.
    for (position, item) in decoded.iter().enumerate() {
        let Ok(item) = item else {
            return Err(first_error(decoded, position));
        };
        match &item.event {
            Some(Ok(event)) => {
                fold(registry, item, event, memory)?;
                rebuilt.applied += 1;
            }
            None => {}
            Some(Err(())) => rebuilt.uninterpreted.push(item.index),
        }
    }
    Ok(())
}

/// The error at `position` of a decoded chunk (the caller found one there).
fn first_error(mut decoded: Vec<Result<Decoded, StoreError>>, position: usize) -> StoreError {
    decoded.swap_remove(position).err().unwrap_or_else(|| {
        StoreError::Corrupt(format!(
            "the entry at {position} of a chunk failed to decode"
        ))
    })
}

/// Decodes every entry as [`rebuild`] does and folds nothing: the reference the rebuild's
/// speed is measured against, reading the next chunk while decoding one as the rebuild
/// does. Returns how many entries hold a catalogue event.
pub fn decode_only(reader: &LogReader) -> Result<u64, StoreError> {
    let size = reader.tree_size()?;
    let mut events = 0;
    let mut from = 0;
    let mut read = read_chunk(reader, from, size)?;
    while !read.is_empty() {
        let after = from + read.len() as u64;
        let (decoded, following) = rayon::join(
            || decode_chunk(from, &read),
            || read_chunk(reader, after, size),
        );
        for item in decoded {
            if matches!(item?.event, Some(Ok(_))) {
                events += 1;
            }
        }
        from = after;
        read = following?;
    }
    Ok(events)
}

fn decode_entry(index: u64, bytes: &[u8]) -> Result<Decoded, StoreError> {
    // The scan's reading stands only when the payload it found is one typed event: then
    // the whole entry is the canonical layout around one JSON object, which serde reads
    // the same way. Anything else (not laid out so, a payload that does not read, a
    // registry event, whose payload the fold does not read) is serde's to judge, as
    // before the scan: a damaged entry stays an error that names it.
    if let Some(fields) = EntryFields::scan(bytes)
        && !registry::is_registry_event(fields.event_type)
        && let Ok(event) =
            DomainEvent::from_payload_bytes(fields.event_type, fields.type_version, fields.payload)
    {
        return decoded(index, &fields, Some(Ok(event)));
    }
    decode_with_serde(index, bytes)
}

/// An entry decoded from serde's reading of it, whatever its layout.
fn decode_with_serde(index: u64, bytes: &[u8]) -> Result<Decoded, StoreError> {
    let fields = EntryFields::parse(bytes).map_err(|what| corrupt(index, what))?;
    let event = (!registry::is_registry_event(fields.event_type)).then(|| {
        DomainEvent::from_payload_bytes(fields.event_type, fields.type_version, fields.payload)
            .map_err(|_| ())
    });
    decoded(index, &fields, event)
}

/// An entry's fields as the fold takes them, checked.
fn decoded(
    index: u64,
    entry: &EntryFields<'_>,
    event: Option<Result<DomainEvent, ()>>,
) -> Result<Decoded, StoreError> {
    if entry.index != index {
        return Err(corrupt(index, format!("says it is entry {}", entry.index)));
    }
    Ok(Decoded {
        index,
        stream: crate::event::StreamName::parse(entry.stream)
            .map_err(|e| corrupt(index, e.to_string()))?,
        actor: crate::event::AuthorityId::parse(entry.actor)
            .map_err(|e| corrupt(index, e.to_string()))?,
        key_id: entry.key_id.to_owned(),
        occurred_at: crate::event::Timestamp::parse(entry.occurred_at)
            .map_err(|e| corrupt(index, e.to_owned()))?,
        event,
    })
}

fn corrupt(index: u64, what: String) -> StoreError {
    StoreError::Corrupt(format!("entry {index}: {what}"))
}

fn fold(
    registry: &Registry,
    entry: &Decoded,
    event: &DomainEvent,
    views: &mut dyn Views,
) -> Result<(), StoreError> {
    let Some(actor) = registry.get(&entry.actor) else {
        return Err(StoreError::Corrupt(format!(
            "entry {} names unregistered actor {}",
            entry.index, entry.actor
        )));
    };
    let context = Context {
        index: entry.index,
        stream: &entry.stream,
        actor: entry.actor.as_str(),
        key_id: &entry.key_id,
        actor_kind: actor.kind,
        jurisdiction: &actor.jurisdiction,
        occurred_at: &entry.occurred_at,
    };
    domain::evolve(event, &context, views)
}

/// Rebuilds the stored projections of a ledger that is not open from its log, in one
/// transaction, and marks the file as the current format (this is how a version 1 file is
/// upgraded). Returns what the rebuild found.
pub fn rebuild_database(db: &redb::Database) -> Result<Rebuilt, StoreError> {
    let reader = LogReader::begin(db)?;
    let rebuilt = rebuild(&reader)?;
    drop(reader);
    let txn = db.begin_write()?;
    replace_all(&txn, &rebuilt.views)?;
    txn.open_table(crate::store::META)?.insert(
        crate::store::META_FORMAT,
        crate::store::FORMAT_VERSION.to_be_bytes().as_slice(),
    )?;
    txn.commit()?;
    Ok(rebuilt)
}

/// Rebuilds the projections of the ledger file at `path` (which no process has open).
pub fn rebuild_file(path: &std::path::Path) -> Result<Rebuilt, StoreError> {
    rebuild_database(&redb::Database::open(path)?)
}

/// Replaces the stored projections with `views` in one transaction.
pub(crate) fn replace_all(txn: &WriteTransaction, views: &ViewMap) -> Result<(), StoreError> {
    txn.delete_table(PROJECTIONS)?;
    txn.delete_table(SERIAL_INDEX)?;
    txn.delete_table(FORMAT_3_SERIAL_SUFFIXES)?;
    let mut table = txn.open_table(PROJECTIONS)?;
    let mut serials = txn.open_table(SERIAL_INDEX)?;
    for (stream, view) in views {
        table.insert(stream.as_str(), encode(view)?.as_slice())?;
        if let Some((key, first_index)) = serial_row(view) {
            serials.insert(key, first_index)?;
        }
    }
    Ok(())
}

/// Where the stored projections differ from `expected`: the first stream that differs.
pub(crate) fn first_difference(
    reader: &LogReader,
    expected: &ViewMap,
) -> Result<Option<String>, StoreError> {
    let table = reader.txn.open_table(PROJECTIONS)?;
    let mut stored = table.iter()?;
    let mut wanted = expected.iter();
    loop {
        match (stored.next().transpose()?, wanted.next()) {
            (None, None) => break,
            (Some((stream, _)), None) => return Ok(Some(stream.value().to_owned())),
            (None, Some((stream, _))) => return Ok(Some(stream.clone())),
            (Some((stream, bytes)), Some((name, view))) => {
                if stream.value() != name.as_str() {
                    return Ok(Some(name.min(&stream.value().to_owned()).clone()));
                }
                if bytes.value() != encode(view)?.as_slice() {
                    return Ok(Some(name.clone()));
                }
            }
        }
    }
    let serials = reader.txn.open_table(SERIAL_INDEX)?;
    let mut count = 0_usize;
    for row in serials.iter()? {
        let (key, first_index) = row?;
        let (serial, id) = key.value();
        let row = ((serial, id), first_index.value());
        let id = uuid::Uuid::from_u128(id).hyphenated().to_string();
        let matches = expected
            .get(&format!("weapon:{id}"))
            .and_then(serial_row)
            .is_some_and(|expected| expected == row);
        if !matches {
            return Ok(Some(format!("serial_index row ({serial}, {id})")));
        }
        count += 1;
    }
    let indexed = expected.values().filter(|v| serial_of(v).is_some()).count();
    if count != indexed {
        return Ok(Some(format!(
            "serial_index has {count} rows, {indexed} expected"
        )));
    }
    Ok(None)
}

/// One entry of a stream's history, as stored, with the later entries that correct it
/// (shown beside it: the original is never rewritten).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub index: u64,
    pub bytes: Vec<u8>,
    pub corrected_by: Vec<u64>,
}

impl LogReader {
    /// Every entry of a stream in order, each with the corrections that name it.
    pub fn stream_history(&self, stream: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let corrections = match self.view(stream)?.as_deref() {
            Some(View::Weapon(weapon)) => weapon.corrections.clone(),
            _ => Vec::new(),
        };
        let mut history = Vec::new();
        for index in self.stream_indexes(stream, 0, usize::MAX)? {
            let bytes = self.entry_bytes(index)?.ok_or_else(|| {
                StoreError::Corrupt(format!("stream index names missing entry {index}"))
            })?;
            let corrected_by = corrections
                .iter()
                .filter(|c| c.corrected_index == index)
                .map(|c| c.index)
                .collect();
            history.push(HistoryEntry {
                index,
                bytes,
                corrected_by,
            });
        }
        Ok(history)
    }

    /// The projection of one stream.
    pub fn view(&self, stream: &str) -> Result<Option<Arc<View>>, StoreError> {
        let table = self.txn.open_table(PROJECTIONS)?;
        let Some(stored) = table.get(stream)? else {
            return Ok(None);
        };
        self.decoded(stream, stored.value()).map(Some)
    }

    /// The projection of one stream, with its stored JSON: what a client is served as
    /// is (the bytes are `View`'s serialization, written by the same code).
    pub fn view_and_json(&self, stream: &str) -> Result<Option<ViewAndJson>, StoreError> {
        let table = self.txn.open_table(PROJECTIONS)?;
        let Some(stored) = table.get(stream)? else {
            return Ok(None);
        };
        let bytes = stored.value();
        Ok(Some((self.decoded(stream, bytes)?, bytes.to_vec())))
    }

    /// `bytes` (the stored projection of `stream`) decoded, through the ledger's cache of
    /// decoded views when the reader has one.
    pub(crate) fn decoded(&self, stream: &str, bytes: &[u8]) -> Result<Arc<View>, StoreError> {
        match &self.views {
            Some(cache) => cache.view(stream, bytes, || decode(stream, bytes)),
            None => decode(stream, bytes).map(Arc::new),
        }
    }

    /// Every projection whose stream starts with `prefix` (`"trace:"`...), from the stream
    /// after `after` on, at most `limit`.
    pub fn views_with_prefix(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, View)>, StoreError> {
        let table = self.txn.open_table(PROJECTIONS)?;
        let mut out = Vec::new();
        let start = after.unwrap_or(prefix);
        for row in table.range(start..)? {
            let (stream, bytes) = row?;
            let stream = stream.value();
            if !stream.starts_with(prefix) || out.len() >= limit {
                break;
            }
            if Some(stream) == after {
                continue;
            }
            out.push((stream.to_owned(), decode(stream, bytes.value())?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::tests::{EXAMPLES, parse_object};
    use crate::entry::Entry;
    use crate::event::{
        AuthorityId, Envelope, EventId, EventType, ExpectedVersion, KeyId, StreamName, Timestamp,
    };
    use crate::json::{Json, Object};

    /// Stored bytes of an entry holding `payload` as an event of `event_type`, signed by a
    /// key made for the test.
    fn entry_bytes(
        event_type: &str,
        payload: Object,
        expected_version: ExpectedVersion,
        stream_prev: Option<u64>,
        decisions: &[Json],
    ) -> Vec<u8> {
        let key = crate::crypto::generate_signing_key().unwrap();
        let event = Envelope {
            event_id: EventId::new_v7(),
            stream: StreamName::parse("weapon:7f1e2d3c-4b5a-4697-8877-665544332211").unwrap(),
            expected_version,
            event_type: EventType::parse(event_type).unwrap(),
            type_version: 1,
            payload,
            actor: AuthorityId::parse("be-fn-herstal").unwrap(),
            key_id: KeyId::parse("k1").unwrap(),
            occurred_at: Timestamp::parse("1985-03-14T09:00:00Z").unwrap(),
        }
        .sign(&key);
        let recorded_at = Timestamp::parse("2026-11-27T10:00:00.5Z").unwrap();
        let bytes = Entry::encode(
            1234,
            &recorded_at,
            7,
            stream_prev,
            &event.to_canonical_vec(),
            decisions,
        );
        // What the ledger stores is exactly canonical.
        Entry::parse(&bytes).unwrap();
        bytes
    }

    fn decision(reasons: &[&str]) -> Json {
        let mut outcome = Object::new();
        outcome.insert("allowed", Json::Bool(false));
        let mut decision = Object::new();
        decision.insert("outcome", Json::Object(outcome));
        decision.insert(
            "reasons",
            Json::Array(reasons.iter().map(|r| Json::str(*r)).collect()),
        );
        // A key "signature" with a string, as after the payload (here after an array).
        decision.insert("signature", Json::str("x"));
        Json::Object(decision)
    }

    #[test]
    fn the_scan_reads_every_canonical_entry_as_serde_does() {
        let tricky = [
            decision(&[r#"},"signature":"#, "\u{e9}\"\\\n\u{1f}"]),
            decision(&[]),
        ];
        let mut scanned = 0;
        for (event_type, text) in EXAMPLES {
            let mut payload = parse_object(text);
            // Inside the payload too: a member "signature" after a nested object.
            let mut nested = Object::new();
            nested.insert("a", Json::Object(Object::new()));
            nested.insert("signature", Json::str("x"));
            payload.insert("zz", Json::Object(nested.clone()));
            let mut payload_with_signature = parse_object(text);
            payload_with_signature.insert("signature", Json::Object(nested));
            for (payload, expected_version, stream_prev, decisions) in [
                (parse_object(text), ExpectedVersion::NoStream, None, &[][..]),
                (payload, ExpectedVersion::Any, Some(0), &tricky[..]),
                (
                    payload_with_signature,
                    ExpectedVersion::Exact(41),
                    Some(1233),
                    &tricky[1..],
                ),
            ] {
                let bytes = entry_bytes(
                    event_type,
                    payload,
                    expected_version,
                    stream_prev,
                    decisions,
                );
                let parsed = EntryFields::parse(&bytes).unwrap();
                assert_eq!(EntryFields::scan(&bytes), Some(parsed), "{event_type}");
                scanned += 1;
            }
        }
        assert_eq!(scanned, 3 * EXAMPLES.len());
    }

    /// `decode_entry` decides as serde's reading alone does, error messages included.
    fn assert_decoded_as_serde_does(bytes: &[u8]) {
        assert_eq!(
            format!("{:?}", decode_entry(1234, bytes)),
            format!("{:?}", decode_with_serde(1234, bytes)),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }

    /// Damaged entries (bytes changed, dropped or doubled at random places; seeded) never
    /// panic the reading, and are decoded exactly as serde's reading alone decodes them.
    #[test]
    fn damaged_entries_are_decoded_as_serde_decodes_them() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % bound as u64).unwrap()
        };
        let decisions = [decision(&["x"])];
        let damage = b"{}[]\",:0a\\ \n\x01";
        let mut scanned = 0;
        for (round, (event_type, text)) in EXAMPLES.iter().cycle().take(3000).enumerate() {
            let stream_prev = (round % 2 == 0).then_some(9);
            let decisions = if round % 3 == 0 { &decisions[..] } else { &[] };
            let mut bytes = entry_bytes(
                event_type,
                parse_object(text),
                ExpectedVersion::Any,
                stream_prev,
                decisions,
            );
            for _ in 0..=random(3) {
                let at = random(bytes.len());
                match random(3) {
                    0 => bytes[at] = damage[random(damage.len())],
                    1 => drop(bytes.remove(at)),
                    _ => bytes.insert(at, bytes[at]),
                }
            }
            assert_decoded_as_serde_does(&bytes);
            if EntryFields::scan(&bytes).is_some() && decode_entry(1234, &bytes).is_ok() {
                scanned += 1;
            }
        }
        // Some damage misses every field the fold reads (a signature's letter, a time),
        // and the scan's reading is the one kept.
        assert!(scanned > 100, "{scanned}");
    }

    #[test]
    fn entries_off_the_canonical_layout_are_decoded_as_serde_decodes_them() {
        let (event_type, text) = EXAMPLES[0];
        let bytes = entry_bytes(
            event_type,
            parse_object(text),
            ExpectedVersion::Any,
            None,
            &[],
        );
        let text = String::from_utf8(bytes.clone()).unwrap();
        let reference = decode_entry(1234, &bytes).unwrap();
        // Each variant, whether the scan lays it out, and whether serde still reads it.
        let signature = r#","signature":""#;
        for (variant, laid_out, readable) in [
            (text.replacen("{", "{ ", 1), false, true),
            (
                format!("{},\"extra\":1}}", &text[..text.len() - 1]),
                false,
                true,
            ),
            (
                text.replacen(r#""index":1234"#, r#""index":1234.0"#, 1),
                false,
                false,
            ),
            (
                text.replacen(r#""stream_version":7"#, r#""stream_version":07"#, 1),
                false,
                false,
            ),
            (
                text.replacen(r#""key_id":"k1""#, r#""key_id":"k\u0031""#, 1),
                false,
                false,
            ),
            // A raw control character, which JSON refuses in a string.
            (
                text.replacen(r#""key_id":"k1""#, "\"key_id\":\"k\u{1}\"", 1),
                false,
                false,
            ),
            // Serde skips a member it does not know, even a second "signature"; the
            // scan's payload would then run on past the real one's end.
            (
                text.replacen(signature, &format!(r#","signature":{{}}{signature}"#), 1),
                true,
                true,
            ),
            (
                text.replacen(signature, &format!(r#","zzz":1{signature}"#), 1),
                false,
                true,
            ),
            (
                text.replacen(r#""payload":"#, r#""payload": "#, 1),
                true,
                true,
            ),
            // A payload that is not JSON.
            (
                text.replacen(r#""payload":{"#, r#""payload":{{"#, 1),
                true,
                false,
            ),
        ] {
            assert_eq!(
                EntryFields::scan(variant.as_bytes()).is_some(),
                laid_out,
                "{variant}"
            );
            let decoded = decode_entry(1234, variant.as_bytes());
            assert_eq!(decoded.is_ok(), readable, "{variant}");
            if let Ok(decoded) = decoded {
                assert_eq!(
                    format!("{decoded:?}"),
                    format!("{reference:?}"),
                    "{variant}"
                );
            }
            assert_decoded_as_serde_does(variant.as_bytes());
        }
        // A registry event's payload is not read by the fold, but a damaged one is still
        // a damaged entry.
        let mut registered = Object::new();
        registered.insert("kind", Json::str("police"));
        let registry_entry = String::from_utf8(entry_bytes(
            "AuthorityRegistered",
            registered,
            ExpectedVersion::NoStream,
            None,
            &[],
        ))
        .unwrap();
        assert!(
            decode_entry(1234, registry_entry.as_bytes())
                .unwrap()
                .event
                .is_none()
        );
        let damaged = registry_entry.replacen(r#""payload":{"#, r#""payload":{{"#, 1);
        assert!(EntryFields::scan(damaged.as_bytes()).is_some());
        assert!(decode_entry(1234, damaged.as_bytes()).is_err());
        assert!(matches!(
            decode_entry(1235, &bytes),
            Err(StoreError::Corrupt(message)) if message.contains("says it is entry 1234")
        ));
    }
}
