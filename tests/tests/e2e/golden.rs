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
    match reader.view(&stolen).unwrap() {
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
