//! Weapons: marking (invariant 1), the status rules (invariant 2) and corrections that
//! never rewrite the original (invariant 7).

use super::views::{
    CorrectionRecord, Identity, MarkOrigin, MarkRecord, Obligation, View, WeaponStatus, WeaponView,
};
use super::{
    Context, Decided, Views, entry_of_stream, load_weapon, own_state, stream_exists, take_weapon,
};
use crate::catalogue::{DomainEvent, Holder, Identification, Mark, WeaponId};
use crate::rejection::Rejection;
use crate::store::StoreError;
use crate::values::{Calibre, CountryCode, ManufactureYear, SerialNumber, normalize_query};

/// Events that may open a weapon's stream: a marking or a legacy record (invariant 1).
/// Import and State markings may be a weapon's first record in this ledger: it was made
/// abroad, or is one of the State's own holdings recorded for the first time (ITI 8(b), 8(d)).
fn opens_stream(event: &DomainEvent) -> bool {
    matches!(
        event,
        DomainEvent::WeaponMarked(_)
            | DomainEvent::LegacyRecordImported(_)
            | DomainEvent::WeaponImportMarked(_)
            | DomainEvent::WeaponStateMarked(_)
    )
}

/// Events that act on the weapon itself, as opposed to records about records (a
/// correction, a link, evidence), which stay possible after destruction.
fn acts_on_weapon(event: &DomainEvent) -> bool {
    !matches!(
        event,
        DomainEvent::RecordCorrected(_)
            | DomainEvent::DuplicateWeaponsLinked(_)
            | DomainEvent::EvidenceAttached(_)
    )
}

/// Events that move the weapon to another holder.
fn transfers(event: &DomainEvent) -> bool {
    matches!(
        event,
        DomainEvent::DomesticTransferRecorded(_) | DomainEvent::WeaponTransferredToCivilianUse(_)
    )
}

fn weapon_id(context: &Context<'_>) -> Result<WeaponId, StoreError> {
    // The stream name grammar makes weapon ids UUIDs; the lowercase form is checked here.
    WeaponId::parse(context.stream.id()).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn decide(event: &DomainEvent, context: &Context<'_>, views: &mut dyn Views) -> Decided {
    let id = WeaponId::parse(context.stream.id()).map_err(|e| Rejection::InvalidStreamName {
        stream: context.stream.to_string(),
        reason: e.to_string(),
    })?;
    check_jurisdiction(event, context)?;
    let current = load_weapon(views, context.stream.as_str())?;
    let weapon = match (&current, event) {
        (None, e) if opens_stream(e) => return Ok(()),
        (Some(_), DomainEvent::WeaponMarked(_) | DomainEvent::LegacyRecordImported(_)) => {
            return Err(stream_exists(event, context));
        }
        (None, _) => return Err(Rejection::WeaponNotMarked(id.to_string()).into()),
        (Some(weapon), _) => weapon,
    };
    if weapon.status == WeaponStatus::Destroyed && acts_on_weapon(event) {
        return Err(Rejection::WeaponDestroyed(id.to_string()).into());
    }
    if transfers(event) {
        movable(weapon)?;
        if let Some(country) = &weapon.country {
            own_state(context, "weapon.country", country.as_str())?;
        }
    }
    match event {
        DomainEvent::WeaponRecovered(_) if !weapon.status.is_missing() => {
            Err(Rejection::WeaponNotMissing(id.to_string()).into())
        }
        DomainEvent::WeaponDeactivated(_) if weapon.status == WeaponStatus::Deactivated => {
            Err(Rejection::WeaponAlreadyDeactivated(id.to_string()).into())
        }
        DomainEvent::RecordCorrected(correction) => {
            entry_of_stream(views, context, correction.corrected_index)?;
            for (field, value) in correction.corrected_fields.as_object().iter() {
                correct_identity(&mut Identity::default(), field, value)?;
            }
            Ok(())
        }
        DomainEvent::EvidenceAttached(evidence) => match evidence.relates_to_index {
            Some(index) => entry_of_stream(views, context, index),
            None => Ok(()),
        },
        DomainEvent::DuplicateWeaponsLinked(link) => {
            for other in &link.other_weapons {
                if *other == id || load_weapon(views, &super::weapon_stream(other))?.is_none() {
                    return Err(Rejection::WeaponNotMarked(other.to_string()).into());
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A weapon may change hands: not destroyed, not missing, not on a consignment.
pub(super) fn movable(weapon: &WeaponView) -> Decided {
    let id = weapon.id.to_string();
    if weapon.status == WeaponStatus::Destroyed {
        return Err(Rejection::WeaponDestroyed(id).into());
    }
    if weapon.status.is_missing() {
        let status = if weapon.status == WeaponStatus::Lost {
            "lost"
        } else {
            "stolen"
        };
        return Err(Rejection::WeaponMissing {
            weapon: id,
            status: status.to_owned(),
        }
        .into());
    }
    if let Some(consignment) = &weapon.consignment {
        return Err(Rejection::WeaponInTransit {
            weapon: id,
            consignment: consignment.clone(),
        }
        .into());
    }
    Ok(())
}

/// The State fields of weapon events that the actor speaks for.
fn check_jurisdiction(event: &DomainEvent, context: &Context<'_>) -> Decided {
    match event {
        DomainEvent::WeaponMarked(marked) => {
            if let Some(country) = &marked.country_of_manufacture {
                own_state(context, "country_of_manufacture", country.as_str())?;
            } else if let Some(code) = &marked.alternative_code {
                own_state(context, "alternative_code.country", code.country.as_str())?;
            }
            Ok(())
        }
        DomainEvent::WeaponImportMarked(import) => own_state(
            context,
            "country_of_import",
            import.country_of_import.as_str(),
        ),
        DomainEvent::WeaponStateMarked(marked) => {
            own_state(context, "state", marked.state.as_str())
        }
        DomainEvent::WeaponTransferredToCivilianUse(transfer) => own_state(
            context,
            "transferring_state",
            transfer.transferring_state.as_str(),
        ),
        _ => Ok(()),
    }
}

/// Applies one correction to an identity; an identity field whose new value does not parse
/// is `correction_invalid`. Fields outside the identity are recorded, not interpreted.
fn correct_identity(
    identity: &mut Identity,
    field: &str,
    value: &crate::json::Json,
) -> Result<(), Rejection> {
    let invalid = |reason: String| Rejection::CorrectionInvalid {
        field: field.to_owned(),
        reason,
    };
    let text = || {
        value
            .as_str()
            .ok_or_else(|| invalid("must be a string".to_owned()))
    };
    match field {
        "serial_number" => {
            let serial = SerialNumber::parse(text()?).map_err(|e| invalid(e.to_string()))?;
            identity.serial_normalized = Some(serial.normalized());
            identity.serial_number = Some(serial.as_str().to_owned());
        }
        "manufacturer" => identity.manufacturer = Some(text()?.to_owned()),
        "model" => identity.model = Some(text()?.to_owned()),
        "country_of_manufacture" => {
            identity.country_of_manufacture =
                Some(CountryCode::parse(text()?).map_err(|e| invalid(e.to_string()))?);
        }
        "calibre" => {
            identity.calibre = Some(Calibre::parse(text()?).map_err(|e| invalid(e.to_string()))?);
        }
        "year_of_manufacture" => {
            let year = value
                .as_i64()
                .and_then(|year| u16::try_from(year).ok())
                .ok_or_else(|| invalid("must be a year".to_owned()))?;
            identity.year_of_manufacture =
                Some(ManufactureYear::new(year).map_err(|e| invalid(e.to_string()))?);
        }
        _ => {}
    }
    Ok(())
}

pub(super) fn evolve(
    event: &DomainEvent,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Result<(), StoreError> {
    let id = weapon_id(context)?;
    let stream = context.stream.to_string();
    let mut weapon = take_weapon(views, &stream)?.unwrap_or_else(|| new_weapon(id, context.index));
    weapon.last_index = context.index;
    let serial_before = weapon.identity.serial_normalized.clone();
    let index = context.index;
    let mark = |origin| move |m: &Mark| mark_record(m, origin, index);
    match event {
        DomainEvent::WeaponMarked(marked) => {
            let identity = &mut weapon.identity;
            identity.manufacturer = marked.manufacturer.as_ref().map(|t| t.as_str().to_owned());
            identity.country_of_manufacture = marked.country_of_manufacture;
            set_serial(identity, marked.serial_number.as_ref());
            identity.alternative_code = marked.alternative_code.clone();
            identity.model = marked.model.as_ref().map(|t| t.as_str().to_owned());
            identity.calibre = marked.calibre.clone();
            identity.category = marked.category;
            identity.year_of_manufacture = marked.year_of_manufacture;
            weapon
                .marks
                .extend(marked.marks.iter().map(mark(MarkOrigin::Manufacture)));
            weapon.country = marked.country_of_manufacture;
            weapon.holder = marked.manufacturer.as_ref().map(|t| t.as_str().to_owned());
        }
        DomainEvent::LegacyRecordImported(legacy) => {
            adopt_identification(&mut weapon.identity, &legacy.known);
            weapon
                .marks
                .extend(legacy.known.marks.iter().map(mark(MarkOrigin::Legacy)));
            weapon.marks_obliterated = legacy.known.obliterated_marks;
            weapon.holder = legacy.last_known_holder.as_ref().map(holder_name);
            weapon.country = context_country(context);
        }
        DomainEvent::WeaponImportMarked(import) => {
            weapon
                .marks
                .extend(import.marks.iter().map(mark(MarkOrigin::Import)));
            weapon
                .marks
                .extend(import.unique_mark.iter().map(mark(MarkOrigin::Import)));
            weapon.country = Some(import.country_of_import);
            if let Some(importer) = &import.importer {
                weapon.holder = Some(importer.as_str().to_owned());
            }
            satisfy_marking(&mut weapon);
        }
        DomainEvent::WeaponStateMarked(marked) => {
            weapon
                .marks
                .extend(marked.marks.iter().map(mark(MarkOrigin::State)));
            weapon.country = Some(marked.state);
            weapon.holder = Some(marked.holder.as_str().to_owned());
            satisfy_marking(&mut weapon);
        }
        DomainEvent::WeaponTransferredToCivilianUse(transfer) => {
            weapon.marks.extend(
                transfer
                    .marks
                    .iter()
                    .map(mark(MarkOrigin::CivilianTransfer)),
            );
            weapon.holder = Some(holder_name(&transfer.recipient));
        }
        DomainEvent::DomesticTransferRecorded(transfer) => {
            weapon.holder = Some(holder_name(&transfer.to_holder));
        }
        DomainEvent::WeaponReportedLost(_) => {
            weapon.status = WeaponStatus::Lost;
            weapon.consignment = None;
        }
        DomainEvent::WeaponReportedStolen(_) => {
            weapon.status = WeaponStatus::Stolen;
            weapon.consignment = None;
        }
        DomainEvent::WeaponRecovered(recovered) => {
            weapon.status = WeaponStatus::Active;
            weapon.country = context_country(context).or(weapon.country);
            observe(&mut weapon, recovered.observed.as_ref());
        }
        DomainEvent::WeaponSeized(seized) => {
            take_into_custody(
                &mut weapon,
                context,
                WeaponStatus::Seized,
                seized.observed.as_ref(),
            );
        }
        DomainEvent::WeaponFound(found) => {
            take_into_custody(
                &mut weapon,
                context,
                WeaponStatus::Found,
                found.observed.as_ref(),
            );
        }
        DomainEvent::WeaponSurrendered(surrendered) => take_into_custody(
            &mut weapon,
            context,
            WeaponStatus::Surrendered,
            surrendered.observed.as_ref(),
        ),
        DomainEvent::SerialNumberRestored(restored) => {
            weapon.marks.extend(
                restored
                    .restored_marks
                    .iter()
                    .map(mark(MarkOrigin::Restored)),
            );
            if restored.complete {
                weapon.marks_obliterated = false;
            }
            if weapon.identity.serial_number.is_none() {
                set_serial(
                    &mut weapon.identity,
                    restored.restored_serial_number.as_ref(),
                );
            }
            satisfy_marking(&mut weapon);
        }
        DomainEvent::WeaponConfiscated(confiscated) => {
            weapon.status = WeaponStatus::Confiscated;
            weapon.consignment = None;
            weapon.holder = Some(confiscated.custodian.as_str().to_owned());
        }
        DomainEvent::WeaponDeactivated(deactivated) => {
            weapon.status = WeaponStatus::Deactivated;
            weapon
                .marks
                .extend(deactivated.marks.iter().map(mark(MarkOrigin::Deactivation)));
        }
        DomainEvent::WeaponDestroyed(_) => {
            weapon.status = WeaponStatus::Destroyed;
            weapon.consignment = None;
            weapon.obligations.clear();
        }
        DomainEvent::RecordCorrected(correction) => {
            let mut fields = Vec::new();
            for (field, value) in correction.corrected_fields.as_object().iter() {
                // Checked by the decider; a value that no longer parses leaves the identity.
                let _ = correct_identity(&mut weapon.identity, field, value);
                fields.push(field.to_owned());
            }
            weapon.corrections.push(CorrectionRecord {
                corrected_index: correction.corrected_index,
                index,
                fields,
            });
        }
        DomainEvent::DuplicateWeaponsLinked(link) => {
            for other in &link.other_weapons {
                push_unique(&mut weapon.linked, *other);
                let other_stream = super::weapon_stream(other);
                if let Some(mut linked) = load_weapon(views, &other_stream)? {
                    push_unique(&mut linked.linked, id);
                    views.put(other_stream, View::Weapon(Box::new(linked)));
                }
            }
        }
        _ => {}
    }
    // Whatever moved the weapon, the States it has been in keep their record of it.
    for country in weapon
        .identity
        .country_of_manufacture
        .into_iter()
        .chain(weapon.country)
    {
        if !weapon.states.contains(&country) {
            weapon.states.push(country);
        }
    }
    if weapon.identity.serial_normalized != serial_before {
        flag_duplicate_serials(views, &mut weapon)?;
    }
    views.put(stream, View::Weapon(Box::new(weapon)));
    Ok(())
}

fn new_weapon(id: WeaponId, index: u64) -> WeaponView {
    WeaponView {
        id,
        status: WeaponStatus::Active,
        identity: Identity::default(),
        marks: Vec::new(),
        holder: None,
        country: None,
        states: Vec::new(),
        marks_obliterated: false,
        obligations: Vec::new(),
        reexport_restriction: None,
        consignment: None,
        corrections: Vec::new(),
        duplicate_serial_of: Vec::new(),
        linked: Vec::new(),
        first_index: index,
        last_index: index,
    }
}

fn context_country(context: &Context<'_>) -> Option<CountryCode> {
    CountryCode::parse(context.jurisdiction).ok()
}

fn mark_record(mark: &Mark, origin: MarkOrigin, index: u64) -> MarkRecord {
    MarkRecord {
        component: mark.component,
        text: mark.text.as_str().to_owned(),
        origin,
        index,
    }
}

fn holder_name(holder: &Holder) -> String {
    holder.name.as_str().to_owned()
}

fn set_serial(identity: &mut Identity, serial: Option<&SerialNumber>) {
    identity.serial_number = serial.map(|s| s.as_str().to_owned());
    identity.serial_normalized = serial.map(SerialNumber::normalized);
}

fn adopt_identification(identity: &mut Identity, known: &Identification) {
    identity.manufacturer = known.manufacturer.as_ref().map(|t| t.as_str().to_owned());
    identity.country_of_manufacture = known.country_of_manufacture;
    set_serial(identity, known.serial_number.as_ref());
    identity.alternative_code = known.alternative_code.clone();
    identity.model = known.model.as_ref().map(|t| t.as_str().to_owned());
    identity.calibre = known.calibre.clone();
    identity.category = known.category;
    identity.year_of_manufacture = known.year_of_manufacture;
}

/// What an authority saw on the weapon when it took it: obliterated marks are noted.
fn observe(weapon: &mut WeaponView, observed: Option<&Identification>) {
    if observed.is_some_and(|o| o.obliterated_marks) {
        weapon.marks_obliterated = true;
    }
}

/// Seized, found or surrendered: the State holds it and must mark or destroy it (ITI 9).
fn take_into_custody(
    weapon: &mut WeaponView,
    context: &Context<'_>,
    status: WeaponStatus,
    observed: Option<&Identification>,
) {
    weapon.status = status;
    weapon.country = context_country(context).or(weapon.country);
    weapon.holder = Some(context.actor.to_owned());
    // Whatever it travelled on, it is off it now.
    weapon.consignment = None;
    observe(weapon, observed);
    weapon.obligations.push(Obligation {
        kind: "mark_or_destroy".to_owned(),
        since: context.date(),
        index: context.index,
    });
}

/// A marking or restoration discharges the obligation to mark a weapon taken into custody.
fn satisfy_marking(weapon: &mut WeaponView) {
    weapon.obligations.retain(|o| o.kind != "mark_or_destroy");
}

fn push_unique(list: &mut Vec<WeaponId>, id: WeaponId) {
    if !list.contains(&id) {
        list.push(id);
    }
}

/// Two records with the same manufacturer and serial number warn each other (DOMAIN.md:
/// warn on a duplicate, never reject). Manufacturers compare in their search form.
fn flag_duplicate_serials(
    views: &mut dyn Views,
    weapon: &mut WeaponView,
) -> Result<(), StoreError> {
    // The serial changed: the old warnings no longer hold, on either side.
    for other_id in std::mem::take(&mut weapon.duplicate_serial_of) {
        let other_stream = super::weapon_stream(&other_id);
        if let Some(mut other) = load_weapon(views, &other_stream)? {
            other.duplicate_serial_of.retain(|id| *id != weapon.id);
            views.put(other_stream, View::Weapon(Box::new(other)));
        }
    }
    let Some(serial) = weapon.identity.serial_normalized.as_deref() else {
        return Ok(());
    };
    let mut holders = views.serial_holders(serial)?;
    holders.retain(|holder| *holder != weapon.id);
    if holders.is_empty() {
        // The common case (a serial seen once): nothing to compare, nothing to allocate.
        return Ok(());
    }
    let serial = serial.to_owned();
    let manufacturer = weapon.identity.manufacturer.as_deref().map(normalize_query);
    // Sorted, so that the append (which reads the index in id order) and the rebuild
    // (which knows them in the order they came) write the same view.
    holders.sort();
    for other_id in holders {
        let other_stream = super::weapon_stream(&other_id);
        let Some(mut other) = load_weapon(views, &other_stream)? else {
            continue;
        };
        let same_maker =
            other.identity.manufacturer.as_deref().map(normalize_query) == manufacturer;
        if same_maker && other.identity.serial_normalized.as_deref() == Some(serial.as_str()) {
            push_unique(&mut weapon.duplicate_serial_of, other_id);
            if !other.duplicate_serial_of.contains(&weapon.id) {
                other.duplicate_serial_of.push(weapon.id);
                other.duplicate_serial_of.sort();
                views.put(other_stream, View::Weapon(Box::new(other)));
            }
        }
    }
    weapon.duplicate_serial_of.sort();
    Ok(())
}
