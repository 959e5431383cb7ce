//! Licences (invariant 3), end-user certificates (invariant 4), consignments and re-export
//! consent (invariant 5), policies, and the authority streams' own catalogue events.

use super::views::{
    BrokerView, ConsignmentStatus, ConsignmentView, EucStatus, EucUse, EucView, LicenceKind,
    LicenceStatus, LicenceView, PolicyStatus, PolicyView, ReexportConsent, ReexportRestriction,
    RequirementMet, View, WeaponStatus,
};
use super::{
    Context, Decided, DomainError, Views, load_broker, load_consignment, load_euc, load_licence,
    load_policy, load_weapon, new_stream, not_found, own_state, snake_name, stream_exists,
    take_consignment, take_euc, take_licence, weapon_stream,
};
use crate::catalogue::{
    ConsignmentDispatched, DomainEvent, EndUserCertificateUsed, GoodsLine, LicenceDecision,
};
use crate::rejection::Rejection;
use crate::store::StoreError;
use crate::values::Date;

fn licence_stream(number: &str) -> String {
    format!("licence:{number}")
}

fn euc_stream(number: &str) -> String {
    format!("euc:{number}")
}

fn consignment_stream(number: &str) -> String {
    format!("consignment:{number}")
}

fn quantity(goods: &[GoodsLine]) -> u64 {
    goods.iter().map(|line| u64::from(line.quantity)).sum()
}

/// The id a document event must carry when it repeats its stream's id in the payload.
fn same_id(
    event: &DomainEvent,
    context: &Context<'_>,
    field: &'static str,
    value: &str,
) -> Decided {
    if context.stream.id() == value {
        Ok(())
    } else {
        Err(Rejection::InvalidPayload {
            event_type: event.event_type().to_owned(),
            reason: format!(
                "{field} {value:?} must be the stream's id {:?}",
                context.stream.id()
            ),
        }
        .into())
    }
}

pub(super) fn decide(event: &DomainEvent, context: &Context<'_>, views: &mut dyn Views) -> Decided {
    let stream = context.stream.as_str();
    match event {
        // Authority streams: the registry owns the authorities; these only name the State.
        DomainEvent::PointOfContactDesignated(designation) => {
            own_state(context, "state", designation.state.as_str())
        }
        DomainEvent::BrokerRegistered(broker) => own_state(
            context,
            "registering_state",
            broker.registering_state.as_str(),
        ),
        DomainEvent::BrokerRevoked(revoked) => {
            let key = BrokerView::key(
                &context_state(context)?,
                revoked.registration_number.as_str(),
            );
            match load_broker(views, &key)? {
                Some(broker) if !broker.revoked => Ok(()),
                _ => Err(not_found(key)),
            }
        }

        DomainEvent::PolicyInstalled(installed) => {
            own_state(context, "jurisdiction", installed.jurisdiction.as_str())?;
            same_id(event, context, "policy_id", installed.policy_id.as_str())?;
            match load_policy(views, stream)? {
                Some(_) => Err(stream_exists(event, context)),
                None => Ok(()),
            }
        }
        DomainEvent::PolicyActivated(_) | DomainEvent::PolicyRetired(_) => {
            let policy = load_policy(views, stream)?.ok_or_else(|| not_found(stream))?;
            own_state(context, "policy.jurisdiction", policy.jurisdiction.as_str())?;
            let allowed = match event {
                DomainEvent::PolicyActivated(_) => policy.status == PolicyStatus::Installed,
                _ => policy.status != PolicyStatus::Retired,
            };
            if allowed {
                Ok(())
            } else {
                Err(Rejection::PolicyStatusInvalid {
                    policy: policy.id,
                    status: snake_name(policy.status),
                }
                .into())
            }
        }

        DomainEvent::ExportLicenceApplied(applied) => {
            own_state(
                context,
                "exporting_country",
                applied.exporting_country.as_str(),
            )?;
            new_stream(event, context, views)
        }
        DomainEvent::ImportLicenceIssued(issued) => {
            own_state(
                context,
                "importing_country",
                issued.importing_country.as_str(),
            )?;
            new_stream(event, context, views)
        }
        DomainEvent::DenialNotified(denial) => {
            own_state(context, "denying_state", denial.denying_state.as_str())?;
            new_stream(event, context, views)
        }
        DomainEvent::ExportLicenceDecided(_) => {
            let licence = existing_licence(views, stream)?;
            own_state(context, "exporting_country", licence_state(&licence))?;
            if licence.kind != LicenceKind::Export || licence.status != LicenceStatus::Applied {
                return Err(Rejection::LicenceAlreadyDecided(licence.number).into());
            }
            Ok(())
        }
        DomainEvent::PolicyRequirementMet(met) => {
            existing_licence(views, stream)?;
            let policy_stream = format!("policy:{}", met.policy_id);
            let policy =
                load_policy(views, &policy_stream)?.ok_or_else(|| not_found(policy_stream))?;
            // The State whose policy asked is the one that says its requirement is met.
            own_state(context, "policy.jurisdiction", policy.jurisdiction.as_str())
        }
        DomainEvent::TransitNoObjectionRecorded(no_objection) => {
            own_state(
                context,
                "transit_state",
                no_objection.transit_state.as_str(),
            )?;
            let licence = existing_licence(views, stream)?;
            if licence.kind != LicenceKind::Export {
                return Err(not_in_force(&licence));
            }
            Ok(())
        }
        DomainEvent::LicenceSuspended(_) | DomainEvent::LicenceRevoked(_) => {
            let licence = existing_licence(views, stream)?;
            own_state(context, "licence's issuing State", licence_state(&licence))?;
            let in_force = match event {
                DomainEvent::LicenceSuspended(_) => licence.status == LicenceStatus::Granted,
                _ => matches!(
                    licence.status,
                    LicenceStatus::Granted | LicenceStatus::Suspended
                ),
            };
            if in_force && licence.kind != LicenceKind::DenialNotice {
                Ok(())
            } else {
                Err(not_in_force(&licence))
            }
        }

        DomainEvent::EndUserCertificateIssued(issued) => {
            own_state(context, "issuing_state", issued.issuing_state.as_str())?;
            same_id(
                event,
                context,
                "certificate_number",
                issued.certificate_number.as_str(),
            )?;
            new_stream(event, context, views)
        }
        DomainEvent::EndUserCertificateVerified(_) => {
            let euc = existing_euc(views, stream)?;
            usable_euc(&euc)
        }
        DomainEvent::EndUserCertificateVerificationFailed(_) => {
            existing_euc(views, stream).map(|_| ())
        }
        DomainEvent::EndUserCertificateRevoked(_) => {
            let euc = existing_euc(views, stream)?;
            own_state(context, "issuing_state", euc.issuing_state.as_str())?;
            usable_euc(&euc)
        }
        DomainEvent::EndUserCertificateUsed(used) => decide_euc_use(used, context, views),
        DomainEvent::ReexportConsentGranted(consent) => {
            own_state(
                context,
                "consenting_state",
                consent.consenting_state.as_str(),
            )?;
            let euc = existing_euc(views, stream)?;
            usable_euc(&euc)
        }
        DomainEvent::ReexportConsentDenied(denial) => {
            own_state(context, "denying_state", denial.denying_state.as_str())?;
            existing_euc(views, stream).map(|_| ())
        }

        DomainEvent::ConsignmentDispatched(dispatched) => {
            decide_dispatch(event, dispatched, context, views)
        }
        DomainEvent::TransitRecorded(transit) => {
            own_state(context, "transit_state", transit.transit_state.as_str())?;
            let consignment = existing_consignment(views, stream)?;
            consignment_status(
                &consignment,
                event,
                ConsignmentStatus::Dispatched,
                "dispatched",
            )
        }
        DomainEvent::ConsignmentImported(imported) => {
            own_state(
                context,
                "importing_country",
                imported.importing_country.as_str(),
            )?;
            let consignment = existing_consignment(views, stream)?;
            own_state(
                context,
                "destination_country",
                consignment.destination_country.as_str(),
            )?;
            consignment_status(
                &consignment,
                event,
                ConsignmentStatus::Dispatched,
                "dispatched",
            )
        }
        DomainEvent::DeliveryVerified(_) => {
            let consignment = existing_consignment(views, stream)?;
            own_state(
                context,
                "destination_country",
                consignment.destination_country.as_str(),
            )?;
            consignment_status(&consignment, event, ConsignmentStatus::Imported, "imported")
        }
        DomainEvent::PostShipmentVerificationConducted(inspection) => {
            own_state(
                context,
                "inspecting_state",
                inspection.inspecting_state.as_str(),
            )?;
            existing_consignment(views, stream).map(|_| ())
        }
        _ => Ok(()),
    }
}

fn existing_licence(views: &mut dyn Views, stream: &str) -> Result<LicenceView, DomainError> {
    load_licence(views, stream)?.ok_or_else(|| not_found(stream))
}

fn existing_euc(views: &mut dyn Views, stream: &str) -> Result<EucView, DomainError> {
    load_euc(views, stream)?.ok_or_else(|| not_found(stream))
}

fn existing_consignment(
    views: &mut dyn Views,
    stream: &str,
) -> Result<ConsignmentView, DomainError> {
    load_consignment(views, stream)?.ok_or_else(|| not_found(stream))
}

/// The State that issued (or decides) a licence: the exporter's for an export licence, the
/// importer's for an import licence, the denying State's for a notified denial.
fn licence_state(licence: &LicenceView) -> &str {
    let state = match licence.kind {
        LicenceKind::Export | LicenceKind::DenialNotice => licence.exporting_country,
        LicenceKind::Import => licence.importing_country,
    };
    state.map_or("", |country| country.as_str())
}

fn not_in_force(licence: &LicenceView) -> DomainError {
    Rejection::LicenceNotInForce {
        licence: licence.number.clone(),
        status: snake_name(licence.status),
    }
    .into()
}

fn usable_euc(euc: &EucView) -> Decided {
    if euc.status == EucStatus::Revoked {
        Err(Rejection::EucRevoked(euc.number.clone()).into())
    } else {
        Ok(())
    }
}

fn euc_valid_on(euc: &EucView, date: Date) -> Decided {
    if euc.date_of_issue <= date && date <= euc.valid_until {
        Ok(())
    } else {
        Err(Rejection::EucOutsideValidity {
            euc: euc.number.clone(),
            date: date.to_string(),
            date_of_issue: euc.date_of_issue.to_string(),
            valid_until: euc.valid_until.to_string(),
        }
        .into())
    }
}

/// One transaction per certificate (IATG 03.40): the export licence of its first shipment.
fn single_transaction(euc: &EucView, licence: &str) -> Decided {
    match &euc.transaction_licence {
        Some(bound) if bound != licence => Err(Rejection::EucSingleTransaction {
            euc: euc.number.clone(),
            bound: bound.clone(),
            other: licence.to_owned(),
        }
        .into()),
        _ => Ok(()),
    }
}

fn consignment_status(
    consignment: &ConsignmentView,
    event: &DomainEvent,
    expected: ConsignmentStatus,
    expected_name: &'static str,
) -> Decided {
    if consignment.status == expected {
        Ok(())
    } else {
        Err(Rejection::ConsignmentStatusInvalid {
            consignment: consignment.number.clone(),
            status: snake_name(consignment.status),
            event_type: event.event_type().to_owned(),
            expected: expected_name,
        }
        .into())
    }
}

/// Invariant 4: a use of a certificate by the exporting State's customs or licensing
/// authority, for a consignment that cites it.
fn decide_euc_use(
    used: &EndUserCertificateUsed,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Decided {
    let euc = existing_euc(views, context.stream.as_str())?;
    let consignment_name = consignment_stream(used.consignment.as_str());
    let consignment = existing_consignment(views, &consignment_name)?;
    own_state(
        context,
        "consignment.exporting_country",
        consignment.exporting_country.as_str(),
    )?;
    usable_euc(&euc)?;
    euc_valid_on(&euc, context.date())?;
    if consignment.euc.as_deref() != Some(euc.number.as_str()) {
        return Err(Rejection::EucDoesNotCover {
            euc: euc.number.clone(),
            what: "consignment",
            detail: format!("consignment {} does not cite it", consignment.number),
        }
        .into());
    }
    single_transaction(&euc, &consignment.export_licence)?;
    let requested = u64::from(used.quantity);
    if requested > euc.quantity_remaining() {
        return Err(Rejection::EucQuantityExceeded {
            remaining: euc.quantity_remaining(),
            euc: euc.number,
            requested,
        }
        .into());
    }
    Ok(())
}

/// Invariants 3, 4 and 5 at the moment goods leave: the licence, the certificate, every
/// weapon, and the re-export consent of weapons that came in under a non-re-export clause.
fn decide_dispatch(
    event: &DomainEvent,
    dispatched: &ConsignmentDispatched,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Decided {
    new_stream(event, context, views)?;
    let date = context.date();
    let licence_name = licence_stream(dispatched.export_licence.as_str());
    let licence = existing_licence(views, &licence_name)?;
    own_state(
        context,
        "export_licence.exporting_country",
        licence_state(&licence),
    )?;
    if licence.kind != LicenceKind::Export || licence.status != LicenceStatus::Granted {
        return Err(not_in_force(&licence));
    }
    let not_valid = |reason: String| {
        DomainError::from(Rejection::LicenceNotValidOnDate {
            licence: licence.number.clone(),
            date: date.to_string(),
            reason,
        })
    };
    match (licence.decided_on, licence.valid_from, licence.valid_until) {
        (Some(decided), _, _) if decided > date => {
            return Err(not_valid(format!("granted on {decided}, after the export")));
        }
        (_, Some(from), Some(until)) if date < from || date > until => {
            return Err(not_valid(format!("valid from {from} until {until}")));
        }
        _ => {}
    }
    let does_not_cover = |what: &'static str, detail: String| {
        DomainError::from(Rejection::LicenceDoesNotCover {
            licence: licence.number.clone(),
            what,
            detail,
        })
    };
    if licence.importing_country != Some(dispatched.destination_country) {
        return Err(does_not_cover(
            "destination",
            format!("the consignment goes to {}", dispatched.destination_country),
        ));
    }
    let shipped = dispatched.weapons.len() as u64 + quantity(&dispatched.goods);
    if licence.quantity_shipped + shipped > licence.quantity_licensed() {
        return Err(does_not_cover(
            "quantity",
            format!(
                "{} licensed, {} shipped before, {shipped} now",
                licence.quantity_licensed(),
                licence.quantity_shipped
            ),
        ));
    }
    if let (Some(named), Some(cited)) = (&licence.euc, &dispatched.euc)
        && named != cited.as_str()
    {
        return Err(does_not_cover(
            "end_user",
            format!("it names certificate {named}, not {cited}"),
        ));
    }
    if let Some(cited) = certificate_of(dispatched, &licence) {
        let euc = existing_euc(views, &euc_stream(&cited))?;
        usable_euc(&euc)?;
        euc_valid_on(&euc, date)?;
        if euc.quantity_dispatched + shipped > euc.quantity_certified() {
            return Err(Rejection::EucQuantityExceeded {
                euc: euc.number.clone(),
                remaining: euc
                    .quantity_certified()
                    .saturating_sub(euc.quantity_dispatched),
                requested: shipped,
            }
            .into());
        }
        if let Some(end_user) = &licence.end_user
            && end_user.name != euc.end_user.name
        {
            return Err(does_not_cover(
                "end_user",
                format!(
                    "the certificate's end user is {}",
                    euc.end_user.name.as_str()
                ),
            ));
        }
        if euc.final_destination_country != dispatched.destination_country {
            return Err(Rejection::EucDoesNotCover {
                euc: euc.number,
                what: "destination",
                detail: format!("its final destination is {}", euc.final_destination_country),
            }
            .into());
        }
        single_transaction(&euc, licence.number.as_str())?;
    }
    for (position, id) in dispatched.weapons.iter().enumerate() {
        if dispatched.weapons[..position].contains(id) {
            return Err(Rejection::InvalidPayload {
                event_type: event.event_type().to_owned(),
                reason: format!("weapons lists {id} twice"),
            }
            .into());
        }
        let weapon = load_weapon(views, &weapon_stream(id))?
            .ok_or_else(|| Rejection::WeaponNotMarked(id.to_string()))?;
        super::weapon::movable(&weapon)?;
        // Goods leave from where they are: the exporting State's customs cannot ship a
        // weapon the log places in another State.
        if let Some(country) = &weapon.country {
            own_state(context, "weapon.country", country.as_str())?;
        }
    }
    allocate_consents(views, dispatched, context).map(|_| ())
}

/// The certificate a consignment travels under: the one it cites, else the one its licence
/// names (a dispatch cannot shed its licence's certificate by leaving it out).
fn certificate_of(dispatched: &ConsignmentDispatched, licence: &LicenceView) -> Option<String> {
    dispatched
        .euc
        .as_ref()
        .map(|e| e.to_string())
        .or_else(|| licence.euc.clone())
}

/// Invariant 5: a weapon under a non-re-export clause leaves the State it was imported into
/// only with a recorded, unexpired consent of the original exporting State that covers this
/// destination and this weapon, by name or within a quantity not yet used up. Returns, for
/// each weapon that needed one, the certificate's stream and the consent it draws on; the
/// decider checks, `evolve` records the quantities drawn.
fn allocate_consents(
    views: &mut dyn Views,
    dispatched: &ConsignmentDispatched,
    context: &Context<'_>,
) -> Result<Vec<(String, usize)>, DomainError> {
    let date = context.date();
    let mut drawn: Vec<(String, usize)> = Vec::new();
    for weapon in &dispatched.weapons {
        let Some(restriction) =
            load_weapon(views, &weapon_stream(weapon))?.and_then(|w| w.reexport_restriction)
        else {
            continue;
        };
        if restriction.exporting_state.as_str() == context.jurisdiction {
            // Going back out of the State that exported it first is not a re-export.
            continue;
        }
        let stream = euc_stream(&restriction.euc);
        let consents = load_euc(views, &stream)?
            .map(|euc| euc.reexport_consents)
            .unwrap_or_default();
        let applies = |consent: &ReexportConsent| {
            consent.consenting_state == restriction.exporting_state
                && consent.reexporting_state.as_str() == context.jurisdiction
                && consent.new_destination_country == dispatched.destination_country
                && consent.valid_until.is_none_or(|until| date <= until)
        };
        let by_name = consents
            .iter()
            .position(|c| applies(c) && c.weapons.contains(weapon));
        let by_quantity = || {
            (0..consents.len()).find(|&position| {
                let consent = &consents[position];
                let drawn_here = drawn
                    .iter()
                    .filter(|(s, p)| *s == stream && *p == position)
                    .count() as u64;
                applies(consent)
                    && consent.weapons.is_empty()
                    && consent.quantity.is_some_and(|quantity| {
                        u64::from(consent.quantity_used) + drawn_here < u64::from(quantity)
                    })
            })
        };
        match by_name.or_else(by_quantity) {
            Some(position) => drawn.push((stream, position)),
            None => {
                return Err(Rejection::ReexportConsentRequired {
                    weapon: weapon.to_string(),
                    euc: restriction.euc.clone(),
                    exporting_state: restriction.exporting_state.to_string(),
                }
                .into());
            }
        }
    }
    Ok(drawn)
}

pub(super) fn evolve(
    event: &DomainEvent,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Result<(), StoreError> {
    let stream = context.stream.to_string();
    let index = context.index;
    let date = context.date();
    match event {
        DomainEvent::PolicyInstalled(installed) => views.put(
            stream,
            View::Policy(Box::new(PolicyView {
                id: installed.policy_id.to_string(),
                status: PolicyStatus::Installed,
                name: installed.name.as_str().to_owned(),
                jurisdiction: installed.jurisdiction,
                version: installed.version,
                module_sha256: installed.module_sha256.to_string(),
                data_sha256: installed.data_sha256.map(|d| d.to_string()),
                governs: installed
                    .governs
                    .iter()
                    .map(|t| t.as_str().to_owned())
                    .collect(),
                first_index: index,
                last_index: index,
            })),
        ),
        DomainEvent::PolicyActivated(_) | DomainEvent::PolicyRetired(_) => {
            if let Some(mut policy) = load_policy(views, &stream)? {
                policy.status = match event {
                    DomainEvent::PolicyActivated(_) => PolicyStatus::Active,
                    _ => PolicyStatus::Retired,
                };
                policy.last_index = index;
                views.put(stream, View::Policy(Box::new(policy)));
            }
        }

        DomainEvent::ExportLicenceApplied(applied) => {
            let mut licence = new_licence(context, LicenceKind::Export, LicenceStatus::Applied);
            licence.exporter = Some(applied.exporter.clone());
            licence.exporting_country = Some(applied.exporting_country);
            licence.importing_country = Some(applied.importing_country);
            licence.end_user = Some(applied.end_user.clone());
            licence.goods = applied.goods.clone();
            licence.transit_countries = applied.transit_countries.clone();
            licence.euc = applied.euc.as_ref().map(|e| e.to_string());
            views.put(stream, View::Licence(Box::new(licence)));
        }
        DomainEvent::ImportLicenceIssued(issued) => {
            let mut licence = new_licence(context, LicenceKind::Import, LicenceStatus::Granted);
            licence.exporter = issued.exporter.clone();
            licence.exporting_country = Some(issued.exporting_country);
            licence.importing_country = Some(issued.importing_country);
            licence.end_user = issued.end_user.clone();
            licence.goods = issued.goods.clone();
            licence.valid_from = Some(issued.valid_from);
            licence.valid_until = Some(issued.valid_until);
            licence.decided_on = Some(date);
            licence.issued_by = Some(context.actor.to_owned());
            views.put(stream, View::Licence(Box::new(licence)));
        }
        DomainEvent::DenialNotified(denial) => {
            let mut licence =
                new_licence(context, LicenceKind::DenialNotice, LicenceStatus::Notified);
            licence.exporting_country = Some(denial.denying_state);
            licence.importing_country = Some(denial.destination_country);
            licence.decision = Some(LicenceDecision::Denied);
            licence.issued_by = Some(context.actor.to_owned());
            views.put(stream, View::Licence(Box::new(licence)));
        }
        DomainEvent::ExportLicenceDecided(decided) => update_licence(views, &stream, index, |l| {
            l.decision = Some(decided.decision);
            l.status = if decided.decision == LicenceDecision::Denied {
                LicenceStatus::Denied
            } else {
                LicenceStatus::Granted
            };
            l.valid_from = decided.valid_from;
            l.valid_until = decided.valid_until;
            l.decided_on = Some(date);
            l.conditions = decided
                .conditions
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect();
            l.issued_by = Some(context.actor.to_owned());
        })?,
        DomainEvent::PolicyRequirementMet(met) => {
            update_licence(views, &stream, index, |l| {
                l.requirements_met.push(RequirementMet {
                    policy_id: met.policy_id.to_string(),
                    requirement: met.requirement,
                    rule: met.rule.as_str().to_owned(),
                    by: met.by.as_str().to_owned(),
                    index,
                })
            })?;
        }
        DomainEvent::BrokerRegistered(registered) => views.put(
            BrokerView::key(
                &registered.registering_state,
                registered.registration_number.as_str(),
            ),
            View::Broker(Box::new(BrokerView {
                registration_number: registered.registration_number.as_str().to_owned(),
                registering_state: registered.registering_state,
                broker_name: registered.broker_name.as_str().to_owned(),
                authority: context.stream.id().to_owned(),
                valid_from: registered.valid_from,
                valid_until: registered.valid_until,
                revoked: false,
                first_index: index,
                last_index: index,
            })),
        ),
        DomainEvent::BrokerRevoked(revoked) => {
            if let Ok(state) = context_state(context) {
                let key = BrokerView::key(&state, revoked.registration_number.as_str());
                if let Some(mut broker) = load_broker(views, &key)? {
                    broker.revoked = true;
                    broker.last_index = index;
                    views.put(key, View::Broker(Box::new(broker)));
                }
            }
        }
        DomainEvent::TransitNoObjectionRecorded(no_objection) => {
            update_licence(views, &stream, index, |l| {
                if !l
                    .transit_no_objections
                    .contains(&no_objection.transit_state)
                {
                    l.transit_no_objections.push(no_objection.transit_state);
                }
            })?;
        }
        DomainEvent::LicenceSuspended(_) => {
            update_licence(views, &stream, index, |l| {
                l.status = LicenceStatus::Suspended
            })?;
        }
        DomainEvent::LicenceRevoked(_) => {
            update_licence(views, &stream, index, |l| l.status = LicenceStatus::Revoked)?;
        }

        DomainEvent::EndUserCertificateIssued(issued) => views.put(
            stream,
            View::Euc(Box::new(EucView {
                number: issued.certificate_number.to_string(),
                status: EucStatus::Issued,
                issuing_state: issued.issuing_state,
                issued_by: context.actor.to_owned(),
                signed_with_key: context.key_id.to_owned(),
                signatory: issued.authorised_signatory.name.as_str().to_owned(),
                exporter: issued.exporter.clone(),
                end_user: issued.end_user.clone(),
                final_destination_country: issued.final_destination_country,
                goods: issued.goods.clone(),
                date_of_issue: issued.date_of_issue,
                valid_until: issued.valid_until,
                non_reexport_clause: issued.non_reexport_clause,
                dvc_undertaking: issued.dvc_undertaking,
                government_authenticated: issued.government_authentication.is_some(),
                transaction_licence: None,
                uses: Vec::new(),
                quantity_used: 0,
                quantity_dispatched: 0,
                deliveries_verified: Vec::new(),
                verifications: Vec::new(),
                failed_verifications: Vec::new(),
                reexport_consents: Vec::new(),
                reexport_denials: Vec::new(),
                first_index: index,
                last_index: index,
            })),
        ),
        DomainEvent::EndUserCertificateVerified(_) => update_euc(views, &stream, index, |e| {
            e.status = EucStatus::Verified;
            e.verifications.push(index);
        })?,
        DomainEvent::EndUserCertificateVerificationFailed(_) => {
            update_euc(views, &stream, index, |e| {
                e.status = EucStatus::VerificationFailed;
                e.failed_verifications.push(index);
            })?;
        }
        DomainEvent::EndUserCertificateRevoked(_) => {
            update_euc(views, &stream, index, |e| e.status = EucStatus::Revoked)?;
        }
        DomainEvent::EndUserCertificateUsed(used) => {
            let consignment =
                load_consignment(views, &consignment_stream(used.consignment.as_str()))?;
            update_euc(views, &stream, index, |e| {
                e.quantity_used += u64::from(used.quantity);
                e.uses.push(EucUse {
                    consignment: used.consignment.to_string(),
                    quantity: used.quantity,
                    index,
                    on: date,
                });
                if e.transaction_licence.is_none() {
                    e.transaction_licence = consignment.map(|c| c.export_licence);
                }
            })?;
        }
        DomainEvent::ReexportConsentGranted(consent) => update_euc(views, &stream, index, |e| {
            e.reexport_consents.push(ReexportConsent {
                consenting_state: consent.consenting_state,
                reexporting_state: consent.reexporting_state,
                new_destination_country: consent.new_destination_country,
                weapons: consent.weapons.clone(),
                quantity: consent.quantity,
                valid_until: consent.valid_until,
                index,
                quantity_used: 0,
            });
        })?,
        DomainEvent::ReexportConsentDenied(_) => {
            update_euc(views, &stream, index, |e| e.reexport_denials.push(index))?;
        }

        DomainEvent::ConsignmentDispatched(dispatched) => {
            evolve_dispatch(dispatched, context, views)?;
        }
        DomainEvent::TransitRecorded(transit) => update_consignment(views, &stream, index, |c| {
            c.transits_recorded.push(transit.transit_state);
        })?,
        DomainEvent::ConsignmentImported(imported) => {
            let Some(mut consignment) = load_consignment(views, &stream)? else {
                return Ok(());
            };
            consignment.status = ConsignmentStatus::Imported;
            consignment.imported_on = Some(date);
            consignment.last_index = index;
            let restriction = match &consignment.euc {
                Some(number) => load_euc(views, &euc_stream(number))?
                    .filter(|euc| euc.non_reexport_clause)
                    .map(|euc| ReexportRestriction {
                        exporting_state: consignment.exporting_country,
                        importing_state: imported.importing_country,
                        euc: euc.number,
                    }),
                None => None,
            };
            for id in &consignment.weapons {
                let weapon_name = weapon_stream(id);
                // A weapon taken off the consignment on the way (seized in transit) did
                // not arrive.
                let on_board = |w: &super::views::WeaponView| {
                    w.consignment.as_deref() == Some(consignment.number.as_str())
                };
                if let Some(mut weapon) = load_weapon(views, &weapon_name)?.filter(on_board) {
                    if weapon.status == WeaponStatus::InTransit {
                        weapon.status = WeaponStatus::Active;
                    }
                    weapon.consignment = None;
                    weapon.move_to(imported.importing_country);
                    weapon.holder = Some(consignment.consignee.name.as_str().to_owned());
                    if restriction.is_some() {
                        weapon.reexport_restriction = restriction.clone();
                    }
                    views.put(weapon_name, View::Weapon(Box::new(weapon)));
                }
            }
            views.put(stream, View::Consignment(Box::new(consignment)));
        }
        DomainEvent::DeliveryVerified(verified) => {
            let Some(mut consignment) = load_consignment(views, &stream)? else {
                return Ok(());
            };
            consignment.status = ConsignmentStatus::DeliveryVerified;
            consignment.delivery_verified_on = Some(date);
            consignment.discrepancies =
                u32::try_from(verified.discrepancies.len()).unwrap_or(u32::MAX);
            consignment.last_index = index;
            if let Some(number) = consignment.euc.clone() {
                let number_stream = euc_stream(&number);
                let consignment_number = consignment.number.clone();
                update_euc(views, &number_stream, index, |e| {
                    e.deliveries_verified.push(consignment_number);
                })?;
            }
            views.put(stream, View::Consignment(Box::new(consignment)));
        }
        DomainEvent::PostShipmentVerificationConducted(_) => {
            update_consignment(views, &stream, index, |c| {
                c.post_shipment_verifications.push(index);
            })?;
        }
        _ => {}
    }
    Ok(())
}

fn evolve_dispatch(
    dispatched: &ConsignmentDispatched,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Result<(), StoreError> {
    let index = context.index;
    let number = context.stream.id().to_owned();
    let licence_name = licence_stream(dispatched.export_licence.as_str());
    let shipped = dispatched.weapons.len() as u64 + quantity(&dispatched.goods);
    let mut exporting_country = None;
    update_licence(views, &licence_name, index, |l| {
        l.quantity_shipped += shipped;
        l.consignments.push(number.clone());
        exporting_country = l.exporting_country;
    })?;
    let licence = load_licence(views, &licence_name)?;
    let certificate = licence.as_ref().and_then(|l| certificate_of(dispatched, l));
    if let Some(euc) = &certificate {
        update_euc(views, &euc_stream(euc), index, |e| {
            e.quantity_dispatched += shipped;
            if e.transaction_licence.is_none() {
                e.transaction_licence = Some(dispatched.export_licence.to_string());
            }
        })?;
    }
    // The consents drawn on; the decider has checked that they suffice.
    if let Ok(drawn) = allocate_consents(views, dispatched, context) {
        for (stream, position) in drawn {
            update_euc(views, &stream, index, |e| {
                if let Some(consent) = e.reexport_consents.get_mut(position)
                    && consent.weapons.is_empty()
                {
                    consent.quantity_used += 1;
                }
            })?;
        }
    }
    for id in &dispatched.weapons {
        let weapon_name = weapon_stream(id);
        if let Some(mut weapon) = load_weapon(views, &weapon_name)? {
            // A deactivated weapon keeps its class on the way; transit shows in
            // `consignment`.
            if weapon.status != WeaponStatus::Deactivated {
                weapon.status = WeaponStatus::InTransit;
            }
            weapon.consignment = Some(number.clone());
            views.put(weapon_name, View::Weapon(Box::new(weapon)));
        }
    }
    let Some(exporting_country) =
        exporting_country.or_else(|| crate::values::CountryCode::parse(context.jurisdiction).ok())
    else {
        return Ok(());
    };
    views.put(
        context.stream.to_string(),
        View::Consignment(Box::new(ConsignmentView {
            number,
            status: ConsignmentStatus::Dispatched,
            export_licence: dispatched.export_licence.to_string(),
            euc: certificate,
            exporting_country,
            destination_country: dispatched.destination_country,
            exporter: dispatched.exporter.clone(),
            consignee: dispatched.consignee.clone(),
            weapons: dispatched.weapons.clone(),
            goods: dispatched.goods.clone(),
            quantity: shipped,
            transit_countries: dispatched.route.transit_countries.clone(),
            transits_recorded: Vec::new(),
            dispatched_on: context.date(),
            imported_on: None,
            delivery_verified_on: None,
            discrepancies: 0,
            post_shipment_verifications: Vec::new(),
            first_index: index,
            last_index: index,
        })),
    );
    Ok(())
}

fn new_licence(context: &Context<'_>, kind: LicenceKind, status: LicenceStatus) -> LicenceView {
    LicenceView {
        number: context.stream.id().to_owned(),
        kind,
        status,
        requirements_met: Vec::new(),
        decision: None,
        exporter: None,
        exporting_country: None,
        importing_country: None,
        end_user: None,
        goods: Vec::new(),
        transit_countries: Vec::new(),
        transit_no_objections: Vec::new(),
        euc: None,
        valid_from: None,
        valid_until: None,
        decided_on: None,
        conditions: Vec::new(),
        quantity_shipped: 0,
        consignments: Vec::new(),
        issued_by: None,
        first_index: context.index,
        last_index: context.index,
    }
}

macro_rules! updater {
    ($name:ident, $load:ident, $variant:ident, $view:ty) => {
        /// Loads, changes and puts back one view; a view that is missing stays missing
        /// (the decider made sure it exists before the event was accepted).
        fn $name(
            views: &mut dyn Views,
            stream: &str,
            index: u64,
            change: impl FnOnce(&mut $view),
        ) -> Result<(), StoreError> {
            if let Some(mut view) = $load(views, stream)? {
                change(&mut view);
                view.last_index = index;
                views.put(stream.to_owned(), View::$variant(Box::new(view)));
            }
            Ok(())
        }
    };
}

updater!(update_licence, take_licence, Licence, LicenceView);
updater!(update_euc, take_euc, Euc, EucView);
updater!(
    update_consignment,
    take_consignment,
    Consignment,
    ConsignmentView
);

/// The actor's State as a country code (registrations name real ISO States).
fn context_state(context: &Context<'_>) -> Result<crate::values::CountryCode, DomainError> {
    crate::values::CountryCode::parse(context.jurisdiction).map_err(|_| {
        DomainError::Rejected(Rejection::JurisdictionMismatch {
            actor: context.actor.to_owned(),
            jurisdiction: context.jurisdiction.to_owned(),
            field: "jurisdiction",
            value: context.jurisdiction.to_owned(),
        })
    })
}
