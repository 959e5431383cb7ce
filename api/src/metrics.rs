//! `GET /metrics`: Prometheus text exposition of what an operator watches: appends,
//! commits, checkpoints and how far the newest checkpoint lags the log, rejections by
//! code, and the latency of durable appends as seen by HTTP clients.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use ledger::Ledger;

/// Upper bounds of the append-latency histogram, in seconds.
const LATENCY_BUCKETS_S: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// Counters the HTTP layer keeps (the ledger keeps its own; see `Ledger::stats`).
#[derive(Debug, Default)]
pub struct Metrics {
    rejections: Mutex<BTreeMap<&'static str, u64>>,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl Metrics {
    /// Counts a refused write by its code.
    pub fn rejected(&self, code: &'static str) {
        if let Ok(mut rejections) = self.rejections.lock() {
            *rejections.entry(code).or_default() += 1;
        }
    }

    /// Records how long an accepted write took to be durable.
    pub fn appended(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS_S) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(micros, Ordering::Relaxed);
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text: appends, rejections by code, latencies, queue depth, checkpoint age, policy evaluations", body = String, content_type = "text/plain")))]
pub(crate) async fn metrics(
    ledger: web::Data<Ledger>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    let stats = ledger.stats();
    let (tree_size, checkpoint_size) = ledger
        .reader()
        .and_then(|r| {
            let size = r.tree_size()?;
            let checkpointed = r.latest_checkpoint()?.map_or(0, |(s, _)| s);
            Ok((size, checkpointed))
        })
        .unwrap_or((0, 0));
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "armsledger_entries_appended_total",
        "counter",
        "Entries appended since the server started.",
        stats.entries,
    );
    metric(
        "armsledger_commits_total",
        "counter",
        "Durable commits of append groups since the server started (one commit serves many appends).",
        stats.commits,
    );
    metric(
        "armsledger_checkpoints_total",
        "counter",
        "Checkpoints signed since the server started.",
        stats.checkpoints,
    );
    metric(
        "armsledger_policy_evaluations_total",
        "counter",
        "Policy modules run on events being appended since the server started.",
        stats.policy_evaluations,
    );
    metric(
        "armsledger_policy_refusals_total",
        "counter",
        "Appends refused by a policy (deny or an unmet requirement) since the server started.",
        stats.policy_refusals,
    );
    metric(
        "armsledger_verification_key_tables",
        "gauge",
        "Authority keys holding precomputed multiples for signature checks (at most 32, 480 KiB each).",
        ledger::crypto::keys_with_multiples() as u64,
    );
    metric(
        "armsledger_tree_size",
        "gauge",
        "Entries in the log.",
        tree_size,
    );
    metric(
        "armsledger_checkpoint_size",
        "gauge",
        "Tree size of the newest signed checkpoint.",
        checkpoint_size,
    );
    metric(
        "armsledger_entries_unsigned",
        "gauge",
        "Entries no checkpoint covers yet (signed within checkpoint_interval_ms).",
        tree_size.saturating_sub(checkpoint_size),
    );
    let _ = writeln!(
        out,
        "# HELP armsledger_rejections_total Writes refused, by the rejection's code.\n# TYPE armsledger_rejections_total counter"
    );
    if let Ok(rejections) = metrics.rejections.lock() {
        for (code, count) in rejections.iter() {
            let _ = writeln!(
                out,
                "armsledger_rejections_total{{code=\"{code}\"}} {count}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP armsledger_append_seconds Time from request to durable receipt of accepted writes.\n# TYPE armsledger_append_seconds histogram"
    );
    for (bucket, bound) in metrics.latency_buckets.iter().zip(LATENCY_BUCKETS_S) {
        let _ = writeln!(
            out,
            "armsledger_append_seconds_bucket{{le=\"{bound}\"}} {}",
            bucket.load(Ordering::Relaxed)
        );
    }
    let count = metrics.latency_count.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "armsledger_append_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let sum = metrics.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(
        out,
        "armsledger_append_seconds_sum {sum}\narmsledger_append_seconds_count {count}"
    );
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}
