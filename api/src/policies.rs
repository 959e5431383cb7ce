//! Policy endpoints: upload a module or data file by hash, read one back, and dry-run an
//! installed or candidate policy on an event (DESIGN.md "Policy plugins").
//!
//! Installing, activating and retiring are ledger events like any other (POST
//! /v1/events); these endpoints carry what the events name by hash, and let a State see
//! what a policy would decide before it governs anything.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use ledger::Ledger;
use ledger::catalogue::Sha256Hex;
use ledger::domain::views::{PolicyStatus, PolicyView, View};
use ledger::event::SignedEvent;
use ledger::policy::{DryRunError, PolicyMetadata};
use ledger::values::CountryCode;
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, Role, Tokens};
use crate::problem::{Problem, internal, read_body, rejection_problem};

/// The largest module or data file the server takes, in bytes.
pub const POLICY_BLOB_BYTES_MAX: usize = 8 << 20;

/// Uploads and dry runs are for authorities and auditors.
fn authority_or_auditor(
    request: &HttpRequest,
    ledger: &Ledger,
    tokens: &Tokens,
) -> Result<Principal, Problem> {
    let principal = tokens.principal(request, &ledger.registry())?;
    if principal.role == Role::Public {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "policy modules, data and dry runs are for authorities and auditors",
        ));
    }
    Ok(principal)
}

#[derive(Serialize, utoipa::ToSchema)]
struct Uploaded {
    sha256: String,
    bytes: usize,
    kind: &'static str,
    /// For a module: what it says of itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<PolicyMetadata>,
}

fn invalid(code: &'static str, detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
}

/// `POST /v1/policies/blobs`: a module (checked against ABI v1) or a JSON data file.
#[utoipa::path(post, path = "/v1/policies/blobs", tag = "policies",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A WebAssembly module of policy ABI v1, or a JSON data file; at most 8 MiB"),
    responses(
        (status = 201, description = "Stored by its SHA-256 (idempotent); a module's metadata", body = Uploaded),
        (status = 400, description = "`body_unreadable`: the request body broke off or could not be read", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "`blob_too_large`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`policy_module_invalid` (with what breaks the ABI) or `policy_data_invalid`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn upload(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    authority_or_auditor(&request, &ledger, &tokens)?;
    let bytes = read_body(body, POLICY_BLOB_BYTES_MAX, || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "blob_too_large",
            format!("a policy module or data file is at most {POLICY_BLOB_BYTES_MAX} bytes"),
        )
    })
    .await?;
    let (kind, metadata) = if bytes.starts_with(b"\0asm") {
        let runner = ledger
            .policy_runner()
            .ok_or_else(|| internal("no policy host runs in this server"))?;
        let checked = web::block({
            let bytes = bytes.clone();
            move || runner.inspect(&bytes)
        })
        .await
        .map_err(internal)?;
        let metadata = checked.map_err(|reason| {
            invalid(
                "policy_module_invalid",
                format!("the module is not a policy of ABI v1: {reason}"),
            )
        })?;
        ("module", Some(metadata))
    } else {
        serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|e| {
            invalid(
                "policy_data_invalid",
                format!("neither a WebAssembly module nor a JSON data file: {e}"),
            )
        })?;
        ("data", None)
    };
    let sha256 = {
        let ledger = ledger.clone();
        let bytes = bytes.clone();
        web::block(move || ledger.put_policy_blob(&bytes))
            .await
            .map_err(internal)?
            .map_err(internal)?
    };
    Ok(HttpResponse::Created().json(Uploaded {
        sha256,
        bytes: bytes.len(),
        kind,
        metadata,
    }))
}

/// `GET /v1/policies/blobs/{sha256}`: a module, a data file or a decision's input, by
/// hash; an auditor checks the hash and re-runs the decision.
#[utoipa::path(get, path = "/v1/policies/blobs/{sha256}", tag = "policies",
    params(("sha256" = String, Path, description = "The blob's SHA-256, lower-case hex")),
    responses(
        (status = 200, description = "A module, data file or decision input: hash it to check it", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn blob(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    authority_or_auditor(&request, &ledger, &tokens)?;
    let sha256 = path.into_inner();
    let reader = ledger.reader().map_err(internal)?;
    match reader.policy_blob(&sha256).map_err(internal)? {
        Some(bytes) => Ok(HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(bytes)),
        None => Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no policy blob {sha256}"),
        )),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct DryRunBody {
    /// The policy's decision, as an entry would record it.
    #[schema(value_type = Object)]
    decision: ledger::policy::PolicyDecision,
    /// The input the policy was given, as JSON.
    input: serde_json::Value,
}

async fn dry_run(
    ledger: web::Data<Ledger>,
    policy: PolicyView,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let limits = ledger.config().event_limits;
    let bytes = read_body(body, limits.event_bytes_max, || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "event_too_large",
            format!("an event is at most {} bytes", limits.event_bytes_max),
        )
    })
    .await?;
    let event = SignedEvent::parse(&bytes, &limits).map_err(|r| rejection_problem(&r))?;
    let ran = web::block(move || ledger.dry_run_policy(&event, &policy))
        .await
        .map_err(internal)?;
    match ran {
        Ok(ran) => Ok(HttpResponse::Ok().json(DryRunBody {
            decision: ran.decision,
            input: serde_json::from_slice(&ran.input).unwrap_or_default(),
        })),
        Err(DryRunError::Rejected(r)) => Err(rejection_problem(&r)),
        Err(DryRunError::Store(e)) => Err(internal(e)),
    }
}

/// `POST /v1/policies/{id}/dry-run`: what an installed policy (active or not) would decide
/// on the event in the body, were it submitted now. Nothing is appended.
#[utoipa::path(post, path = "/v1/policies/{id}/dry-run", tag = "policies",
    params(("id" = String, Path, description = "The installed policy's id")),
    request_body(content = crate::openapi::SignedEventDoc, description = "The event to judge (not appended)"),
    responses(
        (status = 200, description = "What the policy would decide now, and the input it was given", body = DryRunBody),
        (status = 400, description = "`body_unreadable`: the request body broke off or could not be read", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "no such resource, or one the caller may not see (`not_found`): the answer does not reveal which", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "`event_too_large`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "the event cannot be judged (`invalid_payload`, `unknown_actor`, ...)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn dry_run_installed(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    path: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    authority_or_auditor(&request, &ledger, &tokens)?;
    let stream = format!("policy:{}", path.into_inner());
    let reader = ledger.reader().map_err(internal)?;
    let view = reader.view(&stream).map_err(internal)?;
    let Some(View::Policy(policy)) = view.as_deref() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {stream}"),
        ));
    };
    let policy = (**policy).clone();
    drop(reader);
    dry_run(ledger, policy, body).await
}

/// The candidate of `POST /v1/policies:dry-run`: an uploaded module (and data file).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct Candidate {
    module: String,
    data: Option<String>,
    /// The id and State the candidate would be installed under (its input names them).
    id: Option<String>,
    jurisdiction: Option<String>,
}

/// `POST /v1/policies:dry-run?module=<sha256>[&data=<sha256>]`: what a candidate policy
/// not installed yet would decide on the event in the body.
#[utoipa::path(post, path = "/v1/policies:dry-run", tag = "policies",
    params(Candidate),
    request_body(content = crate::openapi::SignedEventDoc, description = "The event to judge (not appended)"),
    responses(
        (status = 200, description = "What the uploaded candidate would decide, and the input it was given", body = DryRunBody),
        (status = 400, description = "`invalid_query`, or `body_unreadable`: the request body broke off or could not be read", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "the role may not read this (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "`event_too_large`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "the event cannot be judged (`invalid_payload`, `unknown_actor`, ...), or the candidate's module or data file is not uploaded (`policy_blob_missing`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn dry_run_candidate(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    query: web::Query<Candidate>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let principal = authority_or_auditor(&request, &ledger, &tokens)?;
    let candidate = query.into_inner();
    let jurisdiction = candidate
        .jurisdiction
        .unwrap_or_else(|| principal.jurisdiction.clone());
    let jurisdiction = CountryCode::parse(&jurisdiction).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("jurisdiction: {e}"),
        )
    })?;
    let hash = |name: &str, value: &str| {
        Sha256Hex::parse(value).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("{name}: {e}"),
            )
        })
    };
    hash("module", &candidate.module)?;
    if let Some(data) = &candidate.data {
        hash("data", data)?;
    }
    let policy = PolicyView {
        id: candidate.id.unwrap_or_else(|| "candidate".into()),
        status: PolicyStatus::Installed,
        name: "candidate".into(),
        jurisdiction,
        version: 0,
        module_sha256: candidate.module,
        data_sha256: candidate.data,
        governs: Vec::new(),
        first_index: 0,
        last_index: 0,
    };
    for (name, sha256) in [
        ("module", Some(&policy.module_sha256)),
        ("data", policy.data_sha256.as_ref()),
    ] {
        if let Some(sha256) = sha256
            && let Err(e) = Sha256Hex::parse(sha256)
        {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("{name}: {e}"),
            ));
        }
    }
    dry_run(ledger, policy, body).await
}

/// The policy routes (the list is `GET /v1/policies`, with the other reads).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/policies/blobs", web::post().to(upload))
        .route("/v1/policies/blobs/{sha256}", web::get().to(blob))
        .route("/v1/policies:dry-run", web::post().to(dry_run_candidate))
        .route(
            "/v1/policies/{id}/dry-run",
            web::post().to(dry_run_installed),
        );
}
