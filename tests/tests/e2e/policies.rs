//! Policies in the ledger: installed, activated and retired by events; run on every event
//! they govern for a State involved; decisions recorded with the entry and replayable;
//! requirements holding an event until met; refusals over HTTP with the decisions.

use std::sync::Arc;

use armsledger_tests::policy::*;
use armsledger_tests::script::{Acts, Deal, Script, stream};
use armsledger_tests::*;
use ledger::policy::{PolicyDecision, PolicyOutcome, PolicyRunner};
use plugins::{HostLimits, PolicyHost};
use serde_json::json;

const TO_IRAN: Deal = Deal {
    exporter: "FN Herstal SA",
    exporting_state: "BE",
    consignee: "Defence Industries Organisation",
    importing_state: "IR",
    end_user: "Ministry of Defence",
    quantity: 100,
};

const TO_KENYA: Deal = Deal {
    exporter: "FN Herstal SA",
    exporting_state: "BE",
    consignee: "Kenya Defence Forces",
    importing_state: "KE",
    end_user: "Kenya Defence Forces",
    quantity: 600,
};

/// A script whose ledger runs policies on a real host.
fn script_with_host() -> (Script, Arc<PolicyHost>) {
    let s = Script::new();
    let host = PolicyHost::new(HostLimits::default(), None).unwrap();
    s.ledger().set_policy_runner(host.clone());
    (s, host)
}

/// Uploads `module` (and `data`) and installs and activates it as `id` for Belgium.
fn install(
    s: &Script,
    admin: &Signer,
    id: &str,
    module: &[u8],
    data: Option<&[u8]>,
    governs: &[&str],
) -> String {
    let sha256 = s.ledger().put_policy_blob(module).unwrap();
    let mut body = json!({
        "policy_id": id, "name": id, "jurisdiction": "BE", "version": 1,
        "module_sha256": sha256, "governs": governs,
    });
    if let Some(data) = data {
        body["data_sha256"] = json!(s.ledger().put_policy_blob(data).unwrap());
    }
    let policy = format!("policy:{id}");
    s.given([
        admin.on("2000-01-01", &policy, "PolicyInstalled", body),
        admin.on(
            "2000-01-02",
            &policy,
            "PolicyActivated",
            json!({"policy_id": id}),
        ),
    ]);
    sha256
}

fn json_body(response: &mut ureq::http::Response<ureq::Body>) -> serde_json::Value {
    let text = response.body_mut().read_to_string().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn decisions_at(s: &Script, index: u64) -> Vec<PolicyDecision> {
    let reader = s.ledger().reader().unwrap();
    let entry = reader.entry(index).unwrap().unwrap();
    PolicyDecision::from_entry(&entry.decisions).unwrap()
}

#[test]
fn an_embargo_policy_judges_each_export_by_its_own_date_and_its_decisions_replay() {
    let (s, host) = script_with_host();
    let admin = s.authority("be-licensing", "licensing", "BE");
    let fn_herstal = s.authority("be-fn", "manufacturer", "BE");
    let module = policy_wasm("embargo");
    let sha256 = install(
        &s,
        &admin,
        "be-embargo",
        &module,
        None,
        &["ExportLicenceApplied"],
    );

    // 2010: Iran is under the UNSCR 1929 embargo: refused, nothing appended.
    let application = |date: &str, number: &str| {
        fn_herstal.on(
            date,
            &stream::licence(number),
            "ExportLicenceApplied",
            TO_IRAN.licence_applied(None),
        )
    };
    match s.ledger().append(application("2010-07-01", "BE-2010-1")) {
        Err(ledger::AppendError::Rejected(r)) => match r.rejection {
            ledger::rejection::Rejection::PolicyRefused { outcome, decisions } => {
                assert_eq!(outcome, PolicyOutcome::Deny);
                assert_eq!(decisions.len(), 1);
                assert_eq!(decisions[0].reasons[0].code, "un_arms_embargo");
                assert_eq!(decisions[0].reasons[0].rule, "unscr_1929");
                assert_eq!(decisions[0].sha256, sha256);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    s.then_rejected(
        application("2018-03-01", "BE-2018-1"),
        "policy_approval_required",
    );

    // 2022: no UN embargo on Iran: appended, with the decision recorded.
    let receipt = s.then_accepted(application("2022-05-01", "BE-2022-1"));
    let decisions = decisions_at(&s, receipt.index);
    assert_eq!(decisions.len(), 1);
    let decision = &decisions[0];
    assert_eq!(
        (
            decision.policy.as_str(),
            decision.version,
            decision.state.as_str()
        ),
        ("be-embargo", 1, "BE")
    );
    assert_eq!(decision.outcome, PolicyOutcome::Allow);
    assert_eq!(decision.sha256, sha256);
    assert!(decision.fuel_used > 0);

    // The auditor's replay: the input kept by its hash, the same module, the same answer.
    let reader = s.ledger().reader().unwrap();
    let input = reader.policy_blob(&decision.input_sha256).unwrap().unwrap();
    assert_eq!(ledger::policy::sha256_hex(&input), decision.input_sha256);
    let stored_module = reader.policy_blob(&decision.sha256).unwrap().unwrap();
    let replayed = host.evaluate_bytes(&stored_module, &input);
    assert_eq!(replayed.outcome, decision.outcome);
    assert_eq!(replayed.fuel_used, decision.fuel_used);
    let input: serde_json::Value = serde_json::from_slice(&input).unwrap();
    assert_eq!(input["now"], "2022-05-01T12:00:00Z");
    assert_eq!(input["context"]["states"]["importer"], "IR");
    assert_eq!(input["context"]["policy"]["id"], "be-embargo");
    drop(reader);

    // Events the policy does not govern carry no decision.
    let police = s.authority("be-police", "police", "BE");
    let weapon = uuid_from(77);
    let marked = s.then_accepted(police.on(
        "2022-05-02",
        &stream::weapon(&weapon),
        "WeaponStateMarked",
        armsledger_tests::script::state_marked("BE", "Federal Police", "BE-POL-77"),
    ));
    assert!(decisions_at(&s, marked.index).is_empty());

    // Retired, it governs nothing more.
    s.given([admin.on(
        "2023-01-01",
        "policy:be-embargo",
        "PolicyRetired",
        json!({"policy_id": "be-embargo", "reason": "replaced"}),
    )]);
    let receipt = s.then_accepted(application("2010-07-01", "BE-2010-2"));
    assert!(decisions_at(&s, receipt.index).is_empty());
    s.verified();
}

#[test]
fn a_threshold_holds_a_grant_until_the_approval_is_recorded() {
    let (s, _host) = script_with_host();
    let licensing = s.authority("be-licensing", "licensing", "BE");
    let fn_herstal = s.authority("be-fn", "manufacturer", "BE");
    install(
        &s,
        &licensing,
        "be-thresholds",
        &policy_wasm("thresholds"),
        policy_data("thresholds").as_deref(),
        &["ExportLicenceDecided"],
    );
    let licence = stream::licence("BE-2026-600");
    s.given([fn_herstal.on(
        "2026-03-01",
        &licence,
        "ExportLicenceApplied",
        TO_KENYA.licence_applied(None),
    )]);
    let grant = || {
        licensing.on(
            "2026-03-10",
            &licence,
            "ExportLicenceDecided",
            armsledger_tests::script::licence_granted("2026-03-10", "2027-03-09"),
        )
    };
    s.then_rejected(grant(), "policy_approval_required");
    // Only the State whose policy asked may record its requirement as met.
    let other = s.authority("fr-licensing", "licensing", "FR");
    let met = json!({
        "policy_id": "be-thresholds", "requirement": "approval", "rule": "small_arms_over_500",
        "by": "Minister-President of Wallonia", "reference": "Decision 2026/118",
    });
    s.then_rejected(
        other.on("2026-03-09", &licence, "PolicyRequirementMet", met.clone()),
        "jurisdiction_mismatch",
    );
    s.given([licensing.on("2026-03-09", &licence, "PolicyRequirementMet", met)]);
    let receipt = s.then_accepted(grant());
    assert_eq!(
        decisions_at(&s, receipt.index)[0].outcome,
        PolicyOutcome::Allow
    );
    let view = s.licence("BE-2026-600");
    assert_eq!(view.requirements_met.len(), 1);
    s.verified();
}

#[test]
fn installing_needs_the_module_uploaded_and_of_the_abi_and_a_policy_that_cannot_run_denies() {
    let s = Script::new();
    let admin = s.authority("be-licensing", "licensing", "BE");
    let body = |sha256: &str| {
        json!({
            "policy_id": "be-x", "name": "x", "jurisdiction": "BE", "version": 1,
            "module_sha256": sha256, "governs": ["ExportLicenceApplied"],
        })
    };
    let missing = ledger::policy::sha256_hex(b"never uploaded");
    s.then_rejected(
        admin.on(
            "2026-01-01",
            "policy:be-x",
            "PolicyInstalled",
            body(&missing),
        ),
        "policy_blob_missing",
    );

    // With no host plugged in, the ledger cannot check the ABI, and every governed
    // event is denied: deny by default.
    let sha256 = s.ledger().put_policy_blob(&wat_allow()).unwrap();
    s.given([
        admin.on(
            "2026-01-01",
            "policy:be-x",
            "PolicyInstalled",
            body(&sha256),
        ),
        admin.on(
            "2026-01-02",
            "policy:be-x",
            "PolicyActivated",
            json!({"policy_id": "be-x"}),
        ),
    ]);
    let fn_herstal = s.authority("be-fn", "manufacturer", "BE");
    let apply = |n: &str| {
        fn_herstal.on(
            "2026-02-01",
            &stream::licence(n),
            "ExportLicenceApplied",
            TO_KENYA.licence_applied(None),
        )
    };
    s.then_rejected(apply("BE-1"), "policy_denied");

    // With a host, a module that imports is refused at install...
    let host = PolicyHost::new(HostLimits::default(), None).unwrap();
    s.ledger().set_policy_runner(host);
    let wasi = wat_policy(
        r#"{"outcome":"allow"}"#,
        "(call $out)",
        r#"(func $w (import "wasi_snapshot_preview1" "random_get") (param i32 i32) (result i32))"#,
    );
    let wasi_sha = s.ledger().put_policy_blob(&wasi).unwrap();
    let mut wasi_body = body(&wasi_sha);
    wasi_body["policy_id"] = json!("be-wasi");
    s.then_rejected(
        admin.on("2026-01-03", "policy:be-wasi", "PolicyInstalled", wasi_body),
        "policy_module_invalid",
    );
    // ...as is one asked to govern what its metadata does not list...
    let mut wrong = body(&sha256);
    wrong["policy_id"] = json!("be-y");
    wrong["governs"] = json!(["WeaponDestroyed"]);
    s.then_rejected(
        admin.on("2026-01-03", "policy:be-y", "PolicyInstalled", wrong),
        "policy_module_invalid",
    );
    // ...and the installed one now runs and allows.
    s.then_accepted(apply("BE-2"));
}

#[test]
fn over_http_a_hostile_policy_denies_with_its_reason_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let ledger = create_ledger(
        &path,
        ledger::LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let admin = register(&ledger, "be-licensing", "licensing", 31);
    let fn_herstal = register(&ledger, "be-fn", "manufacturer", 32);
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let base = format!("http://{}", server.addr);
    let token = make_token(dir.path(), "be-licensing", api::auth::Role::Authority);
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let upload = |bytes: &[u8]| {
        let mut response = agent
            .post(&format!("{base}/v1/policies/blobs"))
            .header("authorization", &format!("Bearer {token}"))
            .send(bytes)
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = json_body(&mut response);
        (status, body)
    };

    // A module that imports is refused at upload, with what is wrong.
    let (status, body) = upload(&wat_policy(
        r#"{"outcome":"allow"}"#,
        "(call $out)",
        r#"(func $w (import "wasi_snapshot_preview1" "fd_write") (param i32 i32 i32 i32) (result i32))"#,
    ));
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("policy_module_invalid")),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("wasi_snapshot_preview1")
    );
    // Without a token, nothing is uploaded.
    let anonymous = agent
        .post(&format!("{base}/v1/policies/blobs"))
        .send(&wat_allow()[..])
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    // An infinite loop passes the install checks; it is contained on every run.
    let looping = wat_policy(
        r#"{"outcome":"allow"}"#,
        "(loop $l (br $l)) (call $out)",
        "",
    );
    let (status, body) = upload(&looping);
    assert_eq!(status, 201, "{body}");
    let sha256 = body["sha256"].as_str().unwrap().to_owned();
    assert_eq!(body["metadata"]["name"], "hand-written");
    let submit = |event: ledger::event::SignedEvent| {
        let mut response = agent
            .post(&format!("{base}/v1/events"))
            .header("content-type", "application/json")
            .send(&event.to_canonical_vec()[..])
            .unwrap();
        let status = response.status().as_u16();
        (status, json_body(&mut response))
    };
    let install = |id: &str, sha256: &str| {
        let policy = format!("policy:{id}");
        let installed = admin.event(
            &policy,
            ledger::event::ExpectedVersion::NoStream,
            "PolicyInstalled",
            armsledger_tests::script::payload(json!({
                "policy_id": id, "name": id, "jurisdiction": "BE", "version": 1,
                "module_sha256": sha256, "governs": ["ExportLicenceApplied"],
            })),
        );
        assert_eq!(submit(installed).0, 201);
        let activated = admin.event(
            &policy,
            ledger::event::ExpectedVersion::Any,
            "PolicyActivated",
            armsledger_tests::script::payload(json!({"policy_id": id})),
        );
        assert_eq!(submit(activated).0, 201);
    };
    install("be-loop", &sha256);
    let application = fn_herstal.event(
        &stream::licence("BE-2026-1"),
        ledger::event::ExpectedVersion::NoStream,
        "ExportLicenceApplied",
        armsledger_tests::script::payload(TO_KENYA.licence_applied(None)),
    );
    let (status, body) = submit(application.clone());
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("policy_denied")),
        "{body}"
    );
    let reason = &body["decisions"][0]["reasons"][0];
    assert_eq!(
        (reason["code"].as_str(), reason["rule"].as_str()),
        (Some("policy_error"), Some("out_of_fuel"))
    );
    let health = agent.get(&format!("{base}/healthz")).call().unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // The dry run of the installed policy says the same, appending nothing.
    let size = ledger.reader().unwrap().tree_size().unwrap();
    let mut response = agent
        .post(&format!("{base}/v1/policies/be-loop/dry-run"))
        .header("authorization", &format!("Bearer {token}"))
        .send(&application.to_canonical_vec()[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = json_body(&mut response);
    assert_eq!(body["decision"]["outcome"], "deny");
    assert_eq!(body["input"]["context"]["states"]["importer"], "KE");
    // A candidate (uploaded, not installed) on the same event: the embargo allows Kenya.
    let (_, embargo) = upload(&policy_wasm("embargo"));
    let mut response = agent
        .post(&format!(
            "{base}/v1/policies:dry-run?module={}",
            embargo["sha256"].as_str().unwrap()
        ))
        .header("authorization", &format!("Bearer {token}"))
        .send(&application.to_canonical_vec()[..])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = json_body(&mut response);
    assert_eq!(body["decision"]["outcome"], "allow", "{body}");
    assert_eq!(ledger.reader().unwrap().tree_size().unwrap(), size);

    // The policy counts show on /metrics.
    let metrics = agent
        .get(&format!("{base}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(
        metrics.contains("armsledger_policy_evaluations_total"),
        "{metrics}"
    );
    server.stop().unwrap();
}

/// A policy host shared by the ledger and an auditor decide alike: a sanity check that a
/// host's runner and its `evaluate_bytes` are the same path.
#[test]
fn the_runner_and_a_direct_evaluation_agree() {
    let host = PolicyHost::new(HostLimits::default(), None).unwrap();
    let module = wat_allow();
    let sha256 = ledger::policy::sha256_hex(&module);
    let load = || Ok(module.clone());
    let input = br#"{"abi":1}"#;
    let via_runner = host.run(
        &ledger::policy::ModuleRef {
            sha256: &sha256,
            load: &load,
        },
        input,
    );
    assert_eq!(via_runner, host.evaluate_bytes(&module, input));
}

#[test]
fn the_policy_commands_test_install_and_replay_a_candidate() {
    // policy test: the embargo module passes its fixtures, another module does not.
    let module_file = policy_wasm_path;
    let fixtures = policy_dir("embargo").join("fixtures");
    let (code, out, err) = cli(&[
        "policy",
        "test",
        "--module",
        module_file("embargo").to_str().unwrap(),
        "--fixtures",
        fixtures.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("failed") && out.contains(" 0 failed"), "{out}");
    let (code, out, _) = cli(&[
        "policy",
        "test",
        "--module",
        module_file("euc").to_str().unwrap(),
        "--fixtures",
        fixtures.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL"), "{out}");

    // policy install --activate over HTTP, signed with the licensing authority's key file.
    let s = Script::new();
    let licensing = s.authority("be-licensing", "licensing", "BE");
    let fn_herstal = s.authority("be-fn", "manufacturer", "BE");
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("be-licensing.pem");
    std::fs::write(
        &key_file,
        ledger::crypto::signing_key_to_pem(&licensing.key).unwrap(),
    )
    .unwrap();
    let server = api::server::start(s.ledger().clone(), server_options(dir.path())).unwrap();
    let url = format!("http://{}", server.addr);
    let token = make_token(dir.path(), "be-licensing", api::auth::Role::Authority);
    let (code, out, err) = cli(&[
        "policy",
        "install",
        "--url",
        &url,
        "--key",
        key_file.to_str().unwrap(),
        "--actor",
        "be-licensing",
        "--token",
        &token,
        "--id",
        "be-embargo",
        "--module",
        module_file("embargo").to_str().unwrap(),
        "--governs",
        "ExportLicenceApplied",
        "--activate",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("PolicyActivated policy:be-embargo"), "{out}");
    let apply = |date: &str, number: &str| {
        fn_herstal.on(
            date,
            &stream::licence(number),
            "ExportLicenceApplied",
            TO_IRAN.licence_applied(None),
        )
    };
    s.then_rejected(apply("2010-07-01", "BE-2010-1"), "policy_denied");
    s.then_accepted(apply("2022-05-01", "BE-2022-1"));
    s.then_accepted(apply("2023-05-01", "BE-2023-1"));
    server.stop().unwrap();
    let (_keep, path) = s.close();

    // policy diff: a candidate that denies everything would change both recorded allows.
    let candidate = dir.path().join("deny-all.wasm");
    std::fs::write(
        &candidate,
        wat_answering(r#"{"outcome":"deny","reasons":[{"code":"no","rule":"r","message":"m"}]}"#),
    )
    .unwrap();
    let (code, out, err) = cli(&[
        "policy",
        "diff",
        "--db",
        path.to_str().unwrap(),
        "--policy",
        "be-embargo",
        "--module",
        candidate.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 recorded decisions of policy be-embargo replayed; the candidate changes 2"),
        "{out}"
    );
    assert!(out.contains("\"stream\":\"licence:BE-2022-1\""), "{out}");
    // The installed module itself changes nothing.
    let (code, out, _) = cli(&[
        "policy",
        "diff",
        "--db",
        path.to_str().unwrap(),
        "--policy",
        "be-embargo",
        "--module",
        module_file("embargo").to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("the candidate changes 0"), "{out}");
}
