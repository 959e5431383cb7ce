//! A seeded random walk of domain commands, each judged first by a small reference model
//! written here and then by the ledger. The model knows, for each weapon, its status,
//! where it is, who holds it, the consignment it travels on and its serial number; for
//! each licence and end-user certificate the quantities licensed, certified, dispatched and
//! used, the transaction a certificate is bound to and whether it is revoked; for each
//! consignment its weapons and whether it was imported. It predicts acceptance or the exact
//! rejection code, in the check order of `ledger::domain` (catalogue, stream, actor,
//! jurisdiction, existence, the stream's state, the streams the payload cites), and the
//! ledger must agree. After every step the whole file verifies (stored projections equal a
//! rebuild from the log); every few steps the projections are compared with the model.
//!
//! Steps: ARMSLEDGER_DOMAIN_STEPS (default 150). Seed: ARMSLEDGER_DOMAIN_SEED (printed).

use std::collections::{BTreeMap, BTreeSet};

use armsledger_tests::script::{self, Acts, Deal, Script, stream};
use armsledger_tests::{Signer, env_u64, uuid_from};
use ledger::domain::views::{ConsignmentStatus, EucStatus, LicenceStatus, WeaponStatus};
use ledger::event::SignedEvent;
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True once in `n` times.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }
}

// ---------------------------------------------------------------------------------------
// Days: validity is judged by the event's date, so the walk dates every event.
// ---------------------------------------------------------------------------------------

/// Day `day` counted from 2026-01-01 (day 0), as `YYYY-MM-DD`; 2026 and 2027 have 365 days.
fn date(day: u32) -> String {
    const MONTHS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let year = 2026 + day / 365;
    let mut rest = day % 365;
    let mut month = 0;
    while rest >= MONTHS[month] {
        rest -= MONTHS[month];
        month += 1;
    }
    format!("{year}-{:02}-{:02}", month + 1, rest + 1)
}

/// 2026-02-01: every certificate is issued that day.
const EUC_ISSUED: u32 = 31;
/// 2026-02-10 and 2026-02-20: licences are applied for, then decided.
const LICENCE_APPLIED: u32 = 40;
const LICENCE_DECIDED: u32 = 50;
/// 2026-03-01 to 2026-12-31: every granted licence's validity.
const LICENCE_FROM: u32 = 59;
const LICENCE_UNTIL: u32 = 364;
/// Certificates run until 2026-09-30 or 2026-12-31.
const EUC_UNTIL: [u32; 2] = [272, 364];
/// Days outside every licence: 2026-02-25 (before) and 2027-01-15 (after).
const BAD_DAYS: [u32; 2] = [55, 379];

const FN: &str = "Fabrique Nationale Herstal";

/// Every deal of the walk: Belgian rifles for the Kenyan armed forces (one end user, one
/// destination, so that certificates and licences differ only in what the model tracks).
const KENYA: Deal = Deal {
    exporter: FN,
    exporting_state: "BE",
    consignee: "Kenya Defence Forces",
    importing_state: "KE",
    end_user: "Kenya Defence Forces",
    quantity: 1,
};

const HOLDERS: [&str; 3] = [
    "Armurerie Liégeoise",
    "Federal Police, central armoury",
    "Kenya Police, Nairobi armoury",
];

/// A spelling of serial number `key`: all three have the same search form, so weapons
/// with the same key are duplicates of each other (same manufacturer, same serial).
fn spelling(key: u64, variant: u64) -> String {
    match variant {
        0 => format!("FN-26-{key:05}"),
        1 => format!("fn 26 {key:05}"),
        _ => format!("FN26{key:05}"),
    }
}

// ---------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Weapon {
    id: String,
    status: WeaponStatus,
    country: &'static str,
    holder: String,
    /// Position in `Model::consignments`.
    consignment: Option<usize>,
    /// Weapons with the same key have the same serial number in their search form.
    serial: u64,
    serial_text: String,
    /// Log indexes of the entries of the weapon's stream.
    entries: Vec<u64>,
    corrections: usize,
    /// `mark_or_destroy` obligations.
    obligations: usize,
    obliterated: bool,
    /// Imported under a certificate with a non-re-export clause.
    restricted: bool,
}

#[derive(Clone, Debug)]
struct Licence {
    number: String,
    granted: bool,
    quantity: u64,
    shipped: u64,
    /// The certificate it names (position in `Model::eucs`).
    euc: Option<usize>,
    consignments: Vec<String>,
}

#[derive(Clone, Debug)]
struct Euc {
    number: String,
    quantity: u64,
    valid_until: u32,
    non_reexport: bool,
    revoked: bool,
    /// Items on consignments dispatched under it.
    dispatched: u64,
    /// Items recorded as used (`EndUserCertificateUsed`).
    used: u64,
    /// The licence of its one transaction (position in `Model::licences`), once bound.
    bound: Option<usize>,
}

#[derive(Clone, Debug)]
struct Consignment {
    number: String,
    licence: usize,
    euc: Option<usize>,
    weapons: Vec<usize>,
    imported: bool,
}

#[derive(Debug, Default)]
struct Model {
    weapons: Vec<Weapon>,
    licences: Vec<Licence>,
    eucs: Vec<Euc>,
    consignments: Vec<Consignment>,
    /// Entries in the log.
    size: u64,
}

/// The weapon an event is about: one the model knows, or an id nobody marked.
#[derive(Clone, Copy, Debug)]
enum Target {
    Known(usize),
    Unmarked(u64),
}

/// The certificate a dispatch cites.
#[derive(Clone, Copy, Debug)]
enum Cite {
    Nothing,
    Euc(usize),
    Unknown,
}

type Expected = Result<(), &'static str>;

impl Model {
    fn stream(&self, target: Target) -> String {
        match target {
            Target::Known(i) => stream::weapon(&self.weapons[i].id),
            Target::Unmarked(n) => stream::weapon(&uuid_from(n)),
        }
    }

    fn describe(&self, target: Target) -> String {
        match target {
            Target::Known(i) => {
                let w = &self.weapons[i];
                format!(
                    "weapon #{i} ({:?} in {}, consignment {:?})",
                    w.status, w.country, w.consignment
                )
            }
            Target::Unmarked(n) => format!("unmarked weapon {}", uuid_from(n)),
        }
    }

    /// Check 5 for an event on an existing weapon stream, then the first of check 6: an
    /// event that acts on the weapon (not a record about records) finds it not destroyed.
    fn existing(&self, target: Target, acts: bool) -> Result<usize, &'static str> {
        match target {
            Target::Unmarked(_) => Err("weapon_not_marked"),
            Target::Known(i) if acts && self.weapons[i].status == WeaponStatus::Destroyed => {
                Err("weapon_destroyed")
            }
            Target::Known(i) => Ok(i),
        }
    }

    /// A weapon may change hands: not destroyed, not missing, not on a consignment.
    fn movable(&self, i: usize) -> Expected {
        let weapon = &self.weapons[i];
        match weapon.status {
            WeaponStatus::Destroyed => Err("weapon_destroyed"),
            WeaponStatus::Lost | WeaponStatus::Stolen => Err("weapon_missing"),
            _ if weapon.consignment.is_some() => Err("weapon_in_transit"),
            _ => Ok(()),
        }
    }

    /// `index` is an earlier entry of the weapon's own stream.
    fn own_entry(&self, i: usize, index: u64) -> Expected {
        if self.weapons[i].entries.contains(&index) {
            Ok(())
        } else {
            Err("entry_not_in_stream")
        }
    }

    fn expect_transfer(&self, target: Target, state: &str) -> Expected {
        let i = self.existing(target, true)?;
        self.movable(i)?;
        if self.weapons[i].country != state {
            return Err("jurisdiction_mismatch");
        }
        Ok(())
    }

    fn expect_recovery(&self, target: Target) -> Expected {
        let i = self.existing(target, true)?;
        match self.weapons[i].status {
            WeaponStatus::Lost | WeaponStatus::Stolen => Ok(()),
            _ => Err("weapon_not_missing"),
        }
    }

    fn expect_deactivation(&self, target: Target) -> Expected {
        let i = self.existing(target, true)?;
        if self.weapons[i].status == WeaponStatus::Deactivated {
            return Err("weapon_already_deactivated");
        }
        Ok(())
    }

    fn expect_correction(&self, target: Target, index: u64, valid: bool) -> Expected {
        let i = self.existing(target, false)?;
        self.own_entry(i, index)?;
        if !valid {
            return Err("correction_invalid");
        }
        Ok(())
    }

    /// Invariants 3 and 4 when goods leave, in the decider's order: the consignment is new;
    /// the licence exists, is granted, valid on the day, covers destination and quantity,
    /// and names the certificate cited (if it names one); the certificate (cited, else the
    /// licence's) exists, is not revoked, valid on the day, within its quantity, and bound
    /// to no other licence; every weapon is marked and movable. Returns the certificate.
    fn expect_dispatch(&self, dispatch: &Dispatch) -> Result<Option<usize>, &'static str> {
        if dispatch.exists {
            return Err("stream_exists");
        }
        let l = dispatch.licence.ok_or("document_not_found")?;
        let licence = &self.licences[l];
        if !licence.granted {
            return Err("licence_not_in_force");
        }
        if !(LICENCE_FROM..=LICENCE_UNTIL).contains(&dispatch.day) {
            return Err("licence_not_valid_on_date");
        }
        if dispatch.destination != KENYA.importing_state {
            return Err("licence_does_not_cover");
        }
        let n = dispatch.weapons.len() as u64;
        if licence.shipped + n > licence.quantity {
            return Err("licence_does_not_cover");
        }
        match (licence.euc, dispatch.cite) {
            (Some(named), Cite::Euc(cited)) if named != cited => {
                return Err("licence_does_not_cover");
            }
            (Some(_), Cite::Unknown) => return Err("licence_does_not_cover"),
            _ => {}
        }
        let certificate = match dispatch.cite {
            Cite::Euc(cited) => Some(cited),
            Cite::Unknown => return Err("document_not_found"),
            Cite::Nothing => licence.euc,
        };
        if let Some(e) = certificate {
            let euc = &self.eucs[e];
            if euc.revoked {
                return Err("euc_revoked");
            }
            if !(EUC_ISSUED..=euc.valid_until).contains(&dispatch.day) {
                return Err("euc_outside_validity");
            }
            if euc.dispatched + n > euc.quantity {
                return Err("euc_quantity_exceeded");
            }
            // Every deal has the same end user and destination: no euc_does_not_cover.
            if euc.bound.is_some_and(|bound| bound != l) {
                return Err("euc_single_transaction");
            }
        }
        for target in &dispatch.weapons {
            let i = self.existing(*target, false)?;
            self.movable(i)?;
            // Goods leave from where they are: Belgian customs ship only what the log
            // places in Belgium.
            if self.weapons[i].country != "BE" {
                return Err("jurisdiction_mismatch");
            }
        }
        Ok(certificate)
    }

    /// Invariant 4 for a recorded use of a certificate, in `decide_euc_use`'s order.
    fn expect_use(
        &self,
        euc: Option<usize>,
        consignment: Option<usize>,
        state: &str,
        day: u32,
        quantity: u64,
    ) -> Expected {
        let e = euc.ok_or("document_not_found")?;
        let c = consignment.ok_or("document_not_found")?;
        if state != KENYA.exporting_state {
            return Err("jurisdiction_mismatch");
        }
        let (euc, consignment) = (&self.eucs[e], &self.consignments[c]);
        if euc.revoked {
            return Err("euc_revoked");
        }
        if !(EUC_ISSUED..=euc.valid_until).contains(&day) {
            return Err("euc_outside_validity");
        }
        if consignment.euc != Some(e) {
            return Err("euc_does_not_cover");
        }
        if euc.bound.is_some_and(|bound| bound != consignment.licence) {
            return Err("euc_single_transaction");
        }
        if quantity > euc.quantity.saturating_sub(euc.used) {
            return Err("euc_quantity_exceeded");
        }
        Ok(())
    }

    /// Weapons with the same serial number as weapon `i` (same manufacturer for all).
    fn duplicates(&self, i: usize) -> BTreeSet<String> {
        self.weapons
            .iter()
            .enumerate()
            .filter(|(j, w)| *j != i && w.serial == self.weapons[i].serial)
            .map(|(_, w)| w.id.clone())
            .collect()
    }
}

/// The certificate a licence names, when the walk applies for one.
#[derive(Clone, Copy, Debug)]
enum Names {
    Fresh,
    Earlier(usize),
    Nothing,
}

/// A dispatch as the walk draws it.
#[derive(Debug)]
struct Dispatch {
    number: String,
    exists: bool,
    licence: Option<usize>,
    cite: Cite,
    destination: &'static str,
    day: u32,
    weapons: Vec<Target>,
}

// ---------------------------------------------------------------------------------------
// The walk
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Actor {
    signer: Signer,
    id: &'static str,
    state: &'static str,
}

impl Actor {
    fn new(script: &Script, id: &'static str, kind: &str, state: &'static str) -> Self {
        Self {
            signer: script.authority(id, kind, state),
            id,
            state,
        }
    }

    fn act(&self, day: u32, stream: &str, event_type: &str, body: Value) -> SignedEvent {
        self.signer.on(&date(day), stream, event_type, body)
    }
}

#[derive(Debug)]
struct Actors {
    maker: Actor,
    be_police: Actor,
    ke_police: Actor,
    be_licensing: Actor,
    be_customs: Actor,
    ke_ministry: Actor,
    ke_customs: Actor,
}

struct Walk {
    script: Script,
    actors: Actors,
    model: Model,
    rng: Rng,
    seed: u64,
    step: u64,
    /// How often each event type got each outcome.
    outcomes: BTreeMap<String, u64>,
}

impl Walk {
    fn context(&self, what: &str) -> String {
        format!(
            "step {} (ARMSLEDGER_DOMAIN_SEED={}): {what}",
            self.step, self.seed
        )
    }

    /// Appends `event`; the ledger must do what the model expects. Returns the accepted
    /// entry's index, which must be the next one.
    fn judge(&mut self, what: &str, event: SignedEvent, expected: Expected) -> Option<u64> {
        let context = self.context(what);
        let event_type = event.envelope().event_type.as_str().to_owned();
        let outcome = self.script.ledger().append(event);
        let code = match (outcome, expected) {
            (Ok(receipt), Ok(())) => {
                assert_eq!(receipt.index, self.model.size, "{context}");
                // The walk so far, shown when the test fails.
                println!("{context}: accepted at {}", receipt.index);
                self.model.size += 1;
                *self
                    .outcomes
                    .entry(format!("{event_type}: accepted"))
                    .or_default() += 1;
                return Some(receipt.index);
            }
            (Ok(receipt), Err(code)) => panic!(
                "{context}: accepted at index {}, the model expected {code}",
                receipt.index
            ),
            (Err(e), Ok(())) => panic!(
                "{context}: refused with {}: {e}; the model expected it accepted",
                e.code()
            ),
            (Err(e), Err(code)) => {
                assert_eq!(e.code(), code, "{context}: {e}");
                println!("{context}: {code}");
                code
            }
        };
        *self
            .outcomes
            .entry(format!("{event_type}: {code}"))
            .or_default() += 1;
        None
    }

    fn day(&mut self) -> u32 {
        if self.rng.one_in(12) {
            BAD_DAYS[self.rng.index(BAD_DAYS.len())]
        } else {
            LICENCE_FROM + self.rng.below(u64::from(LICENCE_UNTIL - LICENCE_FROM + 1)) as u32
        }
    }

    /// A weapon: now and then one nobody marked, else any the model knows.
    fn target(&mut self) -> Target {
        if self.model.weapons.is_empty() || self.rng.one_in(12) {
            Target::Unmarked(1_000_000 + self.step)
        } else {
            Target::Known(self.rng.index(self.model.weapons.len()))
        }
    }

    /// Two times in three a weapon for which `wanted` holds (if there is one), else
    /// [`Self::target`]: enough commands succeed to move the walk along.
    fn target_where(&mut self, wanted: impl Fn(&Weapon) -> bool) -> Target {
        let candidates: Vec<usize> = (0..self.model.weapons.len())
            .filter(|&i| wanted(&self.model.weapons[i]))
            .collect();
        if candidates.is_empty() || self.rng.one_in(3) {
            self.target()
        } else {
            Target::Known(candidates[self.rng.index(candidates.len())])
        }
    }

    fn police(&mut self) -> Actor {
        if self.rng.one_in(3) {
            self.actors.ke_police.clone()
        } else {
            self.actors.be_police.clone()
        }
    }

    /// An index for `relates_to_index` or `corrected_index`: mostly an entry of the
    /// weapon's own stream, else anything up to just past the log's end.
    fn entry_index(&mut self, target: Target) -> u64 {
        match target {
            Target::Known(i) if !self.rng.one_in(4) => {
                let entries = &self.model.weapons[i].entries;
                entries[self.rng.index(entries.len())]
            }
            _ => self.rng.below(self.model.size + 3),
        }
    }

    // ----- weapons -----------------------------------------------------------------------

    /// WeaponMarked by the manufacturer: a new weapon; or a second marking of a weapon that
    /// exists (`stream_exists`), or one for another State (`jurisdiction_mismatch`).
    fn mark(&mut self) {
        let n = self.model.weapons.len();
        let key = if n > 0 && self.rng.one_in(5) {
            self.model.weapons[self.rng.index(n)].serial
        } else {
            1000 + n as u64
        };
        let text = spelling(key, self.rng.below(3));
        let fresh = uuid_from(n as u64 + 1);
        let (id, country, expected) = match self.rng.below(10) {
            0 if n > 0 => {
                let other = self.model.weapons[self.rng.index(n)].id.clone();
                (other, "BE", Err("stream_exists"))
            }
            1 => (fresh, "FR", Err("jurisdiction_mismatch")),
            _ => (fresh, "BE", Ok(())),
        };
        let day = self.day();
        let maker = &self.actors.maker;
        let event = maker.act(
            day,
            &stream::weapon(&id),
            "WeaponMarked",
            script::weapon_marked(FN, country, &text),
        );
        let what = format!("WeaponMarked {id} ({country}, serial {text:?})");
        if let Some(index) = self.judge(&what, event, expected) {
            self.model.weapons.push(Weapon {
                id,
                status: WeaponStatus::Active,
                country: "BE",
                holder: FN.to_owned(),
                consignment: None,
                serial: key,
                serial_text: text,
                entries: vec![index],
                corrections: 0,
                obligations: 0,
                obliterated: false,
                restricted: false,
            });
        }
    }

    /// WeaponReportedLost or WeaponReportedStolen by a police force.
    fn report(&mut self, stolen: bool) {
        let target = self.target();
        let actor = self.police();
        let (event_type, status) = if stolen {
            ("WeaponReportedStolen", WeaponStatus::Stolen)
        } else {
            ("WeaponReportedLost", WeaponStatus::Lost)
        };
        let body = json!({"reported_by": "Armoury officer", "place": "Liège",
            "circumstances": "Missing at the yearly inventory"});
        let expected = self.model.existing(target, true).map(|_| ());
        let what = format!(
            "{event_type} by {} on {}",
            actor.id,
            self.model.describe(target)
        );
        let day = self.day();
        let event = actor.act(day, &self.model.stream(target), event_type, body);
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            let weapon = &mut self.model.weapons[i];
            weapon.status = status;
            // Lost or stolen on the way, it is off its consignment.
            weapon.consignment = None;
            weapon.entries.push(index);
        }
    }

    /// WeaponRecovered: of a missing weapon, by a police force; the manufacturer may not.
    fn recover(&mut self) {
        let target =
            self.target_where(|w| matches!(w.status, WeaponStatus::Lost | WeaponStatus::Stolen));
        let (actor, expected) = if self.rng.one_in(10) {
            (self.actors.maker.clone(), Err("actor_not_allowed"))
        } else {
            let police = self.police();
            (police, self.model.expect_recovery(target))
        };
        let what = format!(
            "WeaponRecovered by {} on {}",
            actor.id,
            self.model.describe(target)
        );
        let day = self.day();
        let event = actor.act(
            day,
            &self.model.stream(target),
            "WeaponRecovered",
            script::recovered(),
        );
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            let weapon = &mut self.model.weapons[i];
            weapon.status = WeaponStatus::Active;
            weapon.country = actor.state;
            weapon.entries.push(index);
            // Recovered while on a consignment, it stays on it: the view then says
            // "active" and names the consignment, and the import makes it Kenya's.
        }
    }

    /// DomesticTransferRecorded by the manufacturer (Belgium) or the Kenyan police: the
    /// weapon is movable and in the actor's State.
    fn transfer(&mut self) {
        let actor = if self.rng.one_in(2) {
            self.actors.maker.clone()
        } else {
            self.actors.ke_police.clone()
        };
        let state = actor.state;
        let target = self.target_where(|w| {
            w.country == state
                && w.consignment.is_none()
                && !matches!(
                    w.status,
                    WeaponStatus::Destroyed | WeaponStatus::Lost | WeaponStatus::Stolen
                )
        });
        let to = HOLDERS[self.rng.index(HOLDERS.len())];
        let expected = self.model.expect_transfer(target, actor.state);
        let from = match target {
            Target::Known(i) => self.model.weapons[i].holder.clone(),
            Target::Unmarked(_) => FN.to_owned(),
        };
        let what = format!(
            "DomesticTransferRecorded to {to:?} by {} on {}",
            actor.id,
            self.model.describe(target)
        );
        let day = self.day();
        let event = actor.act(
            day,
            &self.model.stream(target),
            "DomesticTransferRecorded",
            script::domestic_transfer(&from, to),
        );
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            let weapon = &mut self.model.weapons[i];
            weapon.holder = to.to_owned();
            weapon.entries.push(index);
        }
    }

    /// WeaponSeized by a police force (off any consignment, into its State's custody);
    /// the manufacturer may not.
    fn seize(&mut self) {
        let target = self.target();
        let obliterated = self.rng.one_in(4);
        let (actor, expected) = if self.rng.one_in(10) {
            (self.actors.maker.clone(), Err("actor_not_allowed"))
        } else {
            let police = self.police();
            (police, self.model.existing(target, true).map(|_| ()))
        };
        let what = format!(
            "WeaponSeized by {} on {}",
            actor.id,
            self.model.describe(target)
        );
        let day = self.day();
        let event = actor.act(
            day,
            &self.model.stream(target),
            "WeaponSeized",
            script::seized("Judicial police", "Brussels", obliterated),
        );
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            let weapon = &mut self.model.weapons[i];
            weapon.status = WeaponStatus::Seized;
            weapon.country = actor.state;
            weapon.holder = actor.id.to_owned();
            weapon.consignment = None;
            weapon.obligations += 1;
            weapon.obliterated |= obliterated;
            weapon.entries.push(index);
        }
    }

    /// WeaponDestroyed by a police force: terminal; the manufacturer may not.
    fn destroy(&mut self) {
        let target = self.target();
        let (actor, expected) = if self.rng.one_in(12) {
            (self.actors.maker.clone(), Err("actor_not_allowed"))
        } else {
            let police = self.police();
            (police, self.model.existing(target, true).map(|_| ()))
        };
        let what = format!(
            "WeaponDestroyed by {} on {}",
            actor.id,
            self.model.describe(target)
        );
        let day = self.day();
        let certificate = format!("DC-{}", self.step);
        let event = actor.act(
            day,
            &self.model.stream(target),
            "WeaponDestroyed",
            script::destroyed(&certificate),
        );
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            let weapon = &mut self.model.weapons[i];
            weapon.status = WeaponStatus::Destroyed;
            weapon.obligations = 0;
            weapon.entries.push(index);
            weapon.consignment = None;
        }
    }

    /// WeaponDeactivated by the Belgian police; customs may not.
    fn deactivate(&mut self) {
        let target = self.target_where(|w| w.status != WeaponStatus::Destroyed);
        let (actor, expected) = if self.rng.one_in(12) {
            (self.actors.be_customs.clone(), Err("actor_not_allowed"))
        } else {
            let police = self.actors.be_police.clone();
            (police, self.model.expect_deactivation(target))
        };
        let what = format!(
            "WeaponDeactivated by {} on {}",
            actor.id,
            self.model.describe(target)
        );
        let body = json!({"certificate_number": format!("DEACT-{}", self.step),
            "standard": "EU 2015/2403", "verifying_authority": "Liège Proof House"});
        let day = self.day();
        let event = actor.act(day, &self.model.stream(target), "WeaponDeactivated", body);
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            let weapon = &mut self.model.weapons[i];
            weapon.status = WeaponStatus::Deactivated;
            weapon.entries.push(index);
        }
    }

    /// EvidenceAttached by the police, about the weapon or one of its entries: a record
    /// about records, possible after destruction too.
    fn evidence(&mut self) {
        let target = self.target();
        let relates = if self.rng.one_in(3) {
            None
        } else {
            Some(self.entry_index(target))
        };
        let expected = self
            .model
            .existing(target, false)
            .and_then(|i| relates.map_or(Ok(()), |index| self.model.own_entry(i, index)));
        let what = format!(
            "EvidenceAttached (relates to {relates:?}) on {}",
            self.model.describe(target)
        );
        let mut body = json!({"subject": "Photographs of the receiver", "evidence": [{
            "sha256": format!("{:064x}", self.step + 1),
            "description": "Photograph",
        }]});
        if let Some(index) = relates {
            body["relates_to_index"] = json!(index);
        }
        let day = self.day();
        let actor = self.actors.be_police.clone();
        let event = actor.act(day, &self.model.stream(target), "EvidenceAttached", body);
        if let (Some(index), Target::Known(i)) = (self.judge(&what, event, expected), target) {
            self.model.weapons[i].entries.push(index);
        }
    }

    /// RecordCorrected of the serial number by the manufacturer: to a new serial, to
    /// another weapon's (a duplicate, warned of), or to one that cannot be a serial.
    fn correct(&mut self) {
        let target = self.target();
        let index = self.entry_index(target);
        let n = self.model.weapons.len();
        let other = (n > 0).then(|| self.model.weapons[self.rng.index(n)].serial);
        let (key, text) = match (self.rng.below(6), other) {
            (0, _) => (None, "-- --".to_owned()),
            (1, _) => (None, " FN-1".to_owned()),
            (2 | 3, Some(key)) => (Some(key), spelling(key, self.rng.below(3))),
            _ => {
                let key = 500_000 + self.step;
                (Some(key), spelling(key, self.rng.below(3)))
            }
        };
        let expected = self.model.expect_correction(target, index, key.is_some());
        let what = format!(
            "RecordCorrected of entry {index} to serial {text:?} on {}",
            self.model.describe(target)
        );
        let day = self.day();
        let maker = self.actors.maker.clone();
        let event = maker.act(
            day,
            &self.model.stream(target),
            "RecordCorrected",
            script::corrected(
                index,
                json!({"serial_number": text}),
                "Digits transposed at data entry",
            ),
        );
        if let (Some(entry), Target::Known(i), Some(key)) =
            (self.judge(&what, event, expected), target, key)
        {
            let weapon = &mut self.model.weapons[i];
            weapon.serial = key;
            weapon.serial_text = text;
            weapon.corrections += 1;
            weapon.entries.push(entry);
        }
    }

    // ----- documents ---------------------------------------------------------------------

    /// A certificate for `euc_quantity` rifles and a licence for `licence_quantity`, naming
    /// that certificate, an earlier one (a second licence on one certificate) or none,
    /// granted or only applied for. All accepted.
    fn new_deal(&mut self, euc_quantity: u64, licence_quantity: u64, names: Names, grant: bool) {
        let number = format!("KE-EUC-{:03}", self.model.eucs.len() + 1);
        let licence = format!("BE-EL-{:03}", self.model.licences.len() + 1);
        let valid_until = EUC_UNTIL[self.rng.index(EUC_UNTIL.len())];
        let non_reexport = self.rng.one_in(2);
        let deal = |quantity: u64| Deal {
            quantity: u32::try_from(quantity).unwrap(),
            ..KENYA
        };
        let issued = self.actors.ke_ministry.act(
            EUC_ISSUED,
            &stream::euc(&number),
            "EndUserCertificateIssued",
            deal(euc_quantity).euc_issued(
                &number,
                &date(EUC_ISSUED),
                &date(valid_until),
                non_reexport,
            ),
        );
        self.judge(
            &format!("EndUserCertificateIssued {number}"),
            issued,
            Ok(()),
        )
        .unwrap();
        self.model.eucs.push(Euc {
            number: number.clone(),
            quantity: euc_quantity,
            valid_until,
            non_reexport,
            revoked: false,
            dispatched: 0,
            used: 0,
            bound: None,
        });
        let named = match names {
            Names::Fresh => Some(self.model.eucs.len() - 1),
            Names::Earlier(e) => Some(e),
            Names::Nothing => None,
        };
        let named_number = named.map(|e| self.model.eucs[e].number.clone());
        let applied = self.actors.maker.act(
            LICENCE_APPLIED,
            &stream::licence(&licence),
            "ExportLicenceApplied",
            deal(licence_quantity).licence_applied(named_number.as_deref()),
        );
        self.judge(&format!("ExportLicenceApplied {licence}"), applied, Ok(()))
            .unwrap();
        if grant {
            let decided = self.actors.be_licensing.act(
                LICENCE_DECIDED,
                &stream::licence(&licence),
                "ExportLicenceDecided",
                script::licence_granted(&date(LICENCE_FROM), &date(LICENCE_UNTIL)),
            );
            self.judge(&format!("ExportLicenceDecided {licence}"), decided, Ok(()))
                .unwrap();
        }
        self.model.licences.push(Licence {
            number: licence,
            granted: grant,
            quantity: licence_quantity,
            shipped: 0,
            euc: named,
            consignments: Vec::new(),
        });
    }

    fn random_deal(&mut self) {
        let euc_quantity = 2 + self.rng.below(5);
        let licence_quantity = 2 + self.rng.below(6);
        let earlier = self.rng.index(self.model.eucs.len());
        let names = match self.rng.below(8) {
            0 => Names::Nothing,
            1 | 2 => Names::Earlier(earlier),
            _ => Names::Fresh,
        };
        let grant = !self.rng.one_in(8);
        self.new_deal(euc_quantity, licence_quantity, names, grant);
    }

    /// ConsignmentDispatched by Belgian customs: one to three weapons under a licence,
    /// citing its certificate, none, another or one that does not exist.
    fn dispatch(&mut self) {
        let consignments = self.model.consignments.len();
        let (number, exists) = if consignments > 0 && self.rng.one_in(15) {
            let c = self.rng.index(consignments);
            (self.model.consignments[c].number.clone(), true)
        } else {
            (format!("BE-C-{:04}", consignments + 1), false)
        };
        let open: Vec<usize> = (0..self.model.licences.len())
            .filter(|&l| {
                let licence = &self.model.licences[l];
                licence.granted && licence.shipped < licence.quantity
            })
            .collect();
        let licence = if self.rng.one_in(20) {
            None
        } else if !open.is_empty() && !self.rng.one_in(3) {
            Some(open[self.rng.index(open.len())])
        } else {
            Some(self.rng.index(self.model.licences.len()))
        };
        let cite = match (self.rng.below(10), licence) {
            (0..=6, Some(l)) => self.model.licences[l].euc.map_or(Cite::Nothing, Cite::Euc),
            (0..=8, _) => Cite::Nothing,
            _ if self.rng.one_in(3) => Cite::Unknown,
            _ => Cite::Euc(self.rng.index(self.model.eucs.len())),
        };
        let destination = if self.rng.one_in(20) { "TZ" } else { "KE" };
        let day = self.day();
        let mut weapons: Vec<Target> = Vec::new();
        for _ in 0..1 + self.rng.below(3) {
            let target = self.target_where(|w| {
                w.country == "BE"
                    && w.consignment.is_none()
                    && !matches!(
                        w.status,
                        WeaponStatus::Destroyed | WeaponStatus::Lost | WeaponStatus::Stolen
                    )
            });
            let chosen = |t: &Target| match (t, target) {
                (Target::Known(a), Target::Known(b)) => *a == b,
                (Target::Unmarked(a), Target::Unmarked(b)) => *a == b,
                _ => false,
            };
            if !weapons.iter().any(chosen) {
                weapons.push(target);
            }
        }
        let dispatch = Dispatch {
            number,
            exists,
            licence,
            cite,
            destination,
            day,
            weapons,
        };
        let expected = self.model.expect_dispatch(&dispatch);
        let licence_number = licence.map_or("BE-EL-999".to_owned(), |l| {
            self.model.licences[l].number.clone()
        });
        let euc_number = match cite {
            Cite::Nothing => None,
            Cite::Euc(e) => Some(self.model.eucs[e].number.clone()),
            Cite::Unknown => Some("KE-EUC-999".to_owned()),
        };
        let ids: Vec<String> = dispatch
            .weapons
            .iter()
            .map(|t| match *t {
                Target::Known(i) => self.model.weapons[i].id.clone(),
                Target::Unmarked(n) => uuid_from(n),
            })
            .collect();
        let described: Vec<String> = dispatch
            .weapons
            .iter()
            .map(|t| self.model.describe(*t))
            .collect();
        let what = format!(
            "ConsignmentDispatched {} on {} under {licence_number} ({:?}), citing {euc_number:?} \
             ({:?}), to {destination}, with {described:?}",
            dispatch.number,
            date(day),
            licence.map(|l| &self.model.licences[l]),
            certificate_of(&self.model, &dispatch).map(|e| &self.model.eucs[e]),
        );
        let body = Deal {
            importing_state: destination,
            ..KENYA
        }
        .dispatched(&licence_number, euc_number.as_deref(), &ids);
        let event = self.actors.be_customs.act(
            day,
            &stream::consignment(&dispatch.number),
            "ConsignmentDispatched",
            body,
        );
        let certificate = expected.as_ref().ok().copied().flatten();
        if self.judge(&what, event, expected.map(|_| ())).is_some() {
            let c = self.model.consignments.len();
            let l = licence.unwrap();
            let n = dispatch.weapons.len() as u64;
            let licence = &mut self.model.licences[l];
            licence.shipped += n;
            licence.consignments.push(dispatch.number.clone());
            if let Some(e) = certificate {
                let euc = &mut self.model.eucs[e];
                euc.dispatched += n;
                euc.bound.get_or_insert(l);
            }
            let mut carried = Vec::new();
            for target in &dispatch.weapons {
                if let Target::Known(i) = *target {
                    let weapon = &mut self.model.weapons[i];
                    // A deactivated weapon keeps its class on the way.
                    if weapon.status != WeaponStatus::Deactivated {
                        weapon.status = WeaponStatus::InTransit;
                    }
                    weapon.consignment = Some(c);
                    carried.push(i);
                }
            }
            self.model.consignments.push(Consignment {
                number: dispatch.number,
                licence: l,
                euc: certificate,
                weapons: carried,
                imported: false,
            });
        }
    }

    /// EndUserCertificateUsed by customs, for a consignment, within what is left.
    fn use_euc(&mut self) {
        let consignments = self.model.consignments.len();
        let certified: Vec<usize> = (0..consignments)
            .filter(|&c| self.model.consignments[c].euc.is_some())
            .collect();
        let (euc, consignment) = if !certified.is_empty() && !self.rng.one_in(3) {
            let c = certified[self.rng.index(certified.len())];
            (self.model.consignments[c].euc, Some(c))
        } else {
            let euc = if self.rng.one_in(20) {
                None
            } else {
                Some(self.rng.index(self.model.eucs.len()))
            };
            let consignment = if consignments == 0 || self.rng.one_in(20) {
                None
            } else {
                Some(self.rng.index(consignments))
            };
            (euc, consignment)
        };
        let remaining = euc.map_or(0, |e| {
            let euc = &self.model.eucs[e];
            euc.quantity.saturating_sub(euc.used)
        });
        let quantity = 1 + self.rng.below(remaining + 2);
        let actor = if self.rng.one_in(15) {
            self.actors.ke_customs.clone()
        } else {
            self.actors.be_customs.clone()
        };
        let day = self.day();
        let expected = self
            .model
            .expect_use(euc, consignment, actor.state, day, quantity);
        let euc_number = euc.map_or("KE-EUC-999".to_owned(), |e| {
            self.model.eucs[e].number.clone()
        });
        let consignment_number = consignment.map_or("BE-C-9999".to_owned(), |c| {
            self.model.consignments[c].number.clone()
        });
        let what = format!(
            "EndUserCertificateUsed of {quantity} by {} on {} for {consignment_number} ({:?}) \
             on {euc_number} ({:?})",
            actor.id,
            date(day),
            consignment.map(|c| &self.model.consignments[c]),
            euc.map(|e| &self.model.eucs[e]),
        );
        let event = actor.act(
            day,
            &stream::euc(&euc_number),
            "EndUserCertificateUsed",
            script::euc_used(&consignment_number, u32::try_from(quantity).unwrap()),
        );
        if self.judge(&what, event, expected).is_some() {
            let (e, c) = (euc.unwrap(), consignment.unwrap());
            let licence = self.model.consignments[c].licence;
            let euc = &mut self.model.eucs[e];
            euc.used += quantity;
            euc.bound.get_or_insert(licence);
        }
    }

    /// EndUserCertificateRevoked by the issuing State (Kenya); Belgium may not.
    fn revoke(&mut self) {
        let euc = if self.rng.one_in(20) {
            None
        } else {
            Some(self.rng.index(self.model.eucs.len()))
        };
        let actor = if self.rng.one_in(8) {
            self.actors.be_licensing.clone()
        } else {
            self.actors.ke_ministry.clone()
        };
        let expected = match euc {
            None => Err("document_not_found"),
            Some(_) if actor.state != KENYA.importing_state => Err("jurisdiction_mismatch"),
            Some(e) if self.model.eucs[e].revoked => Err("euc_revoked"),
            Some(_) => Ok(()),
        };
        let number = euc.map_or("KE-EUC-999".to_owned(), |e| {
            self.model.eucs[e].number.clone()
        });
        let what = format!("EndUserCertificateRevoked {number} by {}", actor.id);
        let day = self.day();
        let event = actor.act(
            day,
            &stream::euc(&number),
            "EndUserCertificateRevoked",
            script::revoked("The end user denies having placed the order"),
        );
        if self.judge(&what, event, expected).is_some() {
            self.model.eucs[euc.unwrap()].revoked = true;
        }
    }

    /// ConsignmentImported by Kenyan customs: the weapons still on board arrive.
    fn import(&mut self) {
        let consignments = self.model.consignments.len();
        let pending: Vec<usize> = (0..consignments)
            .filter(|&c| !self.model.consignments[c].imported)
            .collect();
        let consignment = if consignments == 0 || self.rng.one_in(20) {
            None
        } else if !pending.is_empty() && !self.rng.one_in(3) {
            Some(pending[self.rng.index(pending.len())])
        } else {
            Some(self.rng.index(consignments))
        };
        let actor = if self.rng.one_in(10) {
            self.actors.be_customs.clone()
        } else {
            self.actors.ke_customs.clone()
        };
        // The payload's importing country is checked against the actor before the
        // consignment is looked up.
        let expected = match consignment {
            _ if actor.state != KENYA.importing_state => Err("jurisdiction_mismatch"),
            None => Err("document_not_found"),
            Some(c) if self.model.consignments[c].imported => Err("consignment_status_invalid"),
            Some(_) => Ok(()),
        };
        let number = consignment.map_or("BE-C-9999".to_owned(), |c| {
            self.model.consignments[c].number.clone()
        });
        let what = format!(
            "ConsignmentImported {number} by {} ({:?}), weapons {:?}",
            actor.id,
            consignment.map(|c| &self.model.consignments[c]),
            consignment.map(|c| {
                self.model.consignments[c]
                    .weapons
                    .iter()
                    .map(|&i| self.model.describe(Target::Known(i)))
                    .collect::<Vec<_>>()
            }),
        );
        let day = self.day();
        let event = actor.act(
            day,
            &stream::consignment(&number),
            "ConsignmentImported",
            KENYA.imported(),
        );
        if self.judge(&what, event, expected).is_some() {
            let c = consignment.unwrap();
            let restricted = self.model.consignments[c]
                .euc
                .is_some_and(|e| self.model.eucs[e].non_reexport);
            self.model.consignments[c].imported = true;
            for i in self.model.consignments[c].weapons.clone() {
                let weapon = &mut self.model.weapons[i];
                // Seized on the way, it is off the consignment and did not arrive.
                if weapon.consignment != Some(c) {
                    continue;
                }
                // Only a weapon still in transit becomes active; a deactivated one
                // keeps its class.
                if weapon.status == WeaponStatus::InTransit {
                    weapon.status = WeaponStatus::Active;
                }
                weapon.consignment = None;
                weapon.country = "KE";
                weapon.holder = KENYA.consignee.to_owned();
                weapon.restricted |= restricted;
            }
        }
    }

    // ----- the projections against the model ----------------------------------------------

    fn compare(&self) {
        let context = self.context("projections against the model");
        let model = &self.model;
        let number = |c: Option<usize>| c.map(|c| model.consignments[c].number.clone());
        for (i, w) in model.weapons.iter().enumerate() {
            let view = self.script.weapon(&w.id);
            let duplicates: BTreeSet<String> = view
                .duplicate_serial_of
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(
                duplicates.len(),
                view.duplicate_serial_of.len(),
                "{context}: weapon #{i}"
            );
            assert_eq!(
                (
                    view.status,
                    view.country.map(|c| c.to_string()),
                    view.holder.as_deref(),
                    view.consignment.clone(),
                    view.identity.serial_number.as_deref(),
                    duplicates,
                    view.corrections.len(),
                    view.obligations.len(),
                    view.marks_obliterated,
                    view.reexport_restriction.is_some(),
                    view.first_index,
                ),
                (
                    w.status,
                    Some(w.country.to_owned()),
                    Some(w.holder.as_str()),
                    number(w.consignment),
                    Some(w.serial_text.as_str()),
                    model.duplicates(i),
                    w.corrections,
                    w.obligations,
                    w.obliterated,
                    w.restricted,
                    w.entries[0],
                ),
                "{context}: weapon #{i} {w:?}"
            );
        }
        for l in &model.licences {
            let view = self.script.licence(&l.number);
            let status = if l.granted {
                LicenceStatus::Granted
            } else {
                LicenceStatus::Applied
            };
            assert_eq!(
                (
                    view.status,
                    view.quantity_licensed(),
                    view.quantity_shipped,
                    &view.consignments,
                    view.euc.clone()
                ),
                (
                    status,
                    l.quantity,
                    l.shipped,
                    &l.consignments,
                    l.euc.map(|e| model.eucs[e].number.clone())
                ),
                "{context}: licence {l:?}"
            );
        }
        for e in &model.eucs {
            let view = self.script.euc(&e.number);
            let status = if e.revoked {
                EucStatus::Revoked
            } else {
                EucStatus::Issued
            };
            assert_eq!(
                (
                    view.status,
                    view.quantity_certified(),
                    view.quantity_dispatched,
                    view.quantity_used,
                    view.transaction_licence.clone()
                ),
                (
                    status,
                    e.quantity,
                    e.dispatched,
                    e.used,
                    e.bound.map(|l| model.licences[l].number.clone())
                ),
                "{context}: certificate {e:?}"
            );
        }
        for c in &model.consignments {
            let view = self.script.consignment(&c.number);
            let status = if c.imported {
                ConsignmentStatus::Imported
            } else {
                ConsignmentStatus::Dispatched
            };
            let weapons: Vec<String> = view.weapons.iter().map(ToString::to_string).collect();
            assert_eq!(
                (
                    view.status,
                    view.export_licence.clone(),
                    view.euc.clone(),
                    weapons,
                    view.quantity
                ),
                (
                    status,
                    model.licences[c.licence].number.clone(),
                    c.euc.map(|e| model.eucs[e].number.clone()),
                    c.weapons
                        .iter()
                        .map(|&i| model.weapons[i].id.clone())
                        .collect::<Vec<_>>(),
                    c.weapons.len() as u64
                ),
                "{context}: consignment {c:?}"
            );
        }
    }
}

/// The certificate a dispatch travels under: the one it cites, else its licence's.
fn certificate_of(model: &Model, dispatch: &Dispatch) -> Option<usize> {
    match dispatch.cite {
        Cite::Euc(e) => Some(e),
        Cite::Unknown => None,
        Cite::Nothing => dispatch.licence.and_then(|l| model.licences[l].euc),
    }
}

#[test]
fn random_domain_commands_agree_with_the_model_and_verify() {
    let steps = env_u64("ARMSLEDGER_DOMAIN_STEPS", 150);
    let seed = env_u64(
        "ARMSLEDGER_DOMAIN_SEED",
        ledger::event::EventId::new_v7().as_u128() as u64 | 1,
    );
    println!("domain model test: {steps} steps, ARMSLEDGER_DOMAIN_SEED={seed}");
    let script = Script::new();
    let actors = Actors {
        maker: Actor::new(&script, "be-fn", "manufacturer", "BE"),
        be_police: Actor::new(&script, "be-police", "police", "BE"),
        ke_police: Actor::new(&script, "ke-police", "police", "KE"),
        be_licensing: Actor::new(&script, "be-licensing", "licensing", "BE"),
        be_customs: Actor::new(&script, "be-customs", "customs", "BE"),
        ke_ministry: Actor::new(&script, "ke-ministry", "ministry", "KE"),
        ke_customs: Actor::new(&script, "ke-customs", "customs", "KE"),
    };
    let size = script.size();
    let mut walk = Walk {
        script,
        actors,
        model: Model {
            size,
            ..Model::default()
        },
        rng: Rng(seed),
        seed,
        step: 0,
        outcomes: BTreeMap::new(),
    };
    // Two transactions to start with (a certificate smaller than its licence, and one
    // larger), and a licence that was never granted.
    walk.new_deal(4, 6, Names::Fresh, true);
    walk.new_deal(5, 3, Names::Fresh, true);
    walk.new_deal(3, 3, Names::Fresh, false);

    for step in 0..steps {
        walk.step = step;
        match walk.rng.below(100) {
            0..=13 => walk.mark(),
            14..=19 => walk.report(false),
            20..=25 => walk.report(true),
            26..=32 => walk.recover(),
            33..=40 => walk.transfer(),
            41..=46 => walk.seize(),
            47..=50 => walk.destroy(),
            51..=54 => walk.deactivate(),
            55..=59 => walk.evidence(),
            60..=65 => walk.correct(),
            66..=78 => walk.dispatch(),
            79..=86 => walk.use_euc(),
            87..=88 => walk.revoke(),
            89..=96 => walk.import(),
            _ => walk.random_deal(),
        }
        let context = walk.context("verify");
        let report = walk
            .script
            .ledger()
            .verify()
            .unwrap_or_else(|f| panic!("{context}: {f}"));
        assert_eq!(report.entries, walk.model.size, "{context}");
        if step % 5 == 4 || step + 1 == steps {
            walk.compare();
        }
    }
    println!(
        "domain model test: {} entries, {} weapons, {} consignments; outcomes: {:#?}",
        walk.model.size,
        walk.model.weapons.len(),
        walk.model.consignments.len(),
        walk.outcomes
    );
}
