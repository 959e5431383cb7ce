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
    get_as(url, None)
}

/// A GET with a bearer token.
pub fn get_as(url: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = agent().get(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().expect("the server answers");
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
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
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

    // Entries come as exact bytes, one per line: the client recomputes every leaf. They
    // hold confidential content: an auditor reads them, nobody else.
    let auditor = make_token(dir.path(), "zz-admin", api::auth::Role::Auditor);
    let authority = make_token(dir.path(), "zz-police", api::auth::Role::Authority);
    let entries_url = format!("{base}/v1/log/entries?from=0&limit=1000");
    assert_eq!(get(&entries_url).0, 401);
    assert_eq!(get_as(&entries_url, Some(&authority)).0, 403);
    assert_eq!(get_as(&entries_url, Some("alt_not-a-token")).0, 401);
    let (status, content_type, lines) = get_as(&entries_url, Some(&auditor));
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
        let (status, content_type, body) = get_as(&url, Some(&auditor));
        assert!(status == 400 || status == 404, "{url}: {status}");
        assert_eq!(content_type, "application/problem+json", "{url}");
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], code, "{url}: {body}");
        assert_eq!(problem["status"], status, "{url}");
    }
    server.stop().unwrap();
    ledger.close();
}

fn post(url: &str, body: &[u8]) -> (u16, serde_json::Value, Option<String>) {
    let mut response = agent()
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .expect("the server answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response.body_mut().read_to_string().expect("a text body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        retry_after,
    )
}

#[test]
fn events_are_submitted_over_http_with_typed_answers() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("submit.redb"),
        LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let police = register(&ledger, "zz-police", "police", 10);
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let url = format!("http://{}/v1/events", server.addr);

    // Durable, then the receipt: index, stream version, leaf hash.
    let event = police.weapon_marked(1);
    let (status, receipt, _) = post(&url, &event.to_canonical_vec());
    assert_eq!(status, 201, "{receipt}");
    assert_eq!(
        (
            receipt["index"].as_u64(),
            receipt["stream_version"].as_u64()
        ),
        (Some(2), Some(0))
    );
    let stored = ledger.reader().unwrap().entry_bytes(2).unwrap().unwrap();
    assert_eq!(
        merkle::hash_from_base64(receipt["leaf_hash"].as_str().unwrap()).unwrap(),
        merkle::leaf_hash(&stored)
    );
    // The same event again: the original receipt, 200.
    let (status, again, _) = post(&url, &event.to_canonical_vec());
    assert_eq!(
        (
            status,
            again["index"].as_u64(),
            again["duplicate"].as_bool()
        ),
        (200, Some(2), Some(true))
    );

    // A version conflict says where the stream stands.
    let stream = event.envelope().stream.to_string();
    let stale = police.event(
        &stream,
        ledger::event::ExpectedVersion::NoStream,
        "WeaponReportedLost",
        Default::default(),
    );
    let (status, problem, _) = post(&url, &stale.to_canonical_vec());
    assert_eq!(
        (
            status,
            problem["code"].as_str(),
            problem["current_version"].as_u64()
        ),
        (409, Some("wrong_expected_version"), Some(0))
    );

    // Every other rejection is 422 with its code; an oversized body is 413.
    let forged = police
        .envelope(
            &format!("weapon:{}", uuid_from(2)),
            ledger::event::ExpectedVersion::NoStream,
            "WeaponMarked",
            Default::default(),
        )
        .sign(&test_key(666));
    let mut big = police.weapon_marked(3).envelope().clone();
    big.payload
        .insert("notes", ledger::json::Json::str("x".repeat(70_000)));
    for (body, want_status, want_code) in [
        (b"{\"event_id\":".to_vec(), 422, "malformed_json"),
        (b"{\"a\": 1.5}".to_vec(), 422, "float_not_allowed"),
        (forged.to_canonical_vec(), 422, "signature_invalid"),
        (
            Signer::new("zz-nobody", "k1", test_key(5))
                .weapon_marked(4)
                .to_canonical_vec(),
            422,
            "unknown_actor",
        ),
        (
            big.sign(&police.key).to_canonical_vec(),
            413,
            "event_too_large",
        ),
    ] {
        let (status, problem, _) = post(&url, &body);
        assert_eq!(
            (status, problem["code"].as_str()),
            (want_status, Some(want_code)),
            "{problem}"
        );
    }
    assert_eq!(
        ledger.reader().unwrap().tree_size().unwrap(),
        3,
        "nothing refused was appended"
    );
    // What happened shows in /metrics, in Prometheus text.
    let (status, content_type, text) = get(&format!("http://{}/metrics", server.addr));
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    for line in [
        "armsledger_rejections_total{code=\"wrong_expected_version\"} 1",
        "armsledger_rejections_total{code=\"signature_invalid\"} 1",
        "armsledger_append_seconds_count 2",
        "armsledger_tree_size 3",
        "# TYPE armsledger_commits_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
    let key_tables: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("armsledger_verification_key_tables "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no key tables gauge in:\n{text}"));
    assert!(key_tables <= 32, "{key_tables}");
    server.stop().unwrap();
    ledger.verify().unwrap();
}

/// Once `stop` returns, the server holds the ledger no more: the caller's last handle
/// closes the file, and it opens again at once (`armsledger serve` stopped, then another
/// command on the same file). Actix acknowledges a worker's stop before that worker's
/// thread drops its copy of the app, so this is a race the stop must wait out.
#[test]
fn a_stopped_server_lets_go_of_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stop.redb");
    create_ledger(
        &path,
        LedgerConfig::default(),
        ledger::SystemClock::shared(),
    )
    .close();
    for round in 0..20 {
        let ledger = open_ledger(&path);
        let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
        let (status, _, _) = get(&format!("http://{}/healthz", server.addr));
        assert_eq!(status, 200);
        server.stop().unwrap();
        ledger.close();
        // What `policy diff --db` and every other command do first.
        let reopened = try_open_ledger(&path);
        assert!(reopened.is_ok(), "round {round}: {:?}", reopened.err());
    }
}
