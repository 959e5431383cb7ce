//! The dated table of UN Security Council arms embargoes on supplies *to* a State.
//!
//! Each row is one period of one regime: from its first day (inclusive) to the day a
//! later resolution changed it (exclusive). Sources: the resolutions named, as summarised
//! by the Security Council's sanctions committees and SIPRI's arms embargo database. This
//! is an example data set for the ledger's policy ABI, kept deliberately simple (a
//! regime limited to a region, such as Darfur, is not modelled); a State that installs it
//! owns its accuracy.

use policy_sdk::Outcome;

/// Whom an embargo covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Covers {
    /// Every supply to the State.
    All,
    /// Supplies to non-governmental end users (armed groups, designated persons).
    NonGovernment,
}

/// One period of one embargo.
#[derive(Clone, Copy, Debug)]
pub struct Embargo {
    /// ISO 3166-1 alpha-2 code of the embargoed State.
    pub state: &'static str,
    /// First day in force, `YYYY-MM-DD`.
    pub from: &'static str,
    /// First day no longer in force, if it ended.
    pub until: Option<&'static str>,
    pub covers: Covers,
    /// What a covered transfer gets.
    pub outcome: Outcome,
    /// What a transfer to the State's government gets instead, when the regime exempts
    /// government forces under conditions (notification, committee approval).
    pub government: Option<Outcome>,
    /// The resolutions, as a rule id.
    pub measure: &'static str,
    pub summary: &'static str,
}

impl Embargo {
    /// Whether it applies to `state` on `date` (`YYYY-MM-DD`; such dates compare as text).
    pub fn in_force(&self, state: &str, date: &str) -> bool {
        self.state == state && self.from <= date && self.until.is_none_or(|until| date < until)
    }
}

#[allow(clippy::too_many_arguments)] // one row of the table, read as one line
const fn period(
    state: &'static str,
    from: &'static str,
    until: Option<&'static str>,
    covers: Covers,
    outcome: Outcome,
    government: Option<Outcome>,
    measure: &'static str,
    summary: &'static str,
) -> Embargo {
    Embargo {
        state,
        from,
        until,
        covers,
        outcome,
        government,
        measure,
        summary,
    }
}

use Covers::{All, NonGovernment};
use Outcome::{Deny, RequireApproval, RequireConsultation, RequireNotification};

pub const EMBARGOES: &[Embargo] = &[
    // Somalia: general embargo in 1992; deliveries to the security forces of the Federal
    // Government allowed with notification from 2013; lifted for the Federal Government in
    // December 2023, kept on Al-Shabaab.
    period(
        "SO",
        "1992-01-23",
        Some("2013-03-06"),
        All,
        Deny,
        None,
        "unscr_733",
        "general and complete embargo on weapons and military equipment",
    ),
    period(
        "SO",
        "2013-03-06",
        Some("2023-12-01"),
        All,
        Deny,
        Some(RequireNotification),
        "unscr_2093",
        "deliveries to the security forces of the Federal Government only, notified in advance to the Committee",
    ),
    period(
        "SO",
        "2023-12-01",
        None,
        NonGovernment,
        Deny,
        None,
        "unscr_2713_2714",
        "lifted for the Federal Government; maintained on Al-Shabaab",
    ),
    // Central African Republic: 2013 embargo with exemptions for the government's forces
    // on notification; lifted for the government in July 2024, kept on armed groups.
    period(
        "CF",
        "2013-12-05",
        Some("2024-07-30"),
        All,
        Deny,
        Some(RequireNotification),
        "unscr_2127",
        "embargo; supplies to the government's security forces notified to the Committee",
    ),
    period(
        "CF",
        "2024-07-30",
        None,
        NonGovernment,
        Deny,
        None,
        "unscr_2745",
        "lifted for the government; maintained on armed groups and associated individuals",
    ),
    // Haiti: targeted at designated persons in 2022 (check the sanctions list); widened in
    // October 2023 to every non-State actor in Haiti.
    period(
        "HT",
        "2022-10-21",
        Some("2023-10-19"),
        NonGovernment,
        RequireConsultation,
        None,
        "unscr_2653",
        "targeted embargo on individuals and entities designated by the Committee: check the list",
    ),
    period(
        "HT",
        "2023-10-19",
        None,
        NonGovernment,
        Deny,
        None,
        "unscr_2700",
        "embargo on all non-State actors in Haiti",
    ),
    // Iran: supplies prohibited in 2010; Security Council approval required under the 2015
    // agreement until October 2020; prohibited again when the measures snapped back on
    // 28 September 2025.
    period(
        "IR",
        "2010-06-09",
        Some("2016-01-16"),
        All,
        Deny,
        None,
        "unscr_1929",
        "supply of arms and related materiel prohibited",
    ),
    period(
        "IR",
        "2016-01-16",
        Some("2020-10-18"),
        All,
        RequireApproval,
        None,
        "unscr_2231",
        "supply only with the prior approval of the Security Council, case by case",
    ),
    period(
        "IR",
        "2025-09-28",
        None,
        All,
        Deny,
        None,
        "unscr_1929_snapback",
        "the measures of resolution 1929 reapplied under resolution 2231 paragraph 12",
    ),
    // Democratic People's Republic of Korea.
    period(
        "KP",
        "2006-10-14",
        None,
        All,
        Deny,
        None,
        "unscr_1718_1874",
        "supply of all arms and related materiel prohibited",
    ),
    // Liberia: general embargo from 1992; government forces with notification from 2006;
    // non-governmental end users only from 2009; terminated in 2016.
    period(
        "LR",
        "1992-11-19",
        Some("2006-06-13"),
        All,
        Deny,
        None,
        "unscr_788_1343_1521",
        "general and complete embargo",
    ),
    period(
        "LR",
        "2006-06-13",
        Some("2009-12-17"),
        All,
        Deny,
        Some(RequireNotification),
        "unscr_1683",
        "supplies to the government's security forces notified in advance",
    ),
    period(
        "LR",
        "2009-12-17",
        Some("2016-05-25"),
        NonGovernment,
        Deny,
        None,
        "unscr_1903",
        "embargo on non-governmental entities and individuals",
    ),
    // Sierra Leone: general in 1997, non-governmental forces from 1998, ended 2010.
    period(
        "SL",
        "1997-10-08",
        Some("1998-06-05"),
        All,
        Deny,
        None,
        "unscr_1132",
        "embargo on the supply of arms to Sierra Leone",
    ),
    period(
        "SL",
        "1998-06-05",
        Some("2010-09-29"),
        NonGovernment,
        Deny,
        None,
        "unscr_1171",
        "embargo on non-governmental forces",
    ),
    // Democratic Republic of the Congo: armed groups from 2003; the government notifies
    // from 2008 until the notification requirement ended in December 2022.
    period(
        "CD",
        "2003-07-28",
        Some("2008-03-31"),
        NonGovernment,
        Deny,
        None,
        "unscr_1493",
        "embargo on armed groups in the east",
    ),
    period(
        "CD",
        "2008-03-31",
        Some("2022-12-20"),
        All,
        Deny,
        Some(RequireNotification),
        "unscr_1807",
        "embargo on non-governmental entities; supplies to the government notified",
    ),
    period(
        "CD",
        "2022-12-20",
        None,
        NonGovernment,
        Deny,
        None,
        "unscr_2667",
        "embargo on non-governmental entities; government notification no longer required",
    ),
    // Libya: embargo since 2011; the government may receive supplies approved by the
    // Committee.
    period(
        "LY",
        "2011-02-26",
        None,
        All,
        Deny,
        Some(RequireApproval),
        "unscr_1970_2174",
        "embargo; supplies to the government only with the Committee's approval",
    ),
    // South Sudan.
    period(
        "SS",
        "2018-07-13",
        None,
        All,
        Deny,
        Some(RequireApproval),
        "unscr_2428",
        "embargo on the territory; exemptions approved in advance by the Committee",
    ),
    // Yemen: designated persons and the Houthis.
    period(
        "YE",
        "2015-04-14",
        None,
        NonGovernment,
        Deny,
        None,
        "unscr_2216_2624",
        "targeted embargo on designated individuals and entities, the Houthis included",
    ),
    // Eritrea (2009-2018) and Côte d'Ivoire (2004-2016).
    period(
        "ER",
        "2009-12-23",
        Some("2018-11-14"),
        All,
        Deny,
        None,
        "unscr_1907",
        "embargo on Eritrea, lifted by resolution 2444",
    ),
    period(
        "CI",
        "2004-11-15",
        Some("2016-04-28"),
        All,
        Deny,
        None,
        "unscr_1572",
        "embargo on Côte d'Ivoire, terminated by resolution 2283",
    ),
    // Iraq: general from 1990; the government exempted from 2004.
    period(
        "IQ",
        "1990-08-06",
        Some("2004-06-08"),
        All,
        Deny,
        None,
        "unscr_661",
        "general embargo",
    ),
    period(
        "IQ",
        "2004-06-08",
        None,
        NonGovernment,
        Deny,
        None,
        "unscr_1546",
        "embargo on non-governmental entities",
    ),
    // Rwanda: general in 1994, non-governmental forces from 1995, terminated in 2008.
    period(
        "RW",
        "1994-05-17",
        Some("1995-08-16"),
        All,
        Deny,
        None,
        "unscr_918",
        "embargo on Rwanda",
    ),
    period(
        "RW",
        "1995-08-16",
        Some("2008-07-10"),
        NonGovernment,
        Deny,
        None,
        "unscr_1011",
        "embargo on non-governmental forces, terminated by resolution 1823",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_well_formed_and_do_not_overlap() {
        for (i, e) in EMBARGOES.iter().enumerate() {
            assert_eq!(e.from.len(), 10, "{e:?}");
            if let Some(until) = e.until {
                assert!(e.from < until, "{e:?}");
            }
            for other in &EMBARGOES[i + 1..] {
                if other.state == e.state {
                    let e_ends_first = e.until.is_some_and(|u| u <= other.from);
                    let other_ends_first = other.until.is_some_and(|u| u <= e.from);
                    assert!(e_ends_first || other_ends_first, "{e:?} overlaps {other:?}");
                }
            }
        }
    }
}
