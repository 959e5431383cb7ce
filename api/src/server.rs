//! The HTTP server: a thin personality over the ledger library.
//!
//! Writes: `POST /v1/events` (one) and `POST /v1/events:batch` (all or nothing),
//! authenticated by the events' own signatures. The transparency-log endpoints (DESIGN.md
//! "API shape"), public: the latest checkpoint as a C2SP signed note, the log's verifier
//! key, RFC 9162 inclusion and consistency proofs; entries by range as exact bytes (JSON
//! Lines: one stored entry per line, so each line is a leaf) need an auditor's token,
//! since entries hold confidential content. The domain's read endpoints are in `reads`.
//! Errors are RFC 9457 problem+json with a stable `code` (`problem`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};

use crate::problem::{Problem, append_problem, internal, proof_problem, rejection_problem};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::Ledger;
use ledger::rejection::Rejection;
use serde::{Deserialize, Serialize};

/// Seconds a graceful shutdown gives the requests in flight.
pub const SHUTDOWN_TIMEOUT_S: u64 = 5;

/// The most entries one `GET /v1/log/entries` returns.
pub const ENTRIES_PAGE_MAX: usize = 1000;
/// The entries it returns when the caller does not say.
pub const ENTRIES_PAGE_DEFAULT: usize = 100;

/// What a durable append returns.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ReceiptBody {
    index: u64,
    stream_version: u64,
    leaf_hash: String,
    recorded_at: String,
    duplicate: bool,
}

/// What a durable batch returns: one receipt per event, in the batch's order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct BatchReceiptsBody {
    receipts: Vec<ReceiptBody>,
}

/// Counts a write's outcome for `/metrics`.
fn observed(
    metrics: &crate::metrics::Metrics,
    started: std::time::Instant,
    result: Result<HttpResponse, Problem>,
) -> Result<HttpResponse, Problem> {
    match &result {
        Ok(_) => metrics.appended(started.elapsed()),
        Err(problem) => metrics.rejected(problem.code),
    }
    result
}

/// `POST /v1/events`: one signed event. 201 with its receipt once durable; 200 with the
/// original receipt when the same event was already appended (idempotent retry).
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(content = crate::openapi::SignedEventDoc, description = "One signed event (DESIGN.md envelope), at most `event_bytes_max` bytes (default 65,536)."),
    responses(
        (status = 201, description = "Appended, durably", body = ReceiptBody),
        (status = 200, description = "The same event was already appended: the original receipt", body = ReceiptBody),
        (status = 403, description = "a policy refused it (`policy_denied`, `policy_approval_required`, `policy_consultation_required`, `policy_notification_required`), with `decisions`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`wrong_expected_version`, with `current_version`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 400, description = "`body_unreadable`: the request body broke off or could not be read", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "`event_too_large`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "a rule the event breaks: its stable code (`malformed_json`, `signature_invalid`, `weapon_destroyed`, ...)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: the write queue is full; retry after `Retry-After` seconds. `closed`: the server is shutting down", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
pub(crate) async fn submit_event(
    ledger: web::Data<Ledger>,
    metrics: web::Data<crate::metrics::Metrics>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let started = Instant::now();
    observed(&metrics, started, submit_one(ledger, body).await)
}

async fn submit_one(
    ledger: web::Data<Ledger>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let limits = ledger.config().event_limits;
    let bytes = crate::problem::read_body(body, limits.event_bytes_max, || {
        rejection_problem(&Rejection::EventTooLarge {
            bytes: limits.event_bytes_max + 1,
            max: limits.event_bytes_max,
        })
    })
    .await?;
    // Checked here, on this worker, while the writer commits what came before: the
    // writer then takes every event that arrived meanwhile in one commit.
    let received = ledger
        .parse_received(bytes.to_vec())
        .map_err(|r| rejection_problem(&r))?;
    let prepared = ledger.prepare(vec![received]);
    let pending = ledger.submit_prepared(prepared).map_err(append_problem)?;
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
    Ok(HttpResponse::build(status).json(receipt_body(receipt)))
}

fn receipt_body(receipt: ledger::Receipt) -> ReceiptBody {
    ReceiptBody {
        index: receipt.index,
        stream_version: receipt.stream_version,
        leaf_hash: STANDARD.encode(receipt.leaf_hash),
        recorded_at: receipt.recorded_at,
        duplicate: receipt.duplicate,
    }
}

/// The largest batch body: the batch limit times the event limit, plus the array's commas.
fn batch_bytes_max(ledger: &Ledger) -> usize {
    let config = ledger.config();
    config
        .batch_events_max
        .saturating_mul(config.event_limits.event_bytes_max.saturating_add(1))
}

/// `POST /v1/events:batch`: a JSON array of signed events, appended all or nothing in one
/// durable commit. 201 with one receipt per event (in order); a rejection names the
/// event's position in the array.
#[utoipa::path(post, path = "/v1/events:batch", tag = "events",
    request_body(content = Vec<crate::openapi::SignedEventDoc>, description = "A JSON array of signed events, at most `batch_events_max` (default 1,000), appended all or nothing."),
    responses(
        (status = 201, description = "All appended in one durable commit: one receipt per event, in order", body = BatchReceiptsBody),
        (status = 403, description = "a policy refused one of them; `position` names it", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`wrong_expected_version` of the event at `position`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 400, description = "`body_unreadable`: the request body broke off or could not be read", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 413, description = "`event_too_large` (an event), or `batch_too_large`: the body is over `batch_events_max` times `event_bytes_max` bytes", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "the rule the event at `position` breaks (`batch_empty`, `batch_too_large`: more than `batch_events_max` events, `batch_duplicate_event_id`, `signature_invalid`, ...); without `position` when the body as a whole is not an array of events (`not_an_array`, `malformed_json`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "`overloaded`: the write queue is full; retry after `Retry-After` seconds. `closed`: the server is shutting down", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
pub(crate) async fn submit_batch(
    ledger: web::Data<Ledger>,
    metrics: web::Data<crate::metrics::Metrics>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let started = Instant::now();
    observed(&metrics, started, submit_many(ledger, body).await)
}

async fn submit_many(
    ledger: web::Data<Ledger>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let max = batch_bytes_max(&ledger);
    let bytes = crate::problem::read_body(body, max, || {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("a batch body is at most {max} bytes"),
        )
    })
    .await?;
    // The array is split by the ledger's own parser (depth: the array plus an event), and
    // each member is read as its canonical bytes would be.
    let events = ledger.parse_received_batch(&bytes).map_err(|e| match e {
        ledger::BatchBodyError::Json(rejection) => rejection_problem(&rejection),
        ledger::BatchBodyError::NotAnArray => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_an_array",
            "a batch is a JSON array of signed events",
        ),
        ledger::BatchBodyError::Member(b) => rejection_problem(&b.rejection).at(b.position),
    })?;
    let receipts = ledger
        .submit(events)
        .map_err(append_problem)?
        .await
        .map_err(append_problem)?;
    Ok(HttpResponse::Created().json(BatchReceiptsBody {
        receipts: receipts.into_iter().map(receipt_body).collect(),
    }))
}

/// Hashes as JSON wants them (DESIGN.md: standard base64).
fn base64_hashes(hashes: &[ledger::merkle::Hash]) -> Vec<String> {
    hashes.iter().map(|h| STANDARD.encode(h)).collect()
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The server is up", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

#[utoipa::path(get, path = "/v1/log/checkpoint", tag = "log",
    responses(
        (status = 200, description = "The newest checkpoint: a C2SP tlog-checkpoint in a C2SP signed note, signed by the log key. Public.", body = String, content_type = "text/plain"),
        (status = 503, description = "`no_checkpoint` yet; retry shortly", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
pub(crate) async fn checkpoint(ledger: web::Data<Ledger>) -> Result<HttpResponse, Problem> {
    let reader = ledger.reader().map_err(internal)?;
    let (_, note) = crate::problem::latest_checkpoint(&reader)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(note))
}

#[utoipa::path(get, path = "/v1/log/key", tag = "log",
    responses((status = 200, description = "The log's verifier key in C2SP vkey form. Public; an auditor should get it out of band too.", body = String, content_type = "text/plain")))]
pub(crate) async fn verifier_key(ledger: web::Data<Ledger>) -> Result<HttpResponse, Problem> {
    let vkey = ledger.verifier().map_err(internal)?.to_vkey();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(format!("{vkey}\n")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntriesQuery {
    from: u64,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/log/entries", tag = "log",
    params(EntriesQuery),
    responses(
        (status = 200, description = "The entries' exact stored bytes (JCS), one per line, from `from`, at most `limit` (1 to 1,000, default 100)", body = String, content_type = "application/jsonl"),
        (status = 400, description = "`limit_out_of_range`, `invalid_query`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "not an auditor: entries hold confidential content (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn entries(
    request: actix_web::HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<crate::auth::Tokens>,
    query: web::Query<EntriesQuery>,
) -> Result<HttpResponse, Problem> {
    let principal = tokens.principal(&request, &ledger.registry())?;
    if principal.role != crate::auth::Role::Auditor {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "entries hold confidential content: an auditor's token reads them",
        ));
    }
    let limit = query.limit.unwrap_or(ENTRIES_PAGE_DEFAULT);
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    index: u64,
    tree_size: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct InclusionProof {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    proof: Vec<String>,
}

#[utoipa::path(get, path = "/v1/log/proof/inclusion", tag = "log",
    params(InclusionQuery),
    responses(
        (status = 200, description = "RFC 9162 inclusion proof of the entry at `index` in the tree of `tree_size` (hashes in base64). Public.", body = InclusionProof),
        (status = 400, description = "`index_out_of_range`, `tree_size_beyond_log`, `invalid_query`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
pub(crate) async fn inclusion(
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    from: u64,
    to: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ConsistencyProof {
    from: u64,
    to: u64,
    proof: Vec<String>,
}

#[utoipa::path(get, path = "/v1/log/proof/consistency", tag = "log",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "RFC 9162 consistency proof between the trees of `from` and `to` entries. Public.", body = ConsistencyProof),
        (status = 400, description = "`tree_size_invalid`, `tree_size_beyond_log`, `invalid_query`", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ))]
pub(crate) async fn consistency(
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
        .route("/v1/events:batch", web::post().to(submit_batch))
        .route("/v1/log/checkpoint", web::get().to(checkpoint))
        .route("/v1/log/key", web::get().to(verifier_key))
        .route("/v1/log/entries", web::get().to(entries))
        .route("/v1/log/proof/inclusion", web::get().to(inclusion))
        .route("/v1/log/proof/consistency", web::get().to(consistency))
        .configure(crate::reads::routes)
        .configure(crate::policies::routes)
        .configure(crate::openapi::routes)
        .configure(crate::feed::routes)
        .configure(crate::metrics::routes);
}

/// How to run the server.
#[derive(Debug)]
pub struct ServerOptions {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    pub workers: usize,
    /// The bearer-token file (`auth`), usually `<db>.tokens.json`.
    pub token_file: std::path::PathBuf,
    pub reads: crate::reads::ReadSettings,
    /// The policy host's limits, and where it caches compiled modules (None: in memory
    /// only). Used when the ledger has no policy host plugged in yet.
    pub policy_limits: plugins::HostLimits,
    pub policy_cache: Option<std::path::PathBuf>,
}

/// Starts the process's log output (once; later calls change nothing): one line per
/// request and per lifecycle step, as text or JSON.
pub fn init_logging(format: crate::config::LogFormat, level: crate::config::LogLevel) {
    let builder = tracing_subscriber::fmt()
        .with_max_level(level.as_tracing())
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Json => builder.json().try_init(),
        crate::config::LogFormat::Text => builder.try_init(),
    };
}

/// A server running on its own thread (what `serve` runs, and what tests start on port 0).
#[derive(Debug)]
pub struct RunningServer {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    feeds: web::Data<crate::feed::FeedsOpen>,
    /// The server's handle to the ledger, every worker's a clone of it (see `join`).
    ledger: web::Data<Ledger>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Stops accepting, ends the live feeds, finishes the requests in flight, and waits.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.feeds.close();
        actix_web::rt::System::new().block_on(self.handle.stop(true));
        self.join()
    }

    /// Blocks until the server stops (e.g. on SIGINT/SIGTERM, which actix handles).
    pub fn wait(mut self) -> std::io::Result<()> {
        self.join()
    }

    /// Waits for the server's thread, then for its workers to let go of the ledger: actix
    /// counts a worker stopped before the worker's thread drops its app, and a caller that
    /// closes its own handle next must find the file closed (it reopens it, or another
    /// process does). Bounded by the shutdown timeout.
    fn join(&mut self) -> std::io::Result<()> {
        let result = match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the server thread panicked")),
            None => Ok(()),
        };
        let deadline = Instant::now() + Duration::from_secs(SHUTDOWN_TIMEOUT_S);
        while std::sync::Arc::strong_count(&self.ledger) > 1 {
            if Instant::now() >= deadline {
                tracing::warn!(
                    "the server's workers still hold the ledger {SHUTDOWN_TIMEOUT_S} s after it stopped; \
                     the file closes when they let go"
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        result
    }
}

/// Binds the address (port 0 picks a free port) and serves the ledger on its own thread.
pub fn start(ledger: Ledger, options: ServerOptions) -> std::io::Result<RunningServer> {
    if ledger.policy_runner().is_none() {
        let host = plugins::PolicyHost::new(options.policy_limits, options.policy_cache.as_deref())
            .map_err(std::io::Error::other)?;
        ledger.set_policy_runner(host);
    }
    let data = web::Data::new(ledger);
    let ledger_for_handle = data.clone();
    let tokens = web::Data::new(crate::auth::Tokens::new(options.token_file));
    let metrics = web::Data::new(crate::metrics::Metrics::default());
    let feeds = web::Data::new(crate::feed::FeedsOpen::default());
    let feeds_for_handle = feeds.clone();
    let reads = web::Data::new(options.reads);
    let (workers, listen) = (options.workers, options.listen);
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    actix_web::App::new()
                        .app_data(data.clone())
                        .app_data(tokens.clone())
                        .app_data(metrics.clone())
                        .app_data(feeds.clone())
                        .app_data(reads.clone())
                        .configure(routes)
                        .default_service(web::to(not_found))
                        .wrap_fn(|request, service| {
                            use actix_web::dev::Service as _;
                            let method = request.method().clone();
                            let path = request.path().to_owned();
                            let started = Instant::now();
                            let response = service.call(request);
                            async move {
                                let response = response.await?;
                                tracing::info!(
                                    %method,
                                    %path,
                                    status = response.status().as_u16(),
                                    micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                                    "request"
                                );
                                Ok(response)
                            }
                        })
                })
                .workers(workers.max(1))
                // On SIGINT/SIGTERM, requests in flight get this long; a write already
                // queued is finished by the ledger itself when it closes.
                .shutdown_timeout(SHUTDOWN_TIMEOUT_S)
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
        feeds: feeds_for_handle,
        ledger: ledger_for_handle,
        thread: Some(thread),
    })
}
