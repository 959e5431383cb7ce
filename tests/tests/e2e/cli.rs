//! The `armsledger` command line, run in-process with the real argument parser.

use armsledger_tests::{cli as run, cli_init, server_options};

#[test]
fn init_creates_a_ledger_that_verifies_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zz.redb");
    let db_arg = db.to_str().unwrap();
    let (code, out, err) = cli_init(&db);
    assert_eq!(code, 0, "{err}");
    let vkey_line = out
        .lines()
        .find(|l| l.starts_with("verifier key:"))
        .expect("prints the vkey");
    let vkey = vkey_line.split_whitespace().last().unwrap();
    let verifier = ledger::note::NoteVerifier::from_vkey(vkey).expect("a valid C2SP vkey");
    assert_eq!(verifier.name(), armsledger_tests::ORIGIN);

    // The private keys are PKCS#8 PEM files readable only by their owner.
    let log_pem = std::fs::read_to_string(dir.path().join("log.key.pem")).unwrap();
    let log_key = ledger::crypto::signing_key_from_pem(&log_pem).unwrap();
    assert_eq!(ledger::crypto::public_key_of(&log_key), *verifier.key());
    let root_pem = dir.path().join("zz-admin.k1.key.pem");
    assert!(
        ledger::crypto::signing_key_from_pem(&std::fs::read_to_string(&root_pem).unwrap()).is_ok()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&root_pem).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let (code, out, err) = run(&["verify", "--db", db_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok: 1 entries"), "{out}");
    assert!(out.contains(vkey), "{out}");
    let (code, out, err) = run(&["verify", "--db", db_arg, "--vkey", vkey]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("matches --vkey"), "{out}");
    // Another log's key: the file is not the log the auditor was told about.
    let other = ledger::note::NoteVerifier::new(
        armsledger_tests::ORIGIN,
        ledger::crypto::public_key_of(&ledger::crypto::generate_signing_key().unwrap()),
    )
    .unwrap();
    let (code, _, err) = run(&["verify", "--db", db_arg, "--vkey", &other.to_vkey()]);
    assert_eq!(code, 1);
    assert!(err.contains("untrusted_log_key"), "{err}");
    let (code, _, err) = run(&["verify", "--db", db_arg, "--vkey", "not-a-vkey"]);
    assert_eq!(code, 2);
    assert!(err.contains("--vkey"), "{err}");

    // The projections come back from the log alone, and verify agrees with them.
    let (code, out, err) = run(&["rebuild", "--db", db_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("rebuilt 0 views from 0 entries"), "{out}");
    let (code, _, err) = run(&["rebuild", "--db", "no-such-file.redb"]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");

    let (code, _, err) = run(&[
        "init",
        "--db",
        db_arg,
        "--origin",
        "armsledger.test/zz",
        "--jurisdiction",
        "BE",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn verify_exits_non_zero_and_names_the_problem() {
    let (code, _, err) = run(&["verify", "--db", "/nonexistent/ledger.redb"]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("damaged.redb");
    std::fs::write(&db, b"this is not a ledger").unwrap();
    let (code, _, err) = run(&["verify", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("verify failed") && err.contains("storage_integrity"),
        "{err}"
    );

    let (code, _, err) = run(&["verify"]);
    assert_eq!(code, 2);
    assert!(err.contains("--db"), "{err}");
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Usage") && out.contains("verify") && out.contains("init"),
        "{out}"
    );
}

#[test]
fn serve_explains_what_is_missing() {
    let (code, _, err) = run(&[
        "serve",
        "--db",
        "/nonexistent/zz.redb",
        "--log-key",
        "/nonexistent/log.key.pem",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("armsledger init"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zz.redb");
    let db_arg = db.to_str().unwrap();
    assert_eq!(cli_init(&db).0, 0);
    let not_a_key = dir.path().join("notes.txt");
    std::fs::write(&not_a_key, "-----BEGIN NOTHING-----\n").unwrap();
    let (code, _, err) = run(&[
        "serve",
        "--db",
        db_arg,
        "--log-key",
        not_a_key.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not a PKCS#8 ed25519 key"), "{err}");
}

/// `armsledger demo` builds a ledger that verifies and serves real data at once: the
/// README's first command (`serve --demo`) runs exactly this, then serves it.
#[test]
fn the_demo_ledger_verifies_and_serves_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let (code, out, err) = run(&[
        "demo",
        "--dir",
        demo_dir.to_str().unwrap(),
        "--weapons",
        "400",
    ]);
    assert_eq!(code, 0, "{err}");
    let token_of = |who: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {who}: ")))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .to_owned()
    };
    let db = demo_dir.join("demo.redb");
    let (code, report, err) = run(&["verify", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(report.contains("13 authorities"), "{report}");
    // A second build in the same place is refused, nothing is overwritten.
    assert_eq!(run(&["demo", "--dir", demo_dir.to_str().unwrap()]).0, 2);

    let pem = std::fs::read_to_string(demo_dir.join("keys/log.key.pem")).unwrap();
    let ledger = ledger::Ledger::open(
        &db,
        ledger::crypto::signing_key_from_pem(&pem).unwrap(),
        ledger::LedgerConfig::default(),
        ledger::SystemClock::shared(),
    )
    .unwrap();
    let mut options = server_options(&demo_dir);
    options.token_file = api::auth::default_token_file(&db);
    options.reads.trace_deadline_days.insert("BE".into(), 30);
    let server = api::server::start(ledger, options).unwrap();
    let get = |path: &str, token: &str| -> serde_json::Value {
        let mut response = ureq::get(&format!("http://{}{path}", server.addr))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    };
    // Belgium sees its three trace requests; the one nobody answered is overdue.
    let traces = get("/v1/trace-requests", &token_of("be-licensing"));
    let traces = traces["trace_requests"].as_array().unwrap();
    assert_eq!(traces.len(), 3, "{traces:?}");
    let open: Vec<_> = traces.iter().filter(|t| t["overdue"] == true).collect();
    assert_eq!(open.len(), 1, "{traces:?}");
    assert_eq!(open[0]["id"], "FR-TR-2026-0007");
    // Kenya verifies its certificate; Colombia finds the diverted rifles by serial.
    let verdict = ureq::post(&format!(
        "http://{}/v1/eucs/KE-EUC-2024-0007/verify?on=2024-06-01",
        server.addr
    ))
    .header("Authorization", &format!("Bearer {}", token_of("ke-mod")))
    .send_empty()
    .unwrap()
    .body_mut()
    .read_to_string()
    .unwrap();
    let verdict: serde_json::Value = serde_json::from_str(&verdict).unwrap();
    assert_eq!(verdict["authentic"], true, "{verdict}");
    assert_eq!(verdict["delivery_verified"], true, "{verdict}");
    let found = get("/v1/weapons?serial=fn2020-000200", &token_of("co-police"));
    assert_eq!(found["weapons"][0]["status"], "seized", "{found}");
    server.stop().unwrap();
}

/// `keygen` makes a key the ledger can register; `submit` signs an event file with a key
/// file and sends it, one event or a batch, and reports a refusal with its code.
#[test]
fn keygen_and_submit_sign_and_send_event_files() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("new.pem");
    let (code, public, err) = run(&["keygen", "--out", key_file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let pem = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(
        ledger::crypto::public_key_of(&ledger::crypto::signing_key_from_pem(&pem).unwrap())
            .to_base64(),
        public.trim()
    );
    assert_eq!(run(&["keygen", "--out", key_file.to_str().unwrap()]).0, 2);

    let ledger = armsledger_tests::create_ledger(
        &dir.path().join("submit.redb"),
        ledger::LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let root_key = dir.path().join("root.pem");
    let root = armsledger_tests::root_signer();
    std::fs::write(
        &root_key,
        ledger::crypto::signing_key_to_pem(&root.key).unwrap(),
    )
    .unwrap();
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let url = format!("http://{}", server.addr);
    let legacy = |n: u32| {
        serde_json::json!({
            "stream": format!("weapon:{}", armsledger_tests::uuid_from(u64::from(n))),
            "expected_version": "none",
            "type": "LegacyRecordImported", "type_version": 1,
            "payload": {
                "source_kind": "paper_register", "source": "Register of a closed dealer",
                "original_reference": format!("line {n}"),
                "known": { "serial_number": format!("AB-{n:05}") }
            }
        })
    };
    let submit = |event: serde_json::Value| {
        let file = dir.path().join("event.json");
        std::fs::write(&file, serde_json::to_vec(&event).unwrap()).unwrap();
        run(&[
            "submit",
            "--url",
            &url,
            "--key",
            root_key.to_str().unwrap(),
            "--actor",
            "zz-admin",
            "--event",
            file.to_str().unwrap(),
        ])
    };
    let (code, out, err) = submit(legacy(1));
    assert_eq!(code, 0, "{err}");
    let receipt: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(receipt["index"], 1);
    let (code, out, err) = submit(serde_json::json!([legacy(2), legacy(3)]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"receipts\""), "{out}");
    let mut unknown = legacy(4);
    unknown["type"] = "WeaponTeleported".into();
    let (code, _, err) = submit(unknown);
    assert_eq!(code, 1);
    assert!(err.contains("unknown_event_type"), "{err}");
    assert_eq!(ledger.reader().unwrap().tree_size().unwrap(), 4);
    server.stop().unwrap();
}

/// `serve` resolves its settings before it starts: a missing or mistyped configuration is
/// refused with a message that says what to do, and nothing listens.
#[test]
fn serve_refuses_a_configuration_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["serve"]);
    assert_eq!(code, 2);
    assert!(err.contains("--db"), "{err}");
    let (code, _, err) = run(&["serve", "--config", "no-such.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("reading the configuration"), "{err}");
    let typo = dir.path().join("armsledger.toml");
    std::fs::write(&typo, "db = \"x.redb\"\nlisten_on = \"0.0.0.0:1\"\n").unwrap();
    let (code, _, err) = run(&["serve", "--config", typo.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("listen_on"), "{err}");
    let file = dir.path().join("ok.toml");
    std::fs::write(
        &file,
        "db = \"missing.redb\"\nlog_key = \"log.key.pem\"\n[trace_deadline_days]\nBE = 30\n",
    )
    .unwrap();
    let (code, _, err) = run(&["serve", "--config", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.redb does not exist"), "{err}");
}
