//! The read endpoints over the projections (DESIGN.md "API shape"): weapons (one, search,
//! history with inclusion proofs), end-user certificates (one, verify), licences,
//! consignments, trace requests, authorities and policies.
//!
//! Every one needs a bearer token (`auth`). A resource that exists but does not concern
//! the caller's State answers exactly as one that does not exist (404 `not_found`), so
//! that a refusal never tells whether it is there.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::Ledger;
use ledger::domain::views::{EucView, TraceStatus, View, WeaponStatus};
use ledger::search::{SerialMatch, WeaponQuery};
use ledger::store::LogReader;
use ledger::values::{CountryCode, Date};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, Role, Tokens};
use crate::problem::{Problem, internal};

/// What the read endpoints need besides the ledger.
#[derive(Debug, Default)]
pub struct ReadSettings {
    /// Days a requested State gives itself to answer a trace (national policy; the ITI
    /// sets no number), by ISO 3166-1 code.
    pub trace_deadline_days: HashMap<String, u32>,
}

/// The most trace requests one page lists.
pub const TRACE_PAGE_MAX: usize = 500;
/// The trace requests a page lists when the caller does not say.
pub const TRACE_PAGE_DEFAULT: usize = 100;

fn not_found(what: &str) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", format!("no {what}"))
}

fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::BAD_REQUEST, code, detail)
}

fn today() -> Date {
    let now = time::OffsetDateTime::now_utc().date();
    Date::from_time_date(now).unwrap_or_else(|_| {
        Date::from_calendar(2000, 1, 1).unwrap_or_else(|_| unreachable!("a valid date"))
    })
}

/// Authenticates the caller; the public role reads nothing here (403).
fn reader_for(
    request: &HttpRequest,
    ledger: &Ledger,
    tokens: &Tokens,
) -> Result<(Principal, LogReader), Problem> {
    let principal = tokens.principal(request, &ledger.registry())?;
    if principal.role == Role::Public {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the public role reads checkpoints, the verifier key and proofs only",
        ));
    }
    Ok((principal, ledger.reader().map_err(internal)?))
}

/// The view of `stream` if the caller may see it; 404 otherwise, whether or not it exists.
fn visible_view(
    reader: &LogReader,
    principal: &Principal,
    stream: &str,
    what: &str,
) -> Result<Arc<View>, Problem> {
    match reader.view(stream).map_err(internal)? {
        Some(view) if principal.may_read(&view) => Ok(view),
        _ => Err(not_found(what)),
    }
}

fn stream_name(kind: &str, id: &str) -> Result<String, Problem> {
    let stream = format!("{kind}:{id}");
    ledger::event::StreamName::parse(&stream)
        .map(|_| stream)
        .map_err(|_| bad_request("invalid_id", format!("{id:?} is not a valid {kind} id")))
}

async fn get_view(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
    kind: &'static str,
) -> Result<HttpResponse, Problem> {
    let (principal, reader) = reader_for(&request, &ledger, &tokens)?;
    let stream = stream_name(kind, &path)?;
    // Served as stored: the stored JSON is the view's serialization, so decoding it (for
    // the access check) is all a read costs.
    match reader.view_and_json(&stream).map_err(internal)? {
        Some((view, json)) if principal.may_read(&view) => Ok(HttpResponse::Ok()
            .content_type(actix_web::http::header::ContentType::json())
            .body(json)),
        _ => Err(not_found(kind)),
    }
}

#[utoipa::path(get, path = "/v1/weapons/{id}", tag = "reads",
    params(("id" = String, Path, description = "The weapon's id")),
    responses(
        (status = 200, description = "The weapon's projection, as the log's events made it: the `weapon` variant (`\"view\": \"weapon\"`)", body = ledger::domain::views::View),
        (status = 400, description = "a bad query or id (`invalid_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn weapon(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    get_view(request, ledger, tokens, path, "weapon").await
}

#[utoipa::path(get, path = "/v1/licences/{id}", tag = "reads",
    params(("id" = String, Path, description = "The licence's id")),
    responses(
        (status = 200, description = "The licence's projection, as the log's events made it: the `licence` variant (`\"view\": \"licence\"`)", body = ledger::domain::views::View),
        (status = 400, description = "a bad query or id (`invalid_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn licence(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    get_view(request, ledger, tokens, path, "licence").await
}

#[utoipa::path(get, path = "/v1/consignments/{id}", tag = "reads",
    params(("id" = String, Path, description = "The consignment's id")),
    responses(
        (status = 200, description = "The consignment's projection, as the log's events made it: the `consignment` variant (`\"view\": \"consignment\"`)", body = ledger::domain::views::View),
        (status = 400, description = "a bad query or id (`invalid_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn consignment(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    get_view(request, ledger, tokens, path, "consignment").await
}

#[utoipa::path(get, path = "/v1/eucs/{id}", tag = "reads",
    params(("id" = String, Path, description = "The end-user certificate's id")),
    responses(
        (status = 200, description = "The end-user certificate's projection, as the log's events made it: the `euc` variant (`\"view\": \"euc\"`)", body = ledger::domain::views::View),
        (status = 400, description = "a bad query or id (`invalid_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn euc(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    get_view(request, ledger, tokens, path, "euc").await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    serial: String,
    #[serde(default, rename = "match")]
    matching: Option<String>,
    manufacturer: Option<String>,
    country: Option<String>,
    model: Option<String>,
    calibre: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SearchPage {
    /// Weapon projections (`"view": "weapon"`).
    weapons: Vec<View>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// `GET /v1/weapons?serial=...`: serial search; an authority sees the weapons that concern
/// its State (a page may then hold fewer than `limit`; follow `next_cursor`).
#[utoipa::path(get, path = "/v1/weapons", tag = "reads",
    params(SearchQuery),
    responses(
        (status = 200, description = "A page of weapons whose serial matches (at most `limit`, 1 to 500, default 50); `next_cursor` for the next page", body = SearchPage),
        (status = 400, description = "a bad query or id (`invalid_query`, `serial_empty`, `serial_too_short`, `invalid_cursor`, `limit_out_of_range`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn search_weapons(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, Problem> {
    let (principal, reader) = reader_for(&request, &ledger, &tokens)?;
    let query = query.into_inner();
    let matching = match query.matching.as_deref().unwrap_or("exact") {
        "exact" => SerialMatch::Exact,
        "prefix" => SerialMatch::Prefix,
        "suffix" => SerialMatch::Suffix,
        "contains" => SerialMatch::Contains,
        other => {
            return Err(bad_request(
                "invalid_query",
                format!("match must be exact, prefix, suffix or contains, not {other:?}"),
            ));
        }
    };
    let country = query
        .country
        .as_deref()
        .map(CountryCode::parse)
        .transpose()
        .map_err(|e| bad_request("invalid_query", format!("country: {e}")))?;
    let status = query
        .status
        .as_deref()
        .map(|s| serde_json::from_value::<WeaponStatus>(serde_json::Value::String(s.into())))
        .transpose()
        .map_err(|_| bad_request("invalid_query", "status is not a weapon status"))?;
    let search = WeaponQuery {
        serial: query.serial,
        matching,
        manufacturer: query.manufacturer,
        country,
        model: query.model,
        calibre: query.calibre,
        status,
        cursor: query.cursor,
        limit: query.limit.unwrap_or(ledger::search::PAGE_LIMIT_DEFAULT),
    };
    let page = reader.search_weapons(&search).map_err(|e| match e {
        ledger::search::SearchError::Store(s) => internal(s),
        other => bad_request(other.code(), other.to_string()),
    })?;
    let weapons = page
        .weapons
        .into_iter()
        .map(|w| View::Weapon(Box::new(w)))
        .filter(|v| principal.may_read(v))
        .collect();
    Ok(HttpResponse::Ok().json(SearchPage {
        weapons,
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct HistoryItem {
    index: u64,
    /// The stored entry, parsed (its exact bytes are `GET /v1/log/entries?from=index&limit=1`).
    entry: serde_json::Value,
    leaf_hash: String,
    /// Inclusion proof against the checkpoint below; absent for an entry newer than it.
    #[serde(skip_serializing_if = "Option::is_none")]
    inclusion_proof: Option<Vec<String>>,
    corrected_by: Vec<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct History {
    stream: String,
    /// The signed checkpoint every proof is against (C2SP signed note).
    checkpoint: String,
    tree_size: u64,
    entries: Vec<HistoryItem>,
}

/// `GET /v1/{weapons,licences,eucs,consignments}/{id}/history`: every entry of the
/// stream, corrections beside what they correct, each with an inclusion proof against one
/// checkpoint. What `armsledger audit` checks.
#[utoipa::path(get, path = "/v1/{collection}/{id}/history", tag = "reads",
    params(
        ("collection" = String, Path, description = "`weapons`, `licences`, `eucs` or `consignments`"),
        ("id" = String, Path, description = "The id within the collection"),
    ),
    responses(
        (status = 200, description = "Every entry of the stream, corrections beside what they correct, each with its inclusion proof against one checkpoint", body = History),
        (status = 400, description = "a bad query or id (`invalid_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "`no_checkpoint` yet", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn history(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (collection, id) = path.into_inner();
    let kind = match collection.as_str() {
        "weapons" => "weapon",
        "licences" => "licence",
        "eucs" => "euc",
        "consignments" => "consignment",
        _ => return Err(not_found("such endpoint")),
    };
    let (principal, reader) = reader_for(&request, &ledger, &tokens)?;
    let stream = stream_name(kind, &id)?;
    visible_view(&reader, &principal, &stream, kind)?;
    let (tree_size, checkpoint) = crate::problem::latest_checkpoint(&reader)?;
    let mut entries = Vec::new();
    for item in reader.stream_history(&stream).map_err(internal)? {
        let inclusion_proof = if item.index < tree_size {
            let proof = reader
                .inclusion_proof(item.index, tree_size)
                .map_err(|e| internal(e.to_string()))?;
            Some(proof.iter().map(|h| STANDARD.encode(h)).collect())
        } else {
            None
        };
        entries.push(HistoryItem {
            index: item.index,
            entry: serde_json::from_slice(&item.bytes).map_err(internal)?,
            leaf_hash: STANDARD.encode(ledger::merkle::leaf_hash(&item.bytes)),
            inclusion_proof,
            corrected_by: item.corrected_by,
        });
    }
    Ok(HttpResponse::Ok().json(History {
        stream,
        checkpoint,
        tree_size,
        entries,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyQuery {
    /// The date to judge validity on (default: today, UTC).
    on: Option<String>,
}

/// The answer a licensing authority needs in seconds: is this certificate genuine, alive,
/// in date and not used up?
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct EucVerification {
    certificate_number: String,
    /// `valid` when every check below passes, else `invalid` with the failed checks.
    verdict: &'static str,
    failed_checks: Vec<&'static str>,
    /// Issued by a registered authority of the issuing State, signed with a key that was
    /// registered and unrevoked at the entry that recorded it.
    authentic: bool,
    issued_by: String,
    signed_with_key: String,
    signatory: String,
    /// The log position where the signing key was later revoked, if it was (the
    /// certificate stays authentic: the key was valid when it signed).
    key_revoked_at: Option<u64>,
    revoked: bool,
    judged_on: String,
    within_validity: bool,
    date_of_issue: String,
    valid_until: String,
    quantity_certified: u64,
    quantity_remaining: u64,
    uses: usize,
    delivery_verified: bool,
    verification_failures: usize,
    recorded_at_index: u64,
}

fn verify_certificate(
    euc: &EucView,
    registry: &ledger::registry::Registry,
    on: Date,
) -> EucVerification {
    let key = ledger::event::AuthorityId::parse(&euc.issued_by)
        .ok()
        .and_then(|id| registry.get(&id))
        .filter(|authority| authority.jurisdiction == euc.issuing_state.as_str())
        .and_then(|authority| {
            let key_id = ledger::event::KeyId::parse(&euc.signed_with_key).ok()?;
            authority.keys.get(&key_id).cloned()
        });
    let authentic = key.as_ref().is_some_and(|k| k.valid_at(euc.first_index));
    let revoked = euc.status == ledger::domain::views::EucStatus::Revoked;
    let within_validity = euc.date_of_issue <= on && on <= euc.valid_until;
    let mut failed_checks = Vec::new();
    if !authentic {
        failed_checks.push("not_authentic");
    }
    if revoked {
        failed_checks.push("revoked");
    }
    if !within_validity {
        failed_checks.push("outside_validity");
    }
    if euc.quantity_remaining() == 0 {
        failed_checks.push("used_up");
    }
    EucVerification {
        certificate_number: euc.number.clone(),
        verdict: if failed_checks.is_empty() {
            "valid"
        } else {
            "invalid"
        },
        failed_checks,
        authentic,
        issued_by: euc.issued_by.clone(),
        signed_with_key: euc.signed_with_key.clone(),
        signatory: euc.signatory.clone(),
        key_revoked_at: key.and_then(|k| k.revoked.map(|r| r.index)),
        revoked,
        judged_on: on.to_string(),
        within_validity,
        date_of_issue: euc.date_of_issue.to_string(),
        valid_until: euc.valid_until.to_string(),
        quantity_certified: euc.quantity_certified(),
        quantity_remaining: euc.quantity_remaining(),
        uses: euc.uses.len(),
        delivery_verified: !euc.deliveries_verified.is_empty(),
        verification_failures: euc.failed_verifications.len(),
        recorded_at_index: euc.first_index,
    }
}

/// `POST /v1/eucs/{id}/verify?on=YYYY-MM-DD`.
#[utoipa::path(post, path = "/v1/eucs/{id}/verify", tag = "reads",
    params(("id" = String, Path, description = "The certificate's number"), VerifyQuery),
    responses(
        (status = 200, description = "Authentic signatory, registered and unrevoked at signing, not revoked, within validity, remaining quantity, uses, delivery verified", body = EucVerification),
        (status = 400, description = "a bad query or id (`invalid_id`, `invalid_query`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn verify_euc(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
    query: web::Query<VerifyQuery>,
) -> Result<HttpResponse, Problem> {
    let (principal, reader) = reader_for(&request, &ledger, &tokens)?;
    let on = match &query.on {
        Some(day) => {
            Date::parse(day).map_err(|e| bad_request("invalid_query", format!("on: {e}")))?
        }
        None => today(),
    };
    let stream = stream_name("euc", &path)?;
    let view = visible_view(&reader, &principal, &stream, "end-user certificate")?;
    let View::Euc(euc) = &*view else {
        return Err(not_found("end-user certificate"));
    };
    Ok(HttpResponse::Ok().json(verify_certificate(euc, &ledger.registry(), on)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct TraceListQuery {
    /// Requests that concern this State (requesting, requested or forwarded to).
    state: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TraceItem {
    /// The projection's kind, as in every view: always `trace`.
    #[schema(value_type = String, pattern = "^trace$")]
    view: &'static str,
    /// The trace request's projection (its fields are inlined).
    #[serde(flatten)]
    trace: Box<ledger::domain::views::TraceView>,
    age_days: i64,
    overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_on: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct TracePage {
    trace_requests: Vec<TraceItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn trace_item(
    trace: Box<ledger::domain::views::TraceView>,
    settings: &ReadSettings,
    today: Date,
) -> TraceItem {
    let days = settings
        .trace_deadline_days
        .get(trace.requested_state.as_str())
        .copied();
    TraceItem {
        view: "trace",
        age_days: trace.age_days(today),
        overdue: trace.overdue(today, days),
        due_on: trace.due_on(days).map(|d| d.to_string()),
        trace,
    }
}

/// `GET /v1/trace-requests?state=&status=`: requests the caller may see, with their age
/// and whether they are overdue.
#[utoipa::path(get, path = "/v1/trace-requests", tag = "reads",
    params(TraceListQuery),
    responses(
        (status = 200, description = "Trace requests the caller may see (requesting and requested States, auditors), with age and overdue flags; a page of at most `limit` (1 to 500, default 100)", body = TracePage),
        (status = 400, description = "a bad query or id (`invalid_query`, `invalid_cursor`, `limit_out_of_range`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn list_traces(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    settings: web::Data<ReadSettings>,
    query: web::Query<TraceListQuery>,
) -> Result<HttpResponse, Problem> {
    let (principal, reader) = reader_for(&request, &ledger, &tokens)?;
    let limit = query.limit.unwrap_or(TRACE_PAGE_DEFAULT);
    if limit == 0 || limit > TRACE_PAGE_MAX {
        return Err(bad_request(
            "limit_out_of_range",
            format!("limit must be from 1 to {TRACE_PAGE_MAX}"),
        ));
    }
    let status = query
        .status
        .as_deref()
        .map(|s| serde_json::from_value::<TraceStatus>(serde_json::Value::String(s.into())))
        .transpose()
        .map_err(|_| {
            bad_request(
                "invalid_query",
                "status must be open, acknowledged, responded or closed",
            )
        })?;
    let state = query.state.clone();
    // The cursor is the last trace request's id of the page before (the page resumes after
    // it): one not even shaped like a trace request's id was not handed out by the server.
    let after = query
        .cursor
        .as_deref()
        .map(|c| {
            stream_name("trace", c).map_err(|_| {
                bad_request(
                    "invalid_cursor",
                    format!("{c:?} is not shaped like a trace request id"),
                )
            })
        })
        .transpose()?;
    let day = today();
    let mut items = Vec::new();
    let mut next_cursor = None;
    let mut after_key = after.clone();
    // Pages of candidates until the page is full or the traces run out.
    'pages: loop {
        let batch = reader
            .views_with_prefix("trace:", after_key.as_deref(), 1000)
            .map_err(internal)?;
        let exhausted = batch.len() < 1000;
        for (stream, view) in batch {
            after_key = Some(stream.clone());
            let View::Trace(trace) = &view else { continue };
            let wanted = principal.may_read(&view)
                && status.is_none_or(|s| trace.status == s)
                && state
                    .as_deref()
                    .is_none_or(|s| ledger::domain::visibility::concerns_state(&view, s));
            if wanted {
                if items.len() == limit {
                    next_cursor = items.last().map(|i: &TraceItem| i.trace.id.clone());
                    break 'pages;
                }
                let View::Trace(trace) = view else { continue };
                items.push(trace_item(trace, &settings, day));
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(HttpResponse::Ok().json(TracePage {
        trace_requests: items,
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/trace-requests/{id}", tag = "reads",
    params(("id" = String, Path, description = "The trace request's id")),
    responses(
        (status = 200, description = "The trace request, with its age and overdue flag", body = TraceItem),
        (status = 400, description = "a bad query or id (`invalid_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn trace(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    settings: web::Data<ReadSettings>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let (principal, reader) = reader_for(&request, &ledger, &tokens)?;
    let stream = stream_name("trace", &path)?;
    let view = visible_view(&reader, &principal, &stream, "trace request")?;
    let View::Trace(trace) = &*view else {
        return Err(not_found("trace request"));
    };
    Ok(HttpResponse::Ok().json(trace_item(trace.clone(), &settings, today())))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct KeyItem {
    key_id: String,
    public_key: String,
    registered_at_index: u64,
    registered_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at_index: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AuthorityItem {
    id: String,
    name: String,
    kind: ledger::registry::AuthorityKind,
    jurisdiction: String,
    registered_at_index: u64,
    keys: Vec<KeyItem>,
}

/// `GET /v1/authorities`: every registered authority and its keys with the log positions
/// of their validity (public keys: what an auditor checks signatures with).
#[utoipa::path(get, path = "/v1/authorities", tag = "reads",
    responses(
        (status = 200, description = "Every registered authority with its keys and the log positions of their validity", body = AuthorityList),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn authorities(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
) -> Result<HttpResponse, Problem> {
    reader_for(&request, &ledger, &tokens)?;
    let registry = ledger.registry();
    let mut list: Vec<AuthorityItem> = registry
        .authorities()
        .map(|a| AuthorityItem {
            id: a.id.to_string(),
            name: a.name.clone(),
            kind: a.kind,
            jurisdiction: a.jurisdiction.clone(),
            registered_at_index: a.registered.index,
            keys: a
                .keys
                .iter()
                .map(|(id, k)| KeyItem {
                    key_id: id.to_string(),
                    public_key: k.public_key.to_base64(),
                    registered_at_index: k.registered.index,
                    registered_at: k.registered.recorded_at.to_string(),
                    revoked_at_index: k.revoked.as_ref().map(|r| r.index),
                })
                .collect(),
        })
        .collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(HttpResponse::Ok().json(AuthorityList { authorities: list }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AuthorityList {
    authorities: Vec<AuthorityItem>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PolicyList {
    /// Policy projections (`"view": "policy"`).
    policies: Vec<View>,
}

/// `GET /v1/policies`: installed policies with their status.
#[utoipa::path(get, path = "/v1/policies", tag = "policies",
    responses(
        (status = 200, description = "Installed policies with their status, module and data hashes, the event types they govern", body = PolicyList),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn policies(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
) -> Result<HttpResponse, Problem> {
    let (_, reader) = reader_for(&request, &ledger, &tokens)?;
    let list: Vec<View> = reader
        .views_with_prefix("policy:", None, 10_000)
        .map_err(internal)?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    Ok(HttpResponse::Ok().json(PolicyList { policies: list }))
}

/// The read routes. actix tries them in order, each pattern with a segment to capture
/// through a regular expression (~0.4 us a try), and no two of these match the same path:
/// so the reads a border post or a register makes all day come first, and the one
/// pattern with two captures last. That one names its collections, so that it leaves
/// every other path (`/v1/policies/blobs/history` is a blob) to the routes after it.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/eucs/{id}/verify", web::post().to(verify_euc))
        .route("/v1/weapons/{id}", web::get().to(weapon))
        .route("/v1/weapons", web::get().to(search_weapons))
        .route("/v1/eucs/{id}", web::get().to(euc))
        .route("/v1/licences/{id}", web::get().to(licence))
        .route("/v1/consignments/{id}", web::get().to(consignment))
        .route("/v1/trace-requests", web::get().to(list_traces))
        .route("/v1/trace-requests/{id}", web::get().to(trace))
        .route("/v1/authorities", web::get().to(authorities))
        .route("/v1/policies", web::get().to(policies))
        .route(
            "/v1/{collection:weapons|licences|eucs|consignments}/{id}/history",
            web::get().to(history),
        );
}
