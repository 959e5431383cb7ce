//! Finding weapons by serial number: exact, normalised and partial, with filters and
//! cursor pagination, from the projections' indexes.
//!
//! Serial numbers are searched in their search form (`values::normalize_query`: case,
//! spaces, dashes, dots and slashes, the O/0 and I/1 confusions), so `fn 123-456`, `FN123456`
//! and `FN I23 4S6`... find the same marking as far as the folding goes. Two indexes serve it:
//! - `serial_index` (search form, weapon): exact matches and prefixes, by range;
//! - `serial_suffixes` (every suffix of the search form of at least
//!   [`PARTIAL_CHARS_MIN`] characters, weapon): a weapon whose serial *ends with* `X` has
//!   the row `(X, weapon)`, and one whose serial *contains* `X` has a row starting with `X`,
//!   so suffix and substring searches are range reads too, never scans of all weapons.
//!
//! Results come in index order; a page ends with a cursor that the next request passes
//! back. A weapon is listed once even when its serial contains the text twice.

use crate::catalogue::WeaponId;
use crate::domain::views::{View, WeaponStatus, WeaponView};
use crate::projections::{SERIAL_INDEX, SERIAL_SUFFIXES};
use crate::store::{LogReader, StoreError};
use crate::values::{CountryCode, normalize_query};

/// The shortest text a partial (prefix, suffix, substring) search accepts, in characters of
/// the search form: shorter ones match a large share of all weapons and say little.
pub const PARTIAL_CHARS_MIN: usize = 3;
/// The most results one page holds.
pub const PAGE_LIMIT_MAX: usize = 500;
/// Index rows one request reads at most, so that a filter that matches nothing cannot make
/// a request read the whole index; the page then ends early with a cursor.
pub const ROWS_PER_REQUEST_MAX: usize = 20_000;

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

/// The suffixes of a search form that `serial_suffixes` holds: every one of at least
/// [`PARTIAL_CHARS_MIN`] characters, the whole form included.
pub(crate) fn indexed_suffixes(serial: &str) -> impl Iterator<Item = &str> {
    let chars = serial.chars().count();
    serial
        .char_indices()
        .take(chars.saturating_sub(PARTIAL_CHARS_MIN - 1))
        .map(move |(at, _)| &serial[at..])
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

impl WeaponQuery {
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
        let after = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let (table, whole_key) = match query.matching {
            SerialMatch::Exact => (SERIAL_INDEX, true),
            SerialMatch::Prefix => (SERIAL_INDEX, false),
            SerialMatch::Suffix => (SERIAL_SUFFIXES, true),
            SerialMatch::Contains => (SERIAL_SUFFIXES, false),
        };
        let index = self.txn.open_table(table).map_err(StoreError::from)?;
        let projections = self
            .txn
            .open_table(crate::projections::PROJECTIONS)
            .map_err(StoreError::from)?;
        let start = match &after {
            Some((key, id)) => (key.as_str(), *id),
            None => (wanted.as_str(), 0),
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
                key.starts_with(&wanted)
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
            let weapon_id = uuid::Uuid::from_u128(id).hyphenated().to_string();
            let stream = format!("weapon:{weapon_id}");
            let Some(bytes) = projections.get(stream.as_str()).map_err(StoreError::from)? else {
                continue;
            };
            let View::Weapon(weapon) = crate::projections::decode(&stream, bytes.value())? else {
                continue;
            };
            if query.matching == SerialMatch::Contains && !first_occurrence(&weapon, key, &wanted) {
                continue;
            }
            if query.accepts(&weapon) {
                page.weapons.push(*weapon);
            }
        }
        Ok(page)
    }
}

/// Whether the suffix row `suffix` is where the weapon's serial first contains `wanted`,
/// so that a serial containing the text twice is listed once.
fn first_occurrence(weapon: &WeaponView, suffix: &str, wanted: &str) -> bool {
    let Some(serial) = weapon.identity.serial_normalized.as_deref() else {
        return false;
    };
    let at = serial.len().saturating_sub(suffix.len());
    serial.find(wanted) == Some(at)
}

/// The weapon ids in a page, for tests and callers that only need ids.
pub fn ids(page: &WeaponPage) -> Vec<WeaponId> {
    page.weapons.iter().map(|w| w.id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_those_of_at_least_three_characters() {
        assert_eq!(
            indexed_suffixes("FN12345").collect::<Vec<_>>(),
            ["FN12345", "N12345", "12345", "2345", "345"]
        );
        assert_eq!(indexed_suffixes("AB").count(), 0);
        assert_eq!(indexed_suffixes("ÄBC").collect::<Vec<_>>(), ["ÄBC"]);
    }

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
    }
}
