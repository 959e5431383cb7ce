//! Benchmark of `armsledger audit` (issue 6): auditing a weapon with 50 events over HTTP
//! against a real server on this machine (target <= 200 ms), beside a reference measured
//! in the same run: one plain GET of the weapon's history (what any client pays).
//!
//! Run: `cargo bench -p armsledger-tests --bench audit`.
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

use std::time::{Duration, Instant};

use armsledger_tests::*;
use ledger::event::ExpectedVersion;
use ledger::json::Json;
use ledger::{LedgerConfig, SystemClock};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `cargo bench -p armsledger-tests --bench audit`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("audit.redb"),
        LedgerConfig::default(),
        SystemClock::shared(),
    );
    let police = register(&ledger, "be-police", "police", 10);
    // Other weapons around it, so the tree is not trivially small.
    for chunk in (0..10_000u64).collect::<Vec<_>>().chunks(1000) {
        ledger
            .append_batch(chunk.iter().map(|n| police.weapon_marked(*n)).collect())
            .unwrap();
    }
    let weapon = format!("weapon:{}", uuid_from(1));
    for n in 1..50u64 {
        let evidence = object(&[
            ("subject", Json::str(format!("Inspection report {n}"))),
            (
                "evidence",
                Json::Array(vec![Json::Object(object(&[
                    ("sha256", Json::str(format!("{:064x}", n))),
                    ("description", Json::str("Scanned report")),
                ]))]),
            ),
        ]);
        ledger
            .append(police.event(&weapon, ExpectedVersion::Any, "EvidenceAttached", evidence))
            .unwrap();
    }
    let size = ledger.reader().unwrap().tree_size().unwrap();
    wait_for_checkpoint(&ledger);
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let base = format!("http://{}", server.addr);
    let token = make_token(dir.path(), "zz-admin", api::auth::Role::Auditor);
    let vkey = ledger.verifier().unwrap().to_vkey();
    let id = uuid_from(1);
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().build());

    let mut plain = Vec::new();
    let mut audits = Vec::new();
    for round in 0..30 {
        let t = Instant::now();
        let body = agent
            .get(&format!("{base}/v1/weapons/{id}/history"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap();
        plain.push(t.elapsed());
        assert!(body.len() > 1000);
        let state = dir.path().join(format!("state-{}.json", round % 2));
        let t = Instant::now();
        let report = api::audit::audit_weapon(&base, &token, &vkey, &id, &state).unwrap();
        audits.push(t.elapsed());
        assert_eq!(report.entries, 50);
    }
    plain.sort();
    audits.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("# armsledger audit benchmark ({size} entries in the log)");
    println!("| | p50 | p90 | max | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| GET /v1/weapons/{{id}}/history (reference) | {:.1} ms | {:.1} ms | {:.1} ms | |",
        ms(percentile(&plain, 0.5)),
        ms(percentile(&plain, 0.9)),
        ms(*plain.last().unwrap())
    );
    println!(
        "| audit of a weapon with 50 events | {:.1} ms | {:.1} ms | {:.1} ms | <= 200 ms |",
        ms(percentile(&audits, 0.5)),
        ms(percentile(&audits, 0.9)),
        ms(*audits.last().unwrap())
    );
    server.stop().unwrap();
}
