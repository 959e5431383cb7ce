//! The projections: what the log says of one weapon, licence, certificate, consignment,
//! trace request or policy, folded from its events (and from the events of other streams
//! that concern it, such as a consignment that carries a weapon).
//!
//! Each view is keyed by its stream name and stored as JSON in the `projections` table,
//! written in the same redb transaction as the entries that changed it. They are derived
//! data: `rebuild` folds the whole log again and must get the same bytes.

use serde::{Deserialize, Serialize};

use crate::catalogue::{
    AlternativeCode, EndUser, GoodsLine, LicenceDecision, MarkComponent, Organisation,
    PolicyRequirement, TraceResponseKind, WeaponId,
};
use crate::values::{Calibre, CountryCode, Date, ManufactureYear, SalwCategory};

/// One projection, tagged by its kind (`"view": "weapon"`, ...). Decoded by hand (see
/// `Deserialize` below) to skip the buffering serde's internally tagged decoding does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "view", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum View {
    Weapon(Box<WeaponView>),
    Licence(Box<LicenceView>),
    Euc(Box<EucView>),
    Consignment(Box<ConsignmentView>),
    Trace(Box<TraceView>),
    Policy(Box<PolicyView>),
    Broker(Box<BrokerView>),
}

/// The kinds of [`View`], as their `view` tag spells them.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ViewKind {
    Weapon,
    Licence,
    Euc,
    Consignment,
    Trace,
    Policy,
    Broker,
}

impl ViewKind {
    /// The view of this kind that `fields` (the object without its tag) describe.
    fn read<'de, D: serde::Deserializer<'de>>(self, fields: D) -> Result<View, D::Error> {
        Ok(match self {
            Self::Weapon => View::Weapon(Box::new(WeaponView::deserialize(fields)?)),
            Self::Licence => View::Licence(Box::new(LicenceView::deserialize(fields)?)),
            Self::Euc => View::Euc(Box::new(EucView::deserialize(fields)?)),
            Self::Consignment => View::Consignment(Box::new(ConsignmentView::deserialize(fields)?)),
            Self::Trace => View::Trace(Box::new(TraceView::deserialize(fields)?)),
            Self::Policy => View::Policy(Box::new(PolicyView::deserialize(fields)?)),
            Self::Broker => View::Broker(Box::new(BrokerView::deserialize(fields)?)),
        })
    }
}

/// Every stored view is written with its tag first (serde's internally tagged form), so
/// the rest of the object goes straight to the kind's struct: no intermediate buffer,
/// which the derived decoder needs because it cannot know where the tag is. A view whose
/// tag comes later (one that went through a sorted map) is still read, through a
/// `serde_json` object.
impl<'de> Deserialize<'de> for View {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ViewVisitor)
    }
}

struct ViewVisitor;

impl<'de> serde::de::Visitor<'de> for ViewVisitor {
    type Value = View;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a projection: an object with a `view` tag")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<View, A::Error> {
        use serde::de::Error as _;
        let Some(first) = map.next_key::<String>()? else {
            return Err(A::Error::missing_field("view"));
        };
        if first == "view" {
            let kind: ViewKind = map.next_value()?;
            return kind.read(serde::de::value::MapAccessDeserializer::new(map));
        }
        let mut object = serde_json::Map::new();
        object.insert(first, map.next_value()?);
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            object.insert(key, value);
        }
        let tag = object
            .remove("view")
            .ok_or_else(|| A::Error::missing_field("view"))?;
        let kind = ViewKind::deserialize(tag).map_err(A::Error::custom)?;
        kind.read(serde_json::Value::Object(object))
            .map_err(A::Error::custom)
    }
}

/// Where a weapon stands. Changes only by events; `destroyed` is terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum WeaponStatus {
    /// Recorded and in lawful custody.
    Active,
    Lost,
    Stolen,
    /// Taken by an authority: seized, found or surrendered (which one is in the history).
    Seized,
    Found,
    Surrendered,
    /// Forfeited by order; held by the State.
    Confiscated,
    /// On a consignment between dispatch and import.
    InTransit,
    Deactivated,
    Destroyed,
}

impl WeaponView {
    /// Records that the weapon is now in `country`.
    pub fn move_to(&mut self, country: CountryCode) {
        self.country = Some(country);
        if !self.states.contains(&country) {
            self.states.push(country);
        }
    }
}

impl WeaponStatus {
    /// Lost or stolen: no transfer until it is recovered (DOMAIN.md invariant 2).
    pub fn is_missing(self) -> bool {
        matches!(self, Self::Lost | Self::Stolen)
    }
}

/// The identity of a weapon as its records give it; corrections update it, and the
/// original stays in the history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_of_manufacture: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    /// The search form of `serial_number` (values::normalize_query).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_normalized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative_code: Option<AlternativeCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calibre: Option<Calibre>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<SalwCategory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_of_manufacture: Option<ManufactureYear>,
}

/// How a mark came to be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MarkOrigin {
    Manufacture,
    Import,
    State,
    CivilianTransfer,
    Legacy,
    Restored,
    Deactivation,
}

/// One mark on a weapon, with the entry that recorded it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkRecord {
    pub component: MarkComponent,
    pub text: String,
    pub origin: MarkOrigin,
    pub index: u64,
}

/// Something the law asks of whoever holds the weapon next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Obligation {
    /// `mark_or_destroy`: a seized, found or surrendered weapon is marked and recorded, or
    /// destroyed (ITI 9); the deadline is the State's policy.
    pub kind: String,
    pub since: Date,
    pub index: u64,
}

/// A weapon that came in under an end-user certificate with a non-re-export clause: it
/// leaves the importing State again only with the exporting State's consent (invariant 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReexportRestriction {
    pub exporting_state: CountryCode,
    pub importing_state: CountryCode,
    pub euc: String,
}

/// A later entry that corrects an earlier one of the same stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CorrectionRecord {
    pub corrected_index: u64,
    pub index: u64,
    pub fields: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeaponView {
    pub id: WeaponId,
    pub status: WeaponStatus,
    pub identity: Identity,
    pub marks: Vec<MarkRecord>,
    /// The last recorded holder (a name as the records give it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The State the weapon is in, as far as the log knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// Every State the records place it in, in order (made, imported, seized...): each
    /// of them may read its record.
    pub states: Vec<CountryCode>,
    /// True once any mark was recorded as obliterated and not yet restored.
    pub marks_obliterated: bool,
    pub obligations: Vec<Obligation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reexport_restriction: Option<ReexportRestriction>,
    /// The consignment it travels on, while in transit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consignment: Option<String>,
    pub corrections: Vec<CorrectionRecord>,
    /// Other weapons with the same manufacturer and serial number: a warning, never a
    /// rejection (serials are not unique).
    pub duplicate_serial_of: Vec<WeaponId>,
    /// Records an authority linked as the same physical weapon (or one that reappeared).
    pub linked: Vec<WeaponId>,
    pub first_index: u64,
    pub last_index: u64,
}

/// What kind of document a licence stream holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LicenceKind {
    Export,
    Import,
    /// A denial notified by another State (EU Common Position art. 4): a record, not a
    /// licence.
    DenialNotice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LicenceStatus {
    Applied,
    Granted,
    Denied,
    Suspended,
    Revoked,
    Notified,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenceView {
    pub number: String,
    pub kind: LicenceKind,
    pub status: LicenceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<LicenceDecision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporter: Option<Organisation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporting_country: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importing_country: Option<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_user: Option<EndUser>,
    pub goods: Vec<GoodsLine>,
    pub transit_countries: Vec<CountryCode>,
    /// Transit States that recorded their no-objection.
    pub transit_no_objections: Vec<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub euc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// The date the decision was taken (the decision event's `occurred_at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_on: Option<Date>,
    pub conditions: Vec<String>,
    /// Items shipped under the licence so far, over all consignments.
    pub quantity_shipped: u64,
    pub consignments: Vec<String>,
    /// Requirements of policies recorded as met for this licence (`PolicyRequirementMet`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements_met: Vec<RequirementMet>,
    /// The authority that decided or issued it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
    pub first_index: u64,
    pub last_index: u64,
}

impl LicenceView {
    /// Items the licence covers: the sum of its goods lines.
    pub fn quantity_licensed(&self) -> u64 {
        self.goods.iter().map(|line| u64::from(line.quantity)).sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EucStatus {
    Issued,
    Verified,
    VerificationFailed,
    Revoked,
}

/// One use of a certificate: a shipment under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EucUse {
    pub consignment: String,
    pub quantity: u32,
    pub index: u64,
    pub on: Date,
}

/// A consent of the exporting State to re-export (invariant 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReexportConsent {
    pub consenting_state: CountryCode,
    pub reexporting_state: CountryCode,
    pub new_destination_country: CountryCode,
    pub weapons: Vec<WeaponId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    pub index: u64,
    /// Weapons re-exported under a consent that gives a quantity rather than names.
    pub quantity_used: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EucView {
    pub number: String,
    pub status: EucStatus,
    pub issuing_state: CountryCode,
    /// The authority whose key signed the certificate, and the key.
    pub issued_by: String,
    pub signed_with_key: String,
    pub signatory: String,
    pub exporter: Organisation,
    pub end_user: EndUser,
    pub final_destination_country: CountryCode,
    pub goods: Vec<GoodsLine>,
    pub date_of_issue: Date,
    pub valid_until: Date,
    pub non_reexport_clause: bool,
    pub dvc_undertaking: bool,
    pub government_authenticated: bool,
    /// The export licence of the one transaction the certificate serves, once used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_licence: Option<String>,
    pub uses: Vec<EucUse>,
    /// Items recorded as shipped under it (`EndUserCertificateUsed`).
    pub quantity_used: u64,
    /// Items on consignments dispatched citing it: never more than it certifies.
    pub quantity_dispatched: u64,
    /// Consignments under it whose delivery the importing State verified.
    pub deliveries_verified: Vec<String>,
    pub verifications: Vec<u64>,
    pub failed_verifications: Vec<u64>,
    pub reexport_consents: Vec<ReexportConsent>,
    pub reexport_denials: Vec<u64>,
    pub first_index: u64,
    pub last_index: u64,
}

impl EucView {
    pub fn quantity_certified(&self) -> u64 {
        self.goods.iter().map(|line| u64::from(line.quantity)).sum()
    }

    pub fn quantity_remaining(&self) -> u64 {
        self.quantity_certified().saturating_sub(self.quantity_used)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConsignmentStatus {
    Dispatched,
    Imported,
    DeliveryVerified,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsignmentView {
    pub number: String,
    pub status: ConsignmentStatus,
    pub export_licence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub euc: Option<String>,
    pub exporting_country: CountryCode,
    pub destination_country: CountryCode,
    pub exporter: Organisation,
    pub consignee: Organisation,
    pub weapons: Vec<WeaponId>,
    pub goods: Vec<GoodsLine>,
    pub quantity: u64,
    pub transit_countries: Vec<CountryCode>,
    pub transits_recorded: Vec<CountryCode>,
    pub dispatched_on: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_on: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_verified_on: Option<Date>,
    /// Discrepancies the delivery verification certificate recorded.
    pub discrepancies: u32,
    pub post_shipment_verifications: Vec<u64>,
    pub first_index: u64,
    pub last_index: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TraceStatus {
    Open,
    Acknowledged,
    Responded,
    Closed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TraceView {
    pub id: String,
    pub status: TraceStatus,
    pub requesting_state: CountryCode,
    pub requested_state: CountryCode,
    /// States the request was forwarded to: they may answer too.
    pub forwarded_to: Vec<CountryCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weapon: Option<WeaponId>,
    pub requested_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responded_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_deadline: Option<Date>,
    pub responses: Vec<TraceResponseKind>,
    pub first_index: u64,
    pub last_index: u64,
}

impl TraceView {
    /// The date the request was made (its `occurred_at`, UTC).
    pub fn requested_on(&self) -> Option<Date> {
        self.requested_at
            .get(..10)
            .and_then(|day| Date::parse(day).ok())
    }

    /// Whole days since the request, on `today`.
    pub fn age_days(&self, today: Date) -> i64 {
        self.requested_on().map_or(0, |requested| {
            (today.to_time_date() - requested.to_time_date()).whole_days()
        })
    }

    /// When an answer is due: the deadline the request states, else the requested State's
    /// own deadline in days (national policy: the ITI sets none), else never.
    pub fn due_on(&self, state_deadline_days: Option<u32>) -> Option<Date> {
        self.response_deadline.or_else(|| {
            let days = time::Duration::days(i64::from(state_deadline_days?));
            let due = self.requested_on()?.to_time_date().checked_add(days)?;
            Date::from_time_date(due).ok()
        })
    }

    /// Unanswered past its due date on `today`. A response of any kind (a delay with its
    /// reasons included) stops the clock; so does closing the request.
    pub fn overdue(&self, today: Date, state_deadline_days: Option<u32>) -> bool {
        let answered = matches!(self.status, TraceStatus::Responded | TraceStatus::Closed);
        !answered
            && self
                .due_on(state_deadline_days)
                .is_some_and(|due| today > due)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PolicyStatus {
    Installed,
    Active,
    Retired,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyView {
    pub id: String,
    pub status: PolicyStatus,
    pub name: String,
    pub jurisdiction: CountryCode,
    pub version: u32,
    pub module_sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_sha256: Option<String>,
    pub governs: Vec<String>,
    pub first_index: u64,
    pub last_index: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(status: TraceStatus, deadline: Option<&str>) -> TraceView {
        TraceView {
            id: "t1".into(),
            status,
            requesting_state: CountryCode::parse("FR").unwrap(),
            requested_state: CountryCode::parse("BE").unwrap(),
            forwarded_to: Vec::new(),
            weapon: None,
            requested_at: "2026-03-01T10:00:00Z".into(),
            acknowledged_at: None,
            responded_at: None,
            closed_at: None,
            response_deadline: deadline.map(|d| Date::parse(d).unwrap()),
            responses: Vec::new(),
            first_index: 1,
            last_index: 1,
        }
    }

    #[test]
    fn a_trace_is_overdue_past_its_stated_or_national_deadline_until_answered() {
        let day = |d: &str| Date::parse(d).unwrap();
        let open = trace(TraceStatus::Open, None);
        assert_eq!(open.age_days(day("2026-03-31")), 30);
        assert!(
            !open.overdue(day("2030-01-01"), None),
            "no deadline, never overdue"
        );
        assert!(!open.overdue(day("2026-03-31"), Some(30)));
        assert!(open.overdue(day("2026-04-01"), Some(30)));
        let stated = trace(TraceStatus::Acknowledged, Some("2026-03-10"));
        assert!(
            stated.overdue(day("2026-03-11"), Some(30)),
            "the request's own date wins"
        );
        let answered = trace(TraceStatus::Responded, Some("2026-03-10"));
        assert!(!answered.overdue(day("2026-12-31"), Some(30)));
    }

    #[test]
    fn a_view_decodes_with_its_tag_anywhere_and_refuses_an_unknown_tag_or_missing_field() {
        let view = View::Trace(Box::new(trace(TraceStatus::Open, Some("2026-04-01"))));
        let stored = serde_json::to_vec(&view).unwrap();
        assert!(stored.starts_with(br#"{"view":"trace","#));
        assert_eq!(serde_json::from_slice::<View>(&stored).unwrap(), view);
        // Through serde_json's sorted map, the tag lands among the other members.
        let sorted = serde_json::to_value(&view).unwrap().to_string();
        assert!(!sorted.starts_with(r#"{"view""#));
        assert_eq!(serde_json::from_str::<View>(&sorted).unwrap(), view);
        for bad in [
            r#"{"view":"ship","id":"t1"}"#.to_owned(),
            r#"{"id":"t1"}"#.to_owned(),
            String::from_utf8(stored.clone())
                .unwrap()
                .replace(r#""id":"#, r#""idx":"#),
            "[]".to_owned(),
        ] {
            assert!(serde_json::from_str::<View>(&bad).is_err(), "{bad}");
        }
    }
}

/// A policy requirement met for a licence: what policies read to stop holding an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequirementMet {
    pub policy_id: String,
    pub requirement: PolicyRequirement,
    pub rule: String,
    pub by: String,
    pub index: u64,
}

/// A broker's registration with a State (ATT art. 10), keyed
/// `broker:<registering State>:<registration number>`: what the host tells policies of
/// the brokers an event names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BrokerView {
    pub registration_number: String,
    pub registering_state: CountryCode,
    pub broker_name: String,
    /// The broker's authority id.
    pub authority: String,
    pub valid_from: Date,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    pub revoked: bool,
    pub first_index: u64,
    pub last_index: u64,
}

impl BrokerView {
    /// The projection key of a registration.
    pub fn key(registering_state: &CountryCode, registration_number: &str) -> String {
        format!("broker:{registering_state}:{registration_number}")
    }
}
