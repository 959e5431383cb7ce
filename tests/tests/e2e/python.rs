//! A client in another language: Python's `cryptography` reads the PEM key that
//! `armsledger init` wrote, and an event signed with `rfc8785` + `cryptography` is
//! accepted by the ledger. (`./test.sh` installs the two packages.)

use std::process::Command;

use ledger::event::{EventId, EventLimits, SignedEvent};
use ledger::{Ledger, LedgerConfig, SystemClock};

#[test]
fn python_reads_our_keys_and_signs_events_the_ledger_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zz.redb");
    let (code, _, err) = armsledger_tests::cli_init(&db);
    assert_eq!(code, 0, "{err}");

    let event_id = EventId::new_v7().to_string();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/sign_event.py");
    let key = dir.path().join("zz-admin.k1.key.pem");
    let output = Command::new("python3")
        .args([
            script,
            key.to_str().unwrap(),
            "zz-admin",
            "k1",
            "weapon:0192f1c2-7a3b-7c4d-8e5f-6a7b8c9d0e1f",
            &event_id,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the Python client failed (run ./test.sh, which installs cryptography and rfc8785): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reply: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    // Python derived the same public key from our PEM file.
    let pem = std::fs::read_to_string(&key).unwrap();
    let ours = ledger::crypto::public_key_of(&ledger::crypto::signing_key_from_pem(&pem).unwrap());
    assert_eq!(reply["public_key"].as_str().unwrap(), ours.to_base64());

    // And the ledger accepts its event: same canonical bytes, valid signature.
    let text = serde_json::to_vec(&reply["event"]).unwrap();
    let event = SignedEvent::parse(&text, &EventLimits::default()).unwrap();
    let log_key = ledger::crypto::signing_key_from_pem(
        &std::fs::read_to_string(dir.path().join("log.key.pem")).unwrap(),
    )
    .unwrap();
    let ledger =
        Ledger::open(&db, log_key, LedgerConfig::default(), SystemClock::shared()).unwrap();
    let receipt = ledger.append(event).unwrap();
    assert_eq!(receipt.index, 1);
    ledger.verify().unwrap();
}

/// The example client of `examples/python` against a real server: it signs and submits an
/// event and a batch, retries idempotently, and checks the signed checkpoint, its entry's
/// leaf and the inclusion proof with nothing but the verifier key.
#[test]
fn the_python_example_client_submits_and_verifies_its_inclusion() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = armsledger_tests::create_ledger(
        &dir.path().join("py.redb"),
        LedgerConfig::default(),
        SystemClock::shared(),
    );
    let root = armsledger_tests::root_signer();
    let key = dir.path().join("root.key.pem");
    std::fs::write(&key, ledger::crypto::signing_key_to_pem(&root.key).unwrap()).unwrap();
    let server =
        api::server::start(ledger.clone(), armsledger_tests::server_options(dir.path())).unwrap();
    let token = armsledger_tests::make_token(dir.path(), "zz-admin", api::auth::Role::Auditor);
    let vkey = ledger.verifier().unwrap().to_vkey();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/python/client.py");
    let output = Command::new("python3")
        .args([
            script,
            "--url",
            &format!("http://{}", server.addr),
            "--key",
            key.to_str().unwrap(),
            "--actor",
            "zz-admin",
            "--key-id",
            "k1",
            "--vkey",
            &vkey,
            "--token",
            &token,
        ])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the example client failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["included"], true);
    assert_eq!(summary["index"], 1);
    assert_eq!(summary["batch"], serde_json::json!([2, 3]));
    assert_eq!(ledger.reader().unwrap().tree_size().unwrap(), 4);
    server.stop().unwrap();
    ledger.verify().unwrap();
}
