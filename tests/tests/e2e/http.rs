//! The public log endpoints over real HTTP (server on port 0, real redb file): a client
//! that trusts only the verifier key checks the signed checkpoint, recomputes leaves from
//! the served entries and verifies inclusion and consistency proofs.

use armsledger_tests::*;
use ledger::note::{self, NoteVerifier};
use ledger::{LedgerConfig, merkle};

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

fn get(url: &str) -> (u16, String, String) {
    let mut response = agent().get(url).call().expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.body_mut().read_to_string().expect("a text body");
    (status, content_type, body)
}

fn hashes(v: &serde_json::Value) -> Vec<merkle::Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| merkle::hash_from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_log_endpoints_serve_what_an_auditor_can_check() {
    let clock = ManualClock::at(1_800_000_000_000);
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("http.redb"),
        LedgerConfig::default(),
        clock.clone(),
    );
    let police = register(&ledger, "zz-police", "police", 10);
    for n in 0..30 {
        ledger.append(police.weapon_marked(n)).unwrap();
    }
    let old_size = 1; // genesis was checkpointed at once
    let old_root = merkle::leaf_hash(&ledger.reader().unwrap().entry_bytes(0).unwrap().unwrap());
    // Let the interval pass and wait for the writer's timer to sign the whole log.
    clock.advance(1000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while ledger
        .reader()
        .unwrap()
        .latest_checkpoint()
        .unwrap()
        .unwrap()
        .0
        != 32
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of the whole log"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let server = api::server::start(ledger.clone(), "127.0.0.1:0", 2).unwrap();
    let base = format!("http://{}", server.addr);

    assert_eq!(get(&format!("{base}/healthz")).0, 200);
    let (status, _, vkey) = get(&format!("{base}/v1/log/key"));
    assert_eq!(status, 200);
    let verifier = NoteVerifier::from_vkey(vkey.trim()).unwrap();
    let (status, content_type, signed) = get(&format!("{base}/v1/log/checkpoint"));
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/plain; charset=utf-8")
    );
    let checkpoint = note::open_checkpoint(&verifier, &signed).unwrap();
    assert_eq!(checkpoint.size, 32);

    // Entries come as exact bytes, one per line: the client recomputes every leaf.
    let (status, content_type, lines) = get(&format!("{base}/v1/log/entries?from=0&limit=1000"));
    assert_eq!((status, content_type.as_str()), (200, "application/jsonl"));
    let leaves: Vec<merkle::Hash> = lines
        .lines()
        .map(|l| merkle::leaf_hash(l.as_bytes()))
        .collect();
    assert_eq!(leaves.len(), 32);
    for index in [0u64, 2, 17, 31] {
        let (status, _, body) = get(&format!(
            "{base}/v1/log/proof/inclusion?index={index}&tree_size={}",
            checkpoint.size
        ));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            merkle::hash_from_base64(v["leaf_hash"].as_str().unwrap()).unwrap(),
            leaves[index as usize]
        );
        merkle::verify_inclusion(
            index,
            checkpoint.size,
            &leaves[index as usize],
            &hashes(&v["proof"]),
            &checkpoint.root,
        )
        .unwrap();
    }
    let (status, _, body) = get(&format!(
        "{base}/v1/log/proof/consistency?from={old_size}&to={}",
        checkpoint.size
    ));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    merkle::verify_consistency(
        old_size,
        checkpoint.size,
        &old_root,
        &checkpoint.root,
        &hashes(&v["proof"]),
    )
    .unwrap();

    // Errors are problem+json with a stable code.
    for (url, code) in [
        (
            format!("{base}/v1/log/proof/inclusion?index=40&tree_size=33"),
            "tree_size_beyond_log",
        ),
        (
            format!("{base}/v1/log/proof/inclusion?index=40&tree_size=32"),
            "index_out_of_range",
        ),
        (
            format!("{base}/v1/log/proof/consistency?from=20&to=10"),
            "tree_size_invalid",
        ),
        (
            format!("{base}/v1/log/entries?from=0&limit=5000"),
            "limit_out_of_range",
        ),
        (format!("{base}/v1/log/entries?from=minus"), "invalid_query"),
        (
            format!("{base}/v1/log/entries?from=0&colour=red"),
            "invalid_query",
        ),
        (format!("{base}/v1/nothing"), "not_found"),
    ] {
        let (status, content_type, body) = get(&url);
        assert!(status == 400 || status == 404, "{url}: {status}");
        assert_eq!(content_type, "application/problem+json", "{url}");
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], code, "{url}: {body}");
        assert_eq!(problem["status"], status, "{url}");
    }
    server.stop().unwrap();
    ledger.close();
}
