//! Benchmark of the REST API over real HTTP (issue 4), every figure beside a reference
//! measured in the same run, with `wrk` as the load generator (`scripts/bench-http`
//! installs it):
//!
//! (h) reference: a trivial actix-web handler (a small JSON answer), same worker count;
//! (g) GET /v1/weapons/{id} and POST /v1/eucs/{id}/verify at 64 connections, against the
//!     demo ledger (ARMSLEDGER_BENCH_HTTP_WEAPONS weapons, default 10,000), as Belgium's
//!     licensing authority;
//! (w) single signed events POSTed by 64 concurrent connections (every event a new
//!     manufacture marking, pre-signed), while a sampler measures (c), the time from an
//!     event's acknowledgement to a published checkpoint that includes it;
//! (b) batch ingest: two clients (ARMSLEDGER_BENCH_HTTP_CLIENTS) POSTing batches of 1,000
//!     to /v1/events:batch, beside the single-core strict-verification rate measured just
//!     before and just after (the ratio is to their mean).
//!
//! Run: `scripts/bench-http` (or `cargo bench -p armsledger-tests --bench http` with wrk
//! on the PATH). ARMSLEDGER_BENCH_HTTP_SECONDS sets each wrk run (default 10);
//! ARMSLEDGER_BENCH_PERF_CTL (see `armsledger_tests::profiler`) profiles the batch ingest.
#![expect(
    clippy::unwrap_used,
    reason = "a benchmark: a failure should stop it loudly"
)]

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use armsledger_tests::*;
use rayon::prelude::*;

const CONNECTIONS: u32 = 64;
const WRK_THREADS: u32 = 2;

/// What one wrk run printed.
#[derive(Debug)]
struct Load {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Responses that were not 2xx/3xx, and socket errors.
    failures: u64,
    /// Lines the script's `done` printed.
    script_lines: Vec<String>,
}

fn wrk(url: &str, script: &Path, seconds: u64) -> Load {
    let output = Command::new("wrk")
        .args([
            format!("-t{WRK_THREADS}"),
            format!("-c{CONNECTIONS}"),
            format!("-d{seconds}s"),
            "--latency".into(),
            "-s".into(),
            script.display().to_string(),
            url.into(),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {text}");
    parse_wrk(&text)
}

fn parse_wrk(text: &str) -> Load {
    let mut load = Load {
        requests: 0,
        per_second: 0.0,
        p50_ms: 0.0,
        p99_ms: 0.0,
        failures: 0,
        script_lines: Vec::new(),
    };
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rate] => load.per_second = rate.parse().unwrap(),
            [count, "requests", "in", ..] => load.requests = count.parse().unwrap(),
            ["50%", latency] => load.p50_ms = millis(latency),
            ["99%", latency] => load.p99_ms = millis(latency),
            ["Non-2xx", "or", "3xx", "responses:", n] => load.failures += n.parse::<u64>().unwrap(),
            ["Socket", "errors:", rest @ ..] => {
                load.failures += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["script:", rest @ ..] => load.script_lines.push(rest.join(" ")),
            _ => {}
        }
    }
    load
}

/// wrk's latency ("512.00us", "1.23ms", "1.02s") in milliseconds.
fn millis(latency: &str) -> f64 {
    let split = latency
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(latency.len());
    let (number, unit) = latency.split_at(split);
    let value: f64 = number.parse().unwrap();
    match unit {
        "us" => value / 1e3,
        "ms" => value,
        "s" => value * 1e3,
        "m" => value * 60e3,
        other => panic!("wrk latency unit {other}"),
    }
}

/// A wrk script sending `method` to the path the Lua expression `path` gives for the
/// request counter `n`, with a bearer token: the reference and the reads pay the same
/// client-side cost per request.
fn request_script(
    dir: &Path,
    name: &str,
    method: &str,
    path: &str,
    token: &str,
) -> std::path::PathBuf {
    let script = format!(
        r#"local n = 0
local headers = {{ ["Authorization"] = "Bearer {token}" }}
function request()
  n = n + 1
  return wrk.format("{method}", {path}, headers)
end
"#
    );
    let file = dir.join(format!("{name}.lua"));
    std::fs::write(&file, script).unwrap();
    file
}

/// A wrk script that POSTs the bodies of `bodies_file` (one per line) to /v1/events,
/// each thread its own share, and counts answers other than 201 Created (a body sent
/// twice, after the share runs out, is answered 200 as a duplicate).
fn post_script(dir: &Path, bodies_file: &Path) -> std::path::PathBuf {
    let script = format!(
        r#"local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads - 1)
end
function init(args)
  bodies = {{}}
  local k = 0
  for line in io.lines("{file}") do
    if k % {WRK_THREADS} == tid then bodies[#bodies + 1] = line end
    k = k + 1
  end
  sent = 0
  not_created = 0
end
local headers = {{ ["Content-Type"] = "application/json" }}
function request()
  sent = sent + 1
  return wrk.format("POST", "/v1/events", headers, bodies[(sent - 1) % #bodies + 1])
end
function response(status, headers, body)
  if status ~= 201 then not_created = not_created + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not_created") end
  io.write(string.format("script: not_created %d\n", total))
end
"#,
        file = bodies_file.display()
    );
    let path = dir.join("post.lua");
    std::fs::write(&path, script).unwrap();
    path
}

/// The trivial reference: an actix-web server with the same worker count as ours,
/// answering every GET with a small JSON object.
fn start_reference_server(workers: usize) -> std::net::SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new().default_service(web::to(|| async {
                    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
                }))
            })
            .workers(workers)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await
        })
    });
    rx.recv().unwrap()
}

/// A manufacture marking by the demo's manufacturer, as the canonical JSON a client sends.
fn marking_body(maker: &Signer, n: u64) -> Vec<u8> {
    maker.manufacture_marked(n).to_canonical_vec()
}

/// The size of the newest published checkpoint (its note's second line).
fn checkpoint_size(agent: &ureq::Agent, base: &str) -> u64 {
    let note = agent
        .get(&format!("{base}/v1/log/checkpoint"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    note.lines().nth(1).unwrap().parse().unwrap()
}

/// (c): while `running`, POSTs one event every 20 ms and, on another thread, polls the
/// published checkpoint every 2 ms; returns each event's time from its acknowledgement
/// to the first checkpoint that includes it.
fn ack_to_checkpoint(
    base: String,
    maker: Signer,
    running: Arc<std::sync::atomic::AtomicBool>,
) -> Vec<Duration> {
    use std::sync::atomic::Ordering;
    let pending: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let poller = {
        let (pending, running, base) = (pending.clone(), running.clone(), base.clone());
        std::thread::spawn(move || {
            let agent = ureq::Agent::new_with_defaults();
            let mut delays = Vec::new();
            while running.load(Ordering::Relaxed) || !pending.lock().unwrap().is_empty() {
                let size = checkpoint_size(&agent, &base);
                let seen = Instant::now();
                pending.lock().unwrap().retain(|(index, acked)| {
                    let covered = *index < size;
                    if covered {
                        delays.push(seen - *acked);
                    }
                    !covered
                });
                std::thread::sleep(Duration::from_millis(2));
            }
            delays
        })
    };
    let agent = ureq::Agent::new_with_defaults();
    let mut n = 5_000_000;
    while running.load(Ordering::Relaxed) {
        let body = marking_body(&maker, n);
        n += 1;
        let receipt = agent
            .post(&format!("{base}/v1/events"))
            .header("Content-Type", "application/json")
            .send(&body[..])
            .unwrap()
            .body_mut()
            .read_to_vec()
            .unwrap();
        let acked = Instant::now();
        let receipt: serde_json::Value = serde_json::from_slice(&receipt).unwrap();
        let index = receipt["index"].as_u64().unwrap();
        pending.lock().unwrap().push((index, acked));
        std::thread::sleep(Duration::from_millis(20));
    }
    poller.join().unwrap()
}

/// (b): `clients` clients POST `batches` batches of 1000 events between them, each
/// waiting for its answer before sending the next; returns events/s.
fn batch_ingest(base: &str, maker: &Signer, batches: u64, clients: u64) -> f64 {
    let bodies: Vec<Vec<u8>> = (0..batches)
        .into_par_iter()
        .map(|b| {
            let mut body = b"[".to_vec();
            for i in 0..1000 {
                if i > 0 {
                    body.push(b',');
                }
                body.extend(marking_body(maker, 6_000_000 + b * 1000 + i));
            }
            body.push(b']');
            body
        })
        .collect();
    let timed = Timed::start();
    std::thread::scope(|s| {
        for share in bodies.chunks(bodies.len().div_ceil(clients as usize)) {
            s.spawn(move || {
                let agent = ureq::Agent::new_with_defaults();
                for body in share {
                    let status = agent
                        .post(&format!("{base}/v1/events:batch"))
                        .header("Content-Type", "application/json")
                        .send(&body[..])
                        .unwrap()
                        .status();
                    assert_eq!(status, 201);
                }
            });
        }
    });
    let part = timed.stop();
    let events = batches * 1000;
    println!(
        "(b) {}; by thread: {}",
        part.cpu_per_event(events),
        part.threads_per_event(events)
    );
    events as f64 / part.seconds
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("run with `scripts/bench-http`");
        return;
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk is not installed: run scripts/bench-http, which installs it");
        std::process::exit(2);
    }
    name_rayon_threads();
    let seconds = env_u64("ARMSLEDGER_BENCH_HTTP_SECONDS", 10);
    let weapons = env_u64("ARMSLEDGER_BENCH_HTTP_WEAPONS", 10_000);
    let dir = tempfile::tempdir().unwrap();
    let load_before = load_average();

    let demo = DemoServer::start(dir.path(), weapons);
    let maker = demo.signer("be-fn");
    // Reads as Belgium's licensing authority: every read runs the access check (an
    // auditor's would not).
    let token = demo.token("be-licensing", api::auth::Role::Authority);
    let DemoServer {
        ledger,
        server,
        base,
        ..
    } = demo;
    let workers = server_options(dir.path()).workers;
    let reference = format!("http://{}", start_reference_server(workers));

    let scripts = dir.path();
    let trivial = request_script(
        scripts,
        "reference",
        "GET",
        &format!(r#"string.format("/hello/%012x", n % {weapons})"#),
        &token,
    );
    // The demo's weapons are 01930000-0000-7000-8000-<n in 12 hex digits>.
    let weapon = request_script(
        scripts,
        "weapon",
        "GET",
        &format!(r#"string.format("/v1/weapons/01930000-0000-7000-8000-%012x", n % {weapons})"#),
        &token,
    );
    // The demo's two end-user certificates, in turn.
    let verify = request_script(
        scripts,
        "verify",
        "POST",
        r#"({ "/v1/eucs/KE-EUC-2024-0007/verify", "/v1/eucs/KE-EUC-2024-0019/verify" })[n % 2 + 1]"#,
        &token,
    );
    let healthz_script = request_script(scripts, "healthz", "GET", r#""/healthz""#, &token);

    // Warm both servers (connections, page cache) before measuring anything.
    wrk(&reference, &trivial, 2);
    wrk(&base, &weapon, 2);

    let mut references = Vec::new();
    let measure_reference = |references: &mut Vec<f64>| {
        let r = wrk(&reference, &trivial, seconds);
        assert_eq!(r.failures, 0);
        references.push(r.per_second);
        r
    };
    let ref_weapon = measure_reference(&mut references);
    let get_weapon = wrk(&base, &weapon, seconds);
    assert_eq!(get_weapon.failures, 0, "every weapon is found");
    let ref_verify = measure_reference(&mut references);
    let timed = Timed::start();
    let verify_euc = wrk(&base, &verify, seconds);
    let verify_cpu = timed.stop();
    assert_eq!(verify_euc.failures, 0, "both certificates verify");
    let ref_healthz = measure_reference(&mut references);
    let healthz = wrk(&base, &healthz_script, seconds);

    // (w) and (c): single signed POSTs by 64 connections, the sampler beside them.
    let pool = 25_000 * seconds;
    let bodies_file = dir.path().join("bodies.jsonl");
    let bodies: Vec<Vec<u8>> = (0..pool)
        .into_par_iter()
        .map(|n| marking_body(&maker, 1_000_000 + n))
        .collect();
    std::fs::write(&bodies_file, bodies.join(&b'\n')).unwrap();
    drop(bodies);
    let post = post_script(scripts, &bodies_file);
    let size_before = ledger.reader().unwrap().tree_size().unwrap();
    let stats_before = ledger.stats();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (base, maker, running) = (base.clone(), maker.clone(), running.clone());
        std::thread::spawn(move || ack_to_checkpoint(base, maker, running))
    };
    let posts = wrk(&base, &post, seconds);
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    let mut delays = sampler.join().unwrap();
    delays.sort();
    let appended = ledger.reader().unwrap().tree_size().unwrap() - size_before;
    let commits = ledger.stats().commits - stats_before.commits;
    let not_created = posts
        .script_lines
        .iter()
        .find_map(|l| l.strip_prefix("not_created "))
        .map(|n| n.parse::<u64>().unwrap())
        .unwrap();
    let ref_after_posts = measure_reference(&mut references);

    // (b): batch ingest beside the single-core strict verification rate.
    let best_of_three = || (0..3).map(|_| strict_verify_rate()).fold(0.0, f64::max);
    let verify_before = best_of_three();
    let batches = env_u64("ARMSLEDGER_BENCH_HTTP_BATCHES", 60).max(1);
    let clients = env_u64("ARMSLEDGER_BENCH_HTTP_CLIENTS", 2).clamp(1, batches);
    profiler("enable");
    let batch_rate = batch_ingest(&base, &maker, batches, clients);
    profiler("disable");
    // And just after: the ratio is to the mean of the two (the VM's speed drifts).
    let verify_after = best_of_three();
    let verify_rate = (verify_before + verify_after) / 2.0;

    let fastest = references.iter().copied().fold(0.0, f64::max);
    println!(
        "# armsledger HTTP benchmark ({weapons} demo weapons, {CONNECTIONS} connections, wrk -t{WRK_THREADS}, {seconds} s per run, load before {load_before})"
    );
    println!();
    println!(
        "| | req/s | p50 | p99 | ratio to the reference just before | ratio to the fastest reference | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, load: &Load, adjacent: Option<&Load>, target: &str| {
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} | {} | {target} |",
            load.per_second,
            load.p50_ms,
            load.p99_ms,
            adjacent.map_or(String::new(), |r| format!(
                "{:.2}x",
                load.per_second / r.per_second
            )),
            adjacent.map_or(String::new(), |_| format!(
                "{:.2}x",
                load.per_second / fastest
            )),
        );
    };
    row(
        "(h) trivial actix handler (reference)",
        &ref_weapon,
        None,
        "",
    );
    row(
        "(g) GET /v1/weapons/{id}",
        &get_weapon,
        Some(&ref_weapon),
        ">= 0.5x",
    );
    row("(h) reference again", &ref_verify, None, "");
    row(
        "(g) POST /v1/eucs/{id}/verify",
        &verify_euc,
        Some(&ref_verify),
        ">= 0.5x",
    );
    row("(h) reference again", &ref_healthz, None, "");
    row(
        "GET /healthz (our middleware, no ledger)",
        &healthz,
        Some(&ref_healthz),
        "",
    );
    row(
        "(w) POST /v1/events, one signed event each",
        &posts,
        None,
        ">= 10k/s, p99 <= 20 ms",
    );
    row("(h) reference after the writes", &ref_after_posts, None, "");
    println!();
    println!(
        "(w): {} requests answered, {not_created} not 201 Created, {appended} entries appended (with the sampler's) in {commits} durable commits ({:.1} per commit).",
        posts.requests,
        appended as f64 / commits.max(1) as f64
    );
    println!();
    println!(
        "(g) POST /v1/eucs/{{id}}/verify, CPU per request by thread of this process (wrk's own not counted): {}",
        verify_cpu.threads_per_event(verify_euc.requests)
    );
    println!();
    println!("| | rate | ratio | target |");
    println!("|---|---|---|---|");
    println!(
        "| ed25519-dalek `verify_strict`, one core (reference: the mean of the best of 3 just before, {verify_before:.0}/s, and just after, {verify_after:.0}/s) | {verify_rate:.0} /s | 1.00x | |"
    );
    println!(
        "| (b) batch ingest, {clients} clients x batches of 1000, {} events | {batch_rate:.0} events/s | {:.2}x | >= 1.6x |",
        batches * 1000,
        batch_rate / verify_rate
    );
    println!();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "(c) acknowledgement to a published checkpoint including the entry, {} samples during (w): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (target p99 <= 1000 ms; checkpoint interval {} ms)",
        delays.len(),
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 0.99)),
        ms(*delays.last().unwrap()),
        ledger.config().checkpoint_interval_ms
    );
    server.stop().unwrap();
}
