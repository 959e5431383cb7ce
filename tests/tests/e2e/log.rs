//! The log through its library API: appends, versions, idempotency, rejections, keys,
//! batches, group commit, checkpoints and proofs, on real redb files.

use std::sync::Arc;

use armsledger_tests::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::event::{EventLimits, ExpectedVersion, SignedEvent};
use ledger::json::Json;
use ledger::note::{self, NoteVerifier};
use ledger::{AppendError, Ledger, LedgerConfig, SystemClock, merkle};

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    ledger: Ledger,
}

fn fixture_with(config: LedgerConfig, clock: Arc<dyn ledger::Clock>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let ledger = create_ledger(&path, config, clock);
    Fixture {
        _dir: dir,
        path,
        ledger,
    }
}

fn fixture() -> Fixture {
    fixture_with(LedgerConfig::default(), SystemClock::shared())
}

impl Fixture {
    fn size(&self) -> u64 {
        self.ledger.reader().unwrap().tree_size().unwrap()
    }

    /// Every scenario ends with a full verify of the file.
    fn verified(&self) -> ledger::verify::VerifyReport {
        self.ledger
            .verify()
            .unwrap_or_else(|f| panic!("verify failed: {f}"))
    }
}

fn code(result: Result<impl std::fmt::Debug, AppendError>) -> &'static str {
    result
        .expect_err("the append should have been refused")
        .code()
}

#[test]
fn genesis_registers_the_root_and_signs_a_checkpoint() {
    let f = fixture();
    assert_eq!(f.size(), 1);
    let reader = f.ledger.reader().unwrap();
    let (size, signed) = reader
        .latest_checkpoint()
        .unwrap()
        .expect("a checkpoint after genesis");
    assert_eq!(size, 1);
    let verifier = NoteVerifier::from_vkey(&f.ledger.verifier().unwrap().to_vkey()).unwrap();
    let cp = note::open_checkpoint(&verifier, &signed).unwrap();
    assert_eq!(cp.origin, ORIGIN);
    assert_eq!(
        cp.root,
        merkle::leaf_hash(&reader.entry_bytes(0).unwrap().unwrap())
    );
    let report = f.verified();
    assert_eq!(
        (report.entries, report.authorities, report.checkpoints),
        (1, 1, 1)
    );
}

#[test]
fn appends_chain_streams_and_store_entries_byte_exact() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let first = police.weapon_marked(1);
    let stream = first.envelope().stream.to_string();
    let r0 = f.ledger.append(first.clone()).unwrap();
    let r1 = f
        .ledger
        .append(police.event(
            &stream,
            ExpectedVersion::Exact(0),
            "WeaponReportedLost",
            lost_report(),
        ))
        .unwrap();
    let r2 = f
        .ledger
        .append(police.event(
            &stream,
            ExpectedVersion::Any,
            "WeaponRecovered",
            object(&[
                ("place", Json::str("Antwerp")),
                ("circumstances", Json::str("Found in a car during a check")),
            ]),
        ))
        .unwrap();
    assert_eq!((r0.index, r1.index, r2.index), (2, 3, 4));
    assert_eq!(
        (r0.stream_version, r1.stream_version, r2.stream_version),
        (0, 1, 2)
    );
    let reader = f.ledger.reader().unwrap();
    let entry = reader.entry(4).unwrap().unwrap();
    assert_eq!(entry.stream_prev, Some(3));
    assert_eq!(reader.entry(2).unwrap().unwrap().stream_prev, None);
    assert_eq!(reader.entry(2).unwrap().unwrap().event, first);
    let bytes = reader.entry_bytes(4).unwrap().unwrap();
    assert_eq!(merkle::leaf_hash(&bytes), r2.leaf_hash);
    assert!(!bytes.contains(&b'\n'), "entries are single lines");
    assert_eq!(
        reader.stream_indexes(&stream, 0, 10).unwrap(),
        vec![2, 3, 4]
    );
    assert_eq!(reader.stream_head(&stream).unwrap().unwrap().index, 4);
    assert_eq!(f.verified().streams, 3);
}

#[test]
fn expected_version_is_enforced() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let marked = police.weapon_marked(7);
    let stream = marked.envelope().stream.to_string();
    f.ledger.append(marked).unwrap();
    let again = police.event(
        &stream,
        ExpectedVersion::NoStream,
        "WeaponMarked",
        Default::default(),
    );
    let err = f.ledger.append(again).unwrap_err();
    assert_eq!(err.code(), "wrong_expected_version");
    match err.rejection() {
        Some(ledger::rejection::Rejection::WrongExpectedVersion { current, .. }) => {
            assert_eq!(*current, Some(0))
        }
        other => panic!("unexpected {other:?}"),
    }
    let stale = police.event(
        &stream,
        ExpectedVersion::Exact(5),
        "WeaponReportedLost",
        lost_report(),
    );
    assert_eq!(code(f.ledger.append(stale)), "wrong_expected_version");
    let missing = police.event(
        &format!("weapon:{}", uuid_from(99)),
        ExpectedVersion::Exact(0),
        "WeaponReportedLost",
        lost_report(),
    );
    assert_eq!(code(f.ledger.append(missing)), "wrong_expected_version");
    assert_eq!(f.size(), 3);
    f.verified();
}

#[test]
fn the_same_event_twice_is_one_entry_and_other_content_under_its_id_conflicts() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let event = police.weapon_marked(1);
    let first = f.ledger.append(event.clone()).unwrap();
    let retry = f.ledger.append(event.clone()).unwrap();
    assert!(retry.duplicate && !first.duplicate);
    assert_eq!(
        (retry.index, retry.leaf_hash, retry.stream_version),
        (first.index, first.leaf_hash, first.stream_version)
    );
    let mut other = event.envelope().clone();
    other.payload.insert("serial_number", Json::str("FN-OTHER"));
    let err = f.ledger.append(other.sign(&police.key)).unwrap_err();
    assert_eq!(err.code(), "event_id_conflict");
    // Two appends of the same event in one group: one entry, both get its receipt.
    let twin = police.weapon_marked(2);
    let (a, b) = (
        f.ledger.submit(vec![twin.clone()]).unwrap(),
        f.ledger.submit(vec![twin]).unwrap(),
    );
    let (a, b) = (a.wait().unwrap().remove(0), b.wait().unwrap().remove(0));
    assert_eq!(a.index, b.index);
    assert_eq!(f.size(), 4);
    f.verified();
}

/// Every way an event can be malformed has its own code, and nothing is appended.
#[test]
fn malformed_events_get_typed_rejections() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let good = police.weapon_marked(1);
    let good_json: serde_json::Value = serde_json::from_slice(&good.to_canonical_vec()).unwrap();
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good_json.clone();
        edit(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let limits = EventLimits::default();
    let mut big_payload = good.envelope().clone();
    big_payload
        .payload
        .insert("notes", Json::str("x".repeat(70_000)));
    let non_canonical_s = {
        // S + L: the same signature with an unreduced scalar.
        let mut sig = good.signature().to_bytes();
        let l: [u8; 32] =
            hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
                .unwrap()
                .try_into()
                .unwrap();
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(sig[32 + i]) + u16::from(l[i]) + carry;
            sig[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        STANDARD.encode(sig)
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed_json", b"{\"event_id\": ".to_vec()),
        ("not_an_object", b"[1, 2]".to_vec()),
        ("duplicate_key", br#"{"stream":"a","stream":"b"}"#.to_vec()),
        (
            "float_not_allowed",
            with(&|v| v["payload"]["year_of_manufacture"] = serde_json::json!(1985.5)),
        ),
        (
            "integer_out_of_range",
            with(&|v| v["payload"]["year_of_manufacture"] = serde_json::json!(9007199254740992u64)),
        ),
        (
            "unknown_field",
            with(&|v| v["visibility"] = serde_json::json!("public")),
        ),
        (
            "missing_field",
            with(&|v| {
                v.as_object_mut().unwrap().remove("occurred_at");
            }),
        ),
        (
            "invalid_field",
            with(&|v| v["type_version"] = serde_json::json!("1")),
        ),
        (
            "invalid_field",
            with(&|v| v["occurred_at"] = serde_json::json!("1985-03-14 09:00")),
        ),
        (
            "invalid_field",
            with(&|v| v["event_id"] = serde_json::json!("not-a-uuid")),
        ),
        (
            "invalid_stream_name",
            with(&|v| v["stream"] = serde_json::json!("weapon:FN-123")),
        ),
        (
            "invalid_stream_name",
            with(&|v| v["stream"] = serde_json::json!("rifle:1")),
        ),
        (
            "signature_malformed",
            with(&|v| v["signature"] = serde_json::json!("AAAA")),
        ),
        (
            "signature_non_canonical",
            with(&|v| v["signature"] = serde_json::json!(non_canonical_s.clone())),
        ),
        (
            "nesting_too_deep",
            with(&|v| {
                v["payload"]["deep"] =
                    serde_json::from_str(&format!("{}1{}", "[".repeat(40), "]".repeat(40))).unwrap()
            }),
        ),
        (
            "event_too_large",
            big_payload.sign(&police.key).to_canonical_vec(),
        ),
    ];
    for (want, bytes) in cases {
        let got = SignedEvent::parse(&bytes, &limits).map(|_| ()).unwrap_err();
        assert_eq!(got.code(), want, "{got}");
    }
    assert_eq!(f.size(), 2);
}

#[test]
fn signatures_and_keys_are_checked_against_the_registry() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    // Signed by someone else's key under police's name.
    let forged = police
        .envelope(
            &format!("weapon:{}", uuid_from(1)),
            ExpectedVersion::NoStream,
            "WeaponMarked",
            Default::default(),
        )
        .sign(&test_key(666));
    assert_eq!(code(f.ledger.append(forged)), "signature_invalid");
    let stranger = Signer::new("xx-unknown", "k1", test_key(11));
    assert_eq!(
        code(f.ledger.append(stranger.weapon_marked(1))),
        "unknown_actor"
    );
    let wrong_key_id = Signer::new("zz-police", "k9", test_key(10));
    assert_eq!(
        code(f.ledger.append(wrong_key_id.weapon_marked(1))),
        "unknown_key"
    );
    assert_eq!(f.size(), 2);
    f.verified();
}

#[test]
fn keys_rotate_and_revoke_by_events_and_old_entries_still_verify() {
    let f = fixture();
    let customs = register(&f.ledger, "zz-customs", "customs", 20);
    f.ledger.append(customs.weapon_marked(1)).unwrap();
    let k2 = test_key(21);
    let rotate = customs.event(
        "authority:zz-customs",
        ExpectedVersion::Any,
        "AuthorityKeyRotated",
        object(&[
            ("key_id", Json::str("k2")),
            (
                "public_key",
                Json::str(ledger::crypto::public_key_of(&k2).to_base64()),
            ),
            ("retires_key_id", Json::str("k1")),
        ]),
    );
    let rotated = f.ledger.append(rotate).unwrap();
    // The registry says when each key became valid and when it stopped, by log index and time.
    let registry = f.ledger.registry();
    let authority = registry.get(&customs.actor).unwrap();
    let k1 = &authority.keys[&customs.key_id];
    let k2_record = &authority.keys[&ledger::event::KeyId::parse("k2").unwrap()];
    assert_eq!(k1.registered.index, authority.registered.index);
    let retired = k1.revoked.as_ref().expect("k1 retired by the rotation");
    assert_eq!(
        (retired.index, retired.recorded_at.as_str()),
        (rotated.index, rotated.recorded_at.as_str())
    );
    assert_eq!(k2_record.registered.index, rotated.index);
    assert!(
        k2_record.revoked.is_none()
            && k2_record.valid_at(rotated.index)
            && !k1.valid_at(rotated.index)
    );
    let err = f.ledger.append(customs.weapon_marked(2)).unwrap_err();
    assert_eq!(err.code(), "key_revoked");
    let customs2 = Signer::new("zz-customs", "k2", k2);
    f.ledger.append(customs2.weapon_marked(2)).unwrap();
    // A key id is never reused, even for a new key.
    let reuse = customs2.event(
        "authority:zz-customs",
        ExpectedVersion::Any,
        "AuthorityKeyRotated",
        object(&[
            ("key_id", Json::str("k1")),
            (
                "public_key",
                Json::str(ledger::crypto::public_key_of(&test_key(22)).to_base64()),
            ),
        ]),
    );
    assert_eq!(code(f.ledger.append(reuse)), "key_exists");
    // Another authority may not touch customs' keys; the administrator may.
    let police = register(&f.ledger, "zz-police", "police", 30);
    let revoke = |by: &Signer| {
        by.event(
            "authority:zz-customs",
            ExpectedVersion::Any,
            "AuthorityKeyRevoked",
            object(&[
                ("key_id", Json::str("k2")),
                ("reason", Json::str("device lost")),
            ]),
        )
    };
    assert_eq!(code(f.ledger.append(revoke(&police))), "actor_not_allowed");
    f.ledger.append(revoke(&root_signer())).unwrap();
    assert_eq!(
        code(f.ledger.append(customs2.weapon_marked(3))),
        "key_revoked"
    );
    // Only administrators register authorities.
    assert_eq!(
        code(f.ledger.append(registration(
            &police,
            "zz-other",
            "police",
            JURISDICTION,
            "k1",
            &test_key(40)
        ))),
        "actor_not_allowed"
    );
    let report = f.verified();
    assert_eq!(report.authorities, 3);
}

/// Events prepared on the caller's thread (what the HTTP workers do) get every check the
/// verifier stage makes, and the writer still judges what changed since: a key revoked
/// between `prepare` and the commit refuses the event.
#[test]
fn events_prepared_by_the_caller_are_judged_like_any_other() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let submit = |events: Vec<SignedEvent>| {
        let prepared = f.ledger.prepare(events);
        f.ledger.submit_prepared(prepared)?.wait()
    };
    let receipts = submit(vec![police.weapon_marked(1), police.weapon_marked(2)]).unwrap();
    assert_eq!(receipts.len(), 2);
    let forged = police
        .envelope(
            &format!("weapon:{}", uuid_from(3)),
            ExpectedVersion::NoStream,
            "WeaponStateMarked",
            Default::default(),
        )
        .sign(&test_key(666));
    let refused = submit(vec![police.weapon_marked(4), forged]).unwrap_err();
    assert_eq!(refused.code(), "signature_invalid");
    assert!(matches!(refused, AppendError::Rejected(ref r) if r.position == 1));
    let twice = police.weapon_marked(5);
    assert_eq!(
        code(submit(vec![twice.clone(), twice])),
        "batch_duplicate_event_id"
    );
    assert_eq!(code(submit(Vec::new())), "batch_empty");

    // Prepared while the key is valid, committed after it is revoked.
    let late = f.ledger.prepare(vec![police.weapon_marked(6)]);
    f.ledger
        .append(root_signer().event(
            "authority:zz-police",
            ExpectedVersion::Any,
            "AuthorityKeyRevoked",
            object(&[
                ("key_id", Json::str("k1")),
                ("reason", Json::str("device lost")),
            ]),
        ))
        .unwrap();
    let refused = f.ledger.submit_prepared(late).unwrap().wait();
    assert_eq!(code(refused), "key_revoked");
    assert_eq!(f.size(), 5, "genesis, police, two weapons, the revocation");
    f.verified();
}

#[test]
fn an_event_received_in_any_spelling_is_stored_in_its_canonical_form() {
    // Prepared on the caller's thread here; `submit` and `submit_each` take received
    // events too (the HTTP batch and the bulk import).
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let submit = |bytes: &[u8]| {
        let received = f.ledger.parse_received(bytes.to_vec()).unwrap();
        let prepared = f.ledger.prepare(vec![received]);
        f.ledger.submit_prepared(prepared).unwrap().wait().unwrap()[0].index
    };
    // As careful clients send it: the canonical form, parsed once.
    let canonical = police.weapon_marked(1).to_canonical_vec();
    let first = submit(&canonical);
    // Pretty-printed, with an escape JCS would not write: stored canonically all the same.
    let event = police.weapon_marked(2);
    let value: serde_json::Value = serde_json::from_slice(&event.to_canonical_vec()).unwrap();
    let spelled = serde_json::to_string_pretty(&value)
        .unwrap()
        .replace("\"zz-police\"", "\"zz\\u002dpolice\"");
    assert_ne!(spelled.as_bytes(), event.to_canonical_vec());
    let second = submit(spelled.as_bytes());
    let reader = f.ledger.reader().unwrap();
    // An entry embeds its event's bytes verbatim.
    let embeds = |index: u64, event: &[u8]| {
        let entry = reader.entry_bytes(index).unwrap().unwrap();
        entry.windows(event.len()).any(|w| w == event)
    };
    assert!(embeds(first, &canonical));
    assert!(embeds(second, &event.to_canonical_vec()));
    // What does not parse is refused before anything is queued.
    let refused = f
        .ledger
        .parse_received(b"{\"event_id\":".to_vec())
        .unwrap_err();
    assert_eq!(refused.code(), "malformed_json");
    drop(reader);
    assert_eq!(f.size(), 4);
    f.verified();
}

#[test]
fn a_batch_is_all_or_nothing() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let before = f.size();
    let bad = police.event(
        &format!("weapon:{}", uuid_from(50)),
        ExpectedVersion::Exact(3),
        "WeaponReportedLost",
        lost_report(),
    );
    let err = f
        .ledger
        .append_batch(vec![police.weapon_marked(1), police.weapon_marked(2), bad])
        .unwrap_err();
    match err {
        AppendError::Rejected(r) => {
            assert_eq!(r.position, 2);
            assert_eq!(r.rejection.code(), "wrong_expected_version");
        }
        other => panic!("{other}"),
    }
    assert_eq!(f.size(), before);
    // Events of one batch see each other: the second continues the first's stream.
    let marked = police.weapon_marked(3);
    let stream = marked.envelope().stream.to_string();
    let next = police.event(
        &stream,
        ExpectedVersion::Exact(0),
        "WeaponReportedLost",
        lost_report(),
    );
    let receipts = f.ledger.append_batch(vec![marked, next]).unwrap();
    assert_eq!(
        receipts.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![before, before + 1]
    );
    assert_eq!(
        code(f.ledger.append_batch(Vec::<SignedEvent>::new())),
        "batch_empty"
    );
    let twice = police.weapon_marked(9);
    assert_eq!(
        code(f.ledger.append_batch(vec![twice.clone(), twice])),
        "batch_duplicate_event_id"
    );
    f.verified();
}

/// A batch's body is read member by member as each member's canonical bytes would be read
/// alone: the same events (their canonical bytes are what the entries embed), the same
/// refusals, at the member's position.
#[test]
fn a_batch_body_reads_each_member_as_its_canonical_bytes() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let events = [police.weapon_marked(1), police.weapon_marked(2)];
    let value = |e: &SignedEvent| -> serde_json::Value {
        serde_json::from_slice(&e.to_canonical_vec()).unwrap()
    };
    // Pretty-printed members: whitespace the canonical form does not have.
    let pretty: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string_pretty(&value(e)).unwrap())
        .collect();
    let body = format!("[\n{}\n]", pretty.join(",\n"));
    let received = f.ledger.parse_received_batch(body.as_bytes()).unwrap();
    let before = f.size();
    f.ledger.append_batch(received).unwrap();
    let stored = f.ledger.reader().unwrap().entries_bytes(before, 2).unwrap();
    for (entry, event) in stored.iter().zip(&events) {
        let canonical = event.to_canonical_vec();
        assert!(entry.windows(canonical.len()).any(|w| w == canonical));
    }

    let good = String::from_utf8(police.weapon_marked(3).to_canonical_vec()).unwrap();
    let with = |change: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut v = value(&police.weapon_marked(4));
        change(v.as_object_mut().unwrap());
        serde_json::to_string(&v).unwrap()
    };
    let mut deep = String::from("{\"a\":1}");
    for _ in 0..EventLimits::default().json_depth_max {
        deep = format!("{{\"a\":{deep}}}");
    }
    // Each bad member, and where a batch holding it after a good one is refused: at the
    // member, or (what the JSON parser refuses) for the whole body.
    let bad_members = [
        (
            with(&|o| {
                o.insert("extra".into(), 1.into());
            }),
            Some(1),
        ),
        (
            with(&|o| {
                o.remove("signature");
            }),
            Some(1),
        ),
        (
            with(&|o| {
                o.insert("notes".into(), "x".repeat(70_000).into());
            }),
            Some(1),
        ),
        ("5".to_owned(), Some(1)),
        ("{\"event_id\": 1.5}".to_owned(), None),
        (deep, None),
    ];
    for (bad, refused_at) in bad_members {
        let alone = f
            .ledger
            .parse_received(bad.clone().into_bytes())
            .expect_err("refused alone");
        let in_batch = f
            .ledger
            .parse_received_batch(format!("[{good},{bad}]").as_bytes())
            .expect_err("refused in a batch");
        let (position, rejection) = match in_batch {
            ledger::BatchBodyError::Member(b) => (Some(b.position), b.rejection),
            ledger::BatchBodyError::Json(r) => (None, r),
            ledger::BatchBodyError::NotAnArray => panic!("it is an array"),
        };
        let shown = &bad[..bad.len().min(80)];
        assert_eq!(rejection.code(), alone.code(), "{shown}");
        assert_eq!(position, refused_at, "{shown}");
    }
    assert!(matches!(
        f.ledger.parse_received_batch(good.as_bytes()),
        Err(ledger::BatchBodyError::NotAnArray)
    ));
    assert_eq!(f.size(), before + 2, "reading appends nothing");
    f.verified();
}

#[test]
fn events_submitted_each_on_their_own_are_judged_in_order_one_by_one() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let before = f.size();
    let marked = police.weapon_marked(1);
    let stream = marked.envelope().stream.to_string();
    let lost = |version| {
        police.event(
            &stream,
            ExpectedVersion::Exact(version),
            "WeaponReportedLost",
            lost_report(),
        )
    };
    // The second event is refused; the ones after it still go in, and each sees the
    // ones before it (the fourth continues the first's stream); the repeated id is a
    // duplicate of the earlier event.
    let events = vec![
        marked.clone(),
        lost(5),
        police.weapon_marked(2),
        lost(0),
        marked,
    ];
    let mut outcomes = f
        .ledger
        .submit_each(events)
        .unwrap()
        .into_iter()
        .map(|p| p.wait());
    let mut next = || outcomes.next().unwrap();
    assert_eq!(next().unwrap()[0].index, before);
    assert_eq!(code(next()), "wrong_expected_version");
    assert_eq!(next().unwrap()[0].index, before + 1);
    assert_eq!(next().unwrap()[0].index, before + 2);
    let repeated = next().unwrap().remove(0);
    assert!(repeated.duplicate && repeated.index == before);
    assert_eq!(f.size(), before + 3);
    assert_eq!(
        code(f.ledger.submit_each(Vec::<SignedEvent>::new())),
        "batch_empty"
    );
    f.verified();
}

#[test]
fn concurrent_appenders_share_commits() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let before = f.ledger.stats();
    let threads = 32u64;
    let per_thread = 25u64;
    std::thread::scope(|s| {
        for t in 0..threads {
            let (ledger, police) = (f.ledger.clone(), police.clone());
            s.spawn(move || {
                for i in 0..per_thread {
                    ledger
                        .append(police.weapon_marked(1000 + t * per_thread + i))
                        .unwrap();
                }
            });
        }
    });
    let after = f.ledger.stats();
    let appended = after.entries - before.entries;
    assert_eq!(appended, threads * per_thread);
    assert!(
        after.commits - before.commits < appended,
        "group commit: {} commits for {appended} appends",
        after.commits - before.commits
    );
    assert_eq!(f.size(), 2 + threads * per_thread);
    f.verified();
}

#[test]
fn checkpoints_follow_the_interval_not_the_append_rate() {
    let clock = ManualClock::at(1_800_000_000_000);
    let config = LedgerConfig {
        checkpoint_interval_ms: 1000,
        ..Default::default()
    };
    let f = fixture_with(config, clock.clone());
    let police = register(&f.ledger, "zz-police", "police", 10);
    for n in 0..20 {
        f.ledger.append(police.weapon_marked(n)).unwrap();
    }
    let latest = |f: &Fixture| {
        f.ledger
            .reader()
            .unwrap()
            .latest_checkpoint()
            .unwrap()
            .unwrap()
            .0
    };
    assert_eq!(latest(&f), 1, "no new checkpoint within the interval");
    clock.advance(1000);
    // The writer signs on its own once the interval has passed, with no append needed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while latest(&f) != 22 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(latest(&f), 22);
    clock.advance(999);
    f.ledger.append(police.weapon_marked(100)).unwrap();
    assert_eq!(latest(&f), 22);
    clock.advance(1);
    f.ledger.append(police.weapon_marked(101)).unwrap();
    // The interval has passed: the append carries a checkpoint (24), unless the writer's
    // timer got there an instant before it arrived (23; with this frozen test clock no
    // further interval then passes).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while latest(&f) < 23 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let sizes = f.ledger.reader().unwrap().checkpoint_sizes().unwrap();
    assert!(sizes == [1, 22, 24] || sizes == [1, 22, 23], "{sizes:?}");
    f.verified();
}

#[test]
fn proofs_verify_against_signed_checkpoints() {
    let clock = ManualClock::at(1_800_000_000_000);
    let f = fixture_with(LedgerConfig::default(), clock.clone());
    let police = register(&f.ledger, "zz-police", "police", 10);
    // Waits until a checkpoint covers the whole log (the writer's timer signs it).
    let checkpointed = |f: &Fixture| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let reader = f.ledger.reader().unwrap();
            let size = reader.tree_size().unwrap();
            if reader.latest_checkpoint().unwrap().unwrap().0 == size {
                return size;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint of size {size}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    for n in 0..40 {
        f.ledger.append(police.weapon_marked(n)).unwrap();
    }
    clock.advance(1000);
    let old_size = checkpointed(&f);
    for n in 40..100 {
        f.ledger.append(police.weapon_marked(n)).unwrap();
    }
    clock.advance(1000);
    let new_size = checkpointed(&f);
    assert_eq!((old_size, new_size), (42, 102));
    let verifier = f.ledger.verifier().unwrap();
    let reader = f.ledger.reader().unwrap();
    assert_eq!(reader.checkpoint_sizes().unwrap(), vec![1, 42, 102]);
    let old = note::open_checkpoint(&verifier, &reader.checkpoint(42).unwrap().unwrap()).unwrap();
    let new = note::open_checkpoint(&verifier, &reader.checkpoint(102).unwrap().unwrap()).unwrap();
    for index in [0, 1, 41, 57, 101] {
        let leaf = merkle::leaf_hash(&reader.entry_bytes(index).unwrap().unwrap());
        let proof = reader.inclusion_proof(index, new.size).unwrap();
        merkle::verify_inclusion(index, new.size, &leaf, &proof, &new.root).unwrap();
        let mut wrong = leaf;
        wrong[0] ^= 1;
        assert!(merkle::verify_inclusion(index, new.size, &wrong, &proof, &new.root).is_err());
    }
    let proof = reader.consistency_proof(old.size, new.size).unwrap();
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof).unwrap();
    let forked = {
        let mut r = old.root;
        r[31] ^= 1;
        r
    };
    assert!(merkle::verify_consistency(old.size, new.size, &forked, &new.root, &proof).is_err());
    assert_eq!(reader.root(102).unwrap(), new.root);
    assert_eq!(
        reader.inclusion_proof(0, 103).unwrap_err().code(),
        "tree_size_beyond_log"
    );
    f.verified();
}

#[test]
fn a_reopened_ledger_continues_where_it_stopped() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let marked = police.weapon_marked(1);
    let stream = marked.envelope().stream.to_string();
    f.ledger.append(marked).unwrap();
    let Fixture { _dir, path, ledger } = f;
    ledger.close();
    assert!(matches!(
        Ledger::open(
            &path,
            test_key(77),
            LedgerConfig::default(),
            SystemClock::shared()
        ),
        Err(ledger::OpenError::WrongLogKey { .. })
    ));
    let ledger = open_ledger(&path);
    // The registry came back from the log: police may still sign.
    let r = ledger
        .append(police.event(
            &stream,
            ExpectedVersion::Exact(0),
            "WeaponReportedStolen",
            stolen_report(),
        ))
        .unwrap();
    assert_eq!((r.index, r.stream_version), (3, 1));
    let reader = ledger.reader().unwrap();
    assert_eq!(
        reader.latest_checkpoint().unwrap().unwrap().0,
        4,
        "close seals a checkpoint of everything"
    );
    drop(reader);
    ledger.close();
    let report = ledger::verify::verify_file(&path).unwrap();
    assert_eq!(report.entries, 4);
}

/// The write queue is bounded: a burst beyond it is refused with `overloaded` (nothing
/// of a refused append is written), never queued without bound.
#[test]
fn a_full_queue_refuses_instead_of_growing() {
    let config = LedgerConfig {
        queue_appends_max: 1,
        ..Default::default()
    };
    let f = fixture_with(config, SystemClock::shared());
    let police = register(&f.ledger, "zz-police", "police", 10);
    // Submit 400 appends without waiting for any: the pipeline verifies and commits far
    // slower than a submit enqueues, so the one-slot queue is full most of the time.
    let mut pending = Vec::new();
    let mut refused = Vec::new();
    for n in 0..400 {
        let event = police.weapon_marked(n);
        match f.ledger.submit(vec![event.clone()]) {
            Ok(p) => pending.push((event, p)),
            Err(e) => {
                assert_eq!(e.code(), "overloaded");
                refused.push(event);
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "a burst must overflow a one-slot queue"
    );
    let accepted: Vec<_> = pending
        .into_iter()
        .map(|(e, p)| (e, p.wait().unwrap().remove(0)))
        .collect();
    let reader = f.ledger.reader().unwrap();
    assert_eq!(reader.tree_size().unwrap(), 2 + accepted.len() as u64);
    for (event, receipt) in &accepted {
        assert_eq!(&reader.entry(receipt.index).unwrap().unwrap().event, event);
    }
    for event in &refused {
        assert!(
            reader
                .stream_head(event.envelope().stream.as_str())
                .unwrap()
                .is_none()
        );
    }
    f.verified();
}

/// No input makes the parser panic: thousands of random mutations of valid events (byte
/// flips, truncations, insertions of JSON-significant bytes) each end in a typed result.
#[test]
fn mutated_events_never_panic_the_parser() {
    let police = Signer::new("zz-police", "k1", test_key(10));
    let limits = EventLimits::default();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    const SIGNIFICANT: &[u8] = b"{}[]\",:\\0-1.eE \xff\xc3\x00";
    let mut codes = std::collections::BTreeMap::<&str, u32>::new();
    for n in 0..20_000u64 {
        let mut bytes = police.weapon_marked(n % 50).to_canonical_vec();
        for _ in 0..1 + next() % 3 {
            let at = (next() % bytes.len() as u64) as usize;
            match next() % 4 {
                0 => bytes[at] ^= 1 << (next() % 8),
                1 => bytes.truncate(at),
                2 => bytes.insert(
                    at,
                    SIGNIFICANT[(next() % SIGNIFICANT.len() as u64) as usize],
                ),
                _ => {
                    bytes.remove(at);
                }
            }
            if bytes.is_empty() {
                bytes.push(b'{');
            }
        }
        let code = match SignedEvent::parse(&bytes, &limits) {
            Ok(_) => "parsed",
            Err(r) => r.code(),
        };
        *codes.entry(code).or_default() += 1;
    }
    println!("{codes:?}");
    assert!(
        codes.len() >= 5,
        "mutations reach many different rules: {codes:?}"
    );
}

/// Review finding: a refused genesis left a file behind that a later open took for a
/// ledger, letting anyone's self-registration become entry 0.
#[test]
fn a_refused_genesis_leaves_no_ledger_and_a_half_made_one_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.redb");
    let root = root_signer();
    let bad = ledger::Ledger::create(
        &path,
        ledger::Genesis {
            origin: ORIGIN.into(),
            log_key: log_key(),
            root_authority: root.actor.clone(),
            root_name: "Bad".into(),
            jurisdiction: "zz".into(), // not an ISO 3166 alpha-2 code
            root_key_id: root.key_id.clone(),
            root_key: &root.key,
            occurred_at: ledger::event::Timestamp::parse("2026-11-27T09:00:00Z").unwrap(),
        },
        LedgerConfig::default(),
        SystemClock::shared(),
    );
    assert!(matches!(bad, Err(ledger::OpenError::Genesis(_))), "{bad:?}");
    assert!(!path.exists(), "no file is left behind");

    // A file whose creation stopped between its commits (meta, no entries) is refused.
    let f = fixture();
    let Fixture { _dir, path, ledger } = f;
    ledger.close();
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        // Empty every table but meta, as a create stopped after its first commit leaves it.
        txn.open_table(redb::TableDefinition::<u64, &[u8]>::new("entries"))
            .unwrap()
            .retain(|_, _| false)
            .unwrap();
        txn.open_table(redb::TableDefinition::<(u8, u64), [u8; 32]>::new(
            "merkle_nodes",
        ))
        .unwrap()
        .retain(|_, _| false)
        .unwrap();
        txn.open_table(redb::TableDefinition::<(&str, u64), u64>::new(
            "stream_entries",
        ))
        .unwrap()
        .retain(|_, _| false)
        .unwrap();
        txn.open_table(redb::TableDefinition::<u128, ([u8; 32], u64)>::new(
            "event_ids",
        ))
        .unwrap()
        .retain(|_, _| false)
        .unwrap();
        txn.open_table(redb::TableDefinition::<u64, &str>::new("checkpoints"))
            .unwrap()
            .retain(|_, _| false)
            .unwrap();
        txn.commit().unwrap();
    }
    let opened = try_open_ledger(&path);
    assert!(
        matches!(opened, Err(ledger::OpenError::Genesis(_))),
        "{opened:?}"
    );
}

/// Review finding: events built in code skipped the JSON rules, and their entries could
/// not be read back. Now they are checked against their own canonical form.
#[test]
fn events_built_in_code_are_held_to_the_same_rules() {
    let f = fixture();
    let police = register(&f.ledger, "zz-police", "police", 10);
    let mut huge = police.weapon_marked(1).envelope().clone();
    huge.payload.insert("serial", Json::Int(i64::MAX));
    assert_eq!(
        code(f.ledger.append(huge.sign(&police.key))),
        "integer_out_of_range"
    );
    let mut zero = police.weapon_marked(2).envelope().clone();
    zero.type_version = 0;
    assert_eq!(
        code(f.ledger.append(zero.sign(&police.key))),
        "invalid_field"
    );
    let mut deep = police.weapon_marked(3).envelope().clone();
    let mut nested = Json::Int(1);
    for _ in 0..40 {
        nested = Json::Array(vec![nested]);
    }
    deep.payload.insert("deep", nested);
    assert_eq!(
        code(f.ledger.append(deep.sign(&police.key))),
        "nesting_too_deep"
    );
    assert_eq!(f.size(), 2);
    f.verified();
    let too_deep = LedgerConfig {
        event_limits: EventLimits {
            json_depth_max: 64,
            ..Default::default()
        },
        ..Default::default()
    };
    let Fixture { _dir, path, ledger } = f;
    ledger.close();
    assert!(matches!(
        ledger::Ledger::open(&path, log_key(), too_deep, SystemClock::shared()),
        Err(ledger::OpenError::Config(_))
    ));
}

/// Review finding: staging cloned the whole registry per registry event. Now one working
/// copy per group and an undo log per append: a rejected batch leaves it untouched.
#[test]
fn a_rejected_batch_of_registrations_changes_no_authority() {
    let f = fixture();
    let root = root_signer();
    let a = registration(&root, "zz-a", "police", JURISDICTION, "k1", &test_key(50));
    let b = registration(&root, "zz-b", "customs", JURISDICTION, "k1", &test_key(51));
    let bad = root.event(
        &format!("weapon:{}", uuid_from(1)),
        ExpectedVersion::Exact(9),
        "WeaponSeized",
        Default::default(),
    );
    assert_eq!(
        code(f.ledger.append_batch(vec![a.clone(), b.clone(), bad])),
        "wrong_expected_version"
    );
    let registry = f.ledger.registry();
    assert!(
        registry.get(&a.envelope().actor).is_some(),
        "the root is there"
    );
    for id in ["zz-a", "zz-b"] {
        assert!(
            registry
                .get(&ledger::event::AuthorityId::parse(id).unwrap())
                .is_none(),
            "{id} was rolled back"
        );
    }
    // The same registrations in a good batch go through, and their keys sign at once.
    f.ledger.append_batch(vec![a, b]).unwrap();
    f.ledger
        .append(Signer::new("zz-a", "k1", test_key(50)).weapon_marked(7))
        .unwrap();
    assert_eq!(f.verified().authorities, 3);
}

/// Review finding: a wall clock stepped back stopped checkpoints for as long as the step.
#[test]
fn checkpoints_go_on_when_the_clock_steps_back() {
    let clock = ManualClock::at(1_800_000_000_000);
    let f = fixture_with(LedgerConfig::default(), clock.clone());
    let police = register(&f.ledger, "zz-police", "police", 10);
    f.ledger.append(police.weapon_marked(1)).unwrap();
    clock.advance(-3_600_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while f
        .ledger
        .reader()
        .unwrap()
        .latest_checkpoint()
        .unwrap()
        .unwrap()
        .0
        != 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint after the clock stepped back"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // recorded_at never goes back even so.
    let r = f.ledger.append(police.weapon_marked(2)).unwrap();
    let previous = f
        .ledger
        .reader()
        .unwrap()
        .entry(r.index - 1)
        .unwrap()
        .unwrap()
        .recorded_at;
    assert!(r.recorded_at.as_str() >= previous.as_str());
    f.verified();
}
