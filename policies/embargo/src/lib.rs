//! UN Security Council arms embargoes (DOMAIN.md policy rule 1): deny a transfer when the
//! destination, or a transit State, is under an embargo in force on the event's date that
//! covers its end user. The table of embargoes is the policy's data, compiled in (so the
//! module's hash pins it), and dated: a 2010 transfer is judged by 2010's embargoes.

mod table;

use policy_sdk::{Decision, Fields, Outcome, Request, export_policy};
pub use table::{Covers, EMBARGOES, Embargo};

/// Whether an end user (an EUC's or a licence's `end_user`) is a government.
fn is_government(end_user: Fields<'_>) -> bool {
    end_user.str("kind") == Some("government")
}

/// The transfer as the event and what the host resolved describe it.
struct Transfer<'a> {
    destination: Option<&'a str>,
    transit: Vec<&'a str>,
    government_end_user: bool,
}

fn transfer(request: &Request) -> Transfer<'_> {
    let payload = request.payload();
    let context = request.context();
    let destination = payload
        .str("importing_country")
        .or_else(|| payload.str("destination_country"))
        .or_else(|| context.str("licence.importing_country"))
        .or_else(|| context.str("states.importer"));
    let transit = context
        .list("states.transit")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    let end_user = [
        payload.fields("end_user"),
        context.fields("licence.end_user"),
        context.fields("euc.end_user"),
    ]
    .into_iter()
    .find(|e| !e.0.is_null());
    Transfer {
        destination,
        transit,
        // An end user the records do not describe is not presumed to be a government.
        government_end_user: end_user.is_some_and(is_government),
    }
}

pub fn evaluate(request: &Request) -> Decision {
    let mut decision = Decision::allow();
    // A refusal never breaches an embargo.
    if request.payload().str("decision") == Some("denied") {
        return decision;
    }
    let date = request.date();
    let transfer = transfer(request);
    let places = transfer
        .destination
        .map(|d| (d, true))
        .into_iter()
        .chain(transfer.transit.iter().map(|t| (*t, false)));
    for (state, is_destination) in places {
        for embargo in EMBARGOES.iter().filter(|e| e.in_force(state, date)) {
            let outcome = match embargo.covers {
                Covers::All => match (transfer.government_end_user, embargo.government) {
                    (true, Some(exemption)) if is_destination => exemption,
                    _ => embargo.outcome,
                },
                // Supplies to non-State actors: a transit State's government is no end user.
                Covers::NonGovernment if is_destination && !transfer.government_end_user => {
                    embargo.outcome
                }
                Covers::NonGovernment => continue,
            };
            let requirement = match outcome {
                Outcome::RequireApproval => Some("approval"),
                Outcome::RequireConsultation => Some("consultation"),
                Outcome::RequireNotification => Some("notification"),
                _ => None,
            };
            if requirement.is_some_and(|r| request.requirement_met(r, embargo.measure)) {
                continue;
            }
            let role = if is_destination {
                "destination"
            } else {
                "transit State"
            };
            decision.add(
                outcome,
                "un_arms_embargo",
                embargo.measure,
                format!(
                    "{state} ({role}) is under the UN arms embargo of {} on {date}: {}",
                    embargo.measure.replace('_', " "),
                    embargo.summary
                ),
            );
        }
    }
    decision
}

export_policy! {
    name: "UN Security Council arms embargoes",
    version: "2025.10",
    jurisdiction: "BE",
    governs: ["ExportLicenceApplied", "ExportLicenceDecided", "ConsignmentDispatched"],
    evaluate: evaluate,
}
