//! Re-export consent (DOMAIN.md policy rule 5), as the re-exporting State applies it: a
//! weapon imported under a certificate's non-re-export clause leaves again only with the
//! original exporting State's consent for this destination, in force on the date; and
//! that State is notified of the re-export (`require_notification`) before it ships.

use policy_sdk::{Decision, Fields, Outcome, Request, export_policy};

/// Whether a recorded consent covers this weapon going to this destination on this date.
fn consent_covers(consent: Fields<'_>, weapon: &str, destination: &str, date: &str) -> bool {
    let named = consent.list("weapons");
    let covers_weapon = named.is_empty() || named.iter().any(|w| w.as_str() == Some(weapon));
    consent.str("new_destination_country") == Some(destination)
        && covers_weapon
        && consent.str("valid_until").is_none_or(|until| date <= until)
}

pub fn evaluate(request: &Request) -> Decision {
    let mut decision = Decision::allow();
    let context = request.context();
    let Some(destination) = request.payload().str("destination_country") else {
        return decision;
    };
    let acting = context.str("states.acting").unwrap_or("");
    let date = request.date();
    let mut to_notify: Vec<&str> = Vec::new();
    for weapon in context.list("weapons").iter().map(Fields) {
        let restriction = weapon.fields("reexport_restriction");
        // Only weapons this State imported under the clause: anything else is not a
        // re-export by it.
        if restriction.0.is_null() || restriction.str("importing_state") != Some(acting) {
            continue;
        }
        let id = weapon.str("id").unwrap_or("?");
        let original = restriction.str("exporting_state").unwrap_or("?");
        if destination == original {
            continue; // a return to the State of origin needs no consent
        }
        let euc = restriction.str("euc").unwrap_or("");
        let certificate = context.fields("restricting_eucs").fields(euc);
        let consented = certificate
            .list("reexport_consents")
            .iter()
            .any(|c| consent_covers(Fields(c), id, destination, date));
        if !consented {
            decision.add(
                Outcome::Deny,
                "reexport_consent_missing",
                "reexport_consent",
                format!(
                    "weapon {id} came from {original} under certificate {euc}'s non-re-export clause; {original} has not consented to its re-export to {destination}"
                ),
            );
        } else if !to_notify.contains(&original) {
            to_notify.push(original);
        }
    }
    for original in to_notify {
        let rule = format!("notify_{original}");
        if !request.requirement_met("notification", &rule) {
            decision.add(
                Outcome::RequireNotification,
                "reexport_notification",
                &rule,
                format!("notify {original} of the re-export before it ships"),
            );
        }
    }
    decision
}

export_policy! {
    name: "Re-export consent and notification",
    version: "1",
    jurisdiction: "NG",
    governs: ["ConsignmentDispatched"],
    evaluate: evaluate,
}
