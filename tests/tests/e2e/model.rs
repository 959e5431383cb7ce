//! A seeded random walk over the append API, checked step by step against a small
//! reference model of what the log must contain, with `verify` along the way.
//!
//! Steps: ARMSLEDGER_MODEL_STEPS (default 400). Seed: ARMSLEDGER_MODEL_SEED (printed).

use std::collections::HashMap;

use armsledger_tests::*;
use ledger::event::{ExpectedVersion, SignedEvent};
use ledger::json::Json;
use ledger::{AppendError, LedgerConfig, SystemClock};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the log must hold.
#[derive(Default)]
struct Model {
    /// Stream name -> indexes of its entries, in order.
    streams: HashMap<String, Vec<u64>>,
    /// Accepted events, to retry and to forge conflicts from.
    accepted: Vec<(SignedEvent, u64)>,
    size: u64,
}

impl Model {
    fn version(&self, stream: &str) -> Option<u64> {
        self.streams.get(stream).map(|v| v.len() as u64 - 1)
    }
    fn stream_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.streams.keys().cloned().collect();
        names.sort();
        names
    }
}

fn weapon_stream(n: u64) -> String {
    format!("weapon:{}", uuid_from(n))
}

#[test]
fn random_appends_agree_with_the_model_and_verify() {
    let steps = env_u64("ARMSLEDGER_MODEL_STEPS", 400);
    let seed = env_u64(
        "ARMSLEDGER_MODEL_SEED",
        ledger::event::EventId::new_v7().as_u128() as u64 | 1,
    );
    println!("model test: {steps} steps, ARMSLEDGER_MODEL_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.redb");
    let ledger = create_ledger(&path, LedgerConfig::default(), SystemClock::shared());
    let signers = [
        register(&ledger, "zz-police", "police", 10),
        register(&ledger, "zz-customs", "customs", 20),
        register(&ledger, "zz-maker", "manufacturer", 30),
    ];
    let mut model = Model {
        size: 4,
        ..Default::default()
    };
    // The authority streams exist too (genesis and the three registrations).
    for (i, id) in ["zz-admin", "zz-police", "zz-customs", "zz-maker"]
        .iter()
        .enumerate()
    {
        model
            .streams
            .insert(format!("authority:{id}"), vec![i as u64]);
    }
    let mut next_weapon = 0u64;
    let note = |rng: &mut Rng| object(&[("note", Json::Int(rng.below(1000) as i64))]);

    // The first record of weapon n, as each signer may make it.
    let first_record = |signer: &Signer, n: u64| {
        if signer.actor.as_str() == "zz-maker" {
            signer.manufacture_marked(n)
        } else {
            signer.weapon_marked(n)
        }
    };

    for step in 0..steps {
        let signer = &signers[rng.below(3) as usize];
        // Every signer may report a weapon lost or stolen; the model walks weapons only.
        let names: Vec<String> = model
            .stream_names()
            .into_iter()
            .filter(|name| name.starts_with("weapon:"))
            .collect();
        let context = format!("step {step} (seed {seed})");
        let choice = if names.is_empty() { 0 } else { rng.below(8) };
        let existing = names
            .get(rng.below(names.len().max(1) as u64) as usize)
            .cloned()
            .unwrap_or_default();
        let existing = existing.as_str();
        match choice {
            // A new weapon.
            0 | 1 => {
                let stream = weapon_stream(next_weapon);
                let event = first_record(signer, next_weapon);
                next_weapon += 1;
                let r = ledger.append(event.clone()).expect(&context);
                assert_eq!(
                    (r.index, r.stream_version, r.duplicate),
                    (model.size, 0, false),
                    "{context}"
                );
                model.streams.insert(stream, vec![r.index]);
                model.accepted.push((event, r.index));
                model.size += 1;
            }
            // The next event of an existing stream, with the right version or "any".
            2 | 3 => {
                let current = model.version(existing).unwrap();
                let expected = if rng.below(2) == 0 {
                    ExpectedVersion::Exact(current)
                } else {
                    ExpectedVersion::Any
                };
                let event = signer.event(existing, expected, "WeaponReportedLost", lost_report());
                let r = ledger.append(event.clone()).expect(&context);
                assert_eq!(
                    (r.index, r.stream_version),
                    (model.size, current + 1),
                    "{context}"
                );
                model.streams.get_mut(existing).unwrap().push(r.index);
                model.accepted.push((event, r.index));
                model.size += 1;
            }
            // A stale or premature version, or "none" on a stream that exists.
            4 => {
                let current = model.version(existing).unwrap();
                let wrong = match rng.below(3) {
                    0 => ExpectedVersion::NoStream,
                    1 => ExpectedVersion::Exact(current + 1 + rng.below(3)),
                    _ if current > 0 => ExpectedVersion::Exact(rng.below(current)),
                    _ => ExpectedVersion::NoStream,
                };
                let err = ledger
                    .append(signer.event(existing, wrong, "WeaponRecovered", note(&mut rng)))
                    .unwrap_err();
                assert_eq!(err.code(), "wrong_expected_version", "{context}");
            }
            // A retry of something accepted, or another event under its id.
            5 if !model.accepted.is_empty() => {
                let (event, index) =
                    model.accepted[rng.below(model.accepted.len() as u64) as usize].clone();
                if rng.below(2) == 0 {
                    let r = ledger.append(event).expect(&context);
                    assert_eq!((r.index, r.duplicate), (index, true), "{context}");
                } else {
                    let mut other = event.envelope().clone();
                    other.payload.insert("forged", Json::Bool(true));
                    // Only the rightful signer learns that the id is taken; anyone else
                    // signing under that actor's name is told the signature is wrong.
                    let rightful = signers.iter().find(|s| s.actor == other.actor).unwrap();
                    let want = if rightful.actor == signer.actor {
                        "event_id_conflict"
                    } else {
                        "signature_invalid"
                    };
                    let err = ledger.append(other.sign(&signer.key)).unwrap_err();
                    assert_eq!(err.code(), want, "{context}");
                }
            }
            // A batch continuing several streams, sometimes with one bad member.
            6 => {
                let k = 1 + rng.below(5) as usize;
                let poisoned = rng.below(3) == 0;
                let mut batch = Vec::new();
                let mut versions: HashMap<String, u64> = HashMap::new();
                let mut new_streams = Vec::new();
                for i in 0..k {
                    if poisoned && i == k - 1 {
                        batch.push(signer.event(
                            existing,
                            ExpectedVersion::NoStream,
                            "WeaponSeized",
                            note(&mut rng),
                        ));
                    } else if rng.below(2) == 0 {
                        let n = next_weapon + new_streams.len() as u64;
                        new_streams.push(weapon_stream(n));
                        batch.push(first_record(signer, n));
                    } else {
                        let name = &names[rng.below(names.len() as u64) as usize];
                        let v = *versions
                            .entry(name.clone())
                            .or_insert_with(|| model.version(name).unwrap());
                        batch.push(signer.event(
                            name,
                            ExpectedVersion::Exact(v),
                            "WeaponReportedStolen",
                            stolen_report(),
                        ));
                        versions.insert(name.clone(), v + 1);
                    }
                }
                match ledger.append_batch(batch.clone()) {
                    Ok(receipts) => {
                        assert!(!poisoned, "{context}: a poisoned batch was accepted");
                        next_weapon += new_streams.len() as u64;
                        for (event, r) in batch.into_iter().zip(receipts) {
                            assert_eq!(r.index, model.size, "{context}");
                            let stream = event.envelope().stream.to_string();
                            let entries = model.streams.entry(stream).or_default();
                            assert_eq!(r.stream_version, entries.len() as u64, "{context}");
                            entries.push(r.index);
                            model.accepted.push((event, r.index));
                            model.size += 1;
                        }
                    }
                    Err(AppendError::Rejected(r)) => {
                        assert!(poisoned, "{context}: {r}");
                        assert_eq!(
                            (r.position, r.rejection.code()),
                            (k - 1, "wrong_expected_version"),
                            "{context}"
                        );
                    }
                    Err(e) => panic!("{context}: {e}"),
                }
            }
            // A key the log does not know.
            7 => {
                let stranger = Signer::new(signer.actor.as_str(), "k9", test_key(99));
                let err = ledger
                    .append(stranger.weapon_marked(1_000_000 + step))
                    .unwrap_err();
                assert_eq!(err.code(), "unknown_key", "{context}");
            }
            _ => {}
        }
        if step % 50 == 49 {
            let report = ledger
                .verify()
                .unwrap_or_else(|f| panic!("{context}: verify: {f}"));
            assert_eq!(report.entries, model.size, "{context}");
        }
    }

    let reader = ledger.reader().unwrap();
    assert_eq!(reader.tree_size().unwrap(), model.size);
    for (stream, indexes) in &model.streams {
        assert_eq!(
            &reader.stream_indexes(stream, 0, usize::MAX).unwrap(),
            indexes,
            "{stream} (seed {seed})"
        );
        let head = reader.stream_head(stream).unwrap().unwrap();
        assert_eq!(
            (head.version, head.index),
            (indexes.len() as u64 - 1, *indexes.last().unwrap())
        );
    }
    drop(reader);
    ledger.close();
    let report = ledger::verify::verify_file(&path).unwrap();
    assert_eq!(
        (report.entries, report.streams),
        (model.size, model.streams.len() as u64)
    );
}
