//! Errors as RFC 9457 problem+json with the ledger's stable `code`: the one place where
//! rejections become HTTP statuses.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use ledger::AppendError;
use ledger::rejection::Rejection;
use ledger::store::ProofRequestError;
use serde::Serialize;

/// An RFC 9457 problem with the ledger's stable code (boxed: it travels in every
/// handler's `Result`).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemBody>);

impl std::ops::Deref for Problem {
    type Target = ProblemBody;
    fn deref(&self) -> &ProblemBody {
        &self.0
    }
}

impl std::ops::DerefMut for Problem {
    fn deref_mut(&mut self) -> &mut ProblemBody {
        &mut self.0
    }
}

/// The members of a problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    pub(crate) code: &'static str,
    /// On `wrong_expected_version`: where the stream stands (None: it does not exist).
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<Option<u64>>,
    /// The position, from 0, of the event the problem is about among those the request
    /// sent (a single event's refusal by the ledger says 0); absent when the problem is
    /// with the request as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
    /// On a policy's refusal: what each policy that governs the event decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    decisions: Option<Vec<ledger::policy::PolicyDecision>>,
    /// Seconds to wait before retrying (`overloaded`).
    #[serde(skip)]
    retry_after_s: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(ProblemBody {
            kind: format!("urn:armsledger:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            current_version: None,
            position: None,
            decisions: None,
            retry_after_s: None,
        }))
    }

    /// The same problem, about the event at `position` of a batch.
    pub fn at(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }
}

/// The HTTP form of a rejected event: 409 for a version conflict (with the stream's
/// current version), 413 for a too large event, 403 when a policy refused it (with the
/// policies' decisions), 422 for every other rule.
pub(crate) fn rejection_problem(r: &Rejection) -> Problem {
    match r {
        Rejection::WrongExpectedVersion { current, .. } => {
            let mut p = Problem::new(StatusCode::CONFLICT, r.code(), r.to_string());
            p.current_version = Some(*current);
            p
        }
        Rejection::EventTooLarge { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, r.code(), r.to_string())
        }
        // DESIGN.md: 403 on a policy's refusal, with the decisions.
        Rejection::PolicyRefused { decisions, .. } => {
            let mut p = Problem::new(StatusCode::FORBIDDEN, r.code(), r.to_string());
            p.decisions = Some(decisions.clone());
            p
        }
        _ => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), r.to_string()),
    }
}

pub(crate) fn append_problem(e: AppendError) -> Problem {
    match e {
        AppendError::Rejected(r) => rejection_problem(&r.rejection).at(r.position),
        AppendError::Overloaded => {
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the write queue is full; retry later",
            );
            p.retry_after_s = Some(1);
            p
        }
        AppendError::Closed => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "closed",
            "the ledger is shutting down",
        ),
        other => internal(other),
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type("application/problem+json");
        if let Some(s) = self.retry_after_s {
            response.insert_header(("Retry-After", s.to_string()));
        }
        response.json(self)
    }
}

pub(crate) fn internal(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage_error",
        e.to_string(),
    )
}

pub(crate) fn proof_problem(e: ProofRequestError) -> Problem {
    match e {
        ProofRequestError::Store(s) => internal(s),
        other => Problem::new(StatusCode::BAD_REQUEST, other.code(), other.to_string()),
    }
}

/// The newest checkpoint (tree size, signed note), or 503 `no_checkpoint` before the first.
pub(crate) fn latest_checkpoint(
    reader: &ledger::store::LogReader,
) -> Result<(u64, String), Problem> {
    reader
        .latest_checkpoint()
        .map_err(internal)?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_checkpoint",
                "no checkpoint has been signed yet",
            )
        })
}

/// A request body of at most `max` bytes; over it, the problem `too_large` makes.
pub(crate) async fn read_body(
    body: actix_web::web::Payload,
    max: usize,
    too_large: impl FnOnce() -> Problem,
) -> Result<actix_web::web::Bytes, Problem> {
    match body.to_bytes_limited(max).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "body_unreadable",
            e.to_string(),
        )),
        Err(_) => Err(too_large()),
    }
}
