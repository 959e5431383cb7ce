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
