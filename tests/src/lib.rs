#![expect(
    clippy::expect_used,
    reason = "test fixtures: a failure here is a failed test"
)]
//! Fixtures for the end-to-end tests, the crash-test child process and the benchmarks:
//! real ledgers in temp dirs, real ed25519 keys, events built and signed as a client
//! would.
//!
//! Keys made by [`test_key`] are derived from a public seed: TEST-ONLY, never for a
//! real ledger.

pub mod policy;
pub mod script;

/// The tests and benchmarks run on the server binary's allocator, so that what they
/// measure is what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use ledger::crypto;
use ledger::event::{
    AuthorityId, Envelope, EventId, EventType, ExpectedVersion, KeyId, SignedEvent, StreamName,
    Timestamp,
};
use ledger::json::{Json, Object};
use ledger::{Clock, Genesis, Ledger, LedgerConfig};

/// A deterministic key for tests. TEST-ONLY: its secret is the public `seed`.
pub fn test_key(seed: u64) -> SigningKey {
    let mut bytes = [0x5au8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    SigningKey::from_bytes(&bytes)
}

/// The origin of test ledgers.
pub const ORIGIN: &str = "armsledger.test/zz";

/// An authority as a client: its id, one key id and the key.
#[derive(Clone, Debug)]
pub struct Signer {
    pub actor: AuthorityId,
    pub key_id: KeyId,
    pub key: SigningKey,
}

impl Signer {
    pub fn new(actor: &str, key_id: &str, key: SigningKey) -> Self {
        Self {
            actor: AuthorityId::parse(actor).expect("test authority id"),
            key_id: KeyId::parse(key_id).expect("test key id"),
            key,
        }
    }

    /// An unsigned envelope from this signer, with a fresh time-ordered event id.
    pub fn envelope(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        event_type: &str,
        payload: Object,
    ) -> Envelope {
        Envelope {
            event_id: EventId::new_v7(),
            stream: StreamName::parse(stream).expect("test stream name"),
            expected_version: expected,
            event_type: EventType::parse(event_type).expect("test event type"),
            type_version: 1,
            payload,
            actor: self.actor.clone(),
            key_id: self.key_id.clone(),
            occurred_at: Timestamp::parse("2026-11-27T10:00:00Z").expect("time"),
        }
    }

    pub fn event(
        &self,
        stream: &str,
        expected: ExpectedVersion,
        event_type: &str,
        payload: Object,
    ) -> SignedEvent {
        self.envelope(stream, expected, event_type, payload)
            .sign(&self.key)
    }

    /// The first record of weapon `n`: a State marking of one of its holdings (ITI 8(d)),
    /// which any State authority of the test jurisdiction may record. The log's own tests
    /// use it as their everyday event.
    pub fn weapon_marked(&self, n: u64) -> SignedEvent {
        let weapon = uuid_from(n);
        self.event(
            &format!("weapon:{weapon}"),
            ExpectedVersion::NoStream,
            "WeaponStateMarked",
            object(&[
                ("state", Json::str(JURISDICTION)),
                ("holder", Json::str("Federal Police, central armoury")),
                ("marks", marks(&format!("BE-POL-{n:08}"))),
            ]),
        )
    }

    /// A manufacture marking of weapon `n` (ITI 8(a)) by a Belgian manufacturer.
    pub fn manufacture_marked(&self, n: u64) -> SignedEvent {
        let weapon = uuid_from(n);
        self.event(
            &format!("weapon:{weapon}"),
            ExpectedVersion::NoStream,
            "WeaponMarked",
            object(&[
                ("manufacturer", Json::str("Fabrique Nationale Herstal")),
                ("country_of_manufacture", Json::str(JURISDICTION)),
                ("serial_number", Json::str(format!("FN-{n:08}"))),
                ("model", Json::str("FAL")),
                ("calibre", Json::str("7.62x51mm")),
                ("category", Json::str("rifles_and_carbines")),
                ("year_of_manufacture", Json::Int(1985)),
                ("marks", marks(&format!("FN-{n:08}"))),
            ]),
        )
    }
}

/// The State every test authority acts for, unless a test says otherwise.
pub const JURISDICTION: &str = "BE";

/// One mark on the frame.
pub fn marks(text: &str) -> Json {
    Json::Array(vec![Json::Object(object(&[
        ("component", Json::str("frame")),
        ("text", Json::str(text)),
    ]))])
}

/// The payload of a WeaponReportedLost.
pub fn lost_report() -> Object {
    object(&[
        ("reported_by", Json::str("Armoury officer")),
        ("place", Json::str("Brussels")),
        (
            "circumstances",
            Json::str("Missing at the yearly inventory"),
        ),
    ])
}

/// The payload of a WeaponReportedStolen.
pub fn stolen_report() -> Object {
    object(&[
        ("reported_by", Json::str("Armoury officer")),
        ("place", Json::str("Brussels")),
        ("circumstances", Json::str("Armoury broken into at night")),
    ])
}

/// A lowercase UUID derived from a number (stable stream names in tests).
pub fn uuid_from(n: u64) -> String {
    let v = (0x7f1e_2d3c_4b5a_4697_8877_0000_0000_0000u128) | u128::from(n);
    EventId::from_u128(v).to_string()
}

pub fn object(members: &[(&str, Json)]) -> Object {
    Object::from_members(
        members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    )
    .expect("unique keys")
}

/// A clock the test moves by hand.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn at(ms: i64) -> Arc<Self> {
        Arc::new(Self(std::sync::atomic::AtomicI64::new(ms)))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix_millis(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The root administrator of every test ledger.
pub fn root_signer() -> Signer {
    Signer::new("zz-admin", "k1", test_key(1))
}

/// The log key of every test ledger. TEST-ONLY.
pub fn log_key() -> SigningKey {
    test_key(0)
}

/// Creates a ledger with the test root administrator.
pub fn create_ledger(path: &Path, config: LedgerConfig, clock: Arc<dyn Clock>) -> Ledger {
    let root = root_signer();
    Ledger::create(
        path,
        Genesis {
            origin: ORIGIN.into(),
            log_key: log_key(),
            root_authority: root.actor.clone(),
            root_name: "Test ledger administration".into(),
            jurisdiction: JURISDICTION.into(),
            root_key_id: root.key_id.clone(),
            root_key: &root.key,
            occurred_at: Timestamp::parse("2026-11-27T09:00:00Z").expect("time"),
        },
        config,
        clock,
    )
    .expect("create test ledger")
}

/// The event that registers an authority with one key.
pub fn registration(
    root: &Signer,
    id: &str,
    kind: &str,
    jurisdiction: &str,
    key_id: &str,
    key: &SigningKey,
) -> SignedEvent {
    let keys = Json::Array(vec![Json::Object(object(&[
        ("key_id", Json::str(key_id)),
        (
            "public_key",
            Json::str(crypto::public_key_of(key).to_base64()),
        ),
    ]))]);
    root.event(
        &format!("authority:{id}"),
        ExpectedVersion::NoStream,
        "AuthorityRegistered",
        object(&[
            ("authority_id", Json::str(id)),
            ("name", Json::str(format!("Authority {id}"))),
            ("kind", Json::str(kind)),
            ("jurisdiction", Json::str(jurisdiction)),
            ("keys", keys),
        ]),
    )
}

/// Registers an authority and returns it as a signer.
pub fn register(ledger: &Ledger, id: &str, kind: &str, seed: u64) -> Signer {
    let key = test_key(seed);
    ledger
        .append(registration(
            &root_signer(),
            id,
            kind,
            JURISDICTION,
            "k1",
            &key,
        ))
        .expect("register test authority");
    Signer::new(id, "k1", key)
}

/// A small but complete ledger, closed cleanly: three authorities besides the root, 70
/// weapons (a third of them import-marked, so streams have several versions; ten with
/// manufacture serial numbers, one stolen), several checkpoints, a key rotation and events
/// signed with the new key. The flip test
/// damages copies of it; the golden ledger file is one of it.
pub fn build_sample_ledger(path: &Path) {
    let clock = ManualClock::at(1_800_000_000_000);
    let ledger = create_ledger(path, LedgerConfig::default(), clock.clone());
    let police = register(&ledger, "zz-police", "police", 10);
    let customs = register(&ledger, "zz-customs", "customs", 20);
    for n in 0..60u64 {
        let marked = police.weapon_marked(n);
        let stream = marked.envelope().stream.to_string();
        ledger.append(marked).expect("append");
        if n % 3 == 0 {
            let import = object(&[
                ("country_of_import", Json::str(JURISDICTION)),
                ("temporary_import", Json::Bool(false)),
                ("marks", marks(&format!("BE {n}"))),
            ]);
            ledger
                .append(customs.event(
                    &stream,
                    ExpectedVersion::Exact(0),
                    "WeaponImportMarked",
                    import,
                ))
                .expect("append");
        }
        if n % 20 == 19 {
            clock.advance(1000);
        }
    }
    let k2 = test_key(11);
    let rotation = object(&[
        ("key_id", Json::str("k2")),
        (
            "public_key",
            Json::str(crypto::public_key_of(&k2).to_base64()),
        ),
        ("retires_key_id", Json::str("k1")),
    ]);
    ledger
        .append(police.event(
            "authority:zz-police",
            ExpectedVersion::Any,
            "AuthorityKeyRotated",
            rotation,
        ))
        .expect("rotate");
    let police = Signer::new("zz-police", "k2", k2);
    ledger.append(police.weapon_marked(1000)).expect("append");
    // Manufacture markings with serial numbers (the serial indexes), one of them stolen.
    let maker = register(&ledger, "be-fn", "manufacturer", 21);
    for n in 2000..2010u64 {
        ledger.append(maker.manufacture_marked(n)).expect("append");
    }
    ledger
        .append(police.event(
            &format!("weapon:{}", uuid_from(2003)),
            ExpectedVersion::Exact(0),
            "WeaponReportedStolen",
            stolen_report(),
        ))
        .expect("append");
    ledger.close();
}

/// Opens an existing test ledger with the test log key.
pub fn open_ledger(path: &Path) -> Ledger {
    try_open_ledger(path).expect("open test ledger")
}

/// Opens a test ledger with the test log key and the default configuration.
pub fn try_open_ledger(path: &Path) -> Result<Ledger, ledger::OpenError> {
    Ledger::open(
        path,
        log_key(),
        LedgerConfig::default(),
        ledger::SystemClock::shared(),
    )
}

/// Runs the `armsledger` command line in-process: (exit code, stdout, stderr).
pub fn cli(args: &[&str]) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = std::iter::once("armsledger")
        .chain(args.iter().copied())
        .map(Into::into);
    let code = api::cli::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// `armsledger init` of a test ledger at `db` (root `zz-admin`, origin [`ORIGIN`]), in-process.
pub fn cli_init(db: &Path) -> (u8, String, String) {
    let db = db.to_str().expect("a UTF-8 path");
    cli(&[
        "init",
        "--db",
        db,
        "--origin",
        ORIGIN,
        "--authority",
        "zz-admin",
        "--jurisdiction",
        "BE",
    ])
}

/// Options for a test server on a free port, with its token file in `dir`.
pub fn server_options(dir: &Path) -> api::server::ServerOptions {
    api::server::ServerOptions {
        listen: "127.0.0.1:0".into(),
        workers: 2,
        token_file: dir.join("tokens.json"),
        reads: api::reads::ReadSettings::default(),
        policy_limits: plugins::HostLimits::default(),
        policy_cache: None,
    }
}

/// A bearer token for `authority` with `role`, in the token file of [`server_options`].
pub fn make_token(dir: &Path, authority: &str, role: api::auth::Role) -> String {
    let authority = ledger::event::AuthorityId::parse(authority).expect("authority id");
    api::auth::create_token(&dir.join("tokens.json"), &authority, role, None)
        .expect("token")
        .0
}

/// A number from the environment (test sizes, seeds), or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Tells a profiler started as `perf record --control fifo:CTL -D -1 ...` to start
/// (`enable`) or stop (`disable`) sampling, when ARMSLEDGER_BENCH_PERF_CTL names that fifo:
/// a benchmark profiles the part it times, not the setup before it.
pub fn profiler(command: &str) {
    if let Ok(fifo) = std::env::var("ARMSLEDGER_BENCH_PERF_CTL") {
        use std::io::Write as _;
        let sent = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo)
            .and_then(|mut f| f.write_all(format!("{command}\n").as_bytes()));
        if let Err(e) = sent {
            eprintln!("profiler control {fifo}: {e}");
        }
    }
}

/// Names the global rayon pool's threads `rayon-N` (call first in a benchmark's main), so
/// that [`Timed`] can tell the ledger's verification work from the caller's threads: left
/// alone, the pool's threads take the name of whichever thread first used it.
pub fn name_rayon_threads() {
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("rayon-{i}"))
        .build_global();
}

/// CPU time (user + system) this process has used, in total and by live thread name.
#[derive(Clone, Debug, Default)]
struct CpuUse {
    total: f64,
    by_thread: std::collections::BTreeMap<String, f64>,
}

impl CpuUse {
    /// Now, from /proc (Linux; empty elsewhere). Threads that have ended count in the
    /// total only.
    fn now() -> Self {
        // /proc reports times in clock ticks of USER_HZ, which is 100 on Linux.
        const TICKS_PER_SECOND: f64 = 100.0;
        let seconds = |stat: &str| -> Option<f64> {
            let after_name = &stat[stat.rfind(')')? + 1..];
            let fields: Vec<&str> = after_name.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / TICKS_PER_SECOND)
        };
        let mut usage = Self::default();
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            usage.total = seconds(&stat).unwrap_or(0.0);
        }
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return usage;
        };
        for task in tasks.flatten() {
            let dir = task.path();
            let (Ok(name), Ok(stat)) = (
                std::fs::read_to_string(dir.join("comm")),
                std::fs::read_to_string(dir.join("stat")),
            ) else {
                continue;
            };
            let name = name.trim();
            let group = if name.starts_with("rayon-") {
                "rayon"
            } else {
                name
            };
            *usage.by_thread.entry(group.to_owned()).or_default() += seconds(&stat).unwrap_or(0.0);
        }
        usage
    }
}

/// A benchmark's timed part: a profiler is told to sample it ([`profiler`]), and its wall
/// time and the CPU each thread used are measured. CPU per event is less at the mercy of a
/// shared machine's drift than a rate: a stage that gets less done per second because the
/// VM is slow still uses about the same CPU per event.
#[derive(Debug)]
pub struct Timed {
    started: std::time::Instant,
    cpu: CpuUse,
}

/// What a [`Timed`] part took.
#[derive(Debug)]
pub struct TimedPart {
    pub seconds: f64,
    cpu_total: f64,
    /// CPU seconds by thread name, with "ended" for threads gone before the end.
    cpu_by_thread: Vec<(String, f64)>,
}

impl Timed {
    pub fn start() -> Self {
        profiler("enable");
        Self {
            cpu: CpuUse::now(),
            started: std::time::Instant::now(),
        }
    }

    pub fn stop(self) -> TimedPart {
        let seconds = self.started.elapsed().as_secs_f64();
        let cpu = CpuUse::now();
        profiler("disable");
        let mut cpu_by_thread: Vec<(String, f64)> = cpu
            .by_thread
            .iter()
            .map(|(name, used)| {
                let was = self.cpu.by_thread.get(name).copied().unwrap_or(0.0);
                (name.clone(), used - was)
            })
            .filter(|(_, used)| *used > 0.0)
            .collect();
        let cpu_total = cpu.total - self.cpu.total;
        let live: f64 = cpu_by_thread.iter().map(|(_, used)| used).sum();
        cpu_by_thread.push(("ended".into(), (cpu_total - live).max(0.0)));
        cpu_by_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
        TimedPart {
            seconds,
            cpu_total,
            cpu_by_thread,
        }
    }
}

impl TimedPart {
    fn thread(&self, name: &str) -> f64 {
        self.cpu_by_thread
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0.0, |(_, used)| *used)
    }

    /// CPU microseconds per event: the ledger's writer thread, the verification pool
    /// (rayon), and everything else (callers' threads, the ledger's verifier coordinator).
    pub fn cpu_per_event(&self, events: u64) -> String {
        let us = |cpu: f64| cpu * 1e6 / events.max(1) as f64;
        let (writer, pool) = (self.thread("ledger-writer"), self.thread("rayon"));
        format!(
            "CPU per event: writer thread {:.1} us, verification pool {:.1} us, the rest {:.1} us; total {:.1} us ({:.2} cores busy)",
            us(writer),
            us(pool),
            us(self.cpu_total - writer - pool),
            us(self.cpu_total),
            self.cpu_total / self.seconds
        )
    }

    /// CPU microseconds per event of every thread name that used any, the busiest first.
    pub fn threads_per_event(&self, events: u64) -> String {
        self.cpu_by_thread
            .iter()
            .map(|(name, used)| format!("{name} {:.1} us", used * 1e6 / events.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The `p` quantile of sorted samples.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The machine's load averages (1, 5, 15 min), for benchmark reports.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Waits (at most 10 s) until the ledger's newest checkpoint covers its whole log: the
/// writer signs one within `checkpoint_interval_ms` of the last append.
pub fn wait_for_checkpoint(ledger: &Ledger) {
    let size = ledger.reader().expect("reader").tree_size().expect("size");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ledger
        .reader()
        .expect("reader")
        .latest_checkpoint()
        .expect("checkpoint")
        .map(|c| c.0)
        != Some(size)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint of the whole log"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// ed25519-dalek `verify_strict` on one core, signatures/s: the reference of the ingest
/// benchmarks (an event's signing bytes are about this long).
pub fn strict_verify_rate() -> f64 {
    use ed25519_dalek::Signer as _;
    let key = test_key(5);
    let messages: Vec<(Vec<u8>, ed25519_dalek::Signature)> = (0..4096u32)
        .map(|i| {
            let m = format!(
                "armsledger/event/v1\n{{\"event\":{i},\"payload\":\"{}\"}}",
                "x".repeat(300)
            )
            .into_bytes();
            let s = key.sign(&m);
            (m, s)
        })
        .collect();
    let verifying = key.verifying_key();
    let t = std::time::Instant::now();
    for i in 0..8192 {
        let (m, s) = &messages[i % messages.len()];
        verifying.verify_strict(m, s).expect("a valid signature");
    }
    8192.0 / t.elapsed().as_secs_f64()
}

/// The demo ledger (`api::demo`) built in `dir` with `weapons` weapons, served on port 0
/// with its token file.
#[derive(Debug)]
pub struct DemoServer {
    pub demo: api::demo::Demo,
    pub ledger: Ledger,
    pub server: api::server::RunningServer,
    pub base: String,
}

impl DemoServer {
    pub fn start(dir: &Path, weapons: u64) -> Self {
        let demo = api::demo::build(&dir.join("demo"), weapons).expect("the demo builds");
        let pem = std::fs::read_to_string(&demo.log_key).expect("the demo's log key");
        let ledger = Ledger::open(
            &demo.db,
            crypto::signing_key_from_pem(&pem).expect("a PEM key"),
            LedgerConfig::default(),
            ledger::SystemClock::shared(),
        )
        .expect("the demo ledger opens");
        let mut options = server_options(dir);
        options.token_file = demo.token_file.clone();
        let server = api::server::start(ledger.clone(), options).expect("the server starts");
        let base = format!("http://{}", server.addr);
        Self {
            demo,
            ledger,
            server,
            base,
        }
    }

    /// The demo token of `who` (an authority id) with `role`.
    pub fn token(&self, who: &str, role: api::auth::Role) -> String {
        self.demo
            .tokens
            .iter()
            .find(|(w, r, _)| w == who && *r == role)
            .map(|(_, _, token)| token.clone())
            .expect("the demo has this token")
    }

    /// The signing key the demo wrote for `authority` (its key `k1`).
    pub fn signer(&self, authority: &str) -> Signer {
        let path = self
            .demo
            .log_key
            .with_file_name(format!("{authority}.k1.key.pem"));
        let pem = std::fs::read_to_string(path).expect("the demo's key file");
        Signer::new(
            authority,
            "k1",
            crypto::signing_key_from_pem(&pem).expect("a PEM key"),
        )
    }
}
