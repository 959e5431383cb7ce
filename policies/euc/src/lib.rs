//! End-user certificate rules (DOMAIN.md policy rule 3): an export needs a certificate
//! that is present, verified, not revoked, not spent on another transaction, within its
//! quantity and validity on the event's date; and a non-government end user needs the
//! government's authentication of the certificate.

use policy_sdk::{Decision, Fields, Outcome, Request, export_policy};

fn quantity(goods: &[policy_sdk::Value]) -> u64 {
    goods
        .iter()
        .filter_map(|line| Fields(line).u64("quantity"))
        .sum()
}

pub fn evaluate(request: &Request) -> Decision {
    let mut decision = Decision::allow();
    let payload = request.payload();
    if payload.str("decision") == Some("denied") {
        return decision;
    }
    let context = request.context();
    let euc = context.fields("euc");
    if euc.0.is_null() {
        return Decision::deny(
            "euc_missing",
            "euc_required",
            "an export needs an end-user certificate recorded in the ledger",
        );
    }
    let number = euc.str("number").unwrap_or("?");
    let mut deny = |code: &str, message: String| decision.add(Outcome::Deny, code, code, message);

    match euc.str("status") {
        Some("verified") => {}
        Some("revoked") => deny("euc_revoked", format!("certificate {number} is revoked")),
        Some("verification_failed") => deny(
            "euc_not_verified",
            format!("the verification of certificate {number} failed"),
        ),
        _ => deny(
            "euc_not_verified",
            format!("certificate {number} has not been verified with its issuer"),
        ),
    }
    let date = request.date();
    let issued = euc.str("date_of_issue").unwrap_or("");
    let until = euc.str("valid_until").unwrap_or("");
    if date < issued || date > until {
        deny(
            "euc_outside_validity",
            format!("certificate {number} is valid from {issued} to {until}, not on {date}"),
        );
    }
    let certified = quantity(euc.list("goods"));
    match request.event_type() {
        "ExportLicenceDecided" => {
            let licence = context.str("licence.number");
            if let Some(other) = euc.str("transaction_licence")
                && Some(other) != licence
            {
                deny(
                    "euc_used",
                    format!("certificate {number} already serves licence {other}"),
                );
            }
            let licensed = quantity(context.list("licence.goods"));
            if licensed > certified {
                deny(
                    "euc_quantity_exceeded",
                    format!(
                        "the licence covers {licensed} items; certificate {number} certifies {certified}"
                    ),
                );
            }
        }
        "ConsignmentDispatched" => {
            let shipping = payload.list("weapons").len() as u64 + quantity(payload.list("goods"));
            let dispatched = euc.u64("quantity_dispatched").unwrap_or(0);
            if dispatched + shipping > certified {
                deny(
                    "euc_quantity_exceeded",
                    format!(
                        "{shipping} items on top of {dispatched} already shipped exceed the {certified} certificate {number} certifies"
                    ),
                );
            }
        }
        _ => {}
    }
    let government = euc.str("end_user.kind") == Some("government");
    if !government && euc.bool("government_authenticated") != Some(true) {
        deny(
            "euc_not_authenticated",
            format!(
                "certificate {number} names a non-government end user and carries no government authentication"
            ),
        );
    }
    decision
}

export_policy! {
    name: "End-user certificate rules",
    version: "1",
    jurisdiction: "BE",
    governs: ["ExportLicenceDecided", "ConsignmentDispatched"],
    evaluate: evaluate,
}
