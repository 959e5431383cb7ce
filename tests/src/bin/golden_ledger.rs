//! Writes the golden ledger file of the current on-disk format. Run once per format
//! version, commit the file and its digest, and never regenerate an existing one:
//! `cargo run -p armsledger-tests --bin golden_ledger -- tests/golden/ledger-vN.redb`
#![expect(
    clippy::expect_used,
    reason = "a one-off tool: failing loudly is the point"
)]

fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("OUTPUT.redb"));
    assert!(
        !path.exists(),
        "{} exists: golden files are never regenerated",
        path.display()
    );
    armsledger_tests::build_sample_ledger(&path);
    let reader = ledger::store::LogReader::open_file(&path).expect("open");
    let digest = reader.content_digest().expect("digest");
    let digest_path = path.with_extension("sha256");
    std::fs::write(&digest_path, format!("{}\n", hex::encode(digest))).expect("write digest");
    println!("wrote {} and {}", path.display(), digest_path.display());
}
