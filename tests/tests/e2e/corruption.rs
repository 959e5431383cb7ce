//! A damaged ledger file is never silently accepted: flip one bit at many random
//! positions of a real ledger file; each copy is either refused by redb (its page
//! checksums), or refused by verify with the first bad entry named, or holds exactly
//! the same ledger as before (the bit was in unused space).
//!
//! Flips: ARMSLEDGER_FLIP_COUNT (default 300). Seed: ARMSLEDGER_FLIP_SEED (printed).

use std::collections::BTreeMap;
use std::path::Path;

use armsledger_tests::*;
use ledger::store::LogReader;

fn build(path: &Path) {
    build_sample_ledger(path);
}

fn digest(path: &Path) -> Option<[u8; 32]> {
    let reader = LogReader::open_file(path).ok()?;
    reader.content_digest().ok()
}

#[test]
fn single_bit_flips_are_detected_or_harmless() {
    let flips = env_u64("ARMSLEDGER_FLIP_COUNT", 300);
    let seed = env_u64(
        "ARMSLEDGER_FLIP_SEED",
        ledger::event::EventId::new_v7().as_u128() as u64 | 1,
    );
    println!("flip test: {flips} flips, ARMSLEDGER_FLIP_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original.redb");
    build(&original);
    let report = ledger::verify::verify_file(&original).unwrap();
    let want = digest(&original).expect("the original reads");
    let bytes = std::fs::read(&original).unwrap();
    println!(
        "ledger: {} entries, {} checkpoints, file {} bytes",
        report.entries,
        report.checkpoints,
        bytes.len()
    );

    let mut rng = seed;
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let copy = dir.path().join("copy.redb");
    for _ in 0..flips {
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        let r = rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let position = (r % bytes.len() as u64) as usize;
        let bit = (r >> 40) % 8;
        let mut damaged = bytes.clone();
        damaged[position] ^= 1 << bit;
        std::fs::write(&copy, &damaged).unwrap();
        let outcome = match ledger::verify::verify_file(&copy) {
            Err(failure) => format!("refused: {}", failure.code),
            Ok(_) => {
                // verify passed: then the ledger in the file must be exactly the original.
                let got = digest(&copy);
                assert_eq!(
                    got,
                    Some(want),
                    "flip of bit {bit} at byte {position} was accepted but changed the ledger (seed {seed})"
                );
                "harmless (unused bytes)".to_owned()
            }
        };
        *outcomes.entry(outcome).or_default() += 1;
    }
    println!("{outcomes:#?}");
    assert!(
        outcomes.keys().any(|k| k.starts_with("refused")),
        "some flips must be caught"
    );
}

/// An operator (or an attacker with the file) edits rows through redb itself, so every
/// page checksum is valid: verify must still find each edit and name the entry.
mod tampering {
    use super::*;
    use redb::{ReadableTable, TableDefinition};

    // The same tables as the ledger's, opened by name: this test does not share the
    // ledger's definitions, so it also checks that the file is what store.rs documents.
    const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
    const NODES: TableDefinition<(u8, u64), [u8; 32]> = TableDefinition::new("merkle_nodes");
    const STREAM_ENTRIES: TableDefinition<(&str, u64), u64> =
        TableDefinition::new("stream_entries");
    const EVENT_IDS: TableDefinition<u128, ([u8; 32], u64)> = TableDefinition::new("event_ids");
    const CHECKPOINTS: TableDefinition<u64, &str> = TableDefinition::new("checkpoints");

    /// The sample ledger, built in `dir`, with `edit` committed to its file.
    fn edited(dir: &Path, edit: impl FnOnce(&redb::WriteTransaction)) -> std::path::PathBuf {
        let path = dir.join("ledger.redb");
        build(&path);
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        edit(&txn);
        txn.commit().unwrap();
        path
    }

    fn tampered(edit: impl FnOnce(&redb::WriteTransaction)) -> ledger::verify::VerifyFailure {
        let dir = tempfile::tempdir().unwrap();
        let path = edited(dir.path(), edit);
        ledger::verify::verify_file(&path).expect_err("verify must catch the edit")
    }

    fn rewrite_entry(
        txn: &redb::WriteTransaction,
        index: u64,
        edit: impl FnOnce(String) -> String,
    ) {
        let mut t = txn.open_table(ENTRIES).unwrap();
        let old = String::from_utf8(t.get(index).unwrap().unwrap().value().to_vec()).unwrap();
        let new = edit(old.clone());
        assert_ne!(new, old, "the edit must change the entry");
        t.insert(index, new.as_bytes()).unwrap();
    }

    /// The rebuild decodes chunks of entries on all cores: of two entries it cannot read,
    /// it names the first in log order, whichever thread met it first.
    #[test]
    fn the_rebuild_names_the_first_unreadable_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = edited(dir.path(), |txn| {
            for index in [30, 40] {
                rewrite_entry(txn, index, |e| {
                    e.replacen(&format!("\"index\":{index},"), "\"index\":7,", 1)
                });
            }
        });
        match ledger::projections::rebuild_file(&path) {
            Err(ledger::store::StoreError::Corrupt(what)) => {
                assert!(what.starts_with("entry 30: says it is entry 7"), "{what}")
            }
            other => panic!("the rebuild must refuse the file: {other:?}"),
        }
    }

    #[test]
    fn an_edited_event_is_caught_at_its_entry() {
        let f = tampered(|txn| {
            rewrite_entry(txn, 40, |e| {
                e.replacen("2026-11-27T10:00:00Z", "2026-11-27T10:00:01Z", 1)
            })
        });
        assert_eq!((f.index, f.code), (Some(40), "merkle_node"), "{f}");
    }

    #[test]
    fn an_entry_rehashed_into_the_tree_still_fails_its_signature_and_checkpoint() {
        // The editor also recomputes the leaf: the signature (checked in parallel) and
        // the signed checkpoints still give it away.
        let f = tampered(|txn| {
            rewrite_entry(txn, 40, |e| {
                e.replacen("2026-11-27T10:00:00Z", "2026-11-27T10:00:01Z", 1)
            });
            let bytes = txn
                .open_table(ENTRIES)
                .unwrap()
                .get(40)
                .unwrap()
                .unwrap()
                .value()
                .to_vec();
            txn.open_table(NODES)
                .unwrap()
                .insert((0, 40), ledger::merkle::leaf_hash(&bytes))
                .unwrap();
            let event = ledger::entry::Entry::parse(&bytes).unwrap().event;
            txn.open_table(EVENT_IDS)
                .unwrap()
                .insert(
                    event.envelope().event_id.as_u128(),
                    (event.content_digest(), 40),
                )
                .unwrap();
        });
        // The parent node (checked at entry 41) is stale too, but the signature of entry
        // 40 fails first in log order.
        assert_eq!((f.index, f.code), (Some(40), "signature_invalid"), "{f}");
    }

    #[test]
    fn a_removed_entry_is_caught() {
        let f = tampered(|txn| {
            txn.open_table(ENTRIES).unwrap().remove(30).unwrap();
        });
        assert_eq!((f.index, f.code), (Some(30), "entry_missing"), "{f}");
    }

    #[test]
    fn a_truncated_log_contradicts_its_checkpoints() {
        let f = tampered(|txn| {
            let mut t = txn.open_table(ENTRIES).unwrap();
            let last = t.last().unwrap().unwrap().0.value();
            t.remove(last).unwrap();
        });
        assert!(
            ["checkpoint_size", "merkle_extra_nodes", "index_extra_rows"].contains(&f.code),
            "{f}"
        );
    }

    #[test]
    fn a_forged_checkpoint_is_caught() {
        let f = tampered(|txn| {
            let mut t = txn.open_table(CHECKPOINTS).unwrap();
            let (size, note) = {
                let (k, v) = t.last().unwrap().unwrap();
                (k.value(), v.value().to_owned())
            };
            // Claim another root under the old signature.
            let old_root = note.lines().nth(2).unwrap().to_owned();
            let forged = note.replacen(&old_root, &ledger::merkle::hash_to_base64(&[7u8; 32]), 1);
            t.insert(size, forged.as_str()).unwrap();
        });
        assert_eq!(f.code, "checkpoint_signature", "{f}");
    }

    /// Review finding: drop the checkpoints that cover the tail, then rewrite an unsigned
    /// field of a tail entry (its decisions) and recompute the tree: no signature covers
    /// the change any more, so an offline verify refuses a tail no checkpoint signs.
    #[test]
    fn a_tail_stripped_of_its_checkpoints_is_refused() {
        let f = tampered(|txn| {
            let mut cps = txn.open_table(CHECKPOINTS).unwrap();
            cps.retain(|size, _| size < 2).unwrap();
            drop(cps);
            // A policy decision nobody made, added to the last entry.
            rewrite_entry(txn, 84, |e| {
                e.replacen("{\"decisions\":[]", "{\"decisions\":[\"allow\"]", 1)
            });
            let mut nodes = txn.open_table(NODES).unwrap();
            let entries = txn.open_table(ENTRIES).unwrap();
            let mut frontier = ledger::merkle::Frontier::new();
            for row in entries.iter().unwrap() {
                let (_, v) = row.unwrap();
                frontier.append(ledger::merkle::leaf_hash(v.value()), |id, h| {
                    nodes.insert((id.level, id.index), *h).unwrap();
                });
            }
        });
        assert_eq!((f.index, f.code), (Some(1), "unsigned_tail"), "{f}");
    }

    /// The projections are derived too: a weapon's status edited in place (a stolen
    /// weapon made "active" again without a recovery) is caught by the rebuild.
    #[test]
    fn an_edited_projection_is_caught() {
        const PROJECTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("projections");
        let stream = format!("weapon:{}", uuid_from(2003));
        let f = tampered(|txn| {
            let mut t = txn.open_table(PROJECTIONS).unwrap();
            let old = String::from_utf8(t.get(stream.as_str()).unwrap().unwrap().value().to_vec())
                .unwrap();
            let new = old.replacen("\"status\":\"stolen\"", "\"status\":\"active\"", 1);
            assert_ne!(new, old);
            t.insert(stream.as_str(), new.as_bytes()).unwrap();
        });
        assert_eq!(f.code, "projection_mismatch", "{f}");
        assert!(f.what.contains(&stream), "{f}");
    }

    #[test]
    fn derived_tables_must_match_the_entries() {
        // A stream claims a version no entry has: its head would move.
        let head = tampered(|txn| {
            let mut t = txn.open_table(STREAM_ENTRIES).unwrap();
            t.insert(("authority:zz-police", 7), 1).unwrap();
        });
        assert_eq!(head.code, "index_extra_rows", "{head}");
        // A stream slot points at another entry.
        let slot = tampered(|txn| {
            let mut t = txn.open_table(STREAM_ENTRIES).unwrap();
            t.insert(("authority:zz-police", 0), 2).unwrap();
        });
        assert_eq!((slot.index, slot.code), (Some(1), "stream_index"), "{slot}");
        let id = tampered(|txn| {
            let mut t = txn.open_table(EVENT_IDS).unwrap();
            let (k, (digest, _)) = {
                let (k, v) = t.first().unwrap().unwrap();
                (k.value(), v.value())
            };
            t.insert(k, (digest, 7)).unwrap();
        });
        assert_eq!(id.code, "event_id_index", "{id}");
        let extra = tampered(|txn| {
            txn.open_table(NODES)
                .unwrap()
                .insert((30, 0), [0u8; 32])
                .unwrap();
        });
        assert_eq!(extra.code, "merkle_extra_nodes", "{extra}");
    }
}
