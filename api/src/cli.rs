//! The `armsledger` command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ledger::event::{AuthorityId, KeyId, Timestamp};
use ledger::{Genesis, Ledger, LedgerConfig, SystemClock, crypto};

use crate::server as api_server;

#[derive(Debug, Parser)]
#[command(
    name = "armsledger",
    version,
    about = "A signed, verifiable ledger of small arms and light weapons"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve a ledger over HTTP: event submission, the domain's reads (bearer tokens),
    /// and the public log endpoints (checkpoint, verifier key, proofs).
    Serve {
        /// A TOML configuration file (see `api::config`); the environment
        /// (`ARMSLEDGER_*`) overrides it, and these flags override both.
        #[arg(long, conflicts_with = "demo")]
        config: Option<PathBuf>,
        /// The ledger file.
        #[arg(long)]
        db: Option<PathBuf>,
        /// The log key (PKCS#8 PEM) that signs checkpoints; `init` wrote it as log.key.pem.
        #[arg(long)]
        log_key: Option<PathBuf>,
        /// Serve the demo ledger in --demo-dir, building it first if it is not there.
        #[arg(long, conflicts_with_all = ["db", "log_key"])]
        demo: bool,
        /// Where the demo ledger lives.
        #[arg(long, default_value = "armsledger-demo")]
        demo_dir: PathBuf,
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// HTTP worker threads (default 2).
        #[arg(long)]
        workers: Option<usize>,
        /// The bearer-token file (default: the ledger file with extension tokens.json).
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// Log lines as JSON or text (default text).
        #[arg(long, value_enum)]
        log_format: Option<crate::config::LogFormat>,
        /// The least severe lines logged (default info: one line per request).
        #[arg(long, value_enum)]
        log_level: Option<crate::config::LogLevel>,
        /// Days a State gives itself to answer a trace request, as STATE=DAYS (e.g.
        /// BE=30); repeat for several States. Requests past it are flagged overdue.
        #[arg(long = "trace-deadline", value_parser = parse_deadline)]
        trace_deadlines: Vec<(String, u32)>,
    },
    /// Import signed events from a JSON Lines file (one per line) into a ledger file
    /// through the ledger's rules, each event judged on its own in file order (a refused
    /// line holds back no other): idempotent, resumable after an interruption (progress
    /// in FILE.import-progress), with a summary of what was refused and why.
    Import {
        /// The ledger file (not in use by a server).
        #[arg(long)]
        db: PathBuf,
        /// The log key (PKCS#8 PEM), which signs the checkpoints of what is imported.
        #[arg(long)]
        log_key: PathBuf,
        /// The JSON Lines file of signed events.
        #[arg(long)]
        file: PathBuf,
        /// Events submitted at a time (four such batches are in flight: the next ones
        /// are read and checked while the earlier ones are written).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Export the signed events of a ledger file, in log order, as JSON Lines.
    Export {
        /// The ledger file (not in use by a server).
        #[arg(long)]
        db: PathBuf,
        /// The first entry to export.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Make an ed25519 key pair: the private key as PKCS#8 PEM (mode 0600), the public key
    /// printed in base64, as an AuthorityRegistered or AuthorityKeyRotated event lists it.
    Keygen {
        /// The private key file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign an event file with a key file and send it. The file holds the event without
    /// `signature` (or a JSON array of them, sent as one all-or-nothing batch); a missing
    /// `event_id` gets a new UUIDv7, a missing `occurred_at` the current time, and `actor`
    /// and `key_id` come from the flags.
    Submit {
        #[command(flatten)]
        signing: crate::policy_cli::Signing,
        /// The event file (JSON).
        #[arg(long)]
        event: PathBuf,
    },
    /// Audit a weapon's (or licence's, certificate's, consignment's) history on a server,
    /// trusting only the log's verifier key: the checkpoint's signature and its consistency
    /// with the last audit, every entry's inclusion proof, the stream chain, every
    /// signature and the keys' registrations, and every recorded policy decision re-run
    /// on its module and input. Exits 1 naming what the server got wrong.
    #[command(group(clap::ArgGroup::new("subject").required(true)))]
    Audit {
        /// The server, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// The log's verifier key as you were given it (C2SP vkey form), not as the server says.
        #[arg(long)]
        vkey: String,
        /// A bearer token that may read the weapon and the log's entries (auditor).
        #[arg(long)]
        token: String,
        /// The weapon's id (UUID).
        #[arg(long, group = "subject")]
        weapon: Option<String>,
        /// An export or import licence's number.
        #[arg(long, group = "subject")]
        licence: Option<String>,
        /// An end-user certificate's number.
        #[arg(long, group = "subject")]
        euc: Option<String>,
        /// A consignment's number.
        #[arg(long, group = "subject")]
        consignment: Option<String>,
        /// Where to keep the last checkpoint seen, for consistency next time.
        #[arg(long, default_value = "armsledger-audit.json")]
        state: PathBuf,
    },
    /// Build the demo ledger (several States, thousands of weapons, licences, certificates,
    /// consignments, seizures and traces) in a directory, with demo keys and tokens.
    Demo {
        /// The directory to build it in (must not hold a demo yet).
        #[arg(long, default_value = "armsledger-demo")]
        dir: PathBuf,
        /// How many weapons to make (at least 400).
        #[arg(long, default_value_t = 2000)]
        weapons: u64,
    },
    /// Make or revoke the bearer tokens that reads need.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Export-control policies (WebAssembly, plugins/ABI.md): install and activate one on a
    /// server, test one against its fixtures, replay a candidate over a ledger's history.
    #[command(subcommand)]
    Policy(crate::policy_cli::PolicyCommand),
    /// Create a new ledger: the log key, the root administrator and its key, the genesis entry.
    /// Prints the log's verifier key, which auditors need.
    Init(InitArgs),
    /// Check a whole ledger file offline: every entry, hash, signature, stream and checkpoint.
    /// Exits non-zero and names the first bad entry if anything is wrong.
    Verify {
        /// The ledger file (not in use by a server).
        #[arg(long)]
        db: PathBuf,
        /// The log's verifier key as you were given it (C2SP vkey form). Without it,
        /// verify can only show that the file agrees with itself.
        #[arg(long)]
        vkey: Option<String>,
    },
    /// Rebuild the projections (weapons, licences, certificates, consignments, traces,
    /// policies, the serial indexes) of a ledger file from its log alone, in one
    /// transaction. The log is not touched. Stop the server first.
    Rebuild {
        /// The ledger file (not in use by a server).
        #[arg(long)]
        db: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make a token for an authority with a role, store only its hash, print it once.
    Create {
        /// The ledger file (the token file is kept beside it).
        #[arg(long, required_unless_present = "tokens")]
        db: Option<PathBuf>,
        /// The token file, instead of the one beside --db.
        #[arg(long)]
        tokens: Option<PathBuf>,
        /// The authority the token reads as (its State decides what it sees).
        #[arg(long)]
        authority: String,
        /// auditor (everything), authority (what concerns its State), public (proofs only).
        #[arg(long, value_enum)]
        role: crate::auth::Role,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Revoke a token by its id (printed by `token create`).
    Revoke {
        #[arg(long, required_unless_present = "tokens")]
        db: Option<PathBuf>,
        #[arg(long)]
        tokens: Option<PathBuf>,
        #[arg(long)]
        id: String,
    },
}

fn parse_deadline(text: &str) -> Result<(String, u32), String> {
    let (state, days) = text
        .split_once('=')
        .ok_or_else(|| "expected STATE=DAYS, e.g. BE=30".to_owned())?;
    let state = ledger::values::CountryCode::parse(state).map_err(|e| e.to_string())?;
    let days = days
        .parse()
        .map_err(|_| format!("{days:?} is not a number of days"))?;
    Ok((state.as_str().to_owned(), days))
}

fn token_file(db: Option<&Path>, tokens: Option<&Path>) -> anyhow::Result<PathBuf> {
    match (tokens, db) {
        (Some(tokens), _) => Ok(tokens.to_owned()),
        (None, Some(db)) => Ok(crate::auth::default_token_file(db)),
        (None, None) => bail!("give --db or --tokens"),
    }
}

fn token(command: &TokenCommand, out: &mut dyn Write) -> anyhow::Result<u8> {
    match command {
        TokenCommand::Create {
            db,
            tokens,
            authority,
            role,
            expires_in_days,
        } => {
            let path = token_file(db.as_deref(), tokens.as_deref())?;
            let authority =
                AuthorityId::parse(authority).map_err(|e| anyhow::anyhow!("--authority: {e}"))?;
            let (token, record) =
                crate::auth::create_token(&path, &authority, *role, *expires_in_days)
                    .with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "{token}")?;
            writeln!(
                out,
                "id {} for {} as {:?}{}; shown once, only its hash is kept in {}",
                record.id,
                record.authority,
                record.role,
                record
                    .expires_at
                    .map(|at| format!(", expires {at}"))
                    .unwrap_or_default(),
                path.display()
            )?;
            Ok(0)
        }
        TokenCommand::Revoke { db, tokens, id } => {
            let path = token_file(db.as_deref(), tokens.as_deref())?;
            if crate::auth::revoke_token(&path, id)? {
                writeln!(out, "revoked {id}")?;
                Ok(0)
            } else {
                bail!("no token {id} in {}", path.display())
            }
        }
    }
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// The ledger file to create.
    #[arg(long)]
    db: PathBuf,
    /// The checkpoint origin (also the log key's name), e.g. armsledger.example.org/zz.
    #[arg(long)]
    origin: String,
    /// Id of the root administrator, e.g. zz-admin.
    #[arg(long, default_value = "admin")]
    authority: String,
    /// Name of the root administrator.
    #[arg(long, default_value = "Ledger administration")]
    name: String,
    /// ISO 3166-1 alpha-2 code of the State running the ledger.
    #[arg(long)]
    jurisdiction: String,
    /// Where to write the private keys (PKCS#8 PEM). Defaults to the ledger file's directory.
    #[arg(long)]
    keys_dir: Option<PathBuf>,
}

/// Runs the command line of this process; returns its exit code.
pub fn main() -> ExitCode {
    let code = run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(code)
}

/// Exit codes: 0 success, 1 a check failed (verify found a problem), 2 the command
/// could not run (bad arguments, missing file...).
pub fn run(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        // --help and --version are "errors" to clap, printed on stdout with success.
        Err(e) if !e.use_stderr() => {
            let _ = write!(out, "{}", e.render());
            return 0;
        }
        Err(e) => {
            let _ = write!(err, "{}", e.render());
            return 2;
        }
    };
    let result = match cli.command {
        Command::Init(args) => init(&args, out).map(|()| 0),
        Command::Verify { db, vkey } => verify(&db, vkey.as_deref(), out, err),
        Command::Rebuild { db } => rebuild(&db, out),
        Command::Token(command) => token(&command, out),
        Command::Keygen { out: path } => keygen(&path, out),
        Command::Import {
            db,
            log_key,
            file,
            batch,
        } => import(&db, &log_key, &file, batch, out),
        Command::Export {
            db,
            from,
            out: path,
        } => export(&db, from, path.as_deref(), out),
        Command::Submit { signing, event } => submit(
            &signing.url,
            &signing.key,
            &signing.actor,
            &signing.key_id,
            &event,
            out,
            err,
        ),
        Command::Audit {
            url,
            vkey,
            token,
            weapon,
            licence,
            euc,
            consignment,
            state,
        } => {
            use crate::audit::Subject;
            let subject = match (&weapon, &licence, &euc, &consignment) {
                (Some(id), ..) => Subject::Weapon(id),
                (_, Some(id), ..) => Subject::Licence(id),
                (_, _, Some(id), _) => Subject::Euc(id),
                (.., Some(id)) => Subject::Consignment(id),
                _ => unreachable!("clap requires one subject"),
            };
            audit(&url, &vkey, &token, subject, &state, out, err)
        }
        Command::Policy(command) => crate::policy_cli::run(command, out, err),
        Command::Demo { dir, weapons } => demo(&dir, weapons, out).map(|_| 0),
        Command::Serve {
            config,
            db,
            log_key,
            demo: use_demo,
            demo_dir,
            listen,
            workers,
            tokens,
            log_format,
            log_level,
            trace_deadlines,
        } => (|| {
            let mut flags = crate::config::Settings {
                db,
                log_key,
                listen,
                workers,
                tokens,
                log_format,
                log_level,
                trace_deadline_days: trace_deadlines.into_iter().collect(),
                ..crate::config::Settings::default()
            };
            if use_demo {
                if demo_dir.join("demo.redb").exists() {
                    print_demo_tokens(&demo_dir, out)?;
                } else {
                    demo(&demo_dir, 2000, out)?;
                }
                flags.db = Some(demo_dir.join("demo.redb"));
                flags.log_key = Some(demo_dir.join("keys").join("log.key.pem"));
                flags.trace_deadline_days.entry("BE".into()).or_insert(30);
            }
            let file = match &config {
                Some(path) => crate::config::Settings::from_file(path)?,
                None => crate::config::Settings::default(),
            };
            let env = crate::config::Settings::from_env(|name| std::env::var(name).ok())?;
            serve(flags.over(env.over(file)).resolve()?, out)
        })(),
    };
    result.unwrap_or_else(|e| {
        let _ = writeln!(err, "error: {e:#}");
        2
    })
}

fn init(args: &InitArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if args.db.exists() {
        bail!("{} already exists; choose another --db", args.db.display());
    }
    let keys_dir = match &args.keys_dir {
        Some(d) => d.clone(),
        None => args.db.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let log_key = crypto::generate_signing_key()?;
    let root_key = crypto::generate_signing_key()?;
    let log_key_path = keys_dir.join("log.key.pem");
    let root_key_path = keys_dir.join(format!("{}.k1.key.pem", args.authority));
    write_private_key(&log_key_path, &log_key)?;
    write_private_key(&root_key_path, &root_key)?;
    let now = SystemClock.now_text();
    let log = Ledger::create(
        &args.db,
        Genesis {
            origin: args.origin.clone(),
            log_key,
            root_authority: AuthorityId::parse(&args.authority)
                .map_err(|e| anyhow::anyhow!("--authority: {e}"))?,
            root_name: args.name.clone(),
            jurisdiction: args.jurisdiction.clone(),
            root_key_id: KeyId::parse("k1").map_err(|e| anyhow::anyhow!("{e}"))?,
            root_key: &root_key,
            occurred_at: Timestamp::parse(&now).map_err(anyhow::Error::msg)?,
        },
        LedgerConfig::default(),
        SystemClock::shared(),
    )
    .context("creating the ledger")?;
    writeln!(out, "created {}", args.db.display())?;
    writeln!(out, "log key:        {}", log_key_path.display())?;
    writeln!(out, "root key (k1):  {}", root_key_path.display())?;
    writeln!(out, "verifier key:   {}", log.verifier()?.to_vkey())?;
    Ok(())
}

fn serve(settings: crate::config::Resolved, out: &mut dyn Write) -> anyhow::Result<u8> {
    let db = settings.db.as_path();
    let log_key = settings.log_key.as_path();
    if !db.exists() {
        bail!(
            "{} does not exist; create a ledger with `armsledger init` first",
            db.display()
        );
    }
    crate::server::init_logging(settings.log_format, settings.log_level);
    let pem = std::fs::read_to_string(log_key)
        .with_context(|| format!("reading the log key {}", log_key.display()))?;
    let key = crypto::signing_key_from_pem(&pem)
        .with_context(|| format!("{} is not a PKCS#8 ed25519 key", log_key.display()))?;
    let ledger = Ledger::open(db, key, settings.ledger, SystemClock::shared())
        .with_context(|| format!("opening {}", db.display()))?;
    let options = api_server::ServerOptions {
        token_file: settings.tokens.clone(),
        listen: settings.listen.clone(),
        workers: settings.workers,
        reads: crate::reads::ReadSettings {
            trace_deadline_days: settings.trace_deadline_days.clone(),
        },
        policy_limits: settings.policy_limits,
        policy_cache: Some(settings.policy_cache.clone()),
    };
    let listen = options.listen.clone();
    let server =
        api_server::start(ledger, options).with_context(|| format!("listening on {listen}"))?;
    tracing::info!(db = %db.display(), addr = %server.addr, "serving");
    writeln!(out, "serving {} on http://{}", db.display(), server.addr)?;
    writeln!(
        out,
        "  API docs:     http://{}/docs/ (OpenAPI: /openapi.json)",
        server.addr
    )?;
    writeln!(
        out,
        "  checkpoint:   http://{}/v1/log/checkpoint",
        server.addr
    )?;
    writeln!(out, "  verifier key: http://{}/v1/log/key", server.addr)?;
    writeln!(
        out,
        "  weapons:      http://{}/v1/weapons?serial=FN2020-000005 (bearer token)",
        server.addr
    )?;
    writeln!(
        out,
        "  traces:       http://{}/v1/trace-requests (bearer token)",
        server.addr
    )?;
    out.flush()?;
    server.wait()?;
    Ok(0)
}

/// Writes a private key readable only by its owner.
fn write_private_key(path: &Path, key: &ed25519_dalek::SigningKey) -> anyhow::Result<()> {
    use std::io::Write;
    let pem = crypto::signing_key_to_pem(key)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {} (it must not exist yet)", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

fn import(
    db: &Path,
    log_key: &Path,
    file: &Path,
    batch: usize,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    use std::io::IsTerminal;
    let pem = std::fs::read_to_string(log_key)
        .with_context(|| format!("reading the log key {}", log_key.display()))?;
    let key = crypto::signing_key_from_pem(&pem)
        .with_context(|| format!("{} is not a PKCS#8 ed25519 key", log_key.display()))?;
    let ledger = Ledger::open(db, key, LedgerConfig::default(), SystemClock::shared())
        .with_context(|| format!("opening {}", db.display()))?;
    let total = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    // A bar on a terminal; plain lines (at most one every 5 s) otherwise.
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| indicatif::ProgressBar::new(total));
    let started = std::time::Instant::now();
    let mut last_line = started;
    let mut plain = Vec::new();
    let summary = crate::bulk::import(&ledger, file, batch, |bytes| match &bar {
        Some(bar) => bar.set_position(bytes),
        None if last_line.elapsed().as_secs() >= 5 => {
            last_line = std::time::Instant::now();
            plain.push(format!(
                "{:.0}% of {} after {:.0} s",
                bytes as f64 * 100.0 / total.max(1) as f64,
                file.display(),
                started.elapsed().as_secs_f64()
            ));
        }
        None => {}
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for line in plain {
        writeln!(out, "{line}")?;
    }
    ledger.close();
    let summary = summary?;
    let seconds = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "imported {}: {} lines, {} appended, {} already in the log, {} refused, in {seconds:.1} s ({:.0} lines/s){}",
        file.display(),
        summary.lines,
        summary.appended,
        summary.duplicates,
        summary.refused(),
        summary.lines as f64 / seconds.max(1e-9),
        if summary.resumed_after > 0 {
            format!("; resumed after line {}", summary.resumed_after)
        } else {
            String::new()
        }
    )?;
    for (code, count) in &summary.refused_by_code {
        writeln!(out, "  refused {count} x {code}")?;
    }
    for (line, code, message) in &summary.refusals {
        writeln!(out, "  line {line}: {code}: {message}")?;
    }
    Ok(0)
}

fn export(db: &Path, from: u64, path: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<u8> {
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let count = match path {
        Some(path) => {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create_new(path)
                    .with_context(|| format!("creating {} (it must not exist)", path.display()))?,
            );
            crate::bulk::export(db, from, &mut file)?
        }
        None => crate::bulk::export(db, from, out)?,
    };
    if path.is_some() {
        writeln!(out, "exported {count} events")?;
    }
    Ok(0)
}

fn keygen(path: &Path, out: &mut dyn Write) -> anyhow::Result<u8> {
    if path.exists() {
        bail!("{} exists; keys are never overwritten", path.display());
    }
    let key = crypto::generate_signing_key()?;
    write_private_key(path, &key)?;
    writeln!(out, "{}", crypto::public_key_of(&key).to_base64())?;
    Ok(0)
}

/// Fills and signs one event object from an event file.
pub(crate) fn sign_event(
    mut object: ledger::json::Object,
    actor: &str,
    key_id: &str,
    key: &ed25519_dalek::SigningKey,
) -> anyhow::Result<ledger::event::SignedEvent> {
    use ledger::json::Json;
    if object.get("event_id").is_none() {
        object.insert(
            "event_id",
            Json::str(ledger::event::EventId::new_v7().to_string()),
        );
    }
    if object.get("occurred_at").is_none() {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis();
        let now = Timestamp::from_unix_millis(i64::try_from(ms)?)
            .ok_or_else(|| anyhow::anyhow!("the clock is out of range"))?;
        object.insert("occurred_at", Json::str(now.as_str()));
    }
    object.insert("actor", Json::str(actor));
    object.insert("key_id", Json::str(key_id));
    // The envelope's own checks, through a placeholder signature; then the real one.
    object.insert(
        "signature",
        Json::str(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [0_u8; 64],
        )),
    );
    let checked = ledger::event::SignedEvent::from_object(object)
        .map_err(|r| anyhow::anyhow!("the event file: {r} [{}]", r.code()))?;
    let (envelope, _, _) = checked.into_parts();
    Ok(envelope.sign(key))
}

fn submit(
    url: &str,
    key: &Path,
    actor: &str,
    key_id: &str,
    event: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    use ledger::json::Json;
    let pem = std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
    let key = crypto::signing_key_from_pem(&pem)
        .with_context(|| format!("{} is not a PKCS#8 ed25519 key", key.display()))?;
    let text = std::fs::read(event).with_context(|| format!("reading {}", event.display()))?;
    let parsed = Json::parse(&text, 64).map_err(|e| anyhow::anyhow!("{}: {e}", event.display()))?;
    let (path, body) = match parsed {
        Json::Object(object) => (
            "/v1/events",
            sign_event(object, actor, key_id, &key)?.to_canonical_vec(),
        ),
        Json::Array(items) => {
            let mut signed = Vec::new();
            for item in items {
                let Json::Object(object) = item else {
                    bail!("{}: a batch is an array of event objects", event.display());
                };
                signed.push(String::from_utf8(
                    sign_event(object, actor, key_id, &key)?.to_canonical_vec(),
                )?);
            }
            (
                "/v1/events:batch",
                format!("[{}]", signed.join(",")).into_bytes(),
            )
        }
        _ => bail!(
            "{}: expected an event object or an array of them",
            event.display()
        ),
    };
    let (status, reply) = crate::policy_cli::post(url, path, None, &body)?;
    if status == 200 || status == 201 {
        writeln!(out, "{reply}")?;
        Ok(0)
    } else {
        writeln!(err, "refused ({status}): {reply}")?;
        Ok(1)
    }
}

fn audit(
    url: &str,
    vkey: &str,
    token: &str,
    subject: crate::audit::Subject<'_>,
    state: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    use crate::audit::Subject;
    let what = match subject {
        Subject::Weapon(id) => format!("weapon {id}"),
        Subject::Licence(id) => format!("licence {id}"),
        Subject::Euc(id) => format!("certificate {id}"),
        Subject::Consignment(id) => format!("consignment {id}"),
    };
    match crate::audit::audit(url, token, vkey, subject, state) {
        Ok(report) => {
            writeln!(
                out,
                "ok: {what}: {} entries, each signed by a key the log registered, included in the checkpoint of {} entries signed by the trusted key{}; {} policy decisions re-run to the same answer",
                report.entries,
                report.tree_size,
                report
                    .consistent_with
                    .map(|size| format!(", consistent with the one of {size} seen last time"))
                    .unwrap_or_default(),
                report.decisions_replayed
            )?;
            Ok(0)
        }
        Err(failure) => {
            writeln!(err, "audit failed: {failure}")?;
            let cannot_run = matches!(
                failure.code,
                "server_unreachable" | "state_file" | "invalid_vkey" | "server_error"
            );
            Ok(if cannot_run { 2 } else { 1 })
        }
    }
}

/// The demo's tokens, kept in a file beside it (demo tokens only: never do this with real
/// ones, which are shown once).
fn demo_tokens_file(dir: &Path) -> PathBuf {
    dir.join("demo-tokens.txt")
}

fn print_demo_tokens(dir: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(demo_tokens_file(dir)).unwrap_or_default();
    write!(out, "{text}")?;
    Ok(())
}

fn demo(dir: &Path, weapons: u64, out: &mut dyn Write) -> anyhow::Result<crate::demo::Demo> {
    writeln!(out, "building the demo ledger in {} ...", dir.display())?;
    let started = std::time::Instant::now();
    let built = crate::demo::build(dir, weapons)?;
    let mut text = format!(
        "demo ledger {} built in {:.1} s\ndemo tokens (curl -H 'Authorization: Bearer TOKEN' ...):\n",
        built.db.display(),
        started.elapsed().as_secs_f64()
    );
    for (who, role, token) in &built.tokens {
        text.push_str(&format!("  {role:?} {who}: {token}\n"));
    }
    std::fs::write(demo_tokens_file(dir), &text)?;
    write!(out, "{text}")?;
    Ok(built)
}

fn rebuild(db: &Path, out: &mut dyn Write) -> anyhow::Result<u8> {
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let started = std::time::Instant::now();
    let rebuilt = ledger::projections::rebuild_file(db)
        .with_context(|| format!("rebuilding the projections of {}", db.display()))?;
    writeln!(
        out,
        "rebuilt {} views from {} entries in {:.1} s",
        rebuilt.views.len(),
        rebuilt.applied,
        started.elapsed().as_secs_f64()
    )?;
    if !rebuilt.uninterpreted.is_empty() {
        writeln!(
            out,
            "{} entries have payloads this version cannot read and are left out of the views (first: {})",
            rebuilt.uninterpreted.len(),
            rebuilt.uninterpreted[0]
        )?;
    }
    Ok(0)
}

fn verify(
    db: &Path,
    vkey: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let trusted = vkey
        .map(ledger::note::NoteVerifier::from_vkey)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--vkey is not a C2SP verifier key: {e}"))?;
    let options = ledger::verify::VerifyOptions {
        trusted,
        allow_unsigned_tail: false,
    };
    match ledger::verify::verify_file_with(db, &options) {
        Ok(report) => {
            writeln!(
                out,
                "ok: {} entries, {} streams, {} authorities, {} checkpoints, {} projections verified",
                report.entries,
                report.streams,
                report.authorities,
                report.checkpoints,
                report.views
            )?;
            writeln!(
                out,
                "root: {}",
                ledger::merkle::hash_to_base64(&report.root)
            )?;
            writeln!(
                out,
                "verifier key: {}{}",
                report.vkey,
                if vkey.is_some() {
                    " (matches --vkey)"
                } else {
                    " (read from the file; pass --vkey to check it)"
                }
            )?;
            Ok(0)
        }
        Err(failure) => {
            writeln!(err, "verify failed: {failure}")?;
            Ok(1)
        }
    }
}

trait NowText {
    fn now_text(&self) -> String;
}

impl NowText for SystemClock {
    fn now_text(&self) -> String {
        use ledger::Clock;
        let ms = self.now_unix_millis();
        Timestamp::from_unix_millis(ms - ms % 1000)
            .map(|t| t.as_str().replace(".000Z", "Z"))
            .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
    }
}
