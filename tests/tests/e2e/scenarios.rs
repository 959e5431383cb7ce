//! The scenarios of DOMAIN.md ("Test scenarios") and the invariants the ledger enforces on
//! append, as scripts: given events that must all be accepted, when one more event, then it
//! is accepted (and the projections say so) or refused with its stable code. Every scenario
//! ends with a verify of the whole file, stored projections included.
//!
//! Each scenario is a function on a [`Script`], so that the rebuild test can play them all
//! into one ledger; they share authorities (registered on first use) and nothing else.
//! Weapons of scenario `k` are `uuid_from(k * 100 + i)`.

use armsledger_tests::script::{self, Acts, Deal, Script, stream};
use armsledger_tests::{Signer, test_key, uuid_from};
use ledger::catalogue::TraceResponseKind;
use ledger::domain::views::{
    ConsignmentStatus, CorrectionRecord, EucStatus, MarkOrigin, TraceStatus, WeaponStatus,
};
use ledger::store::LogReader;
use serde_json::json;

const FN: &str = "Fabrique Nationale Herstal";

/// Weapons `first..=last` as ids.
fn weapons(first: u64, last: u64) -> Vec<String> {
    (first..=last).map(uuid_from).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Liberia 2002: forged end-user certificates
// ---------------------------------------------------------------------------------------

/// Rifles left Serbia for Liberia, under a UN embargo, on certificates that claimed to be
/// Nigeria's and were not. In the ledger a certificate is an event signed by a registered
/// authority of the issuing State, allowed to issue, for its own State: a forgery fails one
/// of the three, and a consignment citing a certificate the ledger never recorded fails too.
fn liberia_2002(s: &Script) {
    const EUC: &str = "NG-EUC-2002-117";
    let deal = Deal {
        exporter: "Temex",
        exporting_state: "RS",
        consignee: "Ministry of Defence of Nigeria",
        importing_state: "NG",
        end_user: "Ministry of Defence of Nigeria",
        quantity: 12,
    };
    let certificate = || deal.euc_issued(EUC, "2002-05-20", "2002-12-31", true);

    // A "Nigerian Ministry of Defence" that no State registered.
    let forger = Signer::new("ng-defence", "k1", test_key(666));
    s.then_rejected(
        forger.on(
            "2002-05-20",
            &stream::euc(EUC),
            "EndUserCertificateIssued",
            certificate(),
        ),
        "unknown_actor",
    );
    // A real Nigerian authority, but customs do not issue certificates.
    let nigerian_customs = s.authority("ng-customs", "customs", "NG");
    s.then_rejected(
        nigerian_customs.on(
            "2002-05-20",
            &stream::euc(EUC),
            "EndUserCertificateIssued",
            certificate(),
        ),
        "actor_not_allowed",
    );
    // The exporting State's own licensing authority cannot issue Nigeria's certificate.
    let serbia = s.authority("rs-licensing", "licensing", "RS");
    s.then_rejected(
        serbia.on(
            "2002-05-20",
            &stream::euc(EUC),
            "EndUserCertificateIssued",
            certificate(),
        ),
        "jurisdiction_mismatch",
    );
    assert_eq!(
        s.view(&stream::euc(EUC)),
        None,
        "no certificate was recorded"
    );

    // The licence is applied for and granted on the strength of the forged paper...
    let licence = "RS-EL-2002-031";
    let serbian_customs = s.authority("rs-customs", "customs", "RS");
    s.given([
        serbia.on(
            "2002-05-25",
            &stream::licence(licence),
            "ExportLicenceApplied",
            deal.licence_applied(Some(EUC)),
        ),
        serbia.on(
            "2002-06-01",
            &stream::licence(licence),
            "ExportLicenceDecided",
            script::licence_granted("2002-06-01", "2002-12-31"),
        ),
    ]);
    // ...but the cargo, declared as mining equipment, cites a certificate the ledger does
    // not hold.
    let mut dispatched = deal.dispatched(licence, Some(EUC), &[]);
    dispatched["goods"] = script::rifles(12);
    dispatched["declared_as"] = json!("Mining equipment");
    s.then_rejected(
        serbian_customs.on(
            "2002-06-10",
            &stream::consignment("RS-C-2002-007"),
            "ConsignmentDispatched",
            dispatched,
        ),
        "document_not_found",
    );
    assert_eq!(s.view(&stream::consignment("RS-C-2002-007")), None);
}

#[test]
fn liberia_2002_forged_certificates_are_refused() {
    let s = Script::new();
    liberia_2002(&s);
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 2. Peru 1999: a genuine certificate, a diverted shipment
// ---------------------------------------------------------------------------------------

pub(crate) const PERU_EUC: &str = "PE-EUC-1998-0412";
pub(crate) const PERU_LICENCE: &str = "JO-EL-1998-077";
pub(crate) const PERU_CONSIGNMENT: &str = "JO-C-1999-003";
pub(crate) const PERU_TRACE: &str = "CO-TR-2000-031";

/// Jordan sold surplus rifles to the Peruvian army on a genuine Peruvian certificate; they
/// were airdropped to an armed group in Colombia instead, seized there and traced back.
/// Every document checks out; what the ledger shows is a dispatch that never arrived.
pub(crate) fn peru_1999(s: &Script) -> Vec<String> {
    let jordan = s.authority("jo-licensing", "licensing", "JO");
    let jordan_customs = s.authority("jo-customs", "customs", "JO");
    let peru = s.authority("pe-ministry", "ministry", "PE");
    let colombia = s.authority("co-police", "police", "CO");
    let deal = Deal {
        exporter: "Jordanian Armed Forces, surplus sales",
        exporting_state: "JO",
        consignee: "Peruvian Army",
        importing_state: "PE",
        end_user: "Peruvian Army",
        quantity: 3,
    };
    let rifles = weapons(201, 203);
    s.given(rifles.iter().enumerate().map(|(n, rifle)| {
        jordan.on(
            "1998-06-01",
            &stream::weapon(rifle),
            "WeaponStateMarked",
            script::state_marked(
                "JO",
                "Jordanian Armed Forces, surplus depot",
                &format!("JAF-000{}", 201 + n),
            ),
        )
    }));
    s.given([
        peru.on(
            "1998-11-02",
            &stream::euc(PERU_EUC),
            "EndUserCertificateIssued",
            deal.euc_issued(PERU_EUC, "1998-11-02", "1999-12-31", true),
        ),
        jordan.on(
            "1998-11-20",
            &stream::euc(PERU_EUC),
            "EndUserCertificateVerified",
            json!({"method": "Signature checked against the issuer's registered key"}),
        ),
        jordan.on(
            "1998-12-01",
            &stream::licence(PERU_LICENCE),
            "ExportLicenceApplied",
            deal.licence_applied(Some(PERU_EUC)),
        ),
        jordan.on(
            "1998-12-15",
            &stream::licence(PERU_LICENCE),
            "ExportLicenceDecided",
            script::licence_granted("1999-01-01", "1999-12-31"),
        ),
        jordan_customs.on(
            "1999-03-01",
            &stream::consignment(PERU_CONSIGNMENT),
            "ConsignmentDispatched",
            deal.dispatched(PERU_LICENCE, Some(PERU_EUC), &rifles),
        ),
        jordan_customs.on(
            "1999-03-01",
            &stream::euc(PERU_EUC),
            "EndUserCertificateUsed",
            script::euc_used(PERU_CONSIGNMENT, 3),
        ),
    ]);

    // A year later the Colombian police seize two of them from an armed group...
    for rifle in &rifles[..2] {
        s.then_accepted(colombia.on(
            "2000-08-20",
            &stream::weapon(rifle),
            "WeaponSeized",
            script::seized("Colombian National Police", "Caquetá", false),
        ));
    }
    // ...and ask Jordan where they come from.
    s.then_accepted(colombia.on(
        "2000-09-01",
        &stream::trace(PERU_TRACE),
        "TraceRequested",
        script::trace_requested("CO", "JO", &rifles[0], "JAF-000201"),
    ));
    s.then_accepted(jordan.on(
        "2000-10-15",
        &stream::trace(PERU_TRACE),
        "TraceResponded",
        script::trace_answered(
            "JO",
            "Consignment JO-C-1999-003 for the Peruvian Army, never delivered: airdropped over Colombia",
            "PE",
        ),
    ));

    let consignment = s.consignment(PERU_CONSIGNMENT);
    assert_eq!(consignment.status, ConsignmentStatus::Dispatched);
    assert_eq!(consignment.imported_on, None);
    assert_eq!(consignment.delivery_verified_on, None);
    let carried: Vec<String> = consignment
        .weapons
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(carried, rifles);
    let euc = s.euc(PERU_EUC);
    assert_eq!(euc.status, EucStatus::Verified);
    assert!(euc.deliveries_verified.is_empty(), "{euc:?}");
    assert_eq!((euc.quantity_used, euc.uses.len()), (3, 1));
    assert_eq!(euc.transaction_licence.as_deref(), Some(PERU_LICENCE));
    for rifle in &rifles[..2] {
        let weapon = s.weapon(rifle);
        assert_eq!(weapon.status, WeaponStatus::Seized);
        assert_eq!(weapon.country.map(|c| c.to_string()).as_deref(), Some("CO"));
        assert_eq!(weapon.obligations.len(), 1);
        assert_eq!(weapon.obligations[0].kind, "mark_or_destroy");
    }
    assert_eq!(s.weapon(&rifles[2]).status, WeaponStatus::InTransit);
    let trace = s.trace(PERU_TRACE);
    assert_eq!(trace.status, TraceStatus::Responded);
    assert_eq!(trace.responses, vec![TraceResponseKind::Full]);
    assert_eq!(
        trace.weapon.map(|w| w.to_string()).as_deref(),
        Some(rifles[0].as_str())
    );
    rifles
}

#[test]
fn peru_1999_a_genuine_certificate_and_a_diverted_shipment() {
    let s = Script::new();
    peru_1999(&s);
    s.verified();
}

/// A weapon seized abroad has left its consignment: the view's `consignment` is "the
/// consignment it travels on, while in transit", and a seized weapon is not in transit.
#[test]
fn a_weapon_seized_from_a_consignment_is_no_longer_on_it() {
    let s = Script::new();
    let rifles = peru_1999(&s);
    assert_eq!(s.weapon(&rifles[0]).consignment, None);
    let colombia = s.authority("co-police", "police", "CO");
    s.then_accepted(colombia.on(
        "2001-02-01",
        &stream::weapon(&rifles[0]),
        "DomesticTransferRecorded",
        script::domestic_transfer("Colombian National Police", "Colombian Army, central depot"),
    ));
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 3. An obliterated serial number, restored
// ---------------------------------------------------------------------------------------

fn obliterated_serial_restored(s: &Script) {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let police = s.authority("be-police", "police", "BE");
    let customs = s.authority("be-customs", "customs", "BE");
    let lab = s.authority("be-nicc", "laboratory", "BE");
    let rifle = uuid_from(301);
    let on_rifle = stream::weapon(&rifle);
    s.given([
        maker.on(
            "1998-02-10",
            &on_rifle,
            "WeaponMarked",
            script::weapon_marked(FN, "BE", "FN-1998-0301"),
        ),
        police.on(
            "2019-04-02",
            &on_rifle,
            "WeaponReportedStolen",
            script::stolen(),
        ),
    ]);
    // Seized years later with its serial filed off.
    s.then_accepted(police.on(
        "2023-06-15",
        &on_rifle,
        "WeaponSeized",
        script::seized("Federal Judicial Police, Brussels", "Brussels", true),
    ));
    let weapon = s.weapon(&rifle);
    assert_eq!(weapon.status, WeaponStatus::Seized);
    assert!(weapon.marks_obliterated);
    assert_eq!(weapon.obligations.len(), 1);
    assert_eq!(weapon.obligations[0].kind, "mark_or_destroy");
    assert_eq!(weapon.obligations[0].since.to_string(), "2023-06-15");

    // Customs are no laboratory.
    s.then_rejected(
        customs.on(
            "2023-07-01",
            &on_rifle,
            "SerialNumberRestored",
            script::serial_restored("FN-1998-0301", true),
        ),
        "actor_not_allowed",
    );
    // A first pass brings back part of it: the marks are still obliterated.
    s.then_accepted(lab.on(
        "2023-07-01",
        &on_rifle,
        "SerialNumberRestored",
        script::serial_restored("FN-1998-03??", false),
    ));
    assert!(s.weapon(&rifle).marks_obliterated);
    // The second pass recovers every character.
    let receipt = s.then_accepted(lab.on(
        "2023-07-20",
        &on_rifle,
        "SerialNumberRestored",
        script::serial_restored("FN-1998-0301", true),
    ));
    let weapon = s.weapon(&rifle);
    assert!(!weapon.marks_obliterated);
    assert!(weapon.obligations.is_empty(), "{:?}", weapon.obligations);
    let last = weapon.marks.last().expect("the restored mark");
    assert_eq!(
        (last.origin, last.index),
        (MarkOrigin::Restored, receipt.index)
    );
    assert_eq!(last.text, "FN-1998-0301");
    assert_eq!(
        weapon.identity.serial_number.as_deref(),
        Some("FN-1998-0301")
    );
    assert!(weapon.duplicate_serial_of.is_empty());
}

#[test]
fn an_obliterated_serial_restored_by_a_laboratory() {
    let s = Script::new();
    obliterated_serial_restored(&s);
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 4. A certificate used twice, over quantity, out of date and revoked
// ---------------------------------------------------------------------------------------

const KENYA: Deal = Deal {
    exporter: FN,
    exporting_state: "BE",
    consignee: "Kenya Defence Forces",
    importing_state: "KE",
    end_user: "Kenya Defence Forces",
    quantity: 5,
};

/// Belgium's licensing office and customs, FN, and Kenya's ministry of defence.
fn kenya_authorities(s: &Script) -> [Signer; 4] {
    [
        s.authority("be-licensing", "licensing", "BE"),
        s.authority("be-customs", "customs", "BE"),
        s.authority("be-fn", "manufacturer", "BE"),
        s.authority("ke-ministry", "ministry", "KE"),
    ]
}

/// FN marks weapons `ids`, with serial numbers derived from their numbers.
fn manufactured(s: &Script, ids: impl IntoIterator<Item = u64>) -> Vec<String> {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let ids: Vec<u64> = ids.into_iter().collect();
    s.given(ids.iter().map(|&n| {
        maker.on(
            "2025-10-01",
            &stream::weapon(&uuid_from(n)),
            "WeaponMarked",
            script::weapon_marked(FN, "BE", &format!("FN-25-{n:05}")),
        )
    }));
    ids.into_iter().map(uuid_from).collect()
}

/// A certificate for `deal`, and a licence applied for by FN citing it and granted.
fn certified_and_licensed(s: &Script, deal: &Deal, euc: (&str, &str, &str), licence: &str) {
    let [belgium, _, maker, kenya] = kenya_authorities(s);
    let (number, issued, until) = euc;
    s.given([
        kenya.on(
            issued,
            &stream::euc(number),
            "EndUserCertificateIssued",
            deal.euc_issued(number, issued, until, true),
        ),
        maker.on(
            "2026-02-10",
            &stream::licence(licence),
            "ExportLicenceApplied",
            deal.licence_applied(Some(number)),
        ),
        belgium.on(
            "2026-02-20",
            &stream::licence(licence),
            "ExportLicenceDecided",
            script::licence_granted("2026-03-01", "2026-12-31"),
        ),
    ]);
}

fn euc_used_twice_and_over_quantity(s: &Script) {
    const EUC: &str = "KE-EUC-2026-014";
    let [belgium, customs, maker, kenya] = kenya_authorities(s);
    let rifles = manufactured(s, 401..=407);
    certified_and_licensed(
        s,
        &KENYA,
        (EUC, "2026-02-01", "2026-12-31"),
        "BE-EL-2026-101",
    );
    // The exporter applies for a second licence on the same certificate, and gets it.
    s.given([
        maker.on(
            "2026-02-11",
            &stream::licence("BE-EL-2026-102"),
            "ExportLicenceApplied",
            KENYA.licence_applied(Some(EUC)),
        ),
        belgium.on(
            "2026-02-21",
            &stream::licence("BE-EL-2026-102"),
            "ExportLicenceDecided",
            script::licence_granted("2026-03-01", "2026-12-31"),
        ),
        customs.on(
            "2026-03-10",
            &stream::consignment("BE-C-2026-0301"),
            "ConsignmentDispatched",
            KENYA.dispatched("BE-EL-2026-101", Some(EUC), &rifles[..3]),
        ),
        customs.on(
            "2026-03-10",
            &stream::euc(EUC),
            "EndUserCertificateUsed",
            script::euc_used("BE-C-2026-0301", 3),
        ),
    ]);
    // The certificate serves one transaction: the first licence's.
    s.then_rejected(
        customs.on(
            "2026-04-01",
            &stream::consignment("BE-C-2026-0302"),
            "ConsignmentDispatched",
            KENYA.dispatched("BE-EL-2026-102", Some(EUC), &rifles[3..5]),
        ),
        "euc_single_transaction",
    );
    // A second shipment of the same transaction draws on what is left (2 of 5).
    s.given([customs.on(
        "2026-04-01",
        &stream::consignment("BE-C-2026-0303"),
        "ConsignmentDispatched",
        KENYA.dispatched("BE-EL-2026-101", Some(EUC), &rifles[3..5]),
    )]);
    s.then_rejected(
        customs.on(
            "2026-04-01",
            &stream::euc(EUC),
            "EndUserCertificateUsed",
            script::euc_used("BE-C-2026-0303", 3),
        ),
        "euc_quantity_exceeded",
    );
    s.then_accepted(customs.on(
        "2026-04-01",
        &stream::euc(EUC),
        "EndUserCertificateUsed",
        script::euc_used("BE-C-2026-0303", 2),
    ));
    let euc = s.euc(EUC);
    assert_eq!((euc.quantity_used, euc.quantity_remaining()), (5, 0));
    assert_eq!(euc.uses.len(), 2);
    assert_eq!(euc.transaction_licence.as_deref(), Some("BE-EL-2026-101"));
    assert_eq!(s.licence("BE-EL-2026-101").quantity_shipped, 5);
    assert!(s.licence("BE-EL-2026-102").consignments.is_empty());
    assert_eq!(s.view(&stream::consignment("BE-C-2026-0302")), None);

    // A second certificate, valid until the end of June, then revoked.
    const SHORT: &str = "KE-EUC-2026-015";
    let two = Deal {
        quantity: 2,
        ..KENYA
    };
    certified_and_licensed(
        s,
        &two,
        (SHORT, "2026-02-01", "2026-06-30"),
        "BE-EL-2026-103",
    );
    s.given([customs.on(
        "2026-06-20",
        &stream::consignment("BE-C-2026-0304"),
        "ConsignmentDispatched",
        two.dispatched("BE-EL-2026-103", Some(SHORT), &rifles[5..7]),
    )]);
    s.then_rejected(
        customs.on(
            "2026-07-15",
            &stream::euc(SHORT),
            "EndUserCertificateUsed",
            script::euc_used("BE-C-2026-0304", 2),
        ),
        "euc_outside_validity",
    );
    s.then_accepted(kenya.on(
        "2026-07-20",
        &stream::euc(SHORT),
        "EndUserCertificateRevoked",
        script::revoked("The end user denies having placed the order"),
    ));
    assert_eq!(s.euc(SHORT).status, EucStatus::Revoked);
    s.then_rejected(
        customs.on(
            "2026-06-21",
            &stream::euc(SHORT),
            "EndUserCertificateUsed",
            script::euc_used("BE-C-2026-0304", 2),
        ),
        "euc_revoked",
    );
    s.then_rejected(
        kenya.on(
            "2026-07-21",
            &stream::euc(SHORT),
            "EndUserCertificateRevoked",
            script::revoked("Twice"),
        ),
        "euc_revoked",
    );
}

#[test]
fn an_end_user_certificate_used_twice_and_over_quantity() {
    let s = Script::new();
    euc_used_twice_and_over_quantity(&s);
    s.verified();
}

/// DOMAIN.md: "shipped quantity never exceeds the certificate's" (invariant 4). The licence
/// may be larger than the certificate; the goods that leave under the certificate may not.
#[test]
fn a_dispatch_over_the_certificates_quantity_is_refused() {
    const EUC: &str = "KE-EUC-2026-016";
    let s = Script::new();
    let [belgium, customs, maker, kenya] = kenya_authorities(&s);
    let rifles = manufactured(&s, 411..=413);
    let licensed = Deal {
        quantity: 3,
        ..KENYA
    };
    s.given([
        kenya.on(
            "2026-02-01",
            &stream::euc(EUC),
            "EndUserCertificateIssued",
            Deal {
                quantity: 2,
                ..KENYA
            }
            .euc_issued(EUC, "2026-02-01", "2026-12-31", true),
        ),
        maker.on(
            "2026-02-10",
            &stream::licence("BE-EL-2026-111"),
            "ExportLicenceApplied",
            licensed.licence_applied(Some(EUC)),
        ),
        belgium.on(
            "2026-02-20",
            &stream::licence("BE-EL-2026-111"),
            "ExportLicenceDecided",
            script::licence_granted("2026-03-01", "2026-12-31"),
        ),
    ]);
    s.then_rejected(
        customs.on(
            "2026-03-10",
            &stream::consignment("BE-C-2026-0311"),
            "ConsignmentDispatched",
            licensed.dispatched("BE-EL-2026-111", Some(EUC), &rifles),
        ),
        "euc_quantity_exceeded",
    );
    s.verified();
}

/// A licence granted on a certificate covers the goods of that certificate's transaction:
/// leaving the certificate out of the consignment must not get round its revocation (or
/// its single transaction, quantity and validity).
#[test]
fn a_dispatch_cannot_drop_the_certificate_its_licence_names() {
    const EUC: &str = "KE-EUC-2026-017";
    let s = Script::new();
    let [_, customs, _, kenya] = kenya_authorities(&s);
    let rifles = manufactured(&s, 421..=422);
    let two = Deal {
        quantity: 2,
        ..KENYA
    };
    certified_and_licensed(
        &s,
        &two,
        (EUC, "2026-02-01", "2026-12-31"),
        "BE-EL-2026-121",
    );
    s.given([kenya.on(
        "2026-03-01",
        &stream::euc(EUC),
        "EndUserCertificateRevoked",
        script::revoked("Forged signature"),
    )]);
    s.then_rejected(
        customs.on(
            "2026-03-10",
            &stream::consignment("BE-C-2026-0321"),
            "ConsignmentDispatched",
            two.dispatched("BE-EL-2026-121", None, &rifles),
        ),
        // The licence's certificate applies whether the dispatch cites it or not.
        "euc_revoked",
    );
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 5. Re-export without consent
// ---------------------------------------------------------------------------------------

const UGANDA: Deal = Deal {
    exporter: "Kenya Defence Forces",
    exporting_state: "KE",
    consignee: "Uganda People's Defence Force",
    importing_state: "UG",
    end_user: "Uganda People's Defence Force",
    quantity: 2,
};

/// Belgium exports two rifles to Kenya under a certificate with a non-re-export clause;
/// Kenya imports them, verifies the delivery, and is licensed to sell them to Uganda.
/// Returns the rifles and Kenya's customs.
fn exported_under_non_reexport_clause(s: &Script, n: u64, euc: &str) -> (Vec<String>, Signer) {
    let [_, customs, ..] = kenya_authorities(s);
    let kenya_customs = s.authority("ke-customs", "customs", "KE");
    let kenya_licensing = s.authority("ke-licensing", "licensing", "KE");
    let rifles = manufactured(s, n..=n + 1);
    let two = Deal {
        quantity: 2,
        ..KENYA
    };
    let (licence, consignment) = (format!("BE-EL-2026-{n}"), format!("BE-C-2026-{n}"));
    let kenyan_licence = format!("KE-EL-2027-{n}");
    certified_and_licensed(s, &two, (euc, "2026-02-01", "2026-12-31"), &licence);
    s.given([
        customs.on(
            "2026-03-10",
            &stream::consignment(&consignment),
            "ConsignmentDispatched",
            two.dispatched(&licence, Some(euc), &rifles),
        ),
        kenya_customs.on(
            "2026-03-12",
            &stream::consignment(&consignment),
            "ConsignmentImported",
            two.imported(),
        ),
        kenya_customs.on(
            "2026-03-20",
            &stream::consignment(&consignment),
            "DeliveryVerified",
            script::delivery_verified("KE-DVC-2026-88", &rifles),
        ),
        kenya_licensing.on(
            "2027-01-10",
            &stream::licence(&kenyan_licence),
            "ExportLicenceApplied",
            UGANDA.licence_applied(None),
        ),
        kenya_licensing.on(
            "2027-01-20",
            &stream::licence(&kenyan_licence),
            "ExportLicenceDecided",
            script::licence_granted("2027-02-01", "2027-12-31"),
        ),
    ]);
    (rifles, kenya_customs)
}

fn reexport_without_consent(s: &Script) {
    const EUC: &str = "KE-EUC-2026-501";
    let belgium = s.authority("be-licensing", "licensing", "BE");
    let (rifles, kenya_customs) = exported_under_non_reexport_clause(s, 501, EUC);
    for rifle in &rifles {
        let weapon = s.weapon(rifle);
        assert_eq!(weapon.status, WeaponStatus::Active);
        assert_eq!(weapon.country.map(|c| c.to_string()).as_deref(), Some("KE"));
        let restriction = weapon.reexport_restriction.expect("under the clause");
        assert_eq!(
            (
                restriction.exporting_state.to_string(),
                restriction.importing_state.to_string(),
                restriction.euc
            ),
            ("BE".to_owned(), "KE".to_owned(), EUC.to_owned())
        );
    }
    assert_eq!(
        s.euc(EUC).deliveries_verified,
        vec!["BE-C-2026-501".to_owned()]
    );
    let onward = || {
        kenya_customs.on(
            "2027-03-01",
            &stream::consignment("KE-C-2027-501"),
            "ConsignmentDispatched",
            UGANDA.dispatched("KE-EL-2027-501", None, &rifles),
        )
    };
    s.then_rejected(onward(), "reexport_consent_required");
    // A consent for another destination, or for one rifle of the two, is not enough.
    s.given([
        belgium.on(
            "2027-02-10",
            &stream::euc(EUC),
            "ReexportConsentGranted",
            script::reexport_consent("BE", "KE", "TZ", &rifles),
        ),
        belgium.on(
            "2027-02-11",
            &stream::euc(EUC),
            "ReexportConsentGranted",
            script::reexport_consent("BE", "KE", "UG", &rifles[..1]),
        ),
    ]);
    s.then_rejected(onward(), "reexport_consent_required");
    s.then_accepted(belgium.on(
        "2027-02-15",
        &stream::euc(EUC),
        "ReexportConsentGranted",
        script::reexport_consent("BE", "KE", "UG", &rifles),
    ));
    s.then_accepted(onward());
    assert_eq!(s.euc(EUC).reexport_consents.len(), 3);
    let consignment = s.consignment("KE-C-2027-501");
    assert_eq!(consignment.status, ConsignmentStatus::Dispatched);
    assert_eq!(consignment.exporting_country.to_string(), "KE");
    for rifle in &rifles {
        assert_eq!(s.weapon(rifle).status, WeaponStatus::InTransit);
    }
}

#[test]
fn reexport_needs_the_consent_of_the_original_exporter() {
    let s = Script::new();
    reexport_without_consent(&s);
    s.verified();
}

/// A consent "for a quantity" (goods not tracked one by one) covers that many items, not
/// every weapon delivered under the certificate.
#[test]
fn a_consent_for_one_item_does_not_cover_two() {
    const EUC: &str = "KE-EUC-2026-511";
    let s = Script::new();
    let belgium = s.authority("be-licensing", "licensing", "BE");
    let (rifles, kenya_customs) = exported_under_non_reexport_clause(&s, 511, EUC);
    let mut consent = script::reexport_consent("BE", "KE", "UG", &[]);
    consent["quantity"] = json!(1);
    s.given([belgium.on(
        "2027-02-15",
        &stream::euc(EUC),
        "ReexportConsentGranted",
        consent,
    )]);
    s.then_rejected(
        kenya_customs.on(
            "2027-03-01",
            &stream::consignment("KE-C-2027-511"),
            "ConsignmentDispatched",
            UGANDA.dispatched("KE-EL-2027-511", None, &rifles),
        ),
        "reexport_consent_required",
    );
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 6. Traces: refused with a reason, answered, closed
// ---------------------------------------------------------------------------------------

fn traces_refused_answered_and_closed(s: &Script) {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let belgium = s.authority("be-police", "police", "BE");
    let france = s.authority("fr-police", "police", "FR");
    let germany = s.authority("de-police", "police", "DE");
    let rifle = uuid_from(601);
    let (refused, answered) = ("FR-TR-2026-0601", "FR-TR-2026-0602");
    let request = || script::trace_requested("FR", "BE", &rifle, "FN-26-00601");
    s.given([
        maker.on(
            "2024-01-15",
            &stream::weapon(&rifle),
            "WeaponMarked",
            script::weapon_marked(FN, "BE", "FN-26-00601"),
        ),
        france.on(
            "2026-04-01",
            &stream::weapon(&rifle),
            "WeaponSeized",
            script::seized("Police nationale, Lille", "Lille", false),
        ),
        france.on(
            "2026-04-02",
            &stream::trace(refused),
            "TraceRequested",
            request(),
        ),
        france.on(
            "2026-04-02",
            &stream::trace(answered),
            "TraceRequested",
            request(),
        ),
    ]);

    // A refusal gives its reasons (invariant 6).
    s.then_rejected(
        belgium.on(
            "2026-04-20",
            &stream::trace(refused),
            "TraceResponded",
            script::trace_responded("BE", "refused", None),
        ),
        "reason_required",
    );
    s.then_accepted(belgium.on(
        "2026-04-20",
        &stream::trace(refused),
        "TraceResponded",
        script::trace_responded(
            "BE",
            "refused",
            Some("An ongoing criminal investigation in Belgium"),
        ),
    ));
    let trace = s.trace(refused);
    assert_eq!(trace.status, TraceStatus::Responded);
    assert_eq!(trace.responses, vec![TraceResponseKind::Refused]);
    // Only the requested State answers: not a third one...
    s.then_rejected(
        germany.on(
            "2026-04-21",
            &stream::trace(refused),
            "TraceResponded",
            script::trace_answered("DE", "Unknown", "DE"),
        ),
        "jurisdiction_mismatch",
    );
    // ...nor the manufacturer, who is no State.
    s.then_rejected(
        maker.on(
            "2026-04-21",
            &stream::trace(refused),
            "TraceResponded",
            script::trace_answered("BE", "Sold to a dealer", "BE"),
        ),
        "actor_not_allowed",
    );

    // The other request is answered with the point of diversion, then closed.
    s.then_accepted(belgium.on(
        "2026-04-25",
        &stream::trace(answered),
        "TraceResponded",
        script::trace_answered(
            "BE",
            "Stolen from a dealer's safe in Liège, March 2025",
            "BE",
        ),
    ));
    s.then_accepted(france.on(
        "2026-05-01",
        &stream::trace(answered),
        "TraceClosed",
        script::trace_closed("diversion_point_identified"),
    ));
    let trace = s.trace(answered);
    assert_eq!(trace.status, TraceStatus::Closed);
    assert_eq!(trace.responses, vec![TraceResponseKind::Full]);
    assert!(trace.closed_at.is_some());
    s.then_rejected(
        belgium.on(
            "2026-05-02",
            &stream::trace(answered),
            "TraceResponded",
            script::trace_answered("BE", "More details", "BE"),
        ),
        "trace_not_open",
    );

    // A State does not trace with itself.
    s.then_rejected(
        france.on(
            "2026-05-03",
            &stream::trace("FR-TR-2026-0603"),
            "TraceRequested",
            script::trace_requested("FR", "FR", &rifle, "FN-26-00601"),
        ),
        "trace_to_own_state",
    );
}

#[test]
fn a_trace_refused_with_reasons_and_one_answered_then_closed() {
    let s = Script::new();
    traces_refused_answered_and_closed(&s);
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 7. A destroyed weapon reappears in a seizure
// ---------------------------------------------------------------------------------------

fn destroyed_weapon_reappears(s: &Script) {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let police = s.authority("be-police", "police", "BE");
    let (destroyed, reappeared) = (uuid_from(701), uuid_from(702));
    s.given([
        maker.on(
            "2010-05-05",
            &stream::weapon(&destroyed),
            "WeaponMarked",
            script::weapon_marked(FN, "BE", "FN-10-00701"),
        ),
        police.on(
            "2020-02-01",
            &stream::weapon(&destroyed),
            "WeaponSurrendered",
            json!({
            "receiving_authority": "Federal Police", "place": "Namur",
            "circumstances": "Handed in during the 2020 amnesty"}),
        ),
    ]);
    s.then_accepted(police.on(
        "2021-03-01",
        &stream::weapon(&destroyed),
        "WeaponDestroyed",
        script::destroyed("DC-2021-0017"),
    ));
    let weapon = s.weapon(&destroyed);
    assert_eq!(weapon.status, WeaponStatus::Destroyed);
    assert!(weapon.obligations.is_empty());

    // Destruction is terminal: the record of the destroyed weapon takes no seizure.
    let seizure = script::seized("Federal Judicial Police, Charleroi", "Charleroi", false);
    s.then_rejected(
        police.on(
            "2024-09-09",
            &stream::weapon(&destroyed),
            "WeaponSeized",
            seizure,
        ),
        "weapon_destroyed",
    );
    // The police record what they hold as a new weapon, and link the two records.
    s.given([police.on(
        "2024-09-09",
        &stream::weapon(&reappeared),
        "WeaponStateMarked",
        script::state_marked("BE", "Federal Police, evidence room", "BE-POL-2024-0702"),
    )]);
    s.then_rejected(
        police.on(
            "2024-09-10",
            &stream::weapon(&reappeared),
            "DuplicateWeaponsLinked",
            script::linked(&[&uuid_from(799)], "Unknown record"),
        ),
        "weapon_not_marked",
    );
    s.then_accepted(police.on(
        "2024-09-10",
        &stream::weapon(&reappeared),
        "DuplicateWeaponsLinked",
        script::linked(
            &[&destroyed],
            "Receiver bears FN-10-00701, certified destroyed in 2021 (DC-2021-0017)",
        ),
    ));
    let (old, new) = (s.weapon(&destroyed), s.weapon(&reappeared));
    assert_eq!(
        old.linked
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![reappeared.clone()]
    );
    assert_eq!(
        new.linked
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec![destroyed.clone()]
    );
    assert_eq!(
        old.status,
        WeaponStatus::Destroyed,
        "a link is a record about records"
    );
    assert_eq!(new.status, WeaponStatus::Active);
}

#[test]
fn a_destroyed_weapon_that_reappears_in_a_seizure() {
    let s = Script::new();
    destroyed_weapon_reappears(&s);
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 8. Duplicate serial numbers
// ---------------------------------------------------------------------------------------

fn duplicate_serials(s: &Script) {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let czech = s.authority("cz-ceska-zbrojovka", "manufacturer", "CZ");
    let [first, second, other] = [uuid_from(801), uuid_from(802), uuid_from(803)];
    // Serial numbers are not unique, even within one manufacturer: warn, never reject.
    s.then_accepted(maker.on(
        "1975-01-10",
        &stream::weapon(&first),
        "WeaponMarked",
        script::weapon_marked(FN, "BE", "AB-1001"),
    ));
    s.then_accepted(maker.on(
        "1991-06-30",
        &stream::weapon(&second),
        "WeaponMarked",
        script::weapon_marked(FN, "BE", "AB-1001"),
    ));
    s.then_accepted(czech.on(
        "1992-03-03",
        &stream::weapon(&other),
        "WeaponMarked",
        script::weapon_marked("Česká zbrojovka", "CZ", "AB-1001"),
    ));
    let ids = |id: &str| {
        s.weapon(id)
            .duplicate_serial_of
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), vec![second.clone()]);
    assert_eq!(ids(&second), vec![first.clone()]);
    assert!(
        ids(&other).is_empty(),
        "another manufacturer's serial is no duplicate"
    );
}

#[test]
fn a_duplicate_serial_warns_within_one_manufacturer_only() {
    let s = Script::new();
    duplicate_serials(&s);
    s.verified();
}

/// Within one batch (one group, one transaction), the duplicate-serial check sees the
/// weapons staged before it: one that takes the serial by a correction in the same
/// batch is a duplicate, and a committed one that left the serial by a correction
/// earlier in the batch is not. The views are what a rebuild of the log makes
/// (`verified`).
#[test]
fn duplicate_serials_within_one_batch_are_found_as_across_batches() {
    let s = Script::new();
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let ids: Vec<String> = (811..816).map(uuid_from).collect();
    let marking = |id: &str, serial: &str| {
        maker.on(
            "2001-05-05",
            &stream::weapon(id),
            "WeaponMarked",
            script::weapon_marked(FN, "BE", serial),
        )
    };
    let correction = |id: &str, index: u64, serial: &str| {
        maker.on(
            "2001-05-06",
            &stream::weapon(id),
            "RecordCorrected",
            script::corrected(index, json!({ "serial_number": serial }), "Misread"),
        )
    };
    let leaving = s.then_accepted(marking(&ids[4], "CD-2002"));
    let first = leaving.index + 1;
    s.ledger()
        .append_batch(vec![
            correction(&ids[4], leaving.index, "EF-3003"),
            marking(&ids[0], "CD-2002"),
            marking(&ids[1], "CD-2002"),
            marking(&ids[2], "CD-2002"),
            marking(&ids[3], "CD-9999"),
            correction(&ids[3], first + 4, "CD-2002"),
        ])
        .unwrap();
    let holders = &ids[..4];
    for (i, id) in holders.iter().enumerate() {
        let mut found: Vec<String> = s
            .weapon(id)
            .duplicate_serial_of
            .iter()
            .map(ToString::to_string)
            .collect();
        found.sort();
        let mut others: Vec<String> = holders.iter().filter(|o| *o != id).cloned().collect();
        others.sort();
        assert_eq!(found, others, "weapon {i}");
    }
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 9. A mistyped serial number, corrected
// ---------------------------------------------------------------------------------------

fn mistyped_serial_corrected(s: &Script) {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let (rifle, other) = (uuid_from(901), uuid_from(902));
    let marking = maker.on(
        "2022-03-01",
        &stream::weapon(&rifle),
        "WeaponMarked",
        script::weapon_marked(FN, "BE", "FN-22-19901"),
    );
    let marked = s.then_accepted(marking.clone());
    let other_marked = s.then_accepted(maker.on(
        "2022-03-01",
        &stream::weapon(&other),
        "WeaponMarked",
        script::weapon_marked(FN, "BE", "FN-22-00902"),
    ));
    let correct = |index, fields| {
        maker.on(
            "2022-03-05",
            &stream::weapon(&rifle),
            "RecordCorrected",
            script::corrected(index, fields, "Digits transposed at data entry"),
        )
    };

    s.then_rejected(
        correct(other_marked.index, json!({"serial_number": "FN-22-10901"})),
        "entry_not_in_stream",
    );
    s.then_rejected(
        correct(marked.index, json!({"country_of_manufacture": "XX"})),
        "correction_invalid",
    );
    let correction = s.then_accepted(correct(
        marked.index,
        json!({"serial_number": "FN-22-10901"}),
    ));

    let weapon = s.weapon(&rifle);
    assert_eq!(
        weapon.identity.serial_number.as_deref(),
        Some("FN-22-10901")
    );
    assert_eq!(
        weapon.corrections,
        vec![CorrectionRecord {
            corrected_index: marked.index,
            index: correction.index,
            fields: vec!["serial_number".to_owned()],
        }]
    );
    // The original entry is the log's as it was signed.
    let reader = s.ledger().reader().unwrap();
    let original = reader
        .entry(marked.index)
        .unwrap()
        .expect("the marking entry");
    assert_eq!(original.event, marking);
    assert_eq!(
        original
            .event
            .envelope()
            .payload
            .get("serial_number")
            .and_then(|v| v.as_str()),
        Some("FN-22-19901")
    );
}

#[test]
fn a_mistyped_serial_is_corrected_and_the_original_kept() {
    let s = Script::new();
    mistyped_serial_corrected(&s);
    s.verified();
}

/// A correction that takes a serial number away from its duplicate takes the warning away
/// too: `duplicate_serial_of` lists "other weapons with the same manufacturer and serial".
#[test]
fn a_corrected_serial_is_no_longer_a_duplicate() {
    let s = Script::new();
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let (first, mistyped) = (uuid_from(911), uuid_from(912));
    s.given([maker.on(
        "2022-03-01",
        &stream::weapon(&first),
        "WeaponMarked",
        script::weapon_marked(FN, "BE", "FN-22-20001"),
    )]);
    let marked = s.then_accepted(maker.on(
        "2022-03-01",
        &stream::weapon(&mistyped),
        "WeaponMarked",
        script::weapon_marked(FN, "BE", "FN-22-20001"),
    ));
    assert_eq!(s.weapon(&first).duplicate_serial_of.len(), 1);
    s.then_accepted(maker.on(
        "2022-03-05",
        &stream::weapon(&mistyped),
        "RecordCorrected",
        script::corrected(
            marked.index,
            json!({"serial_number": "FN-22-20007"}),
            "Last digit misread",
        ),
    ));
    assert!(s.weapon(&mistyped).duplicate_serial_of.is_empty());
    assert!(s.weapon(&first).duplicate_serial_of.is_empty());
    s.verified();
}

// ---------------------------------------------------------------------------------------
// 10. Invariants 1-3
// ---------------------------------------------------------------------------------------

fn invariants_1_to_3(s: &Script) {
    let maker = s.authority("be-fn", "manufacturer", "BE");
    let police = s.authority("be-police", "police", "BE");
    let belgium = s.authority("be-licensing", "licensing", "BE");
    let customs = s.authority("be-customs", "customs", "BE");

    // Invariant 1: a weapon exists from its marking, which names maker, country and serial.
    s.then_rejected(
        police.on(
            "2026-01-05",
            &stream::weapon(&uuid_from(1099)),
            "WeaponReportedStolen",
            script::stolen(),
        ),
        "weapon_not_marked",
    );
    let mut anonymous = script::weapon_marked(FN, "BE", "X");
    anonymous.as_object_mut().unwrap().remove("serial_number");
    s.then_rejected(
        maker.on(
            "2026-01-05",
            &stream::weapon(&uuid_from(1099)),
            "WeaponMarked",
            anonymous,
        ),
        "marking_incomplete",
    );
    // A weapon's event belongs on a weapon's stream.
    s.then_rejected(
        maker.on(
            "2026-01-05",
            &stream::licence("BE-EL-2026-1001"),
            "WeaponMarked",
            script::weapon_marked(FN, "BE", "FN-26-01099"),
        ),
        "wrong_stream_kind",
    );

    // Invariant 2: a stolen weapon changes hands only once recovered.
    let rifles = manufactured(s, 1001..=1003);
    let on_first = stream::weapon(&rifles[0]);
    let sale = || {
        maker.on(
            "2026-02-01",
            &on_first,
            "DomesticTransferRecorded",
            script::domestic_transfer(FN, "Armurerie Liégeoise"),
        )
    };
    s.given([police.on(
        "2026-01-20",
        &on_first,
        "WeaponReportedStolen",
        script::stolen(),
    )]);
    s.then_rejected(sale(), "weapon_missing");
    s.given([police.on(
        "2026-01-28",
        &on_first,
        "WeaponRecovered",
        script::recovered(),
    )]);
    s.then_accepted(sale());
    assert_eq!(
        s.weapon(&rifles[0]).holder.as_deref(),
        Some("Armurerie Liégeoise")
    );

    // Invariant 3: an export cites a licence in force, valid on the day, covering
    // destination and quantity.
    let ghana = Deal {
        exporter: FN,
        exporting_state: "BE",
        consignee: "Ghana Armed Forces",
        importing_state: "GH",
        end_user: "Ghana Armed Forces",
        quantity: 2,
    };
    let licence = "BE-EL-2026-1001";
    let dispatch = |date: &str, deal: Deal, weapons: &[String]| {
        customs.on(
            date,
            &stream::consignment("BE-C-2026-1001"),
            "ConsignmentDispatched",
            deal.dispatched(licence, None, weapons),
        )
    };
    s.given([maker.on(
        "2026-04-01",
        &stream::licence(licence),
        "ExportLicenceApplied",
        ghana.licence_applied(None),
    )]);
    s.then_rejected(
        dispatch("2026-04-10", ghana, &rifles[1..3]),
        "licence_not_in_force",
    );
    s.given([belgium.on(
        "2026-05-01",
        &stream::licence(licence),
        "ExportLicenceDecided",
        script::licence_granted("2026-06-01", "2026-12-31"),
    )]);
    s.then_rejected(
        dispatch("2026-04-20", ghana, &rifles[1..3]),
        "licence_not_valid_on_date",
    );
    s.then_rejected(
        dispatch("2026-05-15", ghana, &rifles[1..3]),
        "licence_not_valid_on_date",
    );
    s.then_rejected(
        dispatch("2027-01-01", ghana, &rifles[1..3]),
        "licence_not_valid_on_date",
    );
    let togo = Deal {
        importing_state: "TG",
        ..ghana
    };
    s.then_rejected(
        dispatch("2026-07-01", togo, &rifles[1..3]),
        "licence_does_not_cover",
    );
    s.then_rejected(
        dispatch("2026-07-01", ghana, &rifles),
        "licence_does_not_cover",
    );
    s.then_accepted(dispatch("2026-07-01", ghana, &rifles[1..3]));
    let view = s.licence(licence);
    assert_eq!(view.quantity_shipped, 2);
    assert_eq!(view.consignments, vec!["BE-C-2026-1001".to_owned()]);
    assert_eq!(
        s.weapon(&rifles[1]).consignment.as_deref(),
        Some("BE-C-2026-1001")
    );
}

#[test]
fn invariants_1_to_3_marking_missing_weapons_and_licences() {
    let s = Script::new();
    invariants_1_to_3(&s);
    s.verified();
}

// ---------------------------------------------------------------------------------------
// Projections rebuilt from the log
// ---------------------------------------------------------------------------------------

/// All the scenarios in one ledger; a copy of the closed file gets its projections rebuilt
/// from the log alone, and they equal the ones written on append, stream by stream.
#[test]
fn projections_rebuilt_from_the_log_equal_the_stored_ones() {
    let s = Script::new();
    liberia_2002(&s);
    peru_1999(&s);
    obliterated_serial_restored(&s);
    euc_used_twice_and_over_quantity(&s);
    reexport_without_consent(&s);
    traces_refused_answered_and_closed(&s);
    destroyed_weapon_reappears(&s);
    duplicate_serials(&s);
    mistyped_serial_corrected(&s);
    invariants_1_to_3(&s);
    let report = s.verified();
    let (dir, path) = s.close();

    let copy = dir.path().join("copy.redb");
    std::fs::copy(&path, &copy).unwrap();
    let rebuilt = ledger::projections::rebuild_file(&copy).unwrap();
    assert!(
        rebuilt.uninterpreted.is_empty(),
        "{:?}",
        rebuilt.uninterpreted
    );
    assert_eq!(rebuilt.views.len(), report.views);
    let verified = ledger::verify::verify_file(&copy).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        (verified.entries, verified.views),
        (report.entries, report.views)
    );

    let written = LogReader::open_file(&path).unwrap();
    let reader = LogReader::open_file(&copy).unwrap();
    let views = ledger::projections::rebuild(&reader).unwrap().views;
    assert_eq!(views, rebuilt.views);
    for kind in ["weapon:", "licence:", "euc:", "consignment:", "trace:"] {
        assert!(
            views.keys().any(|stream| stream.starts_with(kind)),
            "no {kind} view"
        );
    }
    for (stream, view) in &views {
        assert_eq!(
            reader.view(stream).unwrap().as_deref(),
            Some(view),
            "{stream} in the copy"
        );
        assert_eq!(
            written.view(stream).unwrap().as_deref(),
            Some(view),
            "{stream} as appended"
        );
    }
}
