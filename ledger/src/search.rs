//! Finding weapons by serial number: exact, normalised and partial, with filters and
//! cursor pagination.
//!
//! Serial numbers are searched in their search form (`values::normalize_query`: case,
//! spaces, dashes, dots and slashes, the O/0 and I/1 confusions), so `fn 123-456`, `FN123456`
//! and `FN I23 4S6`... find the same marking as far as the folding goes. Two indexes serve it:
//! - `serial_index` (search form, weapon), in the file: exact matches and prefixes, by
//!   range, in the order of the search form;
//! - the in-memory trigram index of `serial_grams`: suffixes and substrings, whose
//!   candidates (the weapons holding the text's rarest trigram) are checked against the
//!   reader's snapshot, in the order the weapons were recorded. Neither is ever a scan of
//!   all weapons.
//!
//! A page ends with a cursor that the next request passes back. A weapon is listed once
//! even when its serial contains the text twice.

use crate::catalogue::WeaponId;
use crate::domain::views::{View, WeaponStatus, WeaponView};
use crate::projections::{PROJECTIONS, SERIAL_INDEX};
use crate::serial_grams::{Partial, SerialGrams};
use crate::store::{LogReader, StoreError};
use crate::values::{CountryCode, normalize_query};

/// The shortest text a partial (prefix, suffix, substring) search accepts, in characters of
/// the search form: shorter ones match a large share of all weapons and say little.
pub const PARTIAL_CHARS_MIN: usize = 3;
/// The most results one page holds.
pub const PAGE_LIMIT_MAX: usize = 500;
/// The results of a page when the caller does not say.
pub const PAGE_LIMIT_DEFAULT: usize = 50;
/// Index rows (and views) one request reads at most, so that a filter that matches nothing
/// cannot make a request read the whole index; the page then ends early with a cursor.
pub const ROWS_PER_REQUEST_MAX: usize = 20_000;
/// Candidates of the in-memory index one partial search examines at most (each a lookup
/// and a comparison in memory, ~10,000 per millisecond); the page then ends early with a
/// cursor.
pub const CANDIDATES_PER_REQUEST_MAX: usize = 200_000;

/// How the serial number is matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialMatch {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// A search: a serial number (as typed: it is normalised here), how to match it, filters
/// that must all hold, and where the previous page ended.
#[derive(Clone, Debug)]
pub struct WeaponQuery {
    pub serial: String,
    pub matching: SerialMatch,
    /// Compared in search form, whole (`FN Herstal` finds `fn-herstal`).
    pub manufacturer: Option<String>,
    pub country: Option<CountryCode>,
    /// Compared in search form, whole.
    pub model: Option<String>,
    /// Compared as written, whole, ignoring case.
    pub calibre: Option<String>,
    pub status: Option<WeaponStatus>,
    pub cursor: Option<String>,
    pub limit: usize,
}

/// One page of results.
#[derive(Clone, Debug)]
pub struct WeaponPage {
    pub weapons: Vec<WeaponView>,
    /// Where to go on from; None when the index has no more candidates.
    pub next_cursor: Option<String>,
}

/// Why a search cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("the serial number has no letter or digit to search for")]
    SerialEmpty,
    #[error(
        "a partial search needs at least {PARTIAL_CHARS_MIN} characters of serial number (after normalisation)"
    )]
    SerialTooShort,
    #[error("limit must be from 1 to {PAGE_LIMIT_MAX}")]
    LimitOutOfRange,
    #[error("the cursor is not one this search returned")]
    InvalidCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SearchError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::SerialEmpty => "serial_empty",
            Self::SerialTooShort => "serial_too_short",
            Self::LimitOutOfRange => "limit_out_of_range",
            Self::InvalidCursor => "invalid_cursor",
            Self::Store(_) => "storage",
        }
    }
}

fn encode_cursor(key: &str, id: u128) -> String {
    format!("{}.{id:032x}", hex::encode(key))
}

fn decode_cursor(cursor: &str) -> Result<(String, u128), SearchError> {
    let (key, id) = cursor.split_once('.').ok_or(SearchError::InvalidCursor)?;
    let key = hex::decode(key).map_err(|_| SearchError::InvalidCursor)?;
    let key = String::from_utf8(key).map_err(|_| SearchError::InvalidCursor)?;
    let id = u128::from_str_radix(id, 16).map_err(|_| SearchError::InvalidCursor)?;
    Ok((key, id))
}

/// A partial search's cursor: the first-entry index of the last weapon it examined.
fn encode_position(first_index: u64) -> String {
    format!("after-{first_index}")
}

fn decode_position(cursor: &str) -> Result<u64, SearchError> {
    cursor
        .strip_prefix("after-")
        .and_then(|n| n.parse().ok())
        .ok_or(SearchError::InvalidCursor)
}

impl WeaponQuery {
    /// A search by serial number alone: no filter, the first page of
    /// [`PAGE_LIMIT_DEFAULT`] weapons.
    pub fn by_serial(serial: impl Into<String>, matching: SerialMatch) -> Self {
        Self {
            serial: serial.into(),
            matching,
            manufacturer: None,
            country: None,
            model: None,
            calibre: None,
            status: None,
            cursor: None,
            limit: PAGE_LIMIT_DEFAULT,
        }
    }

    fn accepts(&self, weapon: &WeaponView) -> bool {
        let identity = &weapon.identity;
        let same_form = |wanted: &Option<String>, have: &Option<String>| {
            wanted
                .as_ref()
                .is_none_or(|w| have.as_deref().map(normalize_query) == Some(normalize_query(w)))
        };
        same_form(&self.manufacturer, &identity.manufacturer)
            && same_form(&self.model, &identity.model)
            && self.country.is_none_or(|c| weapon.country == Some(c))
            && self.status.is_none_or(|s| weapon.status == s)
            && self.calibre.as_ref().is_none_or(|wanted| {
                identity
                    .calibre
                    .as_ref()
                    .is_some_and(|c| c.as_str().eq_ignore_ascii_case(wanted))
            })
    }
}

impl LogReader {
    /// Runs a serial-number search (see the module documentation).
    pub fn search_weapons(&self, query: &WeaponQuery) -> Result<WeaponPage, SearchError> {
        if query.limit == 0 || query.limit > PAGE_LIMIT_MAX {
            return Err(SearchError::LimitOutOfRange);
        }
        let wanted = normalize_query(&query.serial);
        if wanted.is_empty() {
            return Err(SearchError::SerialEmpty);
        }
        if query.matching != SerialMatch::Exact && wanted.chars().count() < PARTIAL_CHARS_MIN {
            return Err(SearchError::SerialTooShort);
        }
        match query.matching {
            SerialMatch::Exact => self.search_serial_index(query, &wanted, true),
            SerialMatch::Prefix => self.search_serial_index(query, &wanted, false),
            SerialMatch::Suffix => self.search_partial(query, &wanted, Partial::Suffix),
            SerialMatch::Contains => self.search_partial(query, &wanted, Partial::Contains),
        }
    }

    /// Exact and prefix searches: a range of `serial_index`.
    fn search_serial_index(
        &self,
        query: &WeaponQuery,
        wanted: &str,
        whole_key: bool,
    ) -> Result<WeaponPage, SearchError> {
        let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let index = self
            .txn
            .open_table(SERIAL_INDEX)
            .map_err(StoreError::from)?;
        let projections = self.txn.open_table(PROJECTIONS).map_err(StoreError::from)?;
        let start = match &after {
            Some((key, id)) => (key.as_str(), *id),
            None => (wanted, 0),
        };
        let mut page = WeaponPage {
            weapons: Vec::new(),
            next_cursor: None,
        };
        let mut rows = 0;
        // The last row consumed: the next page starts after it.
        let mut last_read: Option<(String, u128)> = None;
        for row in index.range(start..).map_err(StoreError::from)? {
            let (key, _) = row.map_err(StoreError::from)?;
            let (key, id) = key.value();
            if after.as_ref().is_some_and(|(k, i)| k == key && *i == id) {
                continue;
            }
            let in_range = if whole_key {
                key == wanted
            } else {
                key.starts_with(wanted)
            };
            if !in_range {
                return Ok(page);
            }
            rows += 1;
            if rows > ROWS_PER_REQUEST_MAX || page.weapons.len() == query.limit {
                page.next_cursor = last_read.map(|(k, i)| encode_cursor(&k, i));
                return Ok(page);
            }
            last_read = Some((key.to_owned(), id));
            if let Some(weapon) = self.weapon_view(&projections, id)?
                && query.accepts(&weapon)
            {
                page.weapons.push(weapon);
            }
        }
        Ok(page)
    }

    /// Suffix and substring searches: candidates from the in-memory index, each judged by
    /// its view in this reader's snapshot.
    fn search_partial(
        &self,
        query: &WeaponQuery,
        wanted: &str,
        partial: Partial,
    ) -> Result<WeaponPage, SearchError> {
        let mut position = query.cursor.as_deref().map(decode_position).transpose()?;
        let loaded;
        let grams = match &self.serial_grams {
            Some(grams) => grams.as_ref(),
            None => {
                loaded = SerialGrams::load(&self.txn)?;
                &loaded
            }
        };
        let projections = self.txn.open_table(PROJECTIONS).map_err(StoreError::from)?;
        let mut page = WeaponPage {
            weapons: Vec::new(),
            next_cursor: None,
        };
        let (mut examined, mut views_read) = (0, 0);
        loop {
            // One match more than the page needs tells whether there is a next page.
            let want = query.limit - page.weapons.len() + 1;
            let scan = grams.scan(
                wanted,
                partial,
                position,
                want,
                CANDIDATES_PER_REQUEST_MAX - examined,
            );
            examined += scan.examined;
            for (first_index, id) in scan.found {
                if page.weapons.len() == query.limit || views_read == ROWS_PER_REQUEST_MAX {
                    page.next_cursor = position.map(encode_position);
                    return Ok(page);
                }
                position = Some(first_index);
                views_read += 1;
                // The index may know serials this snapshot does not (or no longer) hold.
                if let Some(weapon) = self.weapon_view(&projections, id)?
                    && weapon
                        .identity
                        .serial_normalized
                        .as_deref()
                        .is_some_and(|serial| partial.matches(serial, wanted))
                    && query.accepts(&weapon)
                {
                    page.weapons.push(weapon);
                }
            }
            if scan.exhausted {
                return Ok(page);
            }
            position = scan.last;
            if examined >= CANDIDATES_PER_REQUEST_MAX {
                page.next_cursor = position.map(encode_position);
                return Ok(page);
            }
        }
    }

    /// The weapon view of a weapon id in this snapshot, if it has one.
    fn weapon_view(
        &self,
        projections: &redb::ReadOnlyTable<&'static str, &'static [u8]>,
        id: u128,
    ) -> Result<Option<WeaponView>, StoreError> {
        let stream = format!("weapon:{}", uuid::Uuid::from_u128(id).hyphenated());
        let Some(bytes) = projections.get(stream.as_str())? else {
            return Ok(None);
        };
        Ok(match &*self.decoded(&stream, bytes.value())? {
            View::Weapon(weapon) => Some((**weapon).clone()),
            _ => None,
        })
    }
}

/// The weapon ids in a page, for tests and callers that only need ids.
pub fn ids(page: &WeaponPage) -> Vec<WeaponId> {
    page.weapons.iter().map(|w| w.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = encode_cursor("FN-é", 42);
        assert_eq!(decode_cursor(&cursor).unwrap(), ("FN-é".to_owned(), 42));
        assert!(matches!(
            decode_cursor("zz"),
            Err(SearchError::InvalidCursor)
        ));
        assert!(matches!(
            decode_cursor("zz.1"),
            Err(SearchError::InvalidCursor)
        ));
        assert_eq!(decode_position(&encode_position(42)).unwrap(), 42);
        for garbage in ["42", "after-", "after--1", "after-x"] {
            assert!(matches!(
                decode_position(garbage),
                Err(SearchError::InvalidCursor)
            ));
        }
    }
}
