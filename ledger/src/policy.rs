//! Policies as the log sees them (DESIGN.md "Policy plugins", DOMAIN.md invariant 8): which
//! active policies govern an event, the input the host resolves for them, how their
//! outcomes compose, and the decision recorded with the entry.
//!
//! Running a module is not the ledger's business: a [`PolicyRunner`] (the plugins crate's
//! wasmtime host) is handed in, and the ledger sees only its verdicts. The input holds what
//! the projections say and the event's own date, never a clock, so a replay of the same
//! module on the same input gives the same answer; the input is kept by its SHA-256 next to
//! the log, so an auditor can fetch it, check the hash the entry commits to and re-run it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::catalogue::{Broker, DomainEvent};
use crate::domain::views::{BrokerView, PolicyView, View};
use crate::domain::{Context, Views};
use crate::event::{SignedEvent, StreamKind};
use crate::json::Json;
use crate::rejection::Rejection;
use crate::store::StoreError;

/// The ABI a module implements (`policy_abi_version`); plugins/ABI.md fixes it.
pub const POLICY_ABI_VERSION: i32 = 1;

/// The code of the reason given when a policy could not run or answered nonsense.
pub const POLICY_ERROR: &str = "policy_error";

/// What a policy decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    Allow,
    Deny,
    RequireConsultation,
    RequireApproval,
    RequireNotification,
}

impl PolicyOutcome {
    /// How strongly the outcome stops an event: the composed outcome is the strongest.
    fn weight(self) -> u8 {
        match self {
            Self::Allow => 0,
            Self::RequireNotification => 1,
            Self::RequireConsultation => 2,
            Self::RequireApproval => 3,
            Self::Deny => 4,
        }
    }

    /// The rejection code of an event this outcome stops.
    pub fn rejection_code(self) -> &'static str {
        match self {
            Self::Allow => "policy_allowed",
            Self::Deny => "policy_denied",
            Self::RequireConsultation => "policy_consultation_required",
            Self::RequireApproval => "policy_approval_required",
            Self::RequireNotification => "policy_notification_required",
        }
    }
}

/// One reason a policy gives: a stable code, the rule it comes from, words for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReason {
    pub code: String,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub message: String,
}

/// What one run of a module returned, or the deny that stands for a run that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVerdict {
    pub outcome: PolicyOutcome,
    pub reasons: Vec<PolicyReason>,
    pub conditions: Vec<Value>,
    /// Fuel the evaluation consumed: deterministic, so a replay must use the same.
    pub fuel_used: u64,
}

impl PolicyVerdict {
    /// A deny for a policy that could not give an answer: `what` says which failure
    /// (`out_of_fuel`, `memory`, `trap`, `bad_output`, ...).
    pub fn error(what: &str, message: impl Into<String>, fuel_used: u64) -> Self {
        Self {
            outcome: PolicyOutcome::Deny,
            reasons: vec![PolicyReason {
                code: POLICY_ERROR.to_owned(),
                rule: what.to_owned(),
                message: message.into(),
            }],
            conditions: Vec::new(),
            fuel_used,
        }
    }
}

/// What a module says of itself (`policy_metadata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyMetadata {
    pub name: String,
    pub version: String,
    pub jurisdiction: String,
    pub governs: Vec<String>,
}

/// A module to run: its hash, and how to get its bytes if the runner has not seen it.
pub struct ModuleRef<'a> {
    pub sha256: &'a str,
    pub load: &'a dyn Fn() -> Result<Vec<u8>, String>,
}

impl std::fmt::Debug for ModuleRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleRef")
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// Runs policy modules. Never fails: whatever goes wrong is a deny with `policy_error`.
pub trait PolicyRunner: Send + Sync + std::fmt::Debug {
    fn run(&self, module: &ModuleRef<'_>, input: &[u8]) -> PolicyVerdict;
    /// Checks a module against the ABI before it may be installed; the message says what
    /// is wrong with it.
    fn inspect(&self, module_bytes: &[u8]) -> Result<PolicyMetadata, String>;
}

/// One policy's decision, as recorded in the entry's `decisions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDecision {
    pub policy: String,
    pub version: u32,
    /// The State whose policy it is.
    pub state: String,
    /// SHA-256 of the module.
    pub sha256: String,
    pub input_sha256: String,
    pub outcome: PolicyOutcome,
    pub reasons: Vec<PolicyReason>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Value>,
    pub fuel_used: u64,
}

impl PolicyDecision {
    /// What `policy` decided on the input with this hash.
    pub fn of(policy: &PolicyView, input_sha256: String, verdict: PolicyVerdict) -> Self {
        Self {
            policy: policy.id.clone(),
            version: policy.version,
            state: policy.jurisdiction.to_string(),
            sha256: policy.module_sha256.clone(),
            input_sha256,
            outcome: verdict.outcome,
            reasons: verdict.reasons,
            conditions: verdict.conditions,
            fuel_used: verdict.fuel_used,
        }
    }

    /// The decision as the entry stores it.
    pub fn to_json(&self) -> Json {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        Json::parse(&bytes, INPUT_DEPTH_MAX).unwrap_or(Json::Null)
    }

    /// Reads the decisions of an entry back.
    pub fn from_entry(decisions: &[Json]) -> Result<Vec<PolicyDecision>, String> {
        decisions
            .iter()
            .map(|d| {
                serde_json::from_slice(&d.to_canonical_vec())
                    .map_err(|e| format!("a recorded decision does not parse: {e}"))
            })
            .collect()
    }
}

/// The States an event involves, as its policies see them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InvolvedStates {
    /// The State of the authority that signed the event.
    pub acting: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub importer: Option<String>,
    pub transit: Vec<String>,
}

impl InvolvedStates {
    pub fn contains(&self, state: &str) -> bool {
        self.acting == state
            || self.exporter.as_deref() == Some(state)
            || self.importer.as_deref() == Some(state)
            || self.transit.iter().any(|t| t == state)
    }
}

/// Nesting the input may reach: the event (itself nested) inside the input object.
const INPUT_DEPTH_MAX: usize = 64;

/// Everything the host resolved for an event, shared by the policies that govern it.
#[derive(Debug)]
pub struct Resolved {
    pub states: InvolvedStates,
    context: serde_json::Map<String, Value>,
}

/// Reads, from the projections, the facts policies judge an event by: the licence, the
/// certificate and the consignment it concerns, the weapons it moves, the brokers it names
/// and their registrations, and the States involved.
pub fn resolve(
    event: &DomainEvent,
    context: &Context<'_>,
    views: &mut dyn Views,
) -> Result<Resolved, StoreError> {
    let stream = context.stream.as_str();
    let mut facts = serde_json::Map::new();
    let mut states = InvolvedStates {
        acting: context.jurisdiction.to_owned(),
        ..InvolvedStates::default()
    };
    facts.insert(
        "actor".into(),
        json!({"id": context.actor, "kind": context.actor_kind, "jurisdiction": context.jurisdiction}),
    );

    let mut licence_stream = None;
    let mut euc_stream = None;
    let mut weapons = Vec::new();
    let mut brokers: &[Broker] = &[];
    match context.stream.kind() {
        StreamKind::Licence => licence_stream = Some(stream.to_owned()),
        StreamKind::Euc => euc_stream = Some(stream.to_owned()),
        StreamKind::Weapon => weapons.push(stream.to_owned()),
        StreamKind::Consignment => {
            if let Some(View::Consignment(c)) = views.get(stream)? {
                licence_stream = Some(format!("licence:{}", c.export_licence));
                euc_stream = c.euc.as_ref().map(|e| format!("euc:{e}"));
                weapons.extend(c.weapons.iter().map(|w| format!("weapon:{w}")));
                states.exporter = Some(c.exporting_country.to_string());
                states.importer = Some(c.destination_country.to_string());
                states.transit = c.transit_countries.iter().map(|t| t.to_string()).collect();
                facts.insert("consignment".into(), to_value(&c));
            }
        }
        _ => {}
    }
    match event {
        DomainEvent::ExportLicenceApplied(applied) => {
            states.exporter = Some(applied.exporting_country.to_string());
            states.importer = Some(applied.importing_country.to_string());
            states.transit = applied
                .transit_countries
                .iter()
                .map(|t| t.to_string())
                .collect();
            euc_stream = applied.euc.as_ref().map(|e| format!("euc:{e}"));
            brokers = &applied.brokers;
        }
        DomainEvent::ConsignmentDispatched(dispatched) => {
            licence_stream = Some(format!("licence:{}", dispatched.export_licence));
            euc_stream = dispatched.euc.as_ref().map(|e| format!("euc:{e}"));
            weapons.extend(dispatched.weapons.iter().map(|w| format!("weapon:{w}")));
            states.exporter = Some(context.jurisdiction.to_owned());
            states.importer = Some(dispatched.destination_country.to_string());
            states.transit = dispatched
                .route
                .transit_countries
                .iter()
                .map(|t| t.to_string())
                .collect();
        }
        DomainEvent::EndUserCertificateIssued(issued) => {
            states.exporter = Some(issued.exporter.country.to_string());
            states.importer = Some(issued.final_destination_country.to_string());
            states.transit = issued
                .transit_states
                .iter()
                .map(|t| t.to_string())
                .collect();
            brokers = &issued.brokers;
        }
        _ => {}
    }

    if let Some(licence_stream) = &licence_stream
        && let Some(View::Licence(licence)) = views.get(licence_stream)?
    {
        if states.exporter.is_none() {
            states.exporter = licence.exporting_country.map(|c| c.to_string());
            states.importer = licence.importing_country.map(|c| c.to_string());
            states.transit = licence
                .transit_countries
                .iter()
                .map(|t| t.to_string())
                .collect();
        }
        if euc_stream.is_none() {
            euc_stream = licence.euc.as_ref().map(|e| format!("euc:{e}"));
        }
        facts.insert("licence".into(), to_value(&licence));
    }
    if let Some(euc_stream) = &euc_stream
        && let Some(View::Euc(euc)) = views.get(euc_stream)?
    {
        if states.importer.is_none() {
            states.exporter = Some(euc.exporter.country.to_string());
            states.importer = Some(euc.final_destination_country.to_string());
        }
        facts.insert("euc".into(), to_value(&euc));
    }
    let mut weapon_views = Vec::with_capacity(weapons.len());
    // The certificates whose non-re-export clause binds a weapon moved, with the consents
    // recorded on them (DOMAIN.md policy rule 5).
    let mut restricting = serde_json::Map::new();
    for weapon in &weapons {
        if let Some(View::Weapon(w)) = views.get(weapon)? {
            if let Some(restriction) = &w.reexport_restriction
                && !restricting.contains_key(&restriction.euc)
                && let Some(View::Euc(euc)) = views.get(&format!("euc:{}", restriction.euc))?
            {
                restricting.insert(
                    restriction.euc.clone(),
                    json!({
                        "issuing_state": euc.issuing_state,
                        "exporting_state": restriction.exporting_state,
                        "non_reexport_clause": euc.non_reexport_clause,
                        "reexport_consents": euc.reexport_consents,
                    }),
                );
            }
            weapon_views.push(to_value(&w));
        }
    }
    if !weapon_views.is_empty() {
        facts.insert("weapons".into(), Value::Array(weapon_views));
    }
    if !restricting.is_empty() {
        facts.insert("restricting_eucs".into(), Value::Object(restricting));
    }
    if !brokers.is_empty() {
        let mut named = Vec::with_capacity(brokers.len());
        for broker in brokers {
            let key = BrokerView::key(&broker.country, broker.licence_number.as_str());
            let registration = match views.get(&key)? {
                Some(View::Broker(b)) => to_value(&b),
                _ => Value::Null,
            };
            named.push(json!({
                "name": broker.name.as_str(),
                "country": broker.country.as_str(),
                "licence_number": broker.licence_number.as_str(),
                "registration": registration,
            }));
        }
        facts.insert("brokers".into(), Value::Array(named));
    }
    facts.insert("states".into(), to_value(&states));
    Ok(Resolved {
        states,
        context: facts,
    })
}

fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The input of one policy for one event (DESIGN.md ABI v1), as canonical JSON bytes:
/// `{abi, now, event, context, data}`. `now` is the event's `occurred_at`.
pub fn input_bytes(
    event: &SignedEvent,
    resolved: &Resolved,
    policy: &PolicyView,
    data: Option<&Value>,
) -> Vec<u8> {
    let mut context = resolved.context.clone();
    context.insert(
        "policy".into(),
        json!({"id": policy.id, "version": policy.version, "jurisdiction": policy.jurisdiction}),
    );
    let input = json!({
        "abi": POLICY_ABI_VERSION,
        "now": event.envelope().occurred_at.as_str(),
        "event": Value::Null,
        "context": Value::Object(context),
        "data": data.cloned().unwrap_or_else(|| json!({})),
    });
    let Ok(bytes) = serde_json::to_vec(&input) else {
        return Vec::new();
    };
    let Ok(Json::Object(mut object)) = Json::parse(&bytes, INPUT_DEPTH_MAX) else {
        return Vec::new();
    };
    object.insert("event", Json::Object(event.to_object()));
    Json::Object(object).to_canonical_vec()
}

/// The policies of `active` that govern `event_type` for one of the involved States, in a
/// stable order (State, then policy id), so that decisions are recorded the same way on
/// every run.
pub fn governing<'p>(
    active: &'p [PolicyView],
    event_type: &str,
    states: &InvolvedStates,
) -> Vec<&'p PolicyView> {
    let mut chosen: Vec<&PolicyView> = active
        .iter()
        .filter(|p| p.governs.iter().any(|t| t == event_type))
        .filter(|p| states.contains(p.jurisdiction.as_str()))
        .collect();
    chosen.sort_by(|a, b| (a.jurisdiction.as_str(), &a.id).cmp(&(b.jurisdiction.as_str(), &b.id)));
    chosen
}

/// Composes decisions: every policy must allow; the strongest outcome wins (deny over any
/// requirement, over allow). Returns the rejection for an event that may not pass.
pub fn compose(decisions: &[PolicyDecision]) -> Result<(), Rejection> {
    let strongest = decisions
        .iter()
        .map(|d| d.outcome)
        .max_by_key(|o| o.weight())
        .unwrap_or(PolicyOutcome::Allow);
    if strongest == PolicyOutcome::Allow {
        Ok(())
    } else {
        Err(Rejection::PolicyRefused {
            outcome: strongest,
            decisions: decisions.to_vec(),
        })
    }
}

/// Where a policy's module and data come from: the blob store, by hash.
pub(crate) type BlobSource<'a> = &'a dyn Fn(&str) -> Result<Option<Vec<u8>>, StoreError>;

/// The policy's data file, parsed; `Err(sha256)` when it is not stored (or not JSON).
pub(crate) fn policy_data(
    policy: &PolicyView,
    blobs: BlobSource<'_>,
) -> Result<Option<Value>, StoreError> {
    let Some(sha256) = &policy.data_sha256 else {
        return Ok(Some(json!({})));
    };
    Ok(blobs(sha256)?.and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok()))
}

/// Builds `policy`'s input for an event and runs it: the one path of the writer and of
/// dry runs. Returns the decision and the input.
pub(crate) fn run_policy(
    runner: Option<&dyn PolicyRunner>,
    policy: &PolicyView,
    event: &SignedEvent,
    resolved: &Resolved,
    blobs: BlobSource<'_>,
) -> Result<(PolicyDecision, Vec<u8>), StoreError> {
    let data = policy_data(policy, blobs)?;
    let input = input_bytes(event, resolved, policy, data.as_ref());
    let module_sha256 = policy.module_sha256.as_str();
    let verdict = match (runner, &data) {
        (_, None) => PolicyVerdict::error(
            "data_missing",
            format!(
                "the policy's data file {} is not stored",
                policy.data_sha256.as_deref().unwrap_or_default()
            ),
            0,
        ),
        (None, _) => {
            PolicyVerdict::error("no_host", "no policy host runs in this ledger process", 0)
        }
        (Some(runner), Some(_)) => {
            let load = || match blobs(module_sha256) {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(format!("module {module_sha256} is not stored")),
                Err(e) => Err(e.to_string()),
            };
            runner.run(
                &ModuleRef {
                    sha256: module_sha256,
                    load: &load,
                },
                &input,
            )
        }
    };
    Ok((
        PolicyDecision::of(policy, sha256_hex(&input), verdict),
        input,
    ))
}

/// SHA-256 of bytes, in lower-case hex: how modules, data and inputs are named.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The committed projections, read-only, as a dry run sees them. Only what `resolve`
/// asks (views by stream) is answered.
struct SnapshotViews<'r>(&'r crate::store::LogReader);

impl Views for SnapshotViews<'_> {
    fn get(&mut self, stream: &str) -> Result<Option<View>, StoreError> {
        Ok(self.0.view(stream)?.map(std::sync::Arc::unwrap_or_clone))
    }
    fn put(&mut self, _stream: String, _view: View) {}
    fn serial_holders(
        &mut self,
        _serial: &str,
    ) -> Result<Vec<crate::catalogue::WeaponId>, StoreError> {
        Ok(Vec::new())
    }
    fn entry_stream(&mut self, _index: u64) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}

/// What a dry run decided, and the input it decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRun {
    pub decision: PolicyDecision,
    pub input: Vec<u8>,
}

/// Why a dry run could not run.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `policy` (installed, or a candidate described the same way) on `event` against
/// the committed projections, as the writer would at the next index; appends nothing.
pub(crate) fn dry_run(
    reader: &crate::store::LogReader,
    registry: &crate::registry::Registry,
    runner: Option<&dyn PolicyRunner>,
    event: &SignedEvent,
    policy: &PolicyView,
) -> Result<DryRun, DryRunError> {
    let env = event.envelope();
    let domain = DomainEvent::from_payload(env.event_type.as_str(), env.type_version, &env.payload)
        .map_err(Rejection::Catalogue)?;
    let actor = registry
        .get(&env.actor)
        .ok_or_else(|| Rejection::UnknownActor(env.actor.to_string()))?;
    let context = Context::of(env, actor, reader.tree_size()?);
    let resolved = resolve(&domain, &context, &mut SnapshotViews(reader))?;
    let blobs = |sha256: &str| reader.policy_blob(sha256);
    let (decision, input) = run_policy(runner, policy, event, &resolved, &blobs)?;
    Ok(DryRun { decision, input })
}
