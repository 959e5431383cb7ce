//! Benchmarks of the ledger core, all measured in one run on this machine so that the
//! figures can be read as ratios to the reference (a):
//!
//! (a) ed25519 strict verification on one core (the reference; ed25519-dalek's
//!     `verify_strict`, and the ledger's own strict check beside it);
//! (b) signed events appended per second, durably, through `Ledger::append`, with 1, 16
//!     and 256 concurrent appenders (each parses its event's bytes with
//!     `Ledger::parse_received`, as the server does, then appends);
//! (b') batch ingest: two producers appending batches of 1,000 new weapons' markings;
//! (u) the same onto weapons already recorded (a loss reported for each: its stored view
//!     read, changed and written back, as for most events after a marking);
//! (c) a full `verify` of a ledger of ARMSLEDGER_BENCH_ENTRIES entries (default 1M);
//! (d) inclusion and consistency proof generation on that ledger.
//!
//! Run: `cargo bench -p armsledger-tests --bench core` (prints a Markdown table).
//! ARMSLEDGER_BENCH_PARTS (default `appenders,batch,updates,large`) picks the parts to run,
//! and ARMSLEDGER_BENCH_BATCH_EVENTS the size of (b') and (u) (default 100,000), so that
//! one part can be run alone under a profiler (ARMSLEDGER_BENCH_APPENDERS=256 runs (b) with
//! 256 appenders only; ARMSLEDGER_BENCH_PERF_CTL, see `armsledger_tests::profiler`).
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

use std::time::{Duration, Instant};

use armsledger_tests::*;
use ed25519_dalek::{Signer as _, SigningKey};
use ledger::event::SignedEvent;
use ledger::{Ledger, LedgerConfig, SystemClock};
use rayon::prelude::*;

/// (a) single-core strict verification rates, signatures/s.
struct VerifyRates {
    /// dalek's `verify_strict`, one signature at a time: the reference.
    dalek: f64,
    /// The ledger's `verify_strict`, one signature at a time.
    ledger_one: f64,
    /// The ledger's `verify_strict_each`, [`ledger::crypto::CHECKS_PER_BATCH`] at a time, as
    /// its verifier stage, import and verify call it.
    ledger_each: f64,
}

/// Measures [`VerifyRates`] in interleaved slices (dalek, the ledger one at a time, the
/// ledger in batches, again and again), so that the VM's drift, which moves a rate by a
/// third within seconds, lands on all three alike and their ratios hold.
fn reference_verify_rates() -> VerifyRates {
    // 16 keys in turn: each gets its precomputed multiples after its first checks, as
    // the busiest authority keys of a ledger do (the ledger keeps tables for 32 keys).
    let keys: Vec<SigningKey> = (0..16).map(test_key).collect();
    let messages: Vec<Vec<u8>> = (0..4096u32).map(police_like_message).collect();
    let signed: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let k = &keys[i % keys.len()];
            let sig = k.sign(m);
            (
                k.verifying_key(),
                ledger::crypto::public_key_of(k),
                m.clone(),
                sig,
                ledger::crypto::Signature::from_bytes(&sig.to_bytes()).unwrap(),
            )
        })
        .collect();
    let slice = 1024;
    let rounds = 8;
    let mut seconds = [0f64; 3];
    let add_elapsed = |total: &mut f64, work: &dyn Fn()| {
        let t = Instant::now();
        work();
        *total += t.elapsed().as_secs_f64();
    };
    for round in 0..rounds {
        let mine = || (round * slice..(round + 1) * slice).map(|i| &signed[i % signed.len()]);
        add_elapsed(&mut seconds[0], &|| {
            for (vk, _, m, sig, _) in mine() {
                vk.verify_strict(m, sig).unwrap();
            }
        });
        add_elapsed(&mut seconds[1], &|| {
            for (_, pk, m, _, ours) in mine() {
                ledger::crypto::verify_strict(pk, m, ours).unwrap();
            }
        });
        add_elapsed(&mut seconds[2], &|| {
            let checks: Vec<_> = mine()
                .map(
                    |(_, key, message, _, signature)| ledger::crypto::SignatureCheck {
                        key,
                        message,
                        signature,
                    },
                )
                .collect();
            for batch in checks.chunks(ledger::crypto::CHECKS_PER_BATCH) {
                assert!(
                    ledger::crypto::verify_strict_each(batch)
                        .iter()
                        .all(|ok| *ok)
                );
            }
        });
    }
    let rate = |s: f64| (slice * rounds) as f64 / s;
    VerifyRates {
        dalek: rate(seconds[0]),
        ledger_one: rate(seconds[1]),
        ledger_each: rate(seconds[2]),
    }
}

/// About the size of a real event's signing bytes.
fn police_like_message(i: u32) -> Vec<u8> {
    let mut m = b"armsledger/event/v1\n".to_vec();
    m.extend(
        format!(
            "{{\"payload\":{{\"serial_number\":\"FN-{i:08}\",\"notes\":\"{}\"}}}}",
            "x".repeat(300)
        )
        .as_bytes(),
    );
    m
}

/// Signed events as clients send them (JSON text), signed in parallel before timing.
fn signed_events(police: &Signer, first: u64, count: u64) -> Vec<Vec<u8>> {
    (first..first + count)
        .into_par_iter()
        .map(|n| police.weapon_marked(n).to_canonical_vec())
        .collect()
}

/// A new ledger at `path` with the police force every part signs as.
fn police_ledger(path: &std::path::Path) -> (Ledger, Signer) {
    let ledger = create_ledger(path, LedgerConfig::default(), SystemClock::shared());
    let police = register(&ledger, "zz-police", "police", 10);
    (ledger, police)
}

/// (b) durable appends/s: `threads` threads each keep up to `window` single-event appends
/// queued (`Ledger::submit`), waiting for the oldest receipt before queuing the next. A
/// window of 1 is `Ledger::append` (which is submit, then wait): one appender per thread.
/// A larger one is how an async server's few workers carry many clients' appends; its
/// latency is then an upper bound (an append is timed when its thread collects the
/// receipt, which may be after the thread has queued others behind it).
fn append_rate(threads: u64, window: u64, events: u64, first: u64) -> (f64, u64, Duration, String) {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, police) = police_ledger(&dir.path().join("bench.redb"));
    let per_thread = events / threads;
    let window = window.max(1) as usize;
    // Thread t sends weapons t, t + threads, t + 2 * threads...: what appenders working at
    // the same time produce (time-ordered ids), rather than each thread owning a distant
    // key range.
    let all = signed_events(&police, first, per_thread * threads);
    let mut texts = vec![Vec::new(); all.len()];
    for (n, text) in all.into_iter().enumerate() {
        let (t, i) = (n as u64 % threads, n as u64 / threads);
        texts[(t * per_thread + i) as usize] = text;
    }
    let before = ledger.stats();
    let latencies = std::sync::Mutex::new(Vec::with_capacity(texts.len()));
    let timed = Timed::start();
    std::thread::scope(|s| {
        for chunk in texts.chunks(per_thread as usize) {
            let (ledger, latencies) = (ledger.clone(), &latencies);
            s.spawn(move || {
                let mut mine = Vec::with_capacity(chunk.len());
                let mut pending = std::collections::VecDeque::with_capacity(window);
                let mut settle = |(started, append): (Instant, ledger::PendingAppend)| {
                    append.wait().unwrap();
                    mine.push(started.elapsed());
                };
                for text in chunk {
                    let started = Instant::now();
                    let event = ledger.parse_received(text.clone()).unwrap();
                    pending.push_back((started, ledger.submit(vec![event]).unwrap()));
                    if pending.len() == window {
                        settle(pending.pop_front().unwrap());
                    }
                }
                pending.into_iter().for_each(&mut settle);
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let part = timed.stop();
    let stats = ledger.stats();
    let mut lat = latencies.into_inner().unwrap();
    lat.sort();
    let appended = stats.entries - before.entries;
    (
        appended as f64 / part.seconds,
        stats.commits - before.commits,
        percentile(&lat, 0.99),
        part.cpu_per_event(appended),
    )
}

/// Batch ingest (the bulk-import path): pre-signed batches of `batch` events appended
/// with `append_batch` by two producers. Returns events/s.
fn batch_ingest_rate(events: u64, batch: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, police) = police_ledger(&dir.path().join("batch.redb"));
    let texts = signed_events(&police, 900_000_000, events);
    timed_batches(&ledger, &texts, batch)
}

/// (u) the same ingest onto weapons already in the log: each event (a loss reported) reads
/// its weapon's stored view, changes it and writes it back, as most events after a
/// marking do. The markings are appended first, untimed.
fn update_ingest_rate(events: u64, batch: u64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let (ledger, police) = police_ledger(&dir.path().join("updates.redb"));
    let first = 900_000_000;
    let markings = signed_events(&police, first, events);
    timed_batches(&ledger, &markings, batch);
    let reports: Vec<Vec<u8>> = (first..first + events)
        .into_par_iter()
        .map(|n| {
            police
                .event(
                    &format!("weapon:{}", uuid_from(n)),
                    ledger::event::ExpectedVersion::Exact(0),
                    "WeaponReportedLost",
                    lost_report(),
                )
                .to_canonical_vec()
        })
        .collect();
    timed_batches(&ledger, &reports, batch)
}

/// Appends `texts` (signed events as a client sends them) in batches of `batch` from two
/// producer threads; prints the CPU per event and returns events/s.
fn timed_batches(ledger: &Ledger, texts: &[Vec<u8>], batch: u64) -> f64 {
    let events = texts.len() as u64;
    let timed = Timed::start();
    std::thread::scope(|s| {
        for half in texts.chunks(texts.len().div_ceil(2)) {
            let ledger = ledger.clone();
            s.spawn(move || {
                for chunk in half.chunks(batch as usize) {
                    let parsed: Vec<_> = chunk
                        .iter()
                        .map(|t| ledger.parse_received(t.clone()).unwrap())
                        .collect();
                    ledger.append_batch(parsed).unwrap();
                }
            });
        }
    });
    let part = timed.stop();
    println!("{}", part.cpu_per_event(events));
    events as f64 / part.seconds
}

/// Builds a ledger of `entries` entries quickly (batches from two producer threads).
fn build_large(path: &std::path::Path, entries: u64) -> Ledger {
    let (ledger, police) = police_ledger(path);
    let batch = 1000u64;
    let batches = entries.saturating_sub(2) / batch;
    let next = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (ledger, police, next) = (ledger.clone(), police.clone(), &next);
            s.spawn(move || {
                loop {
                    let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if b >= batches {
                        break;
                    }
                    let events: Vec<SignedEvent> = (b * batch..(b + 1) * batch)
                        .map(|n| police.weapon_marked(n))
                        .collect();
                    ledger.append_batch(events).unwrap();
                }
            });
        }
    });
    ledger
}

fn main() {
    // `cargo test --all-targets` also runs bench binaries; only `cargo bench` measures.
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench -p armsledger-tests --bench core`");
        return;
    }
    name_rayon_threads();
    let entries = env_u64("ARMSLEDGER_BENCH_ENTRIES", 1_000_000);
    let batch_events = env_u64("ARMSLEDGER_BENCH_BATCH_EVENTS", 100_000);
    let parts = std::env::var("ARMSLEDGER_BENCH_PARTS")
        .unwrap_or_else(|_| "appenders,batch,updates,large".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    println!("# armsledger core benchmark");
    println!(
        "machine: {} cores; load before: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average()
    );

    // The machine's speed drifts within minutes: the reference is measured again just
    // before each figure, and each ratio is given against that reading and, to be
    // conservative, against the fastest reading of the whole run.
    let mut references = Vec::new();
    let mut reference = |label: &str| {
        let rates = reference_verify_rates();
        let dalek_strict = rates.dalek;
        println!(
            "\n(a) before {label}: ed25519 strict verify, one core: dalek verify_strict {dalek_strict:.0}/s (REFERENCE); ledger verify_strict {:.0}/s ({:.2}x), verify_strict_each {:.0}/s ({:.2}x)",
            rates.ledger_one,
            rates.ledger_one / dalek_strict,
            rates.ledger_each,
            rates.ledger_each / dalek_strict,
        );
        references.push(dalek_strict);
        dalek_strict
    };
    if part("appenders") {
        appenders_part(reference("(b)"));
    }
    let mut batch_rate = None;
    if part("batch") {
        let dalek_strict = reference("(b')");
        let rate = batch_ingest_rate(batch_events, 1000);
        println!(
            "\n(b') batch ingest, 2 producers x batches of 1000 pre-signed events: {rate:.0} events/s = {:.2}x (a)",
            rate / dalek_strict
        );
        batch_rate = Some(rate);
    }
    if part("updates") {
        let dalek_strict = reference("(u)");
        let rate = update_ingest_rate(batch_events, 1000);
        println!(
            "\n(u) the same ingest onto weapons already recorded (a loss reported for each, its view read and rewritten): {rate:.0} events/s = {:.2}x (a)",
            rate / dalek_strict
        );
    }
    let mut verify_rate = None;
    if part("large") {
        verify_rate = Some(large_part(entries, &mut reference));
    }
    let after = reference("the end");
    let fastest = references.iter().copied().fold(after, f64::max);
    println!("\nconservative, against the fastest reference of the run ({fastest:.0}/s):");
    if let Some(rate) = batch_rate {
        println!("(b') {:.2}x", rate / fastest);
    }
    if let Some(rate) = verify_rate {
        println!("(c) {:.2}x", rate / fastest);
    }
}

/// (b): durable appends through `Ledger::append` with 1, 16 and 256 appenders.
fn appenders_part(dalek_strict: f64) {
    println!("\n(b) durable appends through Ledger::append (parse + verify + group commit):");
    println!(
        "| appenders | events | appends/s | ratio to (a) | commits | events/commit | p99 latency |"
    );
    println!("|---|---|---|---|---|---|---|");
    let only = env_u64("ARMSLEDGER_BENCH_APPENDERS", 0);
    let mut cpu_lines = Vec::new();
    let row = |label: &str, events: u64, (rate, commits, p99): (f64, u64, Duration)| {
        println!(
            "| {label} | {events} | {rate:.0} | {:.2}x | {commits} | {:.1} | {:.2} ms |",
            rate / dalek_strict,
            events as f64 / commits.max(1) as f64,
            p99.as_secs_f64() * 1e3
        );
    };
    for (appenders, events) in [(1u64, 3_000u64), (16, 30_000), (256, 150_000)] {
        if only != 0 && appenders != only {
            continue;
        }
        let (rate, commits, p99, cpu) = append_rate(appenders, 1, events, appenders * 10_000_000);
        row(&appenders.to_string(), events, (rate, commits, p99));
        cpu_lines.push(format!("{appenders} appenders: {cpu}"));
    }
    if only == 0 || only == 256 {
        // The same 256 concurrent appends carried by two threads.
        let events = 150_000;
        let (rate, commits, p99, cpu) = append_rate(2, 128, events, 4_000_000_000);
        row(
            "256 in flight from 2 threads (`submit`; p99 an upper bound)",
            events,
            (rate, commits, p99),
        );
        cpu_lines.push(format!("256 in flight from 2 threads: {cpu}"));
    }
    println!();
    for line in cpu_lines {
        println!("{line}");
    }
}

/// (c) and (d): a large ledger built, proofs generated on it, then verified from disk.
/// Returns (c)'s entries/s.
fn large_part(entries: u64, reference: &mut dyn FnMut(&str) -> f64) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.redb");
    let t = Instant::now();
    let ledger = build_large(&path, entries);
    let built = ledger.reader().unwrap().tree_size().unwrap();
    println!(
        "\nbuilt a {built}-entry ledger in {:.1} s (batches of 1000; load {})",
        t.elapsed().as_secs_f64(),
        load_average()
    );

    // (d) first, while the ledger is open: proofs from stored subtree hashes.
    let reader = ledger.reader().unwrap();
    let size = reader.tree_size().unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = |bound: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % bound
    };
    let mut time_proofs = |kind: &str, f: &mut dyn FnMut(u64) -> usize| {
        let mut samples = Vec::with_capacity(20_000);
        let mut hashes = 0;
        for _ in 0..20_000 {
            let arg = random(size - 1) + 1;
            let t = Instant::now();
            hashes += f(arg);
            samples.push(t.elapsed());
        }
        samples.sort();
        println!(
            "| {kind} | {size} | {:.1} us | {:.1} us | {:.1} |",
            percentile(&samples, 0.5).as_secs_f64() * 1e6,
            percentile(&samples, 0.99).as_secs_f64() * 1e6,
            hashes as f64 / samples.len() as f64
        );
    };
    println!("\n(d) proof generation (20 000 random proofs each, one reader):");
    println!("| proof | tree size | p50 | p99 | hashes/proof |");
    println!("|---|---|---|---|---|");
    // Twice: the first pass meets the node pages cold (just written by the build, not yet
    // in the store's read cache); the second is a server's steady state.
    for pass in ["first pass", "second pass"] {
        time_proofs(&format!("inclusion, {pass}"), &mut |i| {
            reader.inclusion_proof(i, size).unwrap().len()
        });
        time_proofs(&format!("consistency, {pass}"), &mut |m| {
            reader.consistency_proof(m, size).unwrap().len()
        });
    }
    drop(reader);
    ledger.close();

    // (c) verify the whole file from disk.
    let dalek_strict = reference("(c)");
    let t = Instant::now();
    let report = ledger::verify::verify_file(&path).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let rate = report.entries as f64 / secs;
    println!(
        "\n(c) verify of {} entries: {secs:.1} s = {rate:.0} entries/s = {:.2}x (a) (load after: {})",
        report.entries,
        rate / dalek_strict,
        load_average()
    );
    rate
}
