//! The domain's read endpoints and batch writes over real HTTP, on the Peru 1999 scenario:
//! who may read what (role x endpoint x State), problem codes, weapon history with
//! inclusion proofs that a client checks against the signed checkpoint.

use api::auth::Role;
use armsledger_tests::script::Script;
use armsledger_tests::*;
use ledger::merkle;
use ledger::note::{self, NoteVerifier};

use crate::scenarios::{PERU_CONSIGNMENT, PERU_EUC, PERU_LICENCE, PERU_TRACE, peru_1999};

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    )
}

/// (status, JSON body) of a GET or an empty POST with an optional bearer token.
pub(crate) fn call(method: &str, url: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let agent = agent();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, &auth) {
        ("GET", Some(a)) => agent.get(url).header("Authorization", a).call(),
        ("GET", None) => agent.get(url).call(),
        (_, Some(a)) => agent.post(url).header("Authorization", a).send_empty(),
        (_, None) => agent.post(url).send_empty(),
    }
    .expect("the server answers");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

fn post_json(url: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let mut response = agent()
        .post(url)
        .header("Content-Type", "application/json")
        .send(body)
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

#[test]
fn reads_follow_role_and_state_and_history_proofs_verify() {
    let s = Script::new();
    let rifles = peru_1999(&s);
    // A State with nothing to do with the case.
    s.authority("fr-police", "police", "FR");
    let ledger = s.ledger().clone();
    wait_for_checkpoint(&ledger);
    let dir = tempfile::tempdir().unwrap();
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let base = format!("http://{}", server.addr);
    let token = |authority: &str, role| make_token(dir.path(), authority, role);
    let auditor = token("zz-admin", Role::Auditor);
    let jordan = token("jo-licensing", Role::Authority);
    let peru = token("pe-ministry", Role::Authority);
    let colombia = token("co-police", Role::Authority);
    let france = token("fr-police", Role::Authority);
    let public = token("fr-police", Role::Public);

    // The matrix: role x endpoint x State. 404 for what exists but does not concern the
    // caller's State: the same answer as for what does not exist.
    let rifle = &rifles[0];
    let urls = [
        ("GET", format!("{base}/v1/weapons/{rifle}")),
        ("GET", format!("{base}/v1/weapons/{rifle}/history")),
        ("GET", format!("{base}/v1/eucs/{PERU_EUC}")),
        (
            "POST",
            format!("{base}/v1/eucs/{PERU_EUC}/verify?on=1999-03-01"),
        ),
        ("GET", format!("{base}/v1/licences/{PERU_LICENCE}")),
        ("GET", format!("{base}/v1/consignments/{PERU_CONSIGNMENT}")),
        ("GET", format!("{base}/v1/trace-requests/{PERU_TRACE}")),
        ("GET", format!("{base}/v1/authorities")),
        ("GET", format!("{base}/v1/policies")),
    ];
    // Expected statuses, per caller, in the order of `urls`.
    let expected: [(&str, Option<&str>, [u16; 9]); 7] = [
        ("no token", None, [401; 9]),
        ("public", Some(&public), [403; 9]),
        ("auditor", Some(&auditor), [200; 9]),
        // Jordan exported, licensed and was asked to trace.
        ("jordan", Some(&jordan), [200; 9]),
        // Peru issued the certificate and was the destination; it was not part of the
        // trace and the weapon never reached it.
        (
            "peru",
            Some(&peru),
            [404, 404, 200, 200, 200, 200, 404, 200, 200],
        ),
        // Colombia seized the weapon and asked the trace.
        (
            "colombia",
            Some(&colombia),
            [200, 200, 404, 404, 404, 404, 200, 200, 200],
        ),
        (
            "france",
            Some(&france),
            [404, 404, 404, 404, 404, 404, 404, 200, 200],
        ),
    ];
    for (who, token, statuses) in expected {
        for ((method, url), want) in urls.iter().zip(statuses) {
            let (status, body) = call(method, url, token);
            assert_eq!(status, want, "{who} {method} {url}: {body}");
            if status >= 400 {
                let code = match status {
                    401 => "unauthorized",
                    403 => "forbidden",
                    _ => "not_found",
                };
                assert_eq!(body["code"], code, "{who} {url}");
            }
        }
    }
    // A missing weapon answers exactly like one out of sight.
    let missing = format!("{base}/v1/weapons/{}", uuid_from(999_999));
    assert_eq!(
        call("GET", &missing, Some(&france)),
        call("GET", &urls[0].1, Some(&france))
    );

    // The weapon's history: every entry with a proof against one signed checkpoint.
    let (_, history) = call("GET", &urls[1].1, Some(&colombia));
    let verifier = NoteVerifier::from_vkey(&ledger.verifier().unwrap().to_vkey()).unwrap();
    let checkpoint =
        note::open_checkpoint(&verifier, history["checkpoint"].as_str().unwrap()).unwrap();
    assert_eq!(history["tree_size"], checkpoint.size);
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "marked, then seized: {history}");
    let reader = ledger.reader().unwrap();
    for item in entries {
        let index = item["index"].as_u64().unwrap();
        let bytes = reader.entry_bytes(index).unwrap().unwrap();
        let leaf = merkle::leaf_hash(&bytes);
        assert_eq!(item["leaf_hash"], merkle::hash_to_base64(&leaf));
        let proof: Vec<merkle::Hash> = item["inclusion_proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| merkle::hash_from_base64(h.as_str().unwrap()).unwrap())
            .collect();
        merkle::verify_inclusion(index, checkpoint.size, &leaf, &proof, &checkpoint.root)
            .unwrap_or_else(|e| panic!("entry {index}: {e}"));
        assert_eq!(item["entry"]["event"]["stream"], format!("weapon:{rifle}"));
    }

    // The certificate verifies as authentic; its validity is judged on the date asked.
    let (_, verdict) = call("POST", &urls[3].1, Some(&peru));
    assert_eq!(verdict["authentic"], true, "{verdict}");
    assert_eq!(verdict["revoked"], false);
    let (_, late) = call(
        "POST",
        &format!("{base}/v1/eucs/{PERU_EUC}/verify?on=2030-01-01"),
        Some(&peru),
    );
    assert_eq!(late["verdict"], "invalid");
    assert!(
        late["failed_checks"]
            .as_array()
            .unwrap()
            .contains(&"outside_validity".into()),
        "{late}"
    );
    assert_eq!(
        call(
            "POST",
            &format!("{base}/v1/eucs/{PERU_EUC}/verify?on=soon"),
            Some(&peru)
        )
        .1["code"],
        "invalid_query"
    );

    // Trace lists: each State sees its own, with age and the overdue flag.
    let list = |token: &str, query: &str| {
        call(
            "GET",
            &format!("{base}/v1/trace-requests{query}"),
            Some(token),
        )
        .1["trace_requests"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(list(&colombia, ""), 1);
    assert_eq!(list(&jordan, "?state=CO"), 1);
    assert_eq!(list(&peru, ""), 0);
    assert_eq!(list(&auditor, "?status=closed"), 0);
    let (_, one) = call("GET", &urls[6].1, Some(&jordan));
    assert!(one["age_days"].as_i64().unwrap() > 0, "{one}");
    assert_eq!(
        call(
            "GET",
            &format!("{base}/v1/trace-requests?status=lost"),
            Some(&jordan)
        )
        .1["code"],
        "invalid_query"
    );

    // Search: problem codes for bad queries.
    let search = |query: &str| call("GET", &format!("{base}/v1/weapons?{query}"), Some(&auditor));
    assert_eq!(
        search("serial=ab&match=contains").1["code"],
        "serial_too_short"
    );
    assert_eq!(search("serial=abc&match=fuzzy").1["code"], "invalid_query");
    assert_eq!(search("serial=abc&country=XX").1["code"], "invalid_query");
    assert_eq!(search("serial=JAF000201").0, 200);

    // History is served for the four collections only: other paths of that shape are
    // left to their own routes (a policy blob named `history`) or to "no such endpoint".
    let blob = format!("{base}/v1/policies/blobs/history");
    assert_eq!(call("GET", &blob, None).0, 401);
    let (status, body) = call("GET", &blob, Some(&auditor));
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("no policy blob history"))
    );
    let (status, body) = call("GET", &format!("{base}/v1/guns/x/history"), Some(&auditor));
    assert_eq!(
        (status, body["detail"].as_str()),
        (404, Some("no such endpoint"))
    );

    // Revoked tokens stop working at once.
    let id = &ledger::event::AuthorityId::parse("fr-police").unwrap();
    let (late_token, record) =
        api::auth::create_token(&dir.path().join("tokens.json"), id, Role::Authority, None)
            .unwrap();
    assert_eq!(call("GET", &urls[7].1, Some(&late_token)).0, 200);
    assert!(api::auth::revoke_token(&dir.path().join("tokens.json"), &record.id).unwrap());
    assert_eq!(call("GET", &urls[7].1, Some(&late_token)).0, 401);

    // An expired token, and one whose record names no valid authority, are refused; a
    // record with a garbled hash matches nothing (and breaks nothing).
    let file = dir.path().join("tokens.json");
    let (expired, _) = api::auth::create_token(&file, id, Role::Authority, Some(1)).unwrap();
    let (misnamed, _) = api::auth::create_token(&file, id, Role::Authority, None).unwrap();
    assert_eq!(call("GET", &urls[7].1, Some(&expired)).0, 200);
    let mut tokens: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let records = tokens["tokens"].as_array_mut().unwrap();
    let count = records.len();
    records[count - 2]["expires_at"] = "2020-01-01T00:00:00.000Z".into();
    records[count - 1]["authority"] = "Not An Authority".into();
    let mut garbled = records[0].clone();
    garbled["sha256"] = "not hex".into();
    records.push(garbled);
    let rewritten = dir.path().join("tokens.json.new");
    std::fs::write(&rewritten, serde_json::to_vec(&tokens).unwrap()).unwrap();
    std::fs::rename(&rewritten, &file).unwrap();
    after_an_outside_edit();
    let (status, body) = call("GET", &urls[7].1, Some(&expired));
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let (status, body) = call("GET", &urls[7].1, Some(&misnamed));
    assert_eq!(status, 401);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no valid authority"),
        "{body}"
    );
    assert_eq!(call("GET", &urls[7].1, Some(&auditor)).0, 200);

    // The file edited in place (same inode: the change is in its length and times) is
    // read again too: with the auditor's record gone, its token stops working.
    let mut tokens: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let auditor_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(auditor.as_bytes()));
    tokens["tokens"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["sha256"] != auditor_hash.as_str());
    let inode = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&file).unwrap());
    std::fs::write(&file, serde_json::to_vec(&tokens).unwrap()).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&file).unwrap()),
        inode
    );
    after_an_outside_edit();
    assert_eq!(call("GET", &urls[7].1, Some(&auditor)).0, 401);
    // And a deleted file leaves no token standing.
    assert_ne!(call("GET", &urls[7].1, Some(&peru)).0, 401);
    std::fs::remove_file(&file).unwrap();
    after_an_outside_edit();
    assert_eq!(call("GET", &urls[7].1, Some(&peru)).0, 401);
    server.stop().unwrap();
}

/// A change to the token file made by anything but `armsledger token` (which waits it
/// out itself) holds within `TOKEN_FILE_RECHECK`: the server trusts its last look at the
/// file that long.
fn after_an_outside_edit() {
    std::thread::sleep(2 * api::auth::TOKEN_FILE_RECHECK);
}

/// The server asks the token file's directory for it by name (at most once per
/// `TOKEN_FILE_RECHECK`): a token file reached through a symbolic link, or with a second
/// hard link (a backup), is still read again when `token create` or `token revoke`
/// rewrites it, and so is the link's target when it is edited where it lives.
#[test]
fn revocation_reaches_the_server_through_links() {
    let s = Script::new();
    s.authority("fr-police", "police", "FR");
    let ledger = s.ledger().clone();
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("tokens.json");
    let link = dir.path().join("tokens.json");
    let authority = ledger::event::AuthorityId::parse("fr-police").unwrap();
    let (first, _) = api::auth::create_token(&target, &authority, Role::Auditor, None).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let url = format!("http://{}/v1/authorities", server.addr);
    assert_eq!(call("GET", &url, Some(&first)).0, 200);

    // The target edited where it lives (in place): the link leads the server to it.
    let (second, _) = api::auth::create_token(&target, &authority, Role::Auditor, None).unwrap();
    assert_eq!(call("GET", &url, Some(&second)).0, 200);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    file["tokens"].as_array_mut().unwrap().remove(0);
    std::fs::write(&target, serde_json::to_vec(&file).unwrap()).unwrap();
    after_an_outside_edit();
    assert_eq!(call("GET", &url, Some(&first)).0, 401);
    assert_eq!(call("GET", &url, Some(&second)).0, 200);

    // Revoked through the link: the link is replaced by the rewritten file.
    let second_id = file["tokens"][0]["id"].as_str().unwrap().to_owned();
    assert!(api::auth::revoke_token(&link, &second_id).unwrap());
    assert_eq!(call("GET", &url, Some(&second)).0, 401);
    let (third, third_record) =
        api::auth::create_token(&link, &authority, Role::Auditor, None).unwrap();
    assert_eq!(call("GET", &url, Some(&third)).0, 200);

    // A hard link kept as a backup leaves the old file with a link: still reread.
    std::fs::hard_link(&link, dir.path().join("tokens.backup.json")).unwrap();
    assert!(api::auth::revoke_token(&link, &third_record.id).unwrap());
    assert_eq!(call("GET", &url, Some(&third)).0, 401);
    server.stop().unwrap();
}

#[test]
fn a_batch_is_appended_all_or_nothing_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("batch.redb"),
        ledger::LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let police = register(&ledger, "be-police", "police", 10);
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let url = format!("http://{}/v1/events:batch", server.addr);
    let array = |events: &[ledger::event::SignedEvent]| {
        let texts: Vec<String> = events
            .iter()
            .map(|e| String::from_utf8(e.to_canonical_vec()).unwrap())
            .collect();
        format!("[{}]", texts.join(",")).into_bytes()
    };
    let good = [police.weapon_marked(1), police.weapon_marked(2)];
    let (status, body) = post_json(&url, &array(&good));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["receipts"][1]["index"], 3);
    // One bad member (a second marking of weapon 1) refuses the whole batch and says which.
    let bad = [police.weapon_marked(3), police.weapon_marked(1)];
    let (status, body) = post_json(&url, &array(&bad));
    assert_eq!(
        (status, body["position"].as_u64()),
        (409, Some(1)),
        "{body}"
    );
    let before = ledger.reader().unwrap().tree_size().unwrap();
    assert_eq!(before, 4, "nothing of the refused batch was appended");
    let (status, body) = post_json(&url, b"{\"not\": \"an array\"}");
    assert_eq!((status, body["code"].as_str()), (422, Some("not_an_array")));
    let (status, body) = post_json(&url, b"[{\"event_id\": 1}]");
    assert_eq!(
        (status, body["position"].as_u64()),
        (422, Some(0)),
        "{body}"
    );
    server.stop().unwrap();
}

/// The live feed: entries as server-sent events from a position, exact bytes, resumable
/// with Last-Event-ID; an auditor's token reads it.
#[test]
fn the_feed_streams_entries_and_resumes_after_the_last_event_id() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("feed.redb"),
        ledger::LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let police = register(&ledger, "be-police", "police", 10);
    for n in 0..3 {
        ledger.append(police.weapon_marked(n)).unwrap();
    }
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let url = format!("http://{}/v1/log/stream", server.addr);
    let auditor = make_token(dir.path(), "zz-admin", Role::Auditor);
    let authority = make_token(dir.path(), "be-police", Role::Authority);
    assert_eq!(call("GET", &url, None).0, 401);
    assert_eq!(call("GET", &url, Some(&authority)).0, 403);

    // Reads (id, data) pairs until `count` events came.
    let read = |request: ureq::RequestBuilder<ureq::typestate::WithoutBody>, count: usize| {
        let mut response = request
            .header("Authorization", &format!("Bearer {auditor}"))
            .call()
            .unwrap();
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "text/event-stream"
        );
        let mut lines = std::io::BufReader::new(response.body_mut().as_reader()).lines();
        let mut events = Vec::new();
        let mut id = None;
        while events.len() < count {
            let line = lines.next().unwrap().unwrap();
            if let Some(v) = line.strip_prefix("id: ") {
                id = Some(v.parse::<u64>().unwrap());
            } else if let Some(data) = line.strip_prefix("data: ") {
                events.push((id.take().unwrap(), data.to_owned()));
            }
        }
        events
    };
    let reader = ledger.reader().unwrap();
    let first = read(ureq::get(&format!("{url}?from=2")), 3);
    for (index, data) in &first {
        assert_eq!(
            data.as_bytes(),
            reader.entry_bytes(*index).unwrap().unwrap().as_slice()
        );
    }
    assert_eq!(first.iter().map(|e| e.0).collect::<Vec<_>>(), [2, 3, 4]);
    // Resumed after the last event it got, and a new entry arrives live.
    let appender = {
        let (ledger, police) = (ledger.clone(), police.clone());
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            ledger.append(police.weapon_marked(9)).unwrap();
        })
    };
    let resumed = read(ureq::get(&url).header("Last-Event-ID", "3"), 2);
    assert_eq!(resumed.iter().map(|e| e.0).collect::<Vec<_>>(), [4, 5]);
    appender.join().unwrap();
    let bad = agent()
        .get(&url)
        .header("Authorization", &format!("Bearer {auditor}"))
        .header("Last-Event-ID", "yesterday")
        .call()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    server.stop().unwrap();
}

/// The server never panics on input: thousands of mangled events, batches and queries get
/// a 4xx problem with a code, and the server answers normally afterwards.
#[test]
fn mangled_input_gets_problems_and_never_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("fuzz.redb"),
        ledger::LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let police = register(&ledger, "be-police", "police", 10);
    let server = api::server::start(ledger.clone(), server_options(dir.path())).unwrap();
    let base = format!("http://{}", server.addr);
    let seed: u64 = std::env::var("ARMSLEDGER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| ledger::event::EventId::new_v7().as_u128() as u64 | 1);
    println!("ARMSLEDGER_FUZZ_SEED={seed}");
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let valid = police.weapon_marked(1).to_canonical_vec();
    for round in 0..1500 {
        // Flip, drop or insert bytes of a valid event; sometimes wrap it as a batch.
        let mut body = valid.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % body.len() as u64) as usize;
            match next() % 3 {
                0 => body[at] = (next() % 256) as u8,
                1 => {
                    body.remove(at);
                }
                _ => {
                    let alphabet = b"{}[]\",:0e-\\\xff";
                    body.insert(at, alphabet[(next() % alphabet.len() as u64) as usize]);
                }
            }
        }
        let batch = next() % 4 == 0;
        let url = if batch {
            body.insert(0, b'[');
            body.push(b']');
            format!("{base}/v1/events:batch")
        } else {
            format!("{base}/v1/events")
        };
        let (status, problem) = post_json(&url, &body);
        let accepted = status == 201 || status == 200;
        assert!(
            accepted || (400..500).contains(&status),
            "round {round} (seed {seed}): {status} {problem}"
        );
        if !accepted {
            assert!(
                problem["code"].is_string(),
                "round {round} (seed {seed}): {problem}"
            );
        }
    }
    // Queries too.
    let token = make_token(dir.path(), "zz-admin", Role::Auditor);
    for query in [
        "/v1/weapons?serial=%ff%fe",
        "/v1/weapons?serial=",
        "/v1/weapons?serial=abc&limit=-1",
        "/v1/weapons?serial=abc&cursor=%00",
        "/v1/weapons/..%2f..%2fetc",
        "/v1/log/entries?from=18446744073709551615&limit=1",
        "/v1/log/proof/inclusion?index=18446744073709551615&tree_size=18446744073709551615",
        "/v1/log/proof/consistency?from=0&to=18446744073709551615",
        "/v1/trace-requests?limit=99999999999999999999",
        "/v1/eucs/%20/verify",
    ] {
        let method = if query.ends_with("/verify") {
            "POST"
        } else {
            "GET"
        };
        let (status, body) = call(method, &format!("{base}{query}"), Some(&token));
        assert!(status < 500, "{query}: {status} {body}");
    }
    assert_eq!(call("GET", &format!("{base}/healthz"), None).0, 200);
    ledger.verify().unwrap();
    server.stop().unwrap();
}
