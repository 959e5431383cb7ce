//! The policy host on real compiled modules: the ABI it pins, the modules it refuses, the
//! hostile ones it contains, the example policies' fixtures, determinism and the cache.

use armsledger_tests::policy::*;
use ledger::policy::{PolicyOutcome, PolicyRunner, PolicyVerdict};
use plugins::{ABI_V1_EXPORTS, HostLimits, PolicyHost};

const GOLDEN_ABI: &str = include_str!("../../golden/policy-abi-v1.txt");
const ALLOW: &str = r#"{"outcome":"allow","reasons":[]}"#;

fn host() -> std::sync::Arc<PolicyHost> {
    PolicyHost::new(HostLimits::default(), None).unwrap()
}

const INPUT: &[u8] = br#"{"abi":1,"now":"2026-01-01T00:00:00Z","event":{},"context":{},"data":{}}"#;

/// The failure a verdict names (the `rule` of its `policy_error` reason).
fn failure(verdict: &PolicyVerdict) -> &str {
    assert_eq!(verdict.outcome, PolicyOutcome::Deny, "{verdict:?}");
    let reason = &verdict.reasons[0];
    assert_eq!(reason.code, "policy_error", "{verdict:?}");
    &reason.rule
}

#[test]
fn abi_v1_is_pinned_by_its_golden_table_and_documented() {
    let rendered: String = ABI_V1_EXPORTS
        .iter()
        .map(|e| {
            format!(
                "{}({}) -> ({})\n",
                e.name,
                e.params.join(", "),
                e.results.join(", ")
            )
        })
        .collect();
    assert_eq!(
        rendered, GOLDEN_ABI,
        "ABI v1 changed: an ABI never changes; a new one gets a new number"
    );
    assert_eq!(ledger::policy::POLICY_ABI_VERSION, 1);
    let doc = std::fs::read_to_string(project_root().join("plugins/ABI.md")).unwrap();
    for export in &ABI_V1_EXPORTS {
        assert!(
            doc.contains(export.name),
            "ABI.md does not document {}",
            export.name
        );
    }
    // A module written by hand from ABI.md alone is accepted, with its metadata.
    let metadata = host().inspect(&wat_allow()).unwrap();
    assert_eq!(metadata.name, "hand-written");
    assert_eq!(metadata.governs.len(), 3);
    let verdict = host().evaluate_bytes(&wat_allow(), INPUT);
    assert_eq!(verdict.outcome, PolicyOutcome::Allow, "{verdict:?}");
    assert!(verdict.fuel_used > 0);
}

#[test]
fn modules_that_break_the_abi_are_refused_at_install_with_what_is_wrong() {
    let base_exports = r#"
      (memory (export "memory") 1)
      (func (export "policy_alloc") (param i32) (result i32) (i32.const 0))
      (func (export "policy_free") (param i32 i32))
      (func (export "policy_evaluate") (param i32 i32) (result i64) (i64.const 0))
      (func (export "policy_metadata") (result i64) (i64.const 0))"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a WASI import",
            wat_policy(
                ALLOW,
                "(call $out)",
                r#"(func $w (import "wasi_snapshot_preview1" "fd_write") (param i32 i32 i32 i32) (result i32))"#,
            ),
            "imports wasi_snapshot_preview1::fd_write",
        ),
        (
            "a missing export",
            wat_module(&format!(
                "(module {})",
                base_exports.replace("(func (export \"policy_free\") (param i32 i32))", "")
            )),
            "does not export `policy_abi_version`",
        ),
        (
            "a wrong signature",
            wat_module(&format!(
                "(module {base_exports} (func (export \"policy_abi_version\") (result i64) (i64.const 1)))"
            )),
            "`policy_abi_version` has the signature () -> (i64); ABI v1 requires () -> (i32)",
        ),
        (
            "another ABI version",
            wat_module(&format!(
                "(module {base_exports} (func (export \"policy_abi_version\") (result i32) (i32.const 2)))"
            )),
            "implements policy ABI version 2",
        ),
        (
            "no memory",
            wat_module(
                r#"(module (func (export "policy_abi_version") (result i32) (i32.const 1)))"#,
            ),
            "does not export its `memory`",
        ),
        (
            "metadata that is not JSON",
            wat_module(&format!(
                "(module {} (func (export \"policy_abi_version\") (result i32) (i32.const 1)))",
                base_exports.replace(
                    "(func (export \"policy_metadata\") (result i64) (i64.const 0))",
                    "(func (export \"policy_metadata\") (result i64) (i64.const 4))"
                )
            )),
            "policy_metadata is not",
        ),
        (
            "bytes that are not WebAssembly",
            b"\0asm garbage".to_vec(),
            "not a valid WebAssembly module",
        ),
    ];
    let host = host();
    for (what, module, expected) in cases {
        let err = host.inspect(&module).expect_err(what);
        assert!(err.contains(expected), "{what}: {err}");
    }
    // The host goes on: a good module still installs.
    host.inspect(&wat_allow()).unwrap();
}

#[test]
fn hostile_policies_are_contained_and_the_host_goes_on() {
    let limits = HostLimits {
        fuel_per_evaluation: 1_000_000,
        ..HostLimits::default()
    };
    let host = PolicyHost::new(limits, None).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "an infinite loop",
            wat_policy(ALLOW, "(loop $l (br $l)) (call $out)", ""),
            "out_of_fuel",
        ),
        (
            "a memory bomb",
            wat_policy(
                ALLOW,
                "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) (call $out)",
                "",
            ),
            "memory_limit",
        ),
        (
            "deep recursion",
            wat_policy(
                ALLOW,
                "(drop (call $deeper (i32.const 0))) (call $out)",
                "(func $deeper (param i32) (result i32) (call $deeper (i32.add (local.get 0) (i32.const 1))))",
            ),
            "stack_overflow",
        ),
        (
            "an output pointer out of bounds",
            wat_policy(ALLOW, "(i64.const 0xffff000000000040)", ""),
            "output_out_of_bounds",
        ),
        (
            "a 2 GiB output length",
            wat_policy(ALLOW, "(i64.const 0x80000000)", ""),
            "output_too_large",
        ),
        ("garbage JSON", wat_answering("{not json"), "bad_output"),
        (
            "an unknown outcome",
            wat_answering(r#"{"outcome":"maybe"}"#),
            "bad_output",
        ),
        ("a trap", wat_policy(ALLOW, "(unreachable)", ""), "trap"),
    ];
    for (what, module, expected) in cases {
        // Each passes the install checks: only running it shows what it does.
        host.inspect(&module)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let started = std::time::Instant::now();
        let verdict = host.evaluate_bytes(&module, INPUT);
        assert_eq!(failure(&verdict), expected, "{what}: {verdict:?}");
        assert!(!verdict.reasons[0].message.is_empty());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{what}"
        );
        // A fresh instance of a good module still decides.
        let good = host.evaluate_bytes(&wat_allow(), INPUT);
        assert_eq!(good.outcome, PolicyOutcome::Allow, "after {what}");
    }

    // The wall-clock backstop stops what fuel would let run for long.
    let patient = PolicyHost::new(
        HostLimits {
            fuel_per_evaluation: u64::MAX / 4,
            deadline_ms: 20,
            ..HostLimits::default()
        },
        None,
    )
    .unwrap();
    let verdict = patient.evaluate_bytes(
        &wat_policy(ALLOW, "(loop $l (br $l)) (call $out)", ""),
        INPUT,
    );
    assert_eq!(failure(&verdict), "deadline");
}

#[test]
fn every_example_policy_passes_its_fixtures() {
    let host = host();
    for name in ["embargo", "euc", "thresholds", "reexport", "broker"] {
        let module = policy_wasm(name);
        let metadata = host
            .inspect(&module)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!metadata.governs.is_empty());
        let data = policy_data(name).map(|d| serde_json::from_slice(&d).unwrap());
        let results = plugins::run_fixtures(
            &host,
            &module,
            &policy_dir(name).join("fixtures"),
            data.as_ref(),
        )
        .unwrap();
        assert!(results.len() >= 5, "{name}: {} fixtures", results.len());
        for result in &results {
            assert!(
                result.failure.is_none(),
                "{name}: {}: {}",
                result.name,
                result.failure.as_deref().unwrap_or_default()
            );
        }
        assert!(
            std::fs::metadata(policy_dir(name).join("README.md")).is_ok(),
            "{name} has no README"
        );
    }
}

#[test]
fn the_same_input_gives_the_same_decision_and_fuel_and_the_cache_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let module = policy_wasm("embargo");
    let input = std::fs::read(
        policy_dir("embargo").join("fixtures/iran-2010-is-under-the-unscr-1929-embargo.json"),
    )
    .unwrap();
    let input: serde_json::Value = serde_json::from_slice(&input).unwrap();
    let input = serde_json::to_vec(&input["input"]).unwrap();

    let first = PolicyHost::new(HostLimits::default(), Some(dir.path())).unwrap();
    let a = first.evaluate_bytes(&module, &input);
    let b = first.evaluate_bytes(&module, &input);
    assert_eq!(a, b);
    assert_eq!(a.outcome, PolicyOutcome::Deny);
    drop(first);
    let cached: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(cached.len(), 1, "one compiled module in the cache");

    // A new host loads the compiled module from the cache and decides the same.
    let second = PolicyHost::new(HostLimits::default(), Some(dir.path())).unwrap();
    assert_eq!(second.evaluate_bytes(&module, &input), a);

    // A damaged cache file is compiled again, not loaded.
    let file = cached[0].as_ref().unwrap().path();
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let third = PolicyHost::new(HostLimits::default(), Some(dir.path())).unwrap();
    assert_eq!(third.evaluate_bytes(&module, &input), a);
}

/// A policy's heap starts inside the memory it starts with (the SDK's layout); an input
/// far larger than that grows the memory and is judged exactly as the small one.
#[test]
fn an_input_larger_than_a_policys_initial_memory_is_judged_the_same() {
    let host = host();
    let module = policy_wasm("embargo");
    let fixture = std::fs::read(
        policy_dir("embargo").join("fixtures/iran-2010-is-under-the-unscr-1929-embargo.json"),
    )
    .unwrap();
    let fixture: serde_json::Value = serde_json::from_slice(&fixture).unwrap();
    let small = fixture["input"].clone();
    let mut large = small.clone();
    // 512 KiB of data the policy does not read: four times its initial memory.
    large["data"] = serde_json::json!({ "padding": "x".repeat(512 * 1024) });
    let judged = |input: &serde_json::Value| {
        let verdict = host.evaluate_bytes(&module, &serde_json::to_vec(input).unwrap());
        (verdict.outcome, verdict.reasons)
    };
    let (outcome, reasons) = judged(&small);
    assert_eq!(outcome, PolicyOutcome::Deny);
    assert_eq!(judged(&large), (outcome, reasons));
}
