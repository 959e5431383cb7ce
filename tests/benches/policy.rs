//! Benchmark of the policy host (issue 5): one evaluation of the example embargo policy in
//! a fresh instance, p50 and p99 (targets: p50 <= 25 us, p99 <= 100 us), beside the same
//! rule compiled natively and run on the same input bytes in the same run; and the time
//! to install a module (compile and write the cache) and to load it from the cache.
//!
//! Run: `./policies/build.sh && cargo bench -p armsledger-tests --bench policy`
//! (`ARMSLEDGER_BENCH_EVALUATIONS`, default 20,000 per case; `ARMSLEDGER_BENCH_CASE=allow` or
//! `deny` runs one case only, e.g. under `perf stat -e page-faults`).
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

use std::time::{Duration, Instant};

use armsledger_tests::policy::{policy_dir, policy_wasm};
use armsledger_tests::*;
use ledger::policy::{PolicyOutcome, PolicyRunner};
use plugins::{HostLimits, PolicyHost};

/// A fixture's input, as the bytes the host would hand the policy.
fn fixture_input(name: &str) -> Vec<u8> {
    let text = std::fs::read(policy_dir("embargo").join("fixtures").join(name)).unwrap();
    let fixture: serde_json::Value = serde_json::from_slice(&text).unwrap();
    serde_json::to_vec(&fixture["input"]).unwrap()
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench -p armsledger-tests --bench policy`");
        return;
    }
    let evaluations = env_u64("ARMSLEDGER_BENCH_EVALUATIONS", 20_000) as usize;
    let module = policy_wasm("embargo");
    let host = PolicyHost::new(HostLimits::default(), None).unwrap();
    // As the ledger runs it: by its hash, compiled once (the bytes are only read on the
    // first call).
    let sha256 = ledger::policy::sha256_hex(&module);
    let load = || Ok(module.clone());
    let run = |input: &[u8]| {
        host.run(
            &ledger::policy::ModuleRef {
                sha256: &sha256,
                load: &load,
            },
            input,
        )
    };
    let cases = [
        (
            "allow",
            "somalia-2024-government-after-the-2023-lifting.json",
        ),
        (
            "deny",
            "somalia-2024-commercial-end-user-is-still-embargoed.json",
        ),
    ];
    println!("# armsledger policy host benchmark");
    println!("load average before: {}", load_average());
    println!(
        "module: policy_embargo.wasm, {} bytes; {evaluations} evaluations per case, interleaved",
        module.len()
    );
    println!();
    println!(
        "| case | input bytes | native p50 | native p99 | wasm p50 | wasm p99 | wasm/native (p50) | fuel | targets |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (what, file) in cases {
        if std::env::var("ARMSLEDGER_BENCH_CASE").is_ok_and(|only| only != what) {
            continue;
        }
        let input = fixture_input(file);
        let expected = run(&input);
        assert_eq!(
            expected.outcome,
            if what == "allow" {
                PolicyOutcome::Allow
            } else {
                PolicyOutcome::Deny
            }
        );
        // Warm both paths (the module is compiled on the first call).
        for _ in 0..1000 {
            run(&input);
            native(&input);
        }
        let mut native_times = Vec::with_capacity(evaluations);
        let mut wasm_times = Vec::with_capacity(evaluations);
        for _ in 0..evaluations {
            let t = Instant::now();
            let decision = native(&input);
            native_times.push(t.elapsed());
            assert!(!decision.is_null());
            let t = Instant::now();
            let verdict = run(&input);
            wasm_times.push(t.elapsed());
            assert_eq!(verdict.outcome, expected.outcome);
        }
        native_times.sort();
        wasm_times.sort();
        let (n50, n99) = (
            percentile(&native_times, 0.5),
            percentile(&native_times, 0.99),
        );
        let (w50, w99) = (percentile(&wasm_times, 0.5), percentile(&wasm_times, 0.99));
        println!(
            "| {what} | {} | {:.1} us | {:.1} us | {:.1} us | {:.1} us | {:.1}x | {} | p50 <= 25 us, p99 <= 100 us |",
            input.len(),
            us(n50),
            us(n99),
            us(w50),
            us(w99),
            w50.as_secs_f64() / n50.as_secs_f64(),
            expected.fuel_used
        );
    }

    // The fixed cost of a fresh instance: a hand-written module that reads nothing and
    // answers a constant.
    let trivial = armsledger_tests::policy::wat_allow();
    let input = fixture_input(cases[0].1);
    let mut trivial_times = Vec::with_capacity(evaluations);
    for _ in 0..evaluations {
        let t = Instant::now();
        let verdict = host.evaluate_bytes(&trivial, &input);
        trivial_times.push(t.elapsed());
        assert_eq!(verdict.outcome, PolicyOutcome::Allow);
    }
    trivial_times.sort();
    println!(
        "| fixed cost (a module that answers a constant; includes hashing its {} bytes) | {} | | | {:.1} us | {:.1} us | | | |",
        trivial.len(),
        input.len(),
        us(percentile(&trivial_times, 0.5)),
        us(percentile(&trivial_times, 0.99)),
    );

    // Install (compile + write the cache) and load from the cache, each in a new host.
    let mut installs = Vec::new();
    let mut loads = Vec::new();
    for _ in 0..10 {
        let cache = tempfile::tempdir().unwrap();
        let fresh = PolicyHost::new(HostLimits::default(), Some(cache.path())).unwrap();
        let t = Instant::now();
        fresh.prepare(&module).unwrap();
        installs.push(t.elapsed());
        drop(fresh);
        let restarted = PolicyHost::new(HostLimits::default(), Some(cache.path())).unwrap();
        let t = Instant::now();
        restarted.prepare(&module).unwrap();
        loads.push(t.elapsed());
    }
    installs.sort();
    loads.sort();
    println!();
    println!("| module | p50 | max |");
    println!("|---|---|---|");
    println!(
        "| install: compile + cache ({} bytes) | {:.1} ms | {:.1} ms |",
        module.len(),
        installs[installs.len() / 2].as_secs_f64() * 1e3,
        installs.last().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "| load from the cache (new host) | {:.2} ms | {:.2} ms |",
        loads[loads.len() / 2].as_secs_f64() * 1e3,
        loads.last().unwrap().as_secs_f64() * 1e3
    );
    println!("load average after: {}", load_average());
}

/// The same rule compiled natively, on the same input bytes: parse, decide, write the
/// decision, and read it back as the host does.
fn native(input: &[u8]) -> serde_json::Value {
    let output = policy_sdk::evaluate_json(input, policy_embargo::evaluate);
    serde_json::from_slice(&output).unwrap()
}
