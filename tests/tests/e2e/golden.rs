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

    let ledger = open_ledger(&path);
    let police_k2 = Signer::new("zz-police", "k2", test_key(11));
    let receipt = ledger.append(police_k2.weapon_marked(5000)).unwrap();
    assert_eq!(receipt.index, 85);
    ledger.close();
    assert_eq!(ledger::verify::verify_file(&path).unwrap().entries, 86);
}
