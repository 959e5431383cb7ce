//! The HTTP server: a thin personality over the ledger library.
//!
//! So far: event submission (`POST /v1/events`, authenticated by the event's own
//! signature), and the public transparency-log endpoints (DESIGN.md "API shape"): the
//! latest checkpoint as a C2SP signed note, the log's verifier key, entries by range as
//! exact bytes (JSON Lines: one stored entry per line, so each line is a leaf), and RFC
//! 9162 inclusion and consistency proofs. Errors are RFC 9457 problem+json with a stable
//! `code`; this module is the one place where rejections become HTTP statuses.

use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::event::SignedEvent;
use ledger::rejection::Rejection;
use ledger::store::ProofRequestError;
use ledger::{AppendError, Ledger};
use serde::{Deserialize, Serialize};

/// The most entries one `GET /v1/log/entries` returns.
pub const ENTRIES_PAGE_MAX: usize = 1000;

/// An RFC 9457 problem with the ledger's stable code.
#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    code: &'static str,
    /// On `wrong_expected_version`: where the stream stands (None: it does not exist).
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<Option<u64>>,
    /// Seconds to wait before retrying (`overloaded`).
    #[serde(skip)]
    retry_after_s: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:armsledger:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            current_version: None,
            retry_after_s: None,
        }
    }
}

/// The HTTP form of a rejected event: 409 for a version conflict (with the stream's
/// current version), 413 for a too large event, 422 for every other rule.
fn rejection_problem(r: &Rejection) -> Problem {
    match r {
        Rejection::WrongExpectedVersion { current, .. } => {
            let mut p = Problem::new(StatusCode::CONFLICT, r.code(), r.to_string());
            p.current_version = Some(*current);
            p
        }
        Rejection::EventTooLarge { .. } => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, r.code(), r.to_string())
        }
        _ => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, r.code(), r.to_string()),
    }
}

fn append_problem(e: AppendError) -> Problem {
    match e {
        AppendError::Rejected(r) => rejection_problem(&r.rejection),
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

fn internal(e: impl std::fmt::Display) -> Problem {
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "storage_error",
        e.to_string(),
    )
}

fn proof_problem(e: ProofRequestError) -> Problem {
    match e {
        ProofRequestError::Store(s) => internal(s),
        other => Problem::new(StatusCode::BAD_REQUEST, other.code(), other.to_string()),
    }
}

/// What a durable append returns.
#[derive(Debug, Serialize)]
struct ReceiptBody {
    index: u64,
    stream_version: u64,
    leaf_hash: String,
    recorded_at: String,
    duplicate: bool,
}

/// `POST /v1/events`: one signed event. 201 with its receipt once durable; 200 with the
/// original receipt when the same event was already appended (idempotent retry).
async fn submit_event(
    ledger: web::Data<Ledger>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let limits = ledger.config().event_limits;
    let bytes = match body.to_bytes_limited(limits.event_bytes_max).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                e.to_string(),
            ));
        }
        Err(_) => {
            let too_large = Rejection::EventTooLarge {
                bytes: limits.event_bytes_max + 1,
                max: limits.event_bytes_max,
            };
            return Err(rejection_problem(&too_large));
        }
    };
    let event = SignedEvent::parse(&bytes, &limits).map_err(|r| rejection_problem(&r))?;
    let pending = ledger.submit(vec![event]).map_err(append_problem)?;
    let receipt = pending
        .await
        .map_err(append_problem)?
        .pop()
        .ok_or_else(|| internal("the ledger returned no receipt"))?;
    let status = if receipt.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status).json(ReceiptBody {
        index: receipt.index,
        stream_version: receipt.stream_version,
        leaf_hash: STANDARD.encode(receipt.leaf_hash),
        recorded_at: receipt.recorded_at,
        duplicate: receipt.duplicate,
    }))
}

/// Hashes as JSON wants them (DESIGN.md: standard base64).
fn base64_hashes(hashes: &[ledger::merkle::Hash]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

async fn checkpoint(ledger: web::Data<Ledger>) -> Result<HttpResponse, Problem> {
    let reader = ledger.reader().map_err(internal)?;
    let (_, note) = reader
        .latest_checkpoint()
        .map_err(internal)?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no_checkpoint",
                "no checkpoint has been signed yet",
            )
        })?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note))
}

async fn verifier_key(ledger: web::Data<Ledger>) -> Result<HttpResponse, Problem> {
    let vkey = ledger.verifier().map_err(internal)?.to_vkey();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{vkey}\n")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    from: u64,
    limit: Option<usize>,
}

async fn entries(
    ledger: web::Data<Ledger>,
    query: web::Query<EntriesQuery>,
) -> Result<HttpResponse, Problem> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > ENTRIES_PAGE_MAX {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "limit_out_of_range",
            format!("limit must be from 1 to {ENTRIES_PAGE_MAX}"),
        ));
    }
    let rows = ledger
        .reader()
        .map_err(internal)?
        .entries_bytes(query.from, limit)
        .map_err(internal)?;
    let mut body = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum());
    for row in rows {
        body.extend_from_slice(&row);
        body.push(b'\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("application/jsonl")
        .body(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    tree_size: u64,
}

#[derive(Debug, Serialize)]
struct InclusionProof {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    proof: Vec<String>,
}

async fn inclusion(
    ledger: web::Data<Ledger>,
    query: web::Query<InclusionQuery>,
) -> Result<HttpResponse, Problem> {
    let reader = ledger.reader().map_err(internal)?;
    let proof = reader
        .inclusion_proof(query.index, query.tree_size)
        .map_err(proof_problem)?;
    let leaf = reader
        .leaf_hash(query.index)
        .map_err(internal)?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "index_out_of_range",
                "no entry at that index",
            )
        })?;
    Ok(HttpResponse::Ok().json(InclusionProof {
        index: query.index,
        tree_size: query.tree_size,
        leaf_hash: STANDARD.encode(leaf),
        proof: base64_hashes(&proof),
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

#[derive(Debug, Serialize)]
struct ConsistencyProof {
    from: u64,
    to: u64,
    proof: Vec<String>,
}

async fn consistency(
    ledger: web::Data<Ledger>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, Problem> {
    let reader = ledger.reader().map_err(internal)?;
    let proof = reader
        .consistency_proof(query.from, query.to)
        .map_err(proof_problem)?;
    Ok(HttpResponse::Ok().json(ConsistencyProof {
        from: query.from,
        to: query.to,
        proof: base64_hashes(&proof),
    }))
}

async fn not_found() -> HttpResponse {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").error_response()
}

/// The routes, for `App::new().configure(routes)`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let bad_query = web::QueryConfig::default().error_handler(|e, _| {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()).into()
    });
    cfg.app_data(bad_query)
        .route("/healthz", web::get().to(healthz))
        .route("/v1/events", web::post().to(submit_event))
        .route("/v1/log/checkpoint", web::get().to(checkpoint))
        .route("/v1/log/key", web::get().to(verifier_key))
        .route("/v1/log/entries", web::get().to(entries))
        .route("/v1/log/proof/inclusion", web::get().to(inclusion))
        .route("/v1/log/proof/consistency", web::get().to(consistency));
}

/// A server running on its own thread (what `serve` runs, and what tests start on port 0).
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Stops accepting, finishes the requests in flight, and waits.
    pub fn stop(mut self) -> std::io::Result<()> {
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        self.join()
    }

    /// Blocks until the server stops (e.g. on SIGINT/SIGTERM, which actix handles).
    pub fn wait(mut self) -> std::io::Result<()> {
        self.join()
    }

    fn join(&mut self) -> std::io::Result<()> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

/// Binds `listen` (port 0 picks a free port) and serves the ledger on its own thread.
pub fn start(ledger: Ledger, listen: &str, workers: usize) -> std::io::Result<RunningServer> {
    let data = web::Data::new(ledger);
    let (tx, rx) = std::sync::mpsc::channel();
    let listen = listen.to_owned();
    let thread = std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .app_data(data.clone())
                        .configure(routes)
                        .default_service(web::to(not_found))
                })
                .workers(workers.max(1))
                .bind(&listen);
                let server = match server {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return Ok(());
                    }
                };
                let addr = server.addrs().first().copied();
                let running = server.run();
                let _ = tx.send(
                    addr.map(|a| (a, running.handle()))
                        .ok_or_else(|| std::io::Error::other("bound no address")),
                );
                running.await
            })
        })?;
    let (addr, handle) = rx
        .recv()
        .map_err(|_| std::io::Error::other("the server thread stopped before binding"))??;
    Ok(RunningServer {
        addr,
        handle,
        thread: Some(thread),
    })
}
