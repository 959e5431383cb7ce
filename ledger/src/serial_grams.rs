//! The index behind suffix and substring search, held in memory: for every trigram (three
//! bytes) of a serial number's search form, the weapons whose form holds it.
//!
//! Why in memory and not a table: as rows of the file, every suffix of every serial was a
//! row inserted at a random place of a large B-tree, ~10 per weapon, each dirtying its own
//! page in every commit; those inserts cost a quarter of the single-POST rate
//! (BENCHMARKS.md). The index is derived from `serial_index` (one row per weapon, in the
//! file), loaded when the ledger opens, and grown by the writer before each commit.
//!
//! It only grows while the ledger is open: a weapon whose serial changes keeps its old
//! form and trigrams here as well as the new ones. So it holds a superset of what any
//! snapshot since the opening can match, and the search judges every candidate against the
//! reader's own snapshot: results are exactly those of the snapshot, whatever the index has
//! seen since. What the superset costs (the forms a correction replaced) goes at the next
//! opening.
//!
//! Candidates come in the order of the index of each weapon's first entry (the order the
//! weapons were recorded), which is what a search cursor holds: stable across restarts
//! and rebuilds, since it comes from the log.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use redb::{ReadTransaction, ReadableTable};

use crate::store::StoreError;

/// One indexed form of one weapon (a weapon whose serial changed has one per form).
struct Slot {
    /// The index of the weapon's first entry.
    first_index: u64,
    /// Where the form is in `Grams::text`.
    start: u64,
    len: u32,
    id: [u8; 16],
}

#[derive(Default)]
struct Grams {
    /// Every form indexed, in the order indexed; postings point into it.
    slots: Vec<Slot>,
    /// The forms' text, one after the other: compact, and read in order by a scan.
    text: String,
    /// Trigram -> the slots whose form holds it, ordered by the weapons' first-entry
    /// index, each slot once.
    postings: HashMap<u32, Vec<u32>, BuildHasherDefault<TrigramHasher>>,
}

/// A multiplicative hash for trigrams: SipHash's protection against chosen collisions buys
/// little for a key space this small.
#[derive(Default)]
struct TrigramHasher(u64);

impl Hasher for TrigramHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A serial's search form to index for a weapon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SerialForm {
    /// The index of the weapon's first entry.
    pub first_index: u64,
    pub id: u128,
    pub form: String,
}

/// How a partial search matches a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Partial {
    Suffix,
    Contains,
}

impl Partial {
    pub(crate) fn matches(self, form: &str, wanted: &str) -> bool {
        match self {
            Self::Suffix => form.ends_with(wanted),
            Self::Contains => form.contains(wanted),
        }
    }
}

/// What one pass over the candidates found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// (first-entry index, weapon id) of the weapons with a form that matches, in order.
    pub found: Vec<(u64, u128)>,
    /// Candidates examined.
    pub examined: usize,
    /// The first-entry index of the last candidate examined: where the next pass starts.
    pub last: Option<u64>,
    /// Whether every candidate has been examined.
    pub exhausted: bool,
}

/// The shared index; see the module documentation.
#[derive(Default)]
pub(crate) struct SerialGrams {
    grams: RwLock<Grams>,
}

fn trigrams(form: &str) -> impl Iterator<Item = u32> + '_ {
    form.as_bytes()
        .windows(3)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], 0]))
}

impl SerialGrams {
    /// The index of a snapshot's `serial_index`.
    pub(crate) fn load(txn: &ReadTransaction) -> Result<Self, StoreError> {
        let table = txn.open_table(crate::projections::SERIAL_INDEX)?;
        let mut forms = Vec::new();
        for row in table.iter()? {
            let (key, first_index) = row?;
            let (form, id) = key.value();
            forms.push(SerialForm {
                first_index: first_index.value(),
                id,
                form: form.to_owned(),
            });
        }
        let index = Self::default();
        index.add(forms);
        // Postings grow by doubling; what was loaded will not all grow again.
        let mut grams = index.write();
        grams.postings.values_mut().for_each(Vec::shrink_to_fit);
        grams.slots.shrink_to_fit();
        grams.text.shrink_to_fit();
        drop(grams);
        Ok(index)
    }

    /// Adds forms (in any order); a form the weapon already has is not added twice.
    pub(crate) fn add(&self, mut forms: Vec<SerialForm>) {
        if forms.is_empty() {
            return;
        }
        // In order, nearly every posting grows at its end.
        forms.sort_unstable_by_key(|f| f.first_index);
        let mut grams = self.write();
        for form in &forms {
            grams.add(form);
        }
    }

    /// Examines, after the weapon first recorded at `after`, at most `examine` candidates
    /// for `wanted` (a search form of at least three bytes), and stops at the `want`th
    /// weapon whose form matches.
    pub(crate) fn scan(
        &self,
        wanted: &str,
        partial: Partial,
        after: Option<u64>,
        want: usize,
        examine: usize,
    ) -> Scan {
        self.read().scan(wanted, partial, after, want, examine)
    }

    // A panic while the lock was held leaves at worst forms added in part: a superset,
    // which the search's check against the snapshot absorbs.
    fn read(&self) -> RwLockReadGuard<'_, Grams> {
        self.grams.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Grams> {
        self.grams.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Grams {
    fn form(&self, slot: &Slot) -> &str {
        let start = usize::try_from(slot.start).unwrap_or(usize::MAX);
        self.text
            .get(start..start.saturating_add(slot.len as usize))
            .unwrap_or_default()
    }

    /// The slots of the weapon first recorded at `first_index` in a posting.
    fn weapon_slots<'p>(&self, posting: &'p [u32], first_index: u64) -> &'p [u32] {
        let at = |s: &u32| self.slots[*s as usize].first_index;
        let from = posting.partition_point(|s| at(s) < first_index);
        let to = posting.partition_point(|s| at(s) <= first_index);
        &posting[from..to]
    }

    fn add(&mut self, serial: &SerialForm) {
        // A form shorter than a trigram matches no partial search (at least three
        // characters), and one the weapon has already is not added again (every form of
        // the weapon holding its first trigram is in that trigram's posting).
        let Some(first) = trigrams(&serial.form).next() else {
            return;
        };
        if let Some(posting) = self.postings.get(&first)
            && self
                .weapon_slots(posting, serial.first_index)
                .iter()
                .any(|&s| self.form(&self.slots[s as usize]) == serial.form)
        {
            return;
        }
        let (Ok(slot), Ok(len)) = (
            u32::try_from(self.slots.len()),
            u32::try_from(serial.form.len()),
        ) else {
            // Four billion forms: the index stops growing rather than wrap.
            return;
        };
        self.slots.push(Slot {
            first_index: serial.first_index,
            start: self.text.len() as u64,
            len,
            id: serial.id.to_be_bytes(),
        });
        self.text.push_str(&serial.form);
        let slots = &self.slots;
        let first_index = |s: u32| slots[s as usize].first_index;
        for trigram in trigrams(&serial.form) {
            let posting = self.postings.entry(trigram).or_default();
            match posting.last() {
                Some(&last) if last == slot => {}
                Some(&last) if first_index(last) > serial.first_index => {
                    // A weapon that took a serial after later weapons were recorded.
                    let at = posting.partition_point(|&s| first_index(s) <= serial.first_index);
                    posting.insert(at, slot);
                }
                _ => posting.push(slot),
            }
        }
    }

    fn scan(
        &self,
        wanted: &str,
        partial: Partial,
        after: Option<u64>,
        want: usize,
        examine: usize,
    ) -> Scan {
        let mut scan = Scan::default();
        // Every match holds every trigram of `wanted`: the rarest one's slots are the
        // fewest candidates.
        let mut rarest: Option<&[u32]> = None;
        for trigram in trigrams(wanted) {
            let posting = self.postings.get(&trigram).map_or(&[][..], Vec::as_slice);
            if rarest.is_none_or(|r| posting.len() < r.len()) {
                rarest = Some(posting);
            }
        }
        let candidates = rarest.unwrap_or(&[]);
        let first_index = |s: u32| self.slots[s as usize].first_index;
        let start = after.map_or(0, |a| candidates.partition_point(|&s| first_index(s) <= a));
        for &candidate in &candidates[start..] {
            let slot = &self.slots[candidate as usize];
            // A weapon's other forms follow it: the next weapon starts a new candidate.
            if scan.last != Some(slot.first_index) {
                if scan.examined == examine || scan.found.len() == want {
                    return scan;
                }
                scan.examined += 1;
                scan.last = Some(slot.first_index);
            } else if scan.found.last().is_some_and(|f| f.0 == slot.first_index) {
                continue;
            }
            if partial.matches(self.form(slot), wanted) {
                scan.found
                    .push((slot.first_index, u128::from_be_bytes(slot.id)));
            }
        }
        scan.exhausted = true;
        scan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(first_index: u64, id: u128, form: &str) -> SerialForm {
        SerialForm {
            first_index,
            id,
            form: form.to_owned(),
        }
    }

    fn found(scan: &Scan) -> Vec<u128> {
        scan.found.iter().map(|(_, id)| *id).collect()
    }

    #[test]
    fn finds_suffixes_and_substrings_in_recording_order_once_each() {
        let index = SerialGrams::default();
        // Added out of order: candidates still come in first-entry order.
        index.add(vec![
            form(30, 3, "XX77100"),
            form(10, 1, "FN100142"),
            form(20, 2, "AB100AB100"),
        ]);
        let all = |wanted, partial| found(&index.scan(wanted, partial, None, 10, 100));
        assert_eq!(all("100", Partial::Contains), [1, 2, 3]);
        assert_eq!(all("100", Partial::Suffix), [2, 3]);
        assert_eq!(all("AB100", Partial::Contains), [2], "listed once");
        assert_eq!(all("0142", Partial::Suffix), [1]);
        assert!(all("ZZZ", Partial::Contains).is_empty());
        // A text whose trigrams all occur, but not together.
        assert!(all("77100142", Partial::Contains).is_empty());
    }

    #[test]
    fn scans_resume_after_a_position_and_stop_where_told() {
        let index = SerialGrams::default();
        index.add((1..=10).map(|n| form(n * 2, n.into(), "SN123")).collect());
        let first = index.scan("123", Partial::Contains, None, 3, 100);
        assert_eq!(found(&first), [1, 2, 3]);
        assert!(!first.exhausted);
        let next = index.scan("123", Partial::Contains, first.last, 3, 100);
        assert_eq!(found(&next), [4, 5, 6]);
        let budget = index.scan("123", Partial::Contains, Some(12), 10, 2);
        assert_eq!((found(&budget), budget.last), (vec![7, 8], Some(16)));
        let rest = index.scan("123", Partial::Contains, budget.last, 10, 100);
        assert_eq!(found(&rest), [9, 10]);
        assert!(rest.exhausted);
    }

    #[test]
    fn a_changed_serial_keeps_both_forms_and_a_late_serial_takes_its_place() {
        let index = SerialGrams::default();
        index.add(vec![form(10, 1, "ZZ0001"), form(30, 3, "QQ0003")]);
        index.add(vec![form(10, 1, "ZZ0002"), form(10, 1, "ZZ0002")]);
        let all = |wanted| found(&index.scan(wanted, Partial::Contains, None, 10, 100));
        assert_eq!(all("0001"), [1]);
        assert_eq!(all("0002"), [1], "once, though added twice");
        // A weapon recorded at 20 that got its serial after weapon 30's.
        index.add(vec![form(20, 2, "QQ0002")]);
        assert_eq!(all("000"), [1, 2, 3]);
    }

    #[test]
    fn forms_beyond_ascii_are_matched_on_their_bytes() {
        let index = SerialGrams::default();
        index.add(vec![form(1, 1, "ÄBC123"), form(2, 2, "XÄBC")]);
        let all = |wanted, partial| found(&index.scan(wanted, partial, None, 10, 100));
        assert_eq!(all("ÄBC", Partial::Contains), [1, 2]);
        assert_eq!(all("ÄBC", Partial::Suffix), [2]);
    }
}
