//! Which State a projection concerns, for confidentiality (DESIGN.md "Authorities, keys and
//! access"): an authority reads what concerns its own State; auditors read everything;
//! the public reads only checkpoints and proofs. A trace request concerns the requesting
//! State, the requested State and those it was forwarded to, and no one else.

use super::views::View;

/// Whether `view` concerns the State `state` (an ISO 3166-1 alpha-2 code).
pub fn concerns_state(view: &View, state: &str) -> bool {
    let is = |country: &crate::values::CountryCode| country.as_str() == state;
    match view {
        View::Weapon(weapon) => {
            weapon.states.iter().any(is)
                || weapon
                    .identity
                    .country_of_manufacture
                    .as_ref()
                    .is_some_and(is)
                || weapon
                    .reexport_restriction
                    .as_ref()
                    .is_some_and(|r| is(&r.exporting_state) || is(&r.importing_state))
        }
        View::Licence(licence) => {
            licence.exporting_country.as_ref().is_some_and(is)
                || licence.importing_country.as_ref().is_some_and(is)
                || licence.transit_countries.iter().any(is)
        }
        View::Euc(euc) => {
            is(&euc.issuing_state)
                || is(&euc.exporter.country)
                || is(&euc.final_destination_country)
        }
        View::Consignment(consignment) => {
            is(&consignment.exporting_country)
                || is(&consignment.destination_country)
                || consignment.transit_countries.iter().any(is)
        }
        View::Trace(trace) => {
            is(&trace.requesting_state)
                || is(&trace.requested_state)
                || trace.forwarded_to.iter().any(is)
        }
        // Policies and broker registrations are public law: every authority reads them.
        View::Policy(_) | View::Broker(_) => true,
    }
}
