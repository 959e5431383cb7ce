//! Benchmarks of the domain layer (issue 3), measured in one run beside their reference:
//!
//! (r) reference: decode-only speed of the ledger's entries, decoded exactly as the rebuild
//!     decodes them (each entry's payload read as a catalogue event), on all cores in the
//!     chunks the rebuild uses, the next chunk read meanwhile as the rebuild does; measured
//!     after an uncounted first pass that brings the file into the page cache;
//! (p) projection rebuild of the whole ledger: the same decoding plus `evolve` in log order
//!     into memory, and then also written to a copy of the file in one transaction;
//! (s) serial search latency over ARMSLEDGER_BENCH_WEAPONS weapons (default 1M):
//!     exact, prefix, suffix and substring, p50/p99 over random queries.
//!
//! (i) bulk import (issue 6) of ARMSLEDGER_BENCH_IMPORT signed legacy records (default
//!     1M) from a JSON Lines file through `armsledger import`'s code, beside the
//!     single-core strict verification rate measured just before and just after (their mean).
//!
//! Run: `cargo bench -p armsledger-tests --bench domain` (prints Markdown).
//! ARMSLEDGER_BENCH_PARTS (default `search,rebuild,written,import`) picks the parts to run
//! after the build, e.g. `rebuild` (in memory) alone with ARMSLEDGER_BENCH_REBUILDS=10
//! (default 5: each is printed, the median is the figure) to profile it.
//! ARMSLEDGER_BENCH_LEDGER=FILE keeps the built ledger in FILE, and a later run given the
//! same FILE skips the build, the search and the import, and measures the rebuild on it (for
//! iterating on the rebuild; the figures are those of whatever FILE holds). A full run
//! measures the rebuild that way too, in a child process.
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

use std::time::Instant;

use armsledger_tests::*;
use ledger::event::SignedEvent;
use ledger::search::{SerialMatch, WeaponQuery};
use ledger::{Ledger, LedgerConfig, SystemClock};

/// A ledger of `weapons` manufacture markings with serial numbers, appended in batches of
/// 1000 by two producers.
fn build(path: &std::path::Path, weapons: u64) -> Ledger {
    let ledger = create_ledger(path, LedgerConfig::default(), SystemClock::shared());
    let maker = register(&ledger, "be-fn", "manufacturer", 30);
    let batch = 1000u64;
    let batches = weapons.div_ceil(batch);
    let next = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (ledger, maker, next) = (ledger.clone(), maker.clone(), &next);
            s.spawn(move || {
                loop {
                    let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let events: Vec<SignedEvent> = (b * batch..((b + 1) * batch).min(weapons))
                        .map(|n| maker.manufacture_marked(n))
                        .collect();
                    ledger.append_batch(events).unwrap();
                }
            });
        }
    });
    ledger
}

/// The reference: every entry decoded exactly as the rebuild decodes it (parsed, its
/// payload read as a catalogue event), on all cores in the rebuild's chunks, and nothing
/// folded. Returns entries/s.
fn decode_only(reader: &ledger::store::LogReader) -> f64 {
    let size = reader.tree_size().unwrap();
    let t = Instant::now();
    let events = ledger::projections::decode_only(reader).unwrap();
    assert!(events + 3 >= size, "every weapon entry decodes");
    size as f64 / t.elapsed().as_secs_f64()
}

/// (i): signs `records` legacy records into a JSON Lines file, imports them into a fresh
/// ledger, and returns records/s of the import.
fn import_rate(dir: &std::path::Path, records: u64) -> f64 {
    use rayon::prelude::*;
    let root = root_signer();
    let lines: Vec<String> = (0..records)
        .into_par_iter()
        .map(|n| {
            let event = root.event(
                &format!("weapon:{}", uuid_from(5_000_000 + n)),
                ledger::event::ExpectedVersion::NoStream,
                "LegacyRecordImported",
                object(&[
                    ("source_kind", ledger::json::Json::str("paper_register")),
                    (
                        "source",
                        ledger::json::Json::str("Register of a dealer closed in 1998"),
                    ),
                    (
                        "original_reference",
                        ledger::json::Json::str(format!("page {}, line {}", n / 40, n % 40)),
                    ),
                    (
                        "known",
                        ledger::json::Json::Object(object(&[
                            (
                                "manufacturer",
                                ledger::json::Json::str("Manufacture d'armes de Liège"),
                            ),
                            (
                                "serial_number",
                                ledger::json::Json::str(format!("ML-{n:07}")),
                            ),
                        ])),
                    ),
                ]),
            );
            String::from_utf8(event.to_canonical_vec()).unwrap()
        })
        .collect();
    let file = dir.join("legacy.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    drop(lines);
    let ledger = create_ledger(
        &dir.join("import.redb"),
        LedgerConfig::default(),
        SystemClock::shared(),
    );
    let timed = Timed::start();
    let summary = api::bulk::import(&ledger, &file, 1000, |_| {}).unwrap();
    let part = timed.stop();
    println!("import: {}", part.cpu_per_event(summary.appended));
    let rate = summary.appended as f64 / part.seconds;
    assert_eq!(summary.appended, records, "{summary:?}");
    ledger.close();
    rate
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench -p armsledger-tests --bench domain`");
        return;
    }
    name_rayon_threads();
    let weapons = env_u64("ARMSLEDGER_BENCH_WEAPONS", 1_000_000);
    let records = env_u64("ARMSLEDGER_BENCH_IMPORT", 1_000_000);
    let parts = std::env::var("ARMSLEDGER_BENCH_PARTS")
        .unwrap_or_else(|_| "search,rebuild,written,import".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    println!("# armsledger domain benchmark");
    println!(
        "machine: {} cores; load before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );
    let dir = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("ARMSLEDGER_BENCH_LEDGER").map(std::path::PathBuf::from);
    if let Some(path) = kept.as_ref().filter(|p| p.exists()) {
        let size = ledger::store::LogReader::open_file(path)
            .unwrap()
            .tree_size()
            .unwrap();
        println!(
            "the {size} entries kept in {}, in a process of its own (no build, no search, no import)",
            path.display()
        );
        if part("rebuild") {
            let rebuilds = env_u64("ARMSLEDGER_BENCH_REBUILDS", 5).max(1);
            rebuild(dir.path(), path, size, rebuilds, part("written"));
        }
        return;
    }
    let path = kept.unwrap_or_else(|| dir.path().join("weapons.redb"));
    let t = Instant::now();
    let ledger = build(&path, weapons);
    let size = ledger.reader().unwrap().tree_size().unwrap();
    println!(
        "built {size} entries ({weapons} weapons with serials) in {:.1} s = {:.0} appends/s, domain rules and projections included (load {})",
        t.elapsed().as_secs_f64(),
        weapons as f64 / t.elapsed().as_secs_f64(),
        load_average()
    );

    // (s) search, on the open ledger.
    let reader = ledger.reader().unwrap();
    if part("search") {
        search(&reader, weapons);
    }
    drop(reader);
    ledger.close();
    if part("rebuild") {
        // In a process of its own, as `armsledger rebuild` or `verify` runs: this one
        // still holds what a million appends left in its allocator (the first rebuild
        // here ran at ~240k entries/s against ~330k in a fresh process).
        let written = if part("written") { ",written" } else { "" };
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--bench")
            .env("ARMSLEDGER_BENCH_LEDGER", &path)
            .env("ARMSLEDGER_BENCH_PARTS", format!("rebuild{written}"))
            .status()
            .unwrap();
        assert!(status.success(), "the rebuild's process failed: {status}");
    }
    if part("import") {
        import(records);
    }
}

/// (s): random exact, prefix, suffix and substring queries.
fn search(reader: &ledger::store::LogReader, weapons: u64) {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |bound: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };
    println!("\n(s) serial search over {weapons} weapons (2,000 random queries each, limit 50):");
    println!("| search | query example | p50 | p99 | results/query |");
    println!("|---|---|---|---|---|");
    type Mode = (&'static str, SerialMatch, fn(u64) -> String);
    let modes: [Mode; 4] = [
        ("exact (normalised)", SerialMatch::Exact, |n| {
            format!("fn {n:08}")
        }),
        ("prefix", SerialMatch::Prefix, |n| {
            format!("FN-{:06}", n / 100)
        }),
        ("suffix", SerialMatch::Suffix, |n| {
            format!("{:05}", n % 100_000)
        }),
        ("substring", SerialMatch::Contains, |n| {
            format!("{:04}", n % 10_000)
        }),
    ];
    for (label, matching, text) in modes {
        let mut samples = Vec::with_capacity(2000);
        let mut results = 0;
        let mut example = String::new();
        for _ in 0..2000 {
            let serial = text(random(weapons));
            let query = WeaponQuery {
                limit: 50,
                ..WeaponQuery::by_serial(serial.clone(), matching)
            };
            let t = Instant::now();
            results += reader.search_weapons(&query).unwrap().weapons.len();
            samples.push(t.elapsed());
            example = serial;
        }
        samples.sort();
        println!(
            "| {label} | `{example}` | {:.2} ms | {:.2} ms | {:.1} |",
            percentile(&samples, 0.5).as_secs_f64() * 1e3,
            percentile(&samples, 0.99).as_secs_f64() * 1e3,
            results as f64 / samples.len() as f64
        );
    }
}

/// (r) and (p), from the closed file.
fn rebuild(dir: &std::path::Path, path: &std::path::Path, size: u64, rebuilds: u64, written: bool) {
    let reader = ledger::store::LogReader::open_file(path).unwrap();
    // A first pass, not counted, reads the file into the page cache: the reference and
    // the rebuilds after it then all read from memory.
    let cold = decode_only(&reader);
    let reference = decode_only(&reader);
    let mut rates = Vec::new();
    let mut views = 0;
    profiler("enable");
    for _ in 0..rebuilds {
        let t = Instant::now();
        let rebuilt = ledger::projections::rebuild(&reader).unwrap();
        rates.push(size as f64 / t.elapsed().as_secs_f64());
        views = rebuilt.views.len();
    }
    profiler("disable");
    drop(reader);
    let each: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    let first = rates[0];
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "\n(r, p) over {size} entries (load {}); rebuilds one after another: {} entries/s",
        load_average(),
        each.join(", ")
    );
    println!("| | entries/s | ratio to (r) | target |");
    println!("|---|---|---|---|");
    println!(
        "| (r) decode only (reference; {cold:.0}/s in the uncounted first pass) | {reference:.0} | 1.00x | |"
    );
    println!(
        "| (p) rebuild into memory, the median of {} | {median:.0} | {:.2}x | >= 300,000/s |",
        rates.len(),
        median / reference
    );
    // The first rebuild of a process is the one a command such as `verify` runs; it also
    // takes its memory fresh from the kernel (page faults), which the later ones reuse.
    println!(
        "| (p) the first of them (fresh memory) | {first:.0} | {:.2}x | |",
        first / reference
    );
    if written {
        let copy = dir.join("copy.redb");
        std::fs::copy(path, &copy).unwrap();
        let t = Instant::now();
        let written = ledger::projections::rebuild_file(&copy).unwrap();
        let with_write = size as f64 / t.elapsed().as_secs_f64();
        assert_eq!(written.views.len(), views);
        println!(
            "| (p) rebuild written to the file | {with_write:.0} | {:.2}x | |",
            with_write / reference
        );
    }
}

/// (i) bulk import.
fn import(records: u64) {
    // The reference just before and just after: the VM's speed drifts over an import of
    // half a minute, and the mean of the two lands on the import as the drift does.
    let before = strict_verify_rate();
    let import_dir = tempfile::tempdir().unwrap();
    let rate = import_rate(import_dir.path(), records);
    let after = strict_verify_rate();
    let reference = (before + after) / 2.0;
    println!(
        "\n(i) import of {records} signed legacy records (JSON Lines, batches of 1000, every rule and projection): {rate:.0} records/s = {:.2}x the single-core strict verify rate ({reference:.0}/s, the mean of {before:.0} just before and {after:.0} just after; target >= 1.6x) (load {})",
        rate / reference,
        load_average()
    );
}
