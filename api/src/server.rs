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

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};

use crate::problem::{Problem, append_problem, internal, proof_problem, rejection_problem};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ledger::Ledger;
use ledger::event::SignedEvent;
use ledger::rejection::Rejection;
use serde::{Deserialize, Serialize};

/// Seconds a graceful shutdown gives the requests in flight.
pub const SHUTDOWN_TIMEOUT_S: u64 = 5;

/// The most entries one `GET /v1/log/entries` returns.
pub const ENTRIES_PAGE_MAX: usize = 1000;

/// What a durable append returns.
#[derive(Debug, Serialize)]
struct ReceiptBody {
    index: u64,
    stream_version: u64,
    leaf_hash: String,
    recorded_at: String,
    duplicate: bool,
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
async fn submit_event(
    ledger: web::Data<Ledger>,
    metrics: web::Data<crate::metrics::Metrics>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let started = std::time::Instant::now();
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
async fn submit_batch(
    ledger: web::Data<Ledger>,
    metrics: web::Data<crate::metrics::Metrics>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let started = std::time::Instant::now();
    observed(&metrics, started, submit_many(ledger, body).await)
}

async fn submit_many(
    ledger: web::Data<Ledger>,
    body: web::Payload,
) -> Result<HttpResponse, Problem> {
    let limits = ledger.config().event_limits;
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
    // each member is parsed under the event limits from its canonical bytes.
    let members = match ledger::json::Json::parse(&bytes, limits.json_depth_max + 1) {
        Ok(ledger::json::Json::Array(members)) => members,
        Ok(_) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_an_array",
                "a batch is a JSON array of signed events",
            ));
        }
        Err(e) => return Err(rejection_problem(&e.into())),
    };
    let mut events = Vec::with_capacity(members.len());
    for (position, member) in members.into_iter().enumerate() {
        let event = SignedEvent::parse(&member.to_canonical_vec(), &limits)
            .map_err(|r| rejection_problem(&r).at(position))?;
        events.push(event);
    }
    let receipts = ledger
        .submit(events)
        .map_err(append_problem)?
        .await
        .map_err(append_problem)?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "receipts": receipts.into_iter().map(receipt_body).collect::<Vec<_>>()
    })))
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
    let (_, note) = crate::problem::latest_checkpoint(&reader)?;
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
        .route("/v1/events:batch", web::post().to(submit_batch))
        .route("/v1/log/checkpoint", web::get().to(checkpoint))
        .route("/v1/log/key", web::get().to(verifier_key))
        .route("/v1/log/entries", web::get().to(entries))
        .route("/v1/log/proof/inclusion", web::get().to(inclusion))
        .route("/v1/log/proof/consistency", web::get().to(consistency))
        .configure(crate::reads::routes)
        .configure(crate::policies::routes)
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
pub fn init_logging(format: crate::config::LogFormat) {
    let builder = tracing_subscriber::fmt()
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

    fn join(&mut self) -> std::io::Result<()> {
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
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
                            let started = std::time::Instant::now();
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
        thread: Some(thread),
    })
}
