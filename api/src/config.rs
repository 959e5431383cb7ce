//! The server's configuration: a TOML file, then the environment, then the command line,
//! each overriding the one before; anything unset keeps its default.
//!
//! ```toml
//! db = "be.redb"
//! log_key = "log.key.pem"
//! listen = "0.0.0.0:8080"
//! workers = 4
//! tokens = "be.tokens.json"
//! log_format = "json"            # or "text"
//! log_level = "warn"             # error, warn, info (default: a line per request) or debug
//!
//! [limits]
//! event_bytes_max = 65536
//! json_depth_max = 32
//! batch_events_max = 1000
//! commit_events_max = 4096
//! queue_appends_max = 4096
//! checkpoint_interval_ms = 1000
//! view_cache_bytes = 33554432   # decoded views kept for the next read (0: none)
//!
//! [trace_deadline_days]          # national deadlines to answer a trace, by State
//! BE = 30
//!
//! policy_cache = "be.policy-cache"  # compiled policy modules (default: <db>.policy-cache)
//! [policies]                     # the policy host's limits per evaluation
//! fuel_per_evaluation = 10000000
//! deadline_ms = 100
//! memory_bytes_max = 16777216
//! stack_bytes_max = 524288
//! output_bytes_max = 1048576
//! concurrent_instances_max = 32
//! ```
//!
//! Environment: `ARMSLEDGER_DB`, `ARMSLEDGER_LOG_KEY`, `ARMSLEDGER_LISTEN`,
//! `ARMSLEDGER_WORKERS`, `ARMSLEDGER_TOKENS`, `ARMSLEDGER_LOG_FORMAT`, `ARMSLEDGER_LOG_LEVEL`,
//! `ARMSLEDGER_CHECKPOINT_INTERVAL_MS`, `ARMSLEDGER_POLICY_CACHE`. Unknown keys in the file are refused, so a typo
//! does not pass for a setting.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context, bail};
use ledger::LedgerConfig;
use serde::Deserialize;

/// How the server writes its logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The least severe log lines written: `info` (the default) logs one line per request,
/// `warn` only what needs an operator's attention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
}

impl LogLevel {
    pub fn as_tracing(self) -> tracing::Level {
        match self {
            LogLevel::Error => tracing::Level::ERROR,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Debug => tracing::Level::DEBUG,
        }
    }
}

/// The limits of `ledger::LedgerConfig`, each optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub event_bytes_max: Option<usize>,
    pub json_depth_max: Option<usize>,
    pub batch_events_max: Option<usize>,
    pub commit_events_max: Option<usize>,
    pub queue_appends_max: Option<usize>,
    pub checkpoint_interval_ms: Option<u64>,
    pub view_cache_bytes: Option<usize>,
}

/// One layer of settings (the file, the environment or the flags).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub db: Option<PathBuf>,
    pub log_key: Option<PathBuf>,
    pub listen: Option<String>,
    pub workers: Option<usize>,
    pub tokens: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    pub log_level: Option<LogLevel>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub trace_deadline_days: BTreeMap<String, u32>,
    pub policy_cache: Option<PathBuf>,
    /// The policy host's limits; a section given replaces the defaults field by field.
    pub policies: Option<plugins::HostLimits>,
}

/// The settings, resolved.
#[derive(Debug)]
pub struct Resolved {
    pub db: PathBuf,
    pub log_key: PathBuf,
    pub listen: String,
    pub workers: usize,
    pub tokens: PathBuf,
    pub log_format: LogFormat,
    pub log_level: LogLevel,
    pub ledger: LedgerConfig,
    pub trace_deadline_days: HashMap<String, u32>,
    pub policy_cache: PathBuf,
    pub policy_limits: plugins::HostLimits,
}

impl Settings {
    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Reads the `ARMSLEDGER_*` variables from `lookup` (the process environment, or a map
    /// in tests).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let number = |name: &str| -> anyhow::Result<Option<u64>> {
            lookup(name)
                .map(|v| {
                    v.parse()
                        .with_context(|| format!("{name}={v:?} is not a number"))
                })
                .transpose()
        };
        let log_format = match lookup("ARMSLEDGER_LOG_FORMAT").as_deref() {
            None => None,
            Some("json") => Some(LogFormat::Json),
            Some("text") => Some(LogFormat::Text),
            Some(other) => bail!("ARMSLEDGER_LOG_FORMAT={other:?}: expected json or text"),
        };
        let log_level = match lookup("ARMSLEDGER_LOG_LEVEL").as_deref() {
            None => None,
            Some(level) => Some(
                <LogLevel as clap::ValueEnum>::from_str(level, true).map_err(|_| {
                    anyhow::anyhow!(
                        "ARMSLEDGER_LOG_LEVEL={level:?}: expected error, warn, info or debug"
                    )
                })?,
            ),
        };
        Ok(Self {
            db: lookup("ARMSLEDGER_DB").map(PathBuf::from),
            log_key: lookup("ARMSLEDGER_LOG_KEY").map(PathBuf::from),
            listen: lookup("ARMSLEDGER_LISTEN"),
            workers: number("ARMSLEDGER_WORKERS")?
                .map(|w| usize::try_from(w).unwrap_or(usize::MAX)),
            tokens: lookup("ARMSLEDGER_TOKENS").map(PathBuf::from),
            log_format,
            log_level,
            limits: Limits {
                checkpoint_interval_ms: number("ARMSLEDGER_CHECKPOINT_INTERVAL_MS")?,
                ..Limits::default()
            },
            trace_deadline_days: BTreeMap::new(),
            policy_cache: lookup("ARMSLEDGER_POLICY_CACHE").map(PathBuf::from),
            policies: None,
        })
    }

    /// This layer over `base`: what this layer sets wins.
    pub fn over(self, base: Settings) -> Settings {
        let mut trace_deadline_days = base.trace_deadline_days;
        trace_deadline_days.extend(self.trace_deadline_days);
        Settings {
            db: self.db.or(base.db),
            log_key: self.log_key.or(base.log_key),
            listen: self.listen.or(base.listen),
            workers: self.workers.or(base.workers),
            tokens: self.tokens.or(base.tokens),
            log_format: self.log_format.or(base.log_format),
            log_level: self.log_level.or(base.log_level),
            limits: Limits {
                event_bytes_max: self.limits.event_bytes_max.or(base.limits.event_bytes_max),
                json_depth_max: self.limits.json_depth_max.or(base.limits.json_depth_max),
                batch_events_max: self
                    .limits
                    .batch_events_max
                    .or(base.limits.batch_events_max),
                commit_events_max: self
                    .limits
                    .commit_events_max
                    .or(base.limits.commit_events_max),
                queue_appends_max: self
                    .limits
                    .queue_appends_max
                    .or(base.limits.queue_appends_max),
                checkpoint_interval_ms: self
                    .limits
                    .checkpoint_interval_ms
                    .or(base.limits.checkpoint_interval_ms),
                view_cache_bytes: self
                    .limits
                    .view_cache_bytes
                    .or(base.limits.view_cache_bytes),
            },
            trace_deadline_days,
            policy_cache: self.policy_cache.or(base.policy_cache),
            policies: self.policies.or(base.policies),
        }
    }

    /// Fills the defaults and checks what must be there.
    pub fn resolve(self) -> anyhow::Result<Resolved> {
        let db = self
            .db
            .context("no ledger file: give --db, ARMSLEDGER_DB or db in the configuration")?;
        let log_key = self.log_key.context(
            "no log key: give --log-key, ARMSLEDGER_LOG_KEY or log_key in the configuration",
        )?;
        let defaults = LedgerConfig::default();
        let limits = &self.limits;
        let ledger = LedgerConfig {
            event_limits: ledger::event::EventLimits {
                event_bytes_max: limits
                    .event_bytes_max
                    .unwrap_or(defaults.event_limits.event_bytes_max),
                json_depth_max: limits
                    .json_depth_max
                    .unwrap_or(defaults.event_limits.json_depth_max),
            },
            batch_events_max: limits.batch_events_max.unwrap_or(defaults.batch_events_max),
            commit_events_max: limits
                .commit_events_max
                .unwrap_or(defaults.commit_events_max),
            queue_appends_max: limits
                .queue_appends_max
                .unwrap_or(defaults.queue_appends_max),
            checkpoint_interval_ms: limits
                .checkpoint_interval_ms
                .unwrap_or(defaults.checkpoint_interval_ms),
            view_cache_bytes: limits.view_cache_bytes.unwrap_or(defaults.view_cache_bytes),
        };
        let mut trace_deadline_days = HashMap::new();
        for (state, days) in self.trace_deadline_days {
            let code = ledger::values::CountryCode::parse(&state)
                .map_err(|e| anyhow::anyhow!("trace_deadline_days: {e}"))?;
            trace_deadline_days.insert(code.as_str().to_owned(), days);
        }
        let mut policy_cache = db.clone().into_os_string();
        policy_cache.push(".policy-cache");
        Ok(Resolved {
            policy_cache: self.policy_cache.unwrap_or_else(|| policy_cache.into()),
            policy_limits: self.policies.unwrap_or_default(),
            tokens: self
                .tokens
                .unwrap_or_else(|| crate::auth::default_token_file(&db)),
            db,
            log_key,
            listen: self.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            workers: self.workers.unwrap_or(2).max(1),
            log_format: self.log_format.unwrap_or_default(),
            log_level: self.log_level.unwrap_or_default(),
            ledger,
            trace_deadline_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let file: Settings = toml::from_str(
            r#"
            db = "file.redb"
            log_key = "file.pem"
            listen = "0.0.0.0:9000"
            workers = 8
            [limits]
            checkpoint_interval_ms = 5000
            batch_events_max = 10
            view_cache_bytes = 0
            [trace_deadline_days]
            BE = 30
            FR = 60
            "#,
        )
        .unwrap();
        let env = Settings::from_env(|name| match name {
            "ARMSLEDGER_LISTEN" => Some("127.0.0.1:7000".into()),
            "ARMSLEDGER_CHECKPOINT_INTERVAL_MS" => Some("2000".into()),
            "ARMSLEDGER_LOG_LEVEL" => Some("WARN".into()),
            _ => None,
        })
        .unwrap();
        let flags = Settings {
            workers: Some(3),
            trace_deadline_days: [("BE".to_owned(), 10)].into_iter().collect(),
            ..Settings::default()
        };
        let resolved = flags.over(env.over(file)).resolve().unwrap();
        assert_eq!(resolved.db, PathBuf::from("file.redb"));
        assert_eq!(resolved.tokens, PathBuf::from("file.tokens.json"));
        assert_eq!(resolved.listen, "127.0.0.1:7000");
        assert_eq!(resolved.workers, 3);
        assert_eq!(resolved.log_level, LogLevel::Warn);
        assert_eq!(resolved.ledger.checkpoint_interval_ms, 2000);
        assert_eq!(resolved.ledger.batch_events_max, 10);
        assert_eq!(resolved.ledger.view_cache_bytes, 0);
        assert_eq!(
            resolved.ledger.queue_appends_max,
            LedgerConfig::default().queue_appends_max
        );
        assert_eq!(resolved.trace_deadline_days["BE"], 10);
        assert_eq!(resolved.trace_deadline_days["FR"], 60);
    }

    #[test]
    fn typos_and_bad_values_are_refused_with_their_place() {
        assert!(toml::from_str::<Settings>("dbb = \"x\"").is_err());
        assert!(toml::from_str::<Settings>("[limits]\nevent_byte_max = 1").is_err());
        let bad = Settings::from_env(|n| (n == "ARMSLEDGER_WORKERS").then(|| "many".into()));
        assert!(bad.unwrap_err().to_string().contains("ARMSLEDGER_WORKERS"));
        let bad = Settings::from_env(|n| (n == "ARMSLEDGER_LOG_LEVEL").then(|| "loud".into()));
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("ARMSLEDGER_LOG_LEVEL")
        );
        let unknown_state = Settings {
            db: Some("x".into()),
            log_key: Some("y".into()),
            trace_deadline_days: [("XX".to_owned(), 1)].into_iter().collect(),
            ..Settings::default()
        };
        assert!(unknown_state.resolve().is_err());
        assert!(
            Settings::default()
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("--db")
        );
    }
}
