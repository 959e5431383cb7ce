//! Licence thresholds (DOMAIN.md policy rules 2 and 8): a grant above a threshold of
//! category, calibre or quantity needs a higher approval (`require_approval`) until the
//! State records it (`PolicyRequirementMet` on the licence). The thresholds are the
//! policy's data file (`data.json`), so a State changes them without recompiling.

use policy_sdk::{Decision, Fields, Outcome, Request, Value, export_policy};

/// The bore of a calibre such as "7.62x51mm", "12.7mm" or ".50 BMG", in tenths of a
/// millimetre; None for forms that state no bore (a gauge).
pub fn bore_tenths_mm(calibre: &str) -> Option<u64> {
    let calibre = calibre.trim();
    let (number, inches) = match calibre.strip_prefix('.') {
        Some(rest) => (rest, true),
        None => (calibre, false),
    };
    let digits: String = number
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let (whole, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
    if inches {
        // ".50" is half an inch: hundredths of an inch -> tenths of a millimetre.
        let hundredths: u64 = format!("{whole:0<2}").get(..2)?.parse().ok()?;
        return Some(hundredths * 254 / 100);
    }
    let whole: u64 = whole.parse().ok()?;
    let tenth: u64 = fraction.get(..1).and_then(|d| d.parse().ok()).unwrap_or(0);
    let rest = &calibre[digits.len()..];
    (rest.starts_with("mm") || rest.starts_with('x') || rest.starts_with('×'))
        .then_some(whole * 10 + tenth)
}

/// Whether a goods line falls under a threshold rule of the data file.
fn line_matches(rule: Fields<'_>, line: Fields<'_>) -> bool {
    let categories = rule.list("categories");
    let category_ok = categories.is_empty()
        || categories
            .iter()
            .any(|c| c.as_str() == line.str("category"));
    let calibre_ok = match rule.u64("calibre_over_tenths_mm") {
        None => true,
        Some(limit) => line
            .str("calibre")
            .and_then(bore_tenths_mm)
            .is_some_and(|bore| bore > limit),
    };
    category_ok && calibre_ok
}

pub fn evaluate(request: &Request) -> Decision {
    let mut decision = Decision::allow();
    let payload = request.payload();
    if payload.str("decision") == Some("denied") {
        return decision;
    }
    let goods: &[Value] = request.context().list("licence.goods");
    for rule in request.data().list("rules").iter().map(Fields) {
        let Some(id) = rule.str("rule") else { continue };
        let quantity: u64 = goods
            .iter()
            .map(Fields)
            .filter(|line| line_matches(rule, *line))
            .filter_map(|line| line.u64("quantity"))
            .sum();
        let over = rule.u64("quantity_over").unwrap_or(0);
        if quantity == 0 || quantity <= over || request.requirement_met("approval", id) {
            continue;
        }
        decision.add(
            Outcome::RequireApproval,
            "threshold_exceeded",
            id,
            format!(
                "{quantity} items under rule {id} (over {over}): {}",
                rule.str("approval")
                    .unwrap_or("a higher approval is required")
            ),
        );
    }
    decision
}

export_policy! {
    name: "Licence thresholds by category, calibre and quantity",
    version: "1",
    jurisdiction: "BE",
    governs: ["ExportLicenceDecided"],
    evaluate: evaluate,
}

#[cfg(test)]
mod tests {
    use super::bore_tenths_mm;

    #[test]
    fn bores() {
        assert_eq!(bore_tenths_mm("7.62x51mm"), Some(76));
        assert_eq!(bore_tenths_mm("12.7mm"), Some(127));
        assert_eq!(bore_tenths_mm("14.5x114mm"), Some(145));
        assert_eq!(bore_tenths_mm("9mm"), Some(90));
        assert_eq!(bore_tenths_mm(".50 BMG"), Some(127));
        assert_eq!(bore_tenths_mm("12 gauge"), None);
    }
}
