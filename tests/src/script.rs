//! Scenario scripts: "given these events (all accepted), when this one, then it is accepted
//! (and the projections say so) or refused with this code", on a real ledger file, with
//! payload builders for the long payloads of licences, certificates, consignments and
//! traces.
//!
//! ```text
//! let s = Script::new();
//! let police = s.authority("be-police", "police", "BE");
//! s.given([police.on("2026-01-05", &stream::weapon(&w), "WeaponStateMarked", marked)]);
//! s.then_rejected(police.on("2026-02-01", &stream::weapon(&w), "WeaponRecovered", p), "weapon_not_missing");
//! s.verified();
//! ```
//!
//! Every event states the day it happened: validity of licences and certificates is judged
//! by the event's `occurred_at`, never by the clock.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ledger::domain::views::{ConsignmentView, EucView, LicenceView, TraceView, View, WeaponView};
use ledger::event::{ExpectedVersion, SignedEvent, Timestamp};
use ledger::json::{Json, Object};
use ledger::{Ledger, LedgerConfig, Receipt, SystemClock};
use serde_json::{Value, json};

use crate::{Signer, create_ledger, registration, root_signer, test_key};

/// Stream names, from the ids that payloads use.
pub mod stream {
    pub fn weapon(id: &str) -> String {
        format!("weapon:{id}")
    }
    pub fn licence(number: &str) -> String {
        format!("licence:{number}")
    }
    pub fn euc(number: &str) -> String {
        format!("euc:{number}")
    }
    pub fn consignment(number: &str) -> String {
        format!("consignment:{number}")
    }
    pub fn trace(id: &str) -> String {
        format!("trace:{id}")
    }
}

/// A payload written as JSON, as the ledger reads it.
pub fn payload(value: Value) -> Object {
    let bytes = serde_json::to_vec(&value).expect("a JSON value serializes");
    match Json::parse(&bytes, 32).expect("a payload the ledger can parse") {
        Json::Object(object) => object,
        other => panic!("a payload is an object, not {}", other.kind()),
    }
}

/// Events signed by an authority on a given day.
pub trait Acts {
    /// `event_type` on `stream`, on `date` (`YYYY-MM-DD`, at noon UTC), with no expectation
    /// on the stream's version.
    fn on(&self, date: &str, stream: &str, event_type: &str, payload: Value) -> SignedEvent;
}

impl Acts for Signer {
    fn on(&self, date: &str, stream: &str, event_type: &str, body: Value) -> SignedEvent {
        let mut envelope = self.envelope(stream, ExpectedVersion::Any, event_type, payload(body));
        envelope.occurred_at =
            Timestamp::parse(&format!("{date}T12:00:00Z")).expect("a YYYY-MM-DD date");
        envelope.sign(&self.key)
    }
}

/// A ledger under test, its authorities, and the steps of a scenario.
#[derive(Debug)]
pub struct Script {
    dir: tempfile::TempDir,
    path: PathBuf,
    ledger: Ledger,
    authorities: RefCell<BTreeMap<String, (String, String, Signer)>>,
}

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl Script {
    /// A fresh ledger (root `zz-admin`, Belgium) in a temporary directory.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("ledger.redb");
        let ledger = create_ledger(&path, LedgerConfig::default(), SystemClock::shared());
        Self {
            dir,
            path,
            ledger,
            authorities: RefCell::new(BTreeMap::new()),
        }
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The authority `id` of `kind` acting for `state`, registered by the root the first
    /// time it is asked for (scenarios sharing one ledger share their authorities).
    pub fn authority(&self, id: &str, kind: &str, state: &str) -> Signer {
        let mut authorities = self.authorities.borrow_mut();
        if let Some((known_kind, known_state, signer)) = authorities.get(id) {
            assert_eq!(
                (known_kind.as_str(), known_state.as_str()),
                (kind, state),
                "authority {id} was registered as another kind or State"
            );
            return signer.clone();
        }
        let seed = 100 + authorities.len() as u64;
        let key = test_key(seed);
        self.ledger
            .append(registration(&root_signer(), id, kind, state, "k1", &key))
            .unwrap_or_else(|e| panic!("registering {id}: {}: {e}", e.code()));
        let signer = Signer::new(id, "k1", key);
        authorities.insert(
            id.to_owned(),
            (kind.to_owned(), state.to_owned(), signer.clone()),
        );
        signer
    }

    /// Events that must all be accepted, in order.
    pub fn given(&self, events: impl IntoIterator<Item = SignedEvent>) {
        for (position, event) in events.into_iter().enumerate() {
            let what = describe(&event);
            if let Err(e) = self.ledger.append(event) {
                panic!(
                    "given event {position} ({what}) was refused: {}: {e}",
                    e.code()
                );
            }
        }
    }

    /// When `event`, then it is accepted.
    pub fn then_accepted(&self, event: SignedEvent) -> Receipt {
        let what = describe(&event);
        self.ledger
            .append(event)
            .unwrap_or_else(|e| panic!("{what} was refused: {}: {e}", e.code()))
    }

    /// When `event`, then it is refused with `code`, and nothing is appended.
    pub fn then_rejected(&self, event: SignedEvent, code: &str) {
        let what = describe(&event);
        let size = self.size();
        match self.ledger.append(event) {
            Ok(receipt) => panic!(
                "{what} was accepted at index {}; expected {code}",
                receipt.index
            ),
            Err(e) => assert_eq!(e.code(), code, "{what} was refused with: {e}"),
        }
        assert_eq!(self.size(), size, "a refused event appends nothing");
    }

    /// Entries in the log.
    pub fn size(&self) -> u64 {
        self.ledger
            .reader()
            .expect("a reader")
            .tree_size()
            .expect("the log's size")
    }

    /// The stored projection of `stream`.
    pub fn view(&self, stream: &str) -> Option<View> {
        self.ledger
            .reader()
            .expect("a reader")
            .view(stream)
            .expect("a readable projection")
            .map(std::sync::Arc::unwrap_or_clone)
    }

    pub fn weapon(&self, id: &str) -> WeaponView {
        match self.view(&stream::weapon(id)) {
            Some(View::Weapon(view)) => *view,
            other => panic!("weapon {id} has no weapon view: {other:?}"),
        }
    }

    pub fn licence(&self, number: &str) -> LicenceView {
        match self.view(&stream::licence(number)) {
            Some(View::Licence(view)) => *view,
            other => panic!("licence {number} has no licence view: {other:?}"),
        }
    }

    pub fn euc(&self, number: &str) -> EucView {
        match self.view(&stream::euc(number)) {
            Some(View::Euc(view)) => *view,
            other => panic!("certificate {number} has no EUC view: {other:?}"),
        }
    }

    pub fn consignment(&self, number: &str) -> ConsignmentView {
        match self.view(&stream::consignment(number)) {
            Some(View::Consignment(view)) => *view,
            other => panic!("consignment {number} has no consignment view: {other:?}"),
        }
    }

    pub fn trace(&self, id: &str) -> TraceView {
        match self.view(&stream::trace(id)) {
            Some(View::Trace(view)) => *view,
            other => panic!("trace {id} has no trace view: {other:?}"),
        }
    }

    /// The whole file checks out, stored projections included.
    pub fn verified(&self) -> ledger::verify::VerifyReport {
        self.ledger
            .verify()
            .unwrap_or_else(|f| panic!("verify failed: {f}"))
    }

    /// Closes the ledger; the directory lives as long as the returned handle.
    pub fn close(self) -> (tempfile::TempDir, PathBuf) {
        self.ledger.close();
        (self.dir, self.path)
    }
}

fn describe(event: &SignedEvent) -> String {
    let envelope = event.envelope();
    format!(
        "{} by {} on {}",
        envelope.event_type.as_str(),
        envelope.actor.as_str(),
        envelope.stream
    )
}

// ---------------------------------------------------------------------------------------
// Payloads
// ---------------------------------------------------------------------------------------

pub fn organisation(name: &str, country: &str) -> Value {
    json!({"name": name, "address": format!("{name}, head office"), "country": country})
}

/// A government end user.
pub fn end_user(name: &str) -> Value {
    json!({
        "name": name,
        "position": "Chief of logistics",
        "address": format!("{name}, general staff"),
        "kind": "government",
    })
}

/// One line of assault rifles.
pub fn rifles(quantity: u32) -> Value {
    json!([{"description": "Assault rifles", "category": "assault_rifles", "quantity": quantity}])
}

/// One frame mark.
pub fn frame_mark(text: &str) -> Value {
    json!([{"component": "frame", "text": text}])
}

/// A manufacture marking (ITI 8(a)).
pub fn weapon_marked(manufacturer: &str, country: &str, serial: &str) -> Value {
    json!({
        "manufacturer": manufacturer,
        "country_of_manufacture": country,
        "serial_number": serial,
        "model": "FAL",
        "category": "assault_rifles",
        "marks": frame_mark(&format!("{manufacturer} {serial}")),
    })
}

/// A State marking of a weapon it holds (ITI 8(d)).
pub fn state_marked(state: &str, holder: &str, mark: &str) -> Value {
    json!({"state": state, "holder": holder, "marks": frame_mark(mark)})
}

/// A seizure; `obliterated` when the marks were found filed off.
pub fn seized(authority: &str, place: &str, obliterated: bool) -> Value {
    let mut body = json!({
        "seizing_authority": authority,
        "place": place,
        "circumstances": "Seized during an operation against an armed group",
        "suspected_illicit": ["illicit_under_national_law"],
    });
    if obliterated {
        body["observed"] = json!({"category": "assault_rifles", "obliterated_marks": true,
            "other_identifiers": "Serial number filed off the receiver"});
    }
    body
}

pub fn stolen() -> Value {
    json!({"reported_by": "Armoury officer", "place": "Liège",
        "circumstances": "Armoury broken into at night"})
}

pub fn recovered() -> Value {
    json!({"place": "Antwerp", "circumstances": "Found in a car during a check"})
}

/// A laboratory's restoration; `complete` when every character came back.
pub fn serial_restored(serial: &str, complete: bool) -> Value {
    let mut body = json!({
        "laboratory": "National Institute of Criminalistics",
        "method": "Magnetic particle, then chemical etching",
        "restored_marks": frame_mark(serial),
        "complete": complete,
    });
    if complete {
        body["restored_serial_number"] = json!(serial);
    }
    body
}

pub fn destroyed(certificate: &str) -> Value {
    json!({"method": "Cut through the receiver, then smelted", "witness": "Court bailiff",
        "certificate_number": certificate})
}

pub fn linked(others: &[&str], reason: &str) -> Value {
    json!({"other_weapons": others, "reason": reason})
}

pub fn corrected(index: u64, fields: Value, reason: &str) -> Value {
    json!({"corrected_index": index, "corrected_fields": fields, "reason": reason})
}

pub fn domestic_transfer(from: &str, to: &str) -> Value {
    json!({
        "from_holder": {"name": from, "kind": "government"},
        "to_holder": {"name": to, "kind": "commercial", "licence_number": "DL-2291"},
    })
}

/// A grant, valid from `from` to `until` (both days included).
pub fn licence_granted(from: &str, until: &str) -> Value {
    json!({"decision": "granted", "place_of_issue": "Capital", "valid_from": from,
        "valid_until": until})
}

pub fn euc_used(consignment: &str, quantity: u32) -> Value {
    json!({"quantity": quantity, "consignment": consignment})
}

pub fn revoked(reason: &str) -> Value {
    json!({"reason": reason})
}

pub fn delivery_verified(dvc: &str, weapons: &[String]) -> Value {
    json!({"dvc_reference": dvc, "received_weapons": weapons})
}

/// The original exporting State consents to the re-export of `weapons`.
pub fn reexport_consent(
    consenting: &str,
    reexporting: &str,
    destination: &str,
    weapons: &[String],
) -> Value {
    json!({
        "consenting_state": consenting,
        "reexporting_state": reexporting,
        "new_destination_country": destination,
        "new_end_user": end_user("Armed Forces of the new destination"),
        "weapons": weapons,
        "reference": format!("RC-{consenting}-{destination}-001"),
    })
}

/// `from` asks `to` to trace a weapon it seized (ITI 17 (a), (b), (c)).
pub fn trace_requested(from: &str, to: &str, weapon: &str, serial: &str) -> Value {
    json!({
        "requesting_state": from,
        "requested_state": to,
        "weapon": weapon,
        "illicit_grounds": ["illicit_under_national_law", "transferred_without_licence"],
        "legal_justification": "Possession of a war weapon without authorisation",
        "circumstances": {"how": "seized", "place": "Border crossing",
            "description": "Found in a truck with eleven other rifles"},
        "identification": {"serial_number": serial, "category": "assault_rifles"},
        "intended_use": "Criminal investigation into the supply of an armed group",
    })
}

/// A response that is not full: `kind` is partial, delayed, refused or not_found.
pub fn trace_responded(state: &str, kind: &str, reason: Option<&str>) -> Value {
    let mut body = json!({"responding_state": state, "kind": kind});
    if let Some(reason) = reason {
        body["reason"] = json!(reason);
    }
    body
}

/// A full response naming where the weapon left legal custody.
pub fn trace_answered(state: &str, diversion: &str, country: &str) -> Value {
    json!({
        "responding_state": state,
        "kind": "full",
        "chain_of_custody": [{"holder": "State armoury", "country": state}],
        "point_of_diversion": {"description": diversion, "country": country},
    })
}

pub fn trace_closed(outcome: &str) -> Value {
    json!({"outcome": outcome})
}

/// A transfer between two States: who sells, to whom, for whom, how many items.
#[derive(Clone, Copy, Debug)]
pub struct Deal {
    pub exporter: &'static str,
    pub exporting_state: &'static str,
    pub consignee: &'static str,
    pub importing_state: &'static str,
    pub end_user: &'static str,
    pub quantity: u32,
}

impl Deal {
    /// The exporter's application for an export licence, citing `euc` if given.
    pub fn licence_applied(&self, euc: Option<&str>) -> Value {
        let mut body = json!({
            "exporter": organisation(self.exporter, self.exporting_state),
            "exporting_country": self.exporting_state,
            "importing_country": self.importing_state,
            "end_user": end_user(self.end_user),
            "end_use": "Equipment of the armed forces",
            "goods": rifles(self.quantity),
        });
        if let Some(euc) = euc {
            body["euc"] = json!(euc);
        }
        body
    }

    /// The importing State's end-user certificate for this deal.
    pub fn euc_issued(&self, number: &str, issued: &str, until: &str, non_reexport: bool) -> Value {
        json!({
            "certificate_number": number,
            "issuing_state": self.importing_state,
            "issuing_authority": "Ministry of Defence",
            "authorised_signatory": {"name": "A. Signatory", "position": "Director of procurement"},
            "exporter": organisation(self.exporter, self.exporting_state),
            "end_user": end_user(self.end_user),
            "goods": rifles(self.quantity),
            "contract": {"reference": format!("CONTRACT-{number}"), "date": issued},
            "final_destination_country": self.importing_state,
            "end_use": "Equipment of the armed forces",
            "date_of_issue": issued,
            "valid_until": until,
            "non_reexport_clause": non_reexport,
            "dvc_undertaking": true,
            "consent_to_post_shipment_verification": false,
        })
    }

    /// A consignment of `weapons` leaving under `licence` (and `euc`, if given).
    pub fn dispatched(&self, licence: &str, euc: Option<&str>, weapons: &[String]) -> Value {
        let mut body = json!({
            "export_licence": licence,
            "exporter": organisation(self.exporter, self.exporting_state),
            "consignee": organisation(self.consignee, self.importing_state),
            "destination_country": self.importing_state,
            "weapons": weapons,
            "route": {"carrier": "Air cargo charter", "transport_mode": "air"},
        });
        if let Some(euc) = euc {
            body["euc"] = json!(euc);
        }
        body
    }

    /// The importing State's customs record the arrival.
    pub fn imported(&self) -> Value {
        json!({"importing_country": self.importing_state, "customs_office": "Airport customs"})
    }
}
