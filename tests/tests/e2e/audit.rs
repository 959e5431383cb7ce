//! `armsledger audit` against an honest server, then against a lying one: a proxy in front
//! of the real server that edits an entry, drops an entry, or serves a forked checkpoint
//! signed with the log's own key. The audit trusts only the verifier key and catches each.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use api::auth::Role;
use armsledger_tests::script::{self, Acts, Script};
use armsledger_tests::*;

use crate::scenarios::peru_1999;

/// How the proxy changes what the server said: (path, body) -> body.
type Lie = Arc<dyn Fn(&str, Vec<u8>) -> Vec<u8> + Send + Sync>;

/// A minimal HTTP/1.1 proxy on a free port: GET only, one request per connection.
fn lying_proxy(upstream: String, lie: Lie) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_owned();
            let mut authorization = None;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some(value) = header
                    .strip_prefix("Authorization: ")
                    .or(header.strip_prefix("authorization: "))
                {
                    authorization = Some(value.trim().to_owned());
                }
            }
            let agent = ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build(),
            );
            let mut request = agent.get(&format!("{upstream}{path}"));
            if let Some(auth) = &authorization {
                request = request.header("Authorization", auth);
            }
            let mut response = request.call().unwrap();
            let status = response.status().as_u16();
            let mut body = Vec::new();
            response
                .body_mut()
                .as_reader()
                .read_to_end(&mut body)
                .unwrap();
            let body = lie(&path, body);
            let head = format!(
                "HTTP/1.1 {status} OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

fn honest() -> Lie {
    Arc::new(|_, body| body)
}

/// Edits the weapon's history JSON.
fn edit_history(edit: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Lie {
    Arc::new(move |path, body| {
        if !path.ends_with("/history") {
            return body;
        }
        let mut history: serde_json::Value = serde_json::from_slice(&body).unwrap();
        edit(&mut history);
        serde_json::to_vec(&history).unwrap()
    })
}

#[test]
fn audit_trusts_only_the_verifier_key_and_catches_a_lying_server() {
    let s = Script::new();
    let rifles = peru_1999(&s);
    let weapon = rifles[0].clone();
    let ledger = s.ledger().clone();
    wait_for_checkpoint(&ledger);
    let dir = tempfile::tempdir().unwrap();
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let upstream = format!("http://{}", server.addr);
    let token = make_token(dir.path(), "zz-admin", Role::Auditor);
    let vkey = ledger.verifier().unwrap().to_vkey();
    let state = dir.path().join("audit-state.json");
    let audit = |url: &str, state: &std::path::Path| {
        cli(&[
            "audit",
            "--url",
            url,
            "--vkey",
            &vkey,
            "--token",
            &token,
            "--weapon",
            &weapon,
            "--state",
            state.to_str().unwrap(),
        ])
    };

    // Honest, twice: the second audit proves the log only grew since the first.
    let (code, out, err) = audit(&lying_proxy(upstream.clone(), honest()), &state);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 entries"), "{out}");
    let police = s.authority("co-police", "police", "CO");
    s.given([police.on(
        "2001-01-10",
        &script::stream::weapon(&weapon),
        "EvidenceAttached",
        serde_json::json!({
            "subject": "Ballistic report",
            "evidence": [{"sha256": "ab".repeat(32), "description": "Report CO-BAL-2001-4"}]
        }),
    )]);
    wait_for_checkpoint(&ledger);
    let (code, out, err) = audit(&upstream, &state);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("3 entries") && out.contains("consistent with"),
        "{out}"
    );

    // Each lie, from a fresh copy of the auditor's state.
    let lies: Vec<(&str, Lie, &str)> = vec![
        (
            "an edited entry",
            edit_history(|h| {
                h["entries"][1]["entry"]["event"]["payload"]["place"] = "Bogotá".into();
            }),
            "leaf_mismatch",
        ),
        (
            "an edited entry with its leaf recomputed",
            edit_history(|h| {
                let entry = &mut h["entries"][1];
                entry["entry"]["event"]["payload"]["place"] = "Bogotá".into();
                let text = serde_json::to_vec(&entry["entry"]).unwrap();
                let bytes = ledger::json::Json::parse(&text, 64)
                    .unwrap()
                    .to_canonical_vec();
                entry["leaf_hash"] =
                    ledger::merkle::hash_to_base64(&ledger::merkle::leaf_hash(&bytes)).into();
            }),
            "inclusion_failed",
        ),
        (
            "a dropped entry",
            edit_history(|h| {
                h["entries"].as_array_mut().unwrap().remove(1);
            }),
            "chain_broken",
        ),
        (
            "a forked checkpoint, signed with the log's own key",
            {
                let origin = ORIGIN.to_owned();
                // The same size as the real log, another root: another history.
                let size = ledger.reader().unwrap().tree_size().unwrap();
                edit_history(move |h| {
                    let signer = ledger::note::NoteSigner::new(&origin, log_key()).unwrap();
                    let fork = ledger::note::Checkpoint {
                        origin: origin.clone(),
                        size,
                        root: [7; 32],
                        extensions: Vec::new(),
                    };
                    h["checkpoint"] = ledger::note::sign_checkpoint(&signer, &fork)
                        .unwrap()
                        .into();
                })
            },
            "log_forked",
        ),
    ];
    for (what, lie, code_wanted) in lies {
        let copy = dir.path().join("audit-state-copy.json");
        std::fs::copy(&state, &copy).unwrap();
        let (code, _, err) = audit(&lying_proxy(upstream.clone(), lie), &copy);
        assert_eq!(code, 1, "{what}: {err}");
        assert!(err.contains(&format!("[{code_wanted}]")), "{what}: {err}");
    }
    // A checkpoint signed by another key is refused before anything else.
    let other =
        ledger::note::NoteVerifier::new(ORIGIN, ledger::crypto::public_key_of(&test_key(77)))
            .unwrap()
            .to_vkey();
    let (code, _, err) = cli(&[
        "audit",
        "--url",
        &upstream,
        "--vkey",
        &other,
        "--token",
        &token,
        "--weapon",
        &weapon,
        "--state",
        dir.path().join("fresh.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("[checkpoint_signature]"), "{err}");
    server.stop().unwrap();
}

/// A corrupt operator's policy host: it runs the real module, then records "allow".
#[derive(Debug)]
struct AlwaysAllows(Arc<plugins::PolicyHost>);

impl ledger::policy::PolicyRunner for AlwaysAllows {
    fn run(
        &self,
        module: &ledger::policy::ModuleRef<'_>,
        input: &[u8],
    ) -> ledger::policy::PolicyVerdict {
        let mut verdict = self.0.run(module, input);
        verdict.outcome = ledger::policy::PolicyOutcome::Allow;
        verdict.reasons.clear();
        verdict
    }
    fn inspect(&self, module: &[u8]) -> Result<ledger::policy::PolicyMetadata, String> {
        self.0.inspect(module)
    }
}

#[test]
fn audit_re_runs_recorded_policy_decisions_and_catches_a_false_one() {
    let s = Script::new();
    let host = plugins::PolicyHost::new(plugins::HostLimits::default(), None).unwrap();
    s.ledger().set_policy_runner(host.clone());
    let licensing = s.authority("be-licensing", "licensing", "BE");
    let fn_herstal = s.authority("be-fn", "manufacturer", "BE");
    let module = armsledger_tests::policy::policy_wasm("embargo");
    let sha256 = s.ledger().put_policy_blob(&module).unwrap();
    s.given([
        licensing.on(
            "2000-01-01",
            "policy:be-embargo",
            "PolicyInstalled",
            serde_json::json!({
                "policy_id": "be-embargo", "name": "embargoes", "jurisdiction": "BE",
                "version": 1, "module_sha256": sha256, "governs": ["ExportLicenceApplied"],
            }),
        ),
        licensing.on(
            "2000-01-02",
            "policy:be-embargo",
            "PolicyActivated",
            serde_json::json!({"policy_id": "be-embargo"}),
        ),
    ]);
    let deal = |state: &'static str| script::Deal {
        exporter: "FN Herstal SA",
        exporting_state: "BE",
        consignee: "Ministry of Defence",
        importing_state: state,
        end_user: "Ministry of Defence",
        quantity: 10,
    };
    s.given([fn_herstal.on(
        "2022-05-01",
        &script::stream::licence("BE-2022-1"),
        "ExportLicenceApplied",
        deal("IR").licence_applied(None),
    )]);
    // The operator swaps in a host that records "allow" whatever the module says: a 2010
    // export to Iran goes in with a false decision.
    s.ledger()
        .set_policy_runner(Arc::new(AlwaysAllows(host.clone())));
    s.given([fn_herstal.on(
        "2010-07-01",
        &script::stream::licence("BE-2010-1"),
        "ExportLicenceApplied",
        deal("IR").licence_applied(None),
    )]);
    let ledger = s.ledger().clone();
    wait_for_checkpoint(&ledger);
    let dir = tempfile::tempdir().unwrap();
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let upstream = format!("http://{}", server.addr);
    let token = make_token(dir.path(), "zz-admin", Role::Auditor);
    let vkey = ledger.verifier().unwrap().to_vkey();
    let audit = |url: &str, licence: &str| {
        cli(&[
            "audit",
            "--url",
            url,
            "--vkey",
            &vkey,
            "--token",
            &token,
            "--licence",
            licence,
            "--state",
            dir.path().join(format!("{licence}.json")).to_str().unwrap(),
        ])
    };

    let (code, out, err) = audit(&upstream, "BE-2022-1");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1 policy decisions re-run to the same answer"),
        "{out}"
    );

    // A server that serves another module under the recorded hash.
    let other_module = Arc::new(|path: &str, body: Vec<u8>| {
        if path.starts_with("/v1/policies/blobs/") && body.starts_with(b"\0asm") {
            armsledger_tests::policy::wat_allow()
        } else {
            body
        }
    });
    let (code, _, err) = audit(&lying_proxy(upstream.clone(), other_module), "BE-2022-1");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("[blob_mismatch]"), "{err}");

    // The false decision: the module, re-run on the recorded input, denies.
    let (code, _, err) = audit(&upstream, "BE-2010-1");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("[decision_mismatch]") && err.contains("Deny"),
        "{err}"
    );
    server.stop().unwrap();
}
