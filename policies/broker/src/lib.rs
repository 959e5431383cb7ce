//! Broker registration (DOMAIN.md policy rule 6, ATT art. 10): every broker an
//! application or a certificate names must hold a registration with the State it names,
//! under the number quoted, unrevoked and valid on the event's date.

use policy_sdk::{Decision, Fields, Outcome, Request, export_policy};

pub fn evaluate(request: &Request) -> Decision {
    let mut decision = Decision::allow();
    let date = request.date();
    for broker in request.context().list("brokers").iter().map(Fields) {
        let name = broker.str("name").unwrap_or("?");
        let number = broker.str("licence_number").unwrap_or("?");
        let country = broker.str("country").unwrap_or("?");
        let registration = broker.fields("registration");
        let problem = if registration.0.is_null() {
            Some((
                "broker_not_registered",
                format!("{name} holds no registration {number} with {country}"),
            ))
        } else if registration.bool("revoked") == Some(true) {
            Some((
                "broker_registration_revoked",
                format!("{country} revoked {name}'s registration {number}"),
            ))
        } else {
            let from = registration.str("valid_from").unwrap_or("");
            let until = registration.str("valid_until");
            (date < from || until.is_some_and(|u| date > u)).then(|| {
                (
                    "broker_registration_not_valid",
                    format!(
                        "{name}'s registration {number} is valid from {from} to {}, not on {date}",
                        until.unwrap_or("(no end)")
                    ),
                )
            })
        };
        if let Some((code, message)) = problem {
            decision.add(Outcome::Deny, code, "att_article_10", message);
        }
    }
    decision
}

export_policy! {
    name: "Broker registration (ATT art. 10)",
    version: "1",
    jurisdiction: "BE",
    governs: ["ExportLicenceApplied", "EndUserCertificateIssued"],
    evaluate: evaluate,
}
