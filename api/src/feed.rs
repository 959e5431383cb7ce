//! `GET /v1/log/stream`: a server-sent-events feed of the log's entries from a position,
//! for subscribers and replicas (DESIGN.md "API shape").
//!
//! Each event is one entry: `id:` its index, `event: entry`, `data:` its exact stored bytes
//! (JCS holds no raw newline, so an entry is one data line). A client that reconnects
//! sends `Last-Event-ID` (the last index it got) and the feed resumes after it; `?from=N`
//! starts at entry N. New entries arrive within `POLL_MS`; a comment line keeps idle
//! connections open. Entries hold confidential content: an auditor's token reads them.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use ledger::Ledger;
use serde::Deserialize;

use crate::auth::{Role, Tokens};
use crate::problem::{Problem, internal};

/// How often the feed looks for new entries when it has caught up.
pub const POLL_MS: u64 = 200;
/// How long an idle feed waits before sending a keep-alive comment.
pub const KEEP_ALIVE_MS: u64 = 15_000;
/// Entries read per step; also how many may wait in the buffer for a slow client.
const STEP_ENTRIES: usize = 256;

/// Set when the server stops: open feeds end, so that a graceful stop need not wait for
/// clients that would otherwise keep them open for ever.
#[derive(Debug, Default)]
pub struct FeedsOpen {
    closed: std::sync::atomic::AtomicBool,
}

impl FeedsOpen {
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct FeedQuery {
    from: Option<u64>,
}

/// The feed's body: chunks handed over by the task that reads the log.
struct Chunks(tokio::sync::mpsc::Receiver<Bytes>);

impl futures_core::Stream for Chunks {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}

fn first_index(request: &HttpRequest, query: &FeedQuery) -> Result<u64, Problem> {
    let resumed = request
        .headers()
        .get("Last-Event-ID")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .and_then(|last| last.checked_add(1))
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_last_event_id",
                        "Last-Event-ID must be an entry index",
                    )
                })
        })
        .transpose()?;
    Ok(resumed.or(query.from).unwrap_or(0))
}

#[utoipa::path(get, path = "/v1/log/stream", tag = "log",
    params(FeedQuery, ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this index")),
    responses(
        (status = 200, description = "Server-sent events: each new entry (`id` = its index, `data` = its exact bytes), from `from` or after `Last-Event-ID`", body = String, content_type = "text/event-stream"),
        (status = 400, description = "a bad query or `Last-Event-ID` (`invalid_query`, `invalid_last_event_id`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "no bearer token, or an unknown, expired or revoked one (`unauthorized`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "not an auditor (`forbidden`)", body = crate::problem::ProblemBody, content_type = "application/problem+json"),
    ), security(("bearer" = [])))]
pub(crate) async fn stream(
    request: HttpRequest,
    ledger: web::Data<Ledger>,
    tokens: web::Data<Tokens>,
    feeds: web::Data<FeedsOpen>,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, Problem> {
    let principal = tokens.principal(&request, &ledger.registry())?;
    if principal.role != Role::Auditor {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the feed carries whole entries: an auditor's token reads it",
        ));
    }
    let mut next = first_index(&request, &query)?;
    // Fail early, as a problem, if the log cannot be read at all.
    ledger.reader().map_err(internal)?;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(STEP_ENTRIES);
    let ledger = ledger.into_inner();
    actix_web::rt::spawn(async move {
        let mut idle_ms = 0;
        while !feeds.closed() {
            let rows = match ledger
                .reader()
                .and_then(|r| r.entries_bytes(next, STEP_ENTRIES))
            {
                Ok(rows) => rows,
                Err(_) => return,
            };
            if rows.is_empty() {
                actix_web::rt::time::sleep(Duration::from_millis(POLL_MS)).await;
                idle_ms += POLL_MS;
                if idle_ms >= KEEP_ALIVE_MS {
                    idle_ms = 0;
                    if sender
                        .send(Bytes::from_static(b": keep-alive\n\n"))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                continue;
            }
            idle_ms = 0;
            for row in rows {
                let mut event = format!("id: {next}\nevent: entry\ndata: ").into_bytes();
                event.extend_from_slice(&row);
                event.extend_from_slice(b"\n\n");
                // A client gone: the send fails and the task ends.
                if sender.send(Bytes::from(event)).await.is_err() {
                    return;
                }
                next += 1;
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(Chunks(receiver)))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/v1/log/stream", web::get().to(stream));
}
