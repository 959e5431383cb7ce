//! Serial-number search over the projections: exact, normalised, partial, filtered, paged.

use armsledger_tests::*;
use ledger::domain::views::WeaponStatus;
use ledger::event::ExpectedVersion;
use ledger::json::Json;
use ledger::search::{SerialMatch, WeaponQuery, ids};
use ledger::values::CountryCode;
use ledger::{LedgerConfig, SystemClock};

/// A manufacture marking of weapon `n` with this maker, serial and model.
fn marked(
    maker: &Signer,
    n: u64,
    manufacturer: &str,
    serial: &str,
    model: &str,
) -> ledger::event::SignedEvent {
    maker.event(
        &format!("weapon:{}", uuid_from(n)),
        ExpectedVersion::NoStream,
        "WeaponMarked",
        object(&[
            ("manufacturer", Json::str(manufacturer)),
            ("country_of_manufacture", Json::str(JURISDICTION)),
            ("serial_number", Json::str(serial)),
            ("model", Json::str(model)),
            ("calibre", Json::str("5.56x45mm")),
            ("marks", marks(serial)),
        ]),
    )
}

fn query(serial: &str, matching: SerialMatch) -> WeaponQuery {
    WeaponQuery::by_serial(serial, matching)
}

#[test]
fn serials_are_found_exactly_normalised_and_in_part() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = create_ledger(
        &dir.path().join("search.redb"),
        LedgerConfig::default(),
        SystemClock::shared(),
    );
    let maker = register(&ledger, "be-fn", "manufacturer", 30);
    let police = register(&ledger, "be-police", "police", 31);
    let serials = [
        (1, "FN Herstal", "FN-10O-I42", "F2000"),
        (2, "FN Herstal", "fn 100 142", "F2000"),
        (3, "Other Works", "XX-77100", "P90"),
        (4, "FN Herstal", "AB100AB100", "SCAR"),
        (5, "FN Herstal", "ZZ-0001", "SCAR"),
    ];
    for (n, maker_name, serial, model) in serials {
        ledger
            .append(marked(&maker, n, maker_name, serial, model))
            .unwrap();
    }
    let reader = ledger.reader().unwrap();
    let find = |q: &WeaponQuery| {
        let mut found = ids(&reader.search_weapons(q).unwrap());
        found.sort();
        found.iter().map(|id| id.to_string()).collect::<Vec<_>>()
    };
    let w = |n: u64| uuid_from(n);

    // Exact, in search form: case, spaces, dashes and the O/0, I/1 confusions fold.
    assert_eq!(find(&query("fn100142", SerialMatch::Exact)), [w(1), w(2)]);
    assert_eq!(find(&query("FN-1OO-I42", SerialMatch::Exact)), [w(1), w(2)]);
    assert!(find(&query("FN10014", SerialMatch::Exact)).is_empty());
    // Partial.
    assert_eq!(find(&query("fn-10", SerialMatch::Prefix)), [w(1), w(2)]);
    assert_eq!(find(&query("0142", SerialMatch::Suffix)), [w(1), w(2)]);
    assert_eq!(
        find(&query("100", SerialMatch::Contains)),
        [w(1), w(2), w(3), w(4)]
    );
    assert_eq!(
        find(&query("AB100", SerialMatch::Contains)),
        [w(4)],
        "listed once"
    );
    // Filters combine with the serial.
    let mut by_maker = query("100", SerialMatch::Contains);
    by_maker.manufacturer = Some("fn herstal".into());
    by_maker.model = Some("f2000".into());
    assert_eq!(find(&by_maker), [w(1), w(2)]);
    let mut by_country = query("100", SerialMatch::Contains);
    by_country.country = Some(CountryCode::parse("FR").unwrap());
    assert!(find(&by_country).is_empty());
    let mut by_calibre = query("100", SerialMatch::Contains);
    by_calibre.calibre = Some("5.56X45MM".into());
    assert_eq!(find(&by_calibre).len(), 4);
    drop(reader);

    // Status follows the weapon's events.
    ledger
        .append(police.event(
            &format!("weapon:{}", w(3)),
            ExpectedVersion::Exact(0),
            "WeaponReportedStolen",
            stolen_report(),
        ))
        .unwrap();
    let reader = ledger.reader().unwrap();
    let mut stolen = query("100", SerialMatch::Contains);
    stolen.status = Some(WeaponStatus::Stolen);
    assert_eq!(
        ids(&reader.search_weapons(&stolen).unwrap())
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>(),
        [w(3)]
    );

    // Pages of one, resumed by cursor, cover the same set without repeats.
    let mut paged = query("100", SerialMatch::Contains);
    paged.limit = 1;
    let mut seen = Vec::new();
    loop {
        let page = reader.search_weapons(&paged).unwrap();
        seen.extend(ids(&page).iter().map(|id| id.to_string()));
        match page.next_cursor {
            Some(cursor) => paged.cursor = Some(cursor),
            None => break,
        }
        assert!(seen.len() <= 4, "paging repeats: {seen:?}");
    }
    seen.sort();
    assert_eq!(seen, [w(1), w(2), w(3), w(4)]);

    // Bad requests have codes.
    let code = |q: &WeaponQuery| reader.search_weapons(q).unwrap_err().code();
    assert_eq!(
        code(&query("10", SerialMatch::Contains)),
        "serial_too_short"
    );
    assert_eq!(code(&query("--", SerialMatch::Exact)), "serial_empty");
    let mut bad_cursor = query("100", SerialMatch::Contains);
    bad_cursor.cursor = Some("not-a-cursor".into());
    assert_eq!(code(&bad_cursor), "invalid_cursor");
    let mut too_many = query("100", SerialMatch::Contains);
    too_many.limit = 10_000;
    assert_eq!(code(&too_many), "limit_out_of_range");
    drop(reader);

    // A corrected serial moves in the index; verify rebuilds and compares it all.
    let before = ledger.reader().unwrap();
    ledger
        .append(maker.event(
            &format!("weapon:{}", w(5)),
            ExpectedVersion::Exact(0),
            "RecordCorrected",
            object(&[
                ("corrected_index", Json::Int(7)),
                (
                    "corrected_fields",
                    Json::Object(object(&[("serial_number", Json::str("ZZ-0002"))])),
                ),
                ("reason", Json::str("Mistyped at entry")),
            ]),
        ))
        .unwrap();
    let reader = ledger.reader().unwrap();
    assert!(
        ids(&reader
            .search_weapons(&query("ZZ0001", SerialMatch::Exact))
            .unwrap())
        .is_empty()
    );
    assert_eq!(
        ids(&reader
            .search_weapons(&query("ZZ0002", SerialMatch::Exact))
            .unwrap())[0]
            .to_string(),
        w(5)
    );
    // Partial searches follow it too, and a snapshot from before it still sees the serial
    // it held: results are those of the reader's snapshot.
    let partial = |reader: &ledger::store::LogReader, text: &str| {
        ids(&reader
            .search_weapons(&query(text, SerialMatch::Suffix))
            .unwrap())
        .iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
    };
    assert!(partial(&reader, "0001").is_empty());
    assert_eq!(partial(&reader, "0002"), [w(5)]);
    assert_eq!(partial(&before, "0001"), [w(5)]);
    assert!(partial(&before, "0002").is_empty());
    drop(before);
    // The history shows the correction beside the original, which is unchanged.
    let history = reader.stream_history(&format!("weapon:{}", w(5))).unwrap();
    let shown: Vec<(u64, Vec<u64>)> = history
        .iter()
        .map(|h| (h.index, h.corrected_by.clone()))
        .collect();
    assert_eq!(shown, [(7, vec![9]), (9, vec![])]);
    assert!(String::from_utf8_lossy(&history[0].bytes).contains("ZZ-0001"));
    ledger.verify().unwrap();
}
