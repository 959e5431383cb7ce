//! The on-disk format is a contract: the golden ledger written by each released format
//! must still open, verify, hold exactly what it held, and take new appends.

use armsledger_tests::*;

const GOLDEN_V1: &[u8] = include_bytes!("../../golden/ledger-v1.redb");
const GOLDEN_V1_DIGEST: &str = include_str!("../../golden/ledger-v1.sha256");

#[test]
fn the_format_1_golden_ledger_opens_verifies_and_grows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.redb");
    std::fs::write(&path, GOLDEN_V1).unwrap();

    let report =
        ledger::verify::verify_file(&path).unwrap_or_else(|f| panic!("golden ledger: {f}"));
    assert_eq!(
        (report.entries, report.authorities, report.streams),
        (85, 3, 64)
    );
    let reader = ledger::store::LogReader::open_file(&path).unwrap();
    assert_eq!(
        hex::encode(reader.content_digest().unwrap()),
        GOLDEN_V1_DIGEST.trim()
    );
    assert_eq!(reader.meta().unwrap().origin, ORIGIN);
    drop(reader);

    // Opening upgrades it to the current format: its projections are built from its log.
    // Its test authorities act for "ZZ", which is no State: new appends must name real
    // ones, and the administrator may still register them.
    let ledger = open_ledger(&path);
    let receipt = ledger
        .append(registration(
            &root_signer(),
            "be-customs",
            "customs",
            JURISDICTION,
            "k1",
            &test_key(60),
        ))
        .unwrap();
    assert_eq!(receipt.index, 85);
    ledger.close();
    let report = ledger::verify::verify_file(&path).unwrap();
    assert_eq!((report.entries, report.authorities), (86, 4));
    let reader = ledger::store::LogReader::open_file(&path).unwrap();
    assert_eq!(
        reader.meta().unwrap().format_version,
        ledger::store::FORMAT_VERSION
    );
}

const GOLDEN_V2: &[u8] = include_bytes!("../../golden/ledger-v2.redb");
const GOLDEN_V2_DIGEST: &str = include_str!("../../golden/ledger-v2.sha256");

/// Format 2 adds the projections. Opening upgrades it to format 3 (whose projections
/// also hold broker registrations and met policy requirements) by rebuilding them from
/// the log; `verify` then compares the rebuilt ones byte for byte with the stored ones.
/// A format-2 file's own projections are not compared: they follow format 2's rules.
#[test]
fn the_format_2_golden_ledger_opens_verifies_and_grows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.redb");
    std::fs::write(&path, GOLDEN_V2).unwrap();

    let report =
        ledger::verify::verify_file(&path).unwrap_or_else(|f| panic!("golden ledger: {f}"));
    assert_eq!(
        (
            report.entries,
            report.authorities,
            report.streams,
            report.views
        ),
        (97, 4, 75, 0)
    );
    let reader = ledger::store::LogReader::open_file(&path).unwrap();
    assert_eq!(
        hex::encode(reader.content_digest().unwrap()),
        GOLDEN_V2_DIGEST.trim()
    );
    let stolen = format!("weapon:{}", uuid_from(2003));
    match reader.view(&stolen).unwrap().as_deref() {
        Some(ledger::domain::views::View::Weapon(weapon)) => {
            assert_eq!(weapon.status, ledger::domain::views::WeaponStatus::Stolen);
            assert_eq!(
                weapon.identity.serial_number.as_deref(),
                Some("FN-00002003")
            );
        }
        other => panic!("{other:?}"),
    }
    drop(reader);

    let ledger = open_ledger(&path);
    let police_k2 = Signer::new("zz-police", "k2", test_key(11));
    let receipt = ledger.append(police_k2.weapon_marked(5000)).unwrap();
    assert_eq!(receipt.index, 97);
    ledger.close();
    assert_eq!(ledger::verify::verify_file(&path).unwrap().views, 72);
}

/// A copy of a golden ledger (`relative` to this crate) in a new temporary directory. When
/// `ARMSLEDGER_WRITE_GOLDEN` names its `format`, writes it anew with `write` instead, with
/// its digest beside it, and stops: a golden file changes only deliberately.
fn golden_copy(
    relative: &str,
    format: &str,
    write: fn(&std::path::Path),
) -> (tempfile::TempDir, std::path::PathBuf) {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if std::env::var("ARMSLEDGER_WRITE_GOLDEN").as_deref() == Ok(format) {
        let _ = std::fs::remove_file(&golden);
        write(&golden);
        let digest = ledger::store::LogReader::open_file(&golden)
            .unwrap()
            .content_digest()
            .unwrap();
        std::fs::write(
            golden.with_extension("sha256"),
            format!("{}\n", hex::encode(digest)),
        )
        .unwrap();
        panic!("wrote {}; commit it and run again", golden.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.redb");
    std::fs::copy(&golden, &path).unwrap();
    (dir, path)
}

const GOLDEN_V3: &str = "golden/ledger-v3.redb";
const GOLDEN_V3_DIGEST: &str = include_str!("../../golden/ledger-v3.sha256");

/// The policy the format-3 golden ledger runs: hand-written to ABI v1 (so the file does
/// not depend on how the example policies compile), allowing with a reason and a condition.
fn golden_policy() -> Vec<u8> {
    armsledger_tests::policy::wat_answering(
        r#"{"outcome":"allow","reasons":[{"code":"checked","rule":"golden","message":"ok"}],"conditions":[{"report":"annual"}]}"#,
    )
}

/// Writes the format-3 golden ledger: a broker registration, a policy installed with its
/// module, a licence application it decided (decision and input recorded), a requirement
/// met. Run once, deliberately: `ARMSLEDGER_WRITE_GOLDEN=3 cargo test format_3`.
fn write_golden_v3(path: &std::path::Path) {
    use armsledger_tests::script::{Acts, Deal};
    let clock = ManualClock::at(1_800_000_000_000);
    let ledger = create_ledger(path, ledger::LedgerConfig::default(), clock);
    ledger
        .set_policy_runner(plugins::PolicyHost::new(plugins::HostLimits::default(), None).unwrap());
    let licensing = register(&ledger, "be-licensing", "licensing", 40);
    let maker = register(&ledger, "be-fn", "manufacturer", 41);
    // The broker is an authority; its registration goes on its stream.
    register(&ledger, "be-broker", "broker", 42);
    let sha256 = ledger.put_policy_blob(&golden_policy()).unwrap();
    let on = |signer: &Signer, date: &str, stream: &str, kind: &str, body: serde_json::Value| {
        ledger.append(signer.on(date, stream, kind, body)).unwrap()
    };
    on(
        &licensing,
        "2026-01-01",
        "authority:be-broker",
        "BrokerRegistered",
        serde_json::json!({
            "broker_name": "Meuse Trading SPRL", "address": "Quai de la Batte 10, 4000 Liège",
            "registering_state": "BE", "registration_number": "BE-BRK-2026-014",
            "valid_from": "2026-01-01", "valid_until": "2030-12-31",
        }),
    );
    on(
        &licensing,
        "2026-01-02",
        "policy:be-golden",
        "PolicyInstalled",
        serde_json::json!({
            "policy_id": "be-golden", "name": "golden", "jurisdiction": "BE", "version": 1,
            "module_sha256": sha256, "governs": ["ExportLicenceApplied"],
        }),
    );
    on(
        &licensing,
        "2026-01-03",
        "policy:be-golden",
        "PolicyActivated",
        serde_json::json!({"policy_id": "be-golden"}),
    );
    let deal = Deal {
        exporter: "FN Herstal SA",
        exporting_state: "BE",
        consignee: "Kenya Defence Forces",
        importing_state: "KE",
        end_user: "Kenya Defence Forces",
        quantity: 50,
    };
    let mut application = deal.licence_applied(None);
    application["brokers"] = serde_json::json!([
        {"name": "Meuse Trading SPRL", "country": "BE", "licence_number": "BE-BRK-2026-014"}
    ]);
    on(
        &maker,
        "2026-02-01",
        "licence:BE-2026-1",
        "ExportLicenceApplied",
        application,
    );
    on(
        &licensing,
        "2026-02-05",
        "licence:BE-2026-1",
        "PolicyRequirementMet",
        serde_json::json!({
            "policy_id": "be-golden", "requirement": "approval", "rule": "golden",
            "by": "Minister", "reference": "Decision 2026/1",
        }),
    );
    ledger.close();
}

/// Format 3 adds the `policy_blobs` table, decisions in entries, broker registrations and
/// met requirements in the projections. `verify` compares the projections byte for byte.
#[test]
fn the_format_3_golden_ledger_opens_verifies_and_grows() {
    let (_dir, path) = golden_copy(GOLDEN_V3, "3", write_golden_v3);

    // Format 3's projections follow format 3's rules: opening rebuilds them, and only
    // then does `verify` compare them.
    let report =
        ledger::verify::verify_file(&path).unwrap_or_else(|f| panic!("golden ledger: {f}"));
    assert_eq!(
        (report.entries, report.authorities, report.views),
        (9, 4, 0)
    );
    let reader = ledger::store::LogReader::open_file(&path).unwrap();
    assert_eq!(
        hex::encode(reader.content_digest().unwrap()),
        GOLDEN_V3_DIGEST.trim()
    );
    assert_eq!(reader.meta().unwrap().format_version, 3);
    // The decision, its module and its input, by the hashes the entry commits to.
    let applied = reader.stream_history("licence:BE-2026-1").unwrap()[0].index;
    let entry = reader.entry(applied).unwrap().unwrap();
    let decisions = ledger::policy::PolicyDecision::from_entry(&entry.decisions).unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        decisions[0].conditions,
        vec![serde_json::json!({"report": "annual"})]
    );
    let module = reader.policy_blob(&decisions[0].sha256).unwrap().unwrap();
    assert_eq!(module, golden_policy());
    let input = reader
        .policy_blob(&decisions[0].input_sha256)
        .unwrap()
        .unwrap();
    assert_eq!(
        ledger::policy::sha256_hex(&input),
        decisions[0].input_sha256
    );
    let input: serde_json::Value = serde_json::from_slice(&input).unwrap();
    assert_eq!(
        input["context"]["brokers"][0]["registration"]["registration_number"],
        "BE-BRK-2026-014"
    );
    match reader.view("licence:BE-2026-1").unwrap().as_deref() {
        Some(ledger::domain::views::View::Licence(licence)) => {
            assert_eq!(licence.requirements_met.len(), 1)
        }
        other => panic!("{other:?}"),
    }
    drop(reader);

    // It takes new governed appends, decided by the same module.
    let ledger = open_ledger(&path);
    ledger
        .set_policy_runner(plugins::PolicyHost::new(plugins::HostLimits::default(), None).unwrap());
    let maker = Signer::new("be-fn", "k1", test_key(41));
    let deal = armsledger_tests::script::Deal {
        exporter: "FN Herstal SA",
        exporting_state: "BE",
        consignee: "Ghana Armed Forces",
        importing_state: "GH",
        end_user: "Ghana Armed Forces",
        quantity: 5,
    };
    use armsledger_tests::script::Acts;
    let receipt = ledger
        .append(maker.on(
            "2026-03-01",
            "licence:BE-2026-2",
            "ExportLicenceApplied",
            deal.licence_applied(None),
        ))
        .unwrap();
    let entry = ledger
        .reader()
        .unwrap()
        .entry(receipt.index)
        .unwrap()
        .unwrap();
    assert_eq!(entry.decisions.len(), 1);
    ledger.close();
    let report = ledger::verify::verify_file(&path).unwrap();
    assert!(report.views >= 3, "{}", report.views);
}

const GOLDEN_V4: &str = "golden/ledger-v4.redb";
const GOLDEN_V4_DIGEST: &str = include_str!("../../golden/ledger-v4.sha256");

/// The weapon of the format-4 golden ledger numbered `n`.
fn golden_weapon(n: u64) -> String {
    format!("weapon:{}", uuid_from(n))
}

/// Writes the format-4 golden ledger: weapons marked with serials, one of the State's
/// holdings (no serial) seized with its marks filed off and its serial restored after a
/// later weapon was marked, one whose serial was corrected. Run once, deliberately: `ARMSLEDGER_WRITE_GOLDEN=4 cargo test format_4`.
fn write_golden_v4(path: &std::path::Path) {
    use armsledger_tests::script::{self, Acts};
    let clock = ManualClock::at(1_810_000_000_000);
    let ledger = create_ledger(path, ledger::LedgerConfig::default(), clock);
    let maker = register(&ledger, "be-fn", "manufacturer", 50);
    let police = register(&ledger, "be-police", "police", 51);
    let lab = register(&ledger, "be-nicc", "laboratory", 52);
    let on = |signer: &Signer, date: &str, n: u64, kind: &str, body: serde_json::Value| {
        ledger
            .append(signer.on(date, &golden_weapon(n), kind, body))
            .unwrap()
    };
    let marked = |serial: &str| script::weapon_marked("FN Herstal", "BE", serial);
    on(&maker, "2026-01-05", 1, "WeaponMarked", marked("GV-0001"));
    let second = on(&maker, "2026-01-05", 2, "WeaponMarked", marked("GV-0002"));
    on(&maker, "2026-01-05", 3, "WeaponMarked", marked("GV-0003"));
    let holding = script::state_marked("BE", "Federal Police, central armoury", "BE-POL-10");
    on(&police, "2026-01-20", 10, "WeaponStateMarked", holding);
    let seizure = script::seized("Federal Judicial Police, Brussels", "Antwerp", true);
    on(&police, "2026-02-01", 10, "WeaponSeized", seizure);
    on(&maker, "2026-02-10", 4, "WeaponMarked", marked("GV-0004"));
    let restored = script::serial_restored("GV-0010", true);
    on(&lab, "2026-03-01", 10, "SerialNumberRestored", restored);
    let correction = serde_json::json!({
        "corrected_index": second.index,
        "corrected_fields": {"serial_number": "GV-0022"},
        "reason": "Mistyped at entry",
    });
    on(&maker, "2026-03-02", 2, "RecordCorrected", correction);
    ledger.close();
}

/// The weapons a search of the golden ledger finds, by their number.
fn golden_found(reader: &ledger::store::LogReader, text: &str, matching: SerialMatch) -> Vec<u64> {
    let query = ledger::search::WeaponQuery::by_serial(text, matching);
    let page = reader.search_weapons(&query).unwrap();
    ledger::search::ids(&page)
        .iter()
        .map(|id| (1..=10).find(|n| uuid_from(*n) == id.to_string()).unwrap())
        .collect()
}

use ledger::search::SerialMatch;

/// Format 4 drops `serial_suffixes` (partial search's index is loaded into memory from
/// `serial_index`) and gives each `serial_index` row the index of the weapon's first
/// entry, the order partial searches list weapons in.
#[test]
fn the_format_4_golden_ledger_opens_verifies_searches_and_grows() {
    let (_dir, path) = golden_copy(GOLDEN_V4, "4", write_golden_v4);

    // `verify` compares the stored views and serial index rows with a rebuild.
    let report =
        ledger::verify::verify_file(&path).unwrap_or_else(|f| panic!("golden ledger: {f}"));
    assert_eq!(
        (report.entries, report.authorities, report.views),
        (12, 4, 5)
    );
    let reader = ledger::store::LogReader::open_file(&path).unwrap();
    assert_eq!(
        hex::encode(reader.content_digest().unwrap()),
        GOLDEN_V4_DIGEST.trim()
    );
    assert_eq!(reader.meta().unwrap().format_version, 4);
    // A reader of the file alone loads the partial index from its snapshot.
    let in_order = [1, 2, 3, 10, 4];
    assert_eq!(
        golden_found(&reader, "gv00", SerialMatch::Prefix),
        [1, 3, 4, 10, 2]
    );
    assert_eq!(
        golden_found(&reader, "V00", SerialMatch::Contains),
        in_order
    );
    assert_eq!(golden_found(&reader, "0010", SerialMatch::Suffix), [10]);
    assert!(golden_found(&reader, "0002", SerialMatch::Suffix).is_empty());
    drop(reader);

    // So does a ledger opened on it; then the writer grows the index.
    let ledger = open_ledger(&path);
    let reader = ledger.reader().unwrap();
    assert_eq!(
        golden_found(&reader, "V00", SerialMatch::Contains),
        in_order
    );
    drop(reader);
    let maker = Signer::new("be-fn", "k1", test_key(50));
    use armsledger_tests::script::Acts;
    ledger
        .append(maker.on(
            "2026-04-01",
            &golden_weapon(5),
            "WeaponMarked",
            armsledger_tests::script::weapon_marked("FN Herstal", "BE", "GV-0005"),
        ))
        .unwrap();
    let reader = ledger.reader().unwrap();
    assert_eq!(
        golden_found(&reader, "V00", SerialMatch::Contains),
        [1, 2, 3, 10, 4, 5]
    );
    drop(reader);
    ledger.close();
    assert_eq!(ledger::verify::verify_file(&path).unwrap().views, 6);
}
