//! `armsledger export` and `import`: JSON Lines of signed events, judged by the ledger's
//! rules on the way in, idempotent, resumable, with a summary of refusals by code.

use armsledger_tests::*;
use ledger::LedgerConfig;

fn line_count(text: &str) -> usize {
    text.lines().count()
}

#[test]
fn events_export_and_import_idempotently_and_resume_after_an_interruption() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.redb");
    let ledger = create_ledger(
        &source,
        LedgerConfig::default(),
        ledger::SystemClock::shared(),
    );
    let police = register(&ledger, "be-police", "police", 10);
    for n in 0..50 {
        ledger.append(police.weapon_marked(n)).unwrap();
    }
    ledger.close();
    let events = dir.path().join("events.jsonl");
    let (code, out, err) = cli(&[
        "export",
        "--db",
        source.to_str().unwrap(),
        "--out",
        events.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("exported 52 events"), "{out}");
    let text = std::fs::read_to_string(&events).unwrap();
    assert_eq!(line_count(&text), 52);

    // Into another ledger with the same administrator: its own genesis is there already,
    // so the exported one is refused, and everything else goes in.
    let log_key_file = dir.path().join("log.key.pem");
    std::fs::write(
        &log_key_file,
        ledger::crypto::signing_key_to_pem(&log_key()).unwrap(),
    )
    .unwrap();
    let target = dir.path().join("target.redb");
    create_ledger(
        &target,
        LedgerConfig::default(),
        ledger::SystemClock::shared(),
    )
    .close();
    let import_in_batches = |file: &std::path::Path, batch: &str| {
        cli(&[
            "import",
            "--db",
            target.to_str().unwrap(),
            "--log-key",
            log_key_file.to_str().unwrap(),
            "--file",
            file.to_str().unwrap(),
            "--batch",
            batch,
        ])
    };
    let import = |file: &std::path::Path| import_in_batches(file, "16");
    // Interrupted after 20 lines: the first run saw only them.
    let run_file = dir.path().join("run.jsonl");
    let first: String = text.lines().take(20).map(|l| format!("{l}\n")).collect();
    std::fs::write(&run_file, &first).unwrap();
    let (code, out, err) = import(&run_file);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("20 lines, 19 appended, 0 already in the log, 1 refused"),
        "{out}"
    );
    assert!(out.contains("refused 1 x wrong_expected_version"), "{out}");
    assert!(out.contains("line 1: wrong_expected_version"), "{out}");
    // The rest of the file arrives; the second run starts after line 20.
    std::fs::write(&run_file, &text).unwrap();
    let (code, out, err) = import(&run_file);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("32 lines, 32 appended"), "{out}");
    assert!(out.contains("resumed after line 20"), "{out}");

    // The whole file again, from the start: nothing changes.
    let (code, out, err) = import(&events);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("52 lines, 0 appended, 51 already in the log, 1 refused"),
        "{out}"
    );
    let report = ledger::verify::verify_file(&target).unwrap();
    assert_eq!((report.entries, report.views), (52, 50));

    // A line that is not an event is refused with its code, and the rest goes on.
    let broken = dir.path().join("broken.jsonl");
    let good = String::from_utf8(police.weapon_marked(77).to_canonical_vec()).unwrap();
    std::fs::write(&broken, format!("{{\"not\": \"an event\"}}\n{good}\n")).unwrap();
    let (code, out, _) = import(&broken);
    assert_eq!(code, 0);
    assert!(out.contains("2 lines, 1 appended"), "{out}");
    assert!(
        out.contains("line 1: unknown_field") || out.contains("line 1: missing_field"),
        "{out}"
    );

    // Each event is judged on its own, in file order, across batches: a refusal in the
    // middle holds back nothing after it, a later event builds on an earlier one of the
    // same batch, and refusals are listed in line order.
    let marked = police.weapon_marked(78);
    let stream = marked.envelope().stream.to_string();
    let lost = |version| {
        let event = police.event(
            &stream,
            ledger::event::ExpectedVersion::Exact(version),
            "WeaponReportedLost",
            lost_report(),
        );
        String::from_utf8(event.to_canonical_vec()).unwrap()
    };
    let mixed = dir.path().join("mixed.jsonl");
    let marked = String::from_utf8(marked.to_canonical_vec()).unwrap();
    let other = String::from_utf8(police.weapon_marked(79).to_canonical_vec()).unwrap();
    std::fs::write(
        &mixed,
        format!("{marked}\n{}\n{}\nnot json\n{other}\n", lost(4), lost(0)),
    )
    .unwrap();
    let (code, out, err) = import_in_batches(&mixed, "2");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("5 lines, 3 appended, 0 already in the log, 2 refused"),
        "{out}"
    );
    let second = out.find("line 2: wrong_expected_version").expect(&out);
    let fourth = out.find("line 4: malformed_json").expect(&out);
    assert!(second < fourth, "{out}");
}
