//! Bearer tokens and roles for reads (DESIGN.md "Authorities, keys and access").
//!
//! Writes need no token: an event is authenticated by its own signature. Reads need a
//! token made by `armsledger token create --authority ID --role ROLE`. The server keeps only
//! the token's SHA-256, in a small JSON file beside the ledger (`<db>.tokens.json`), which
//! `token create` and `token revoke` rewrite atomically and the server reads again when it
//! changes: tokens come and go without a restart, and the ledger file (locked by the
//! server) is not needed to make one.
//!
//! Roles: `auditor` reads everything; `authority` reads what concerns the State of the
//! authority it was made for (`ledger::domain::visibility`); `public` reads only what is
//! public anyway (checkpoints, the verifier key, proofs: hashes only).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::SystemTime;

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ledger::event::{AuthorityId, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// What a token lets its holder read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Auditor,
    Authority,
    Public,
}

/// One token as the file keeps it: never the token itself, only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// A short public name for revoking it (the first 12 hex digits of its hash).
    pub id: String,
    pub sha256: String,
    pub authority: String,
    pub role: Role,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

/// The token file next to a ledger file: `ledger.redb` -> `ledger.tokens.json`.
pub fn default_token_file(db: &Path) -> PathBuf {
    db.with_extension("tokens.json")
}

fn now() -> String {
    let ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_unix_millis(ms).map_or_else(String::new, |t| t.as_str().to_owned())
}

/// A token's SHA-256: all the token file keeps of it (in hex), and what a request's
/// token is looked up by.
fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn read_file(path: &Path) -> anyhow::Result<TokenFile> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(e) => Err(e.into()),
    }
}

/// Writes the whole file through a temporary file and a rename, so that a reader never
/// sees half of it; only the owner may read it.
fn write_file(path: &Path, file: &TokenFile) -> anyhow::Result<()> {
    let temporary = path.with_extension("tokens.json.tmp");
    let bytes = serde_json::to_vec_pretty(file)?;
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&temporary)?;
        out.write_all(&bytes)?;
        out.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    // A server looks at the file at most once per TOKEN_FILE_RECHECK: waiting out twice
    // that makes the change hold for every request a server answers after this returns.
    std::thread::sleep(2 * TOKEN_FILE_RECHECK);
    Ok(())
}

/// How long a server trusts its last look at the token file: a file rewritten by
/// `armsledger token` holds from the next request (the command waits this out), one
/// changed by anything else within this time. Looking on every request (a `statat`) was
/// ~8% of the server's CPU in an EUC verification.
pub const TOKEN_FILE_RECHECK: std::time::Duration = std::time::Duration::from_millis(1);

/// Makes a token, stores its hash, and returns (the token, its record). The token is shown
/// once and never stored.
pub fn create_token(
    path: &Path,
    authority: &AuthorityId,
    role: Role,
    expires_in_days: Option<u32>,
) -> anyhow::Result<(String, TokenRecord)> {
    let mut secret = [0_u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("random bytes: {e}"))?;
    let token = format!("alt_{}", URL_SAFE_NO_PAD.encode(secret));
    let sha256 = hex::encode(token_digest(&token));
    let expires_at = expires_in_days.and_then(|days| {
        let ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()?
            .as_millis()
            .checked_add(u128::from(days) * 86_400_000)?;
        Timestamp::from_unix_millis(i64::try_from(ms).ok()?).map(|t| t.as_str().to_owned())
    });
    let record = TokenRecord {
        id: sha256[..12].to_owned(),
        sha256,
        authority: authority.to_string(),
        role,
        created_at: now(),
        expires_at,
        revoked_at: None,
    };
    let mut file = read_file(path)?;
    file.tokens.push(record.clone());
    write_file(path, &file)?;
    Ok((token, record))
}

/// Marks a token revoked. Returns false when no token has that id.
pub fn revoke_token(path: &Path, id: &str) -> anyhow::Result<bool> {
    let mut file = read_file(path)?;
    let Some(record) = file.tokens.iter_mut().find(|t| t.id == id) else {
        return Ok(false);
    };
    record.revoked_at.get_or_insert_with(now);
    write_file(path, &file)?;
    Ok(true)
}

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    pub authority: AuthorityId,
    /// The State the authority acts for, from the ledger's registry.
    pub jurisdiction: String,
}

impl Principal {
    /// Whether this principal may read something that concerns the given States' view.
    pub fn may_read(&self, view: &ledger::domain::views::View) -> bool {
        match self.role {
            Role::Auditor => true,
            Role::Authority => ledger::domain::visibility::concerns_state(view, &self.jurisdiction),
            Role::Public => false,
        }
    }
}

/// The server's view of the token file: reloaded when the file changes.
#[derive(Debug)]
pub struct Tokens {
    path: PathBuf,
    /// The file's directory, kept open, and the file's name in it: each request asks the
    /// directory for the name (`statat`, one name looked up) instead of walking the whole
    /// path (`stat`), which had been ~7% of a read's CPU. What the name leads to, through
    /// a symbolic link if it is one, is compared with the file loaded, exactly as a `stat`
    /// of the path would. `None` when the directory could not be opened: then the path.
    directory: Option<(rustix::fd::OwnedFd, std::ffi::OsString)>,
    loaded: RwLock<Loaded>,
    /// The origin of [`Loaded::seen_at`].
    started: std::time::Instant,
}

/// The token file as last loaded.
#[derive(Debug, Default)]
struct Loaded {
    /// The loaded file's stamp; `None` when there was no file.
    stamp: Option<FileStamp>,
    grants: Grants,
    /// Nanoseconds after [`Tokens::started`] at which the latest look at the file that
    /// found this one began (0: never): the file was this one at least until then.
    seen_at: AtomicU64,
}

fn nanos(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Loaded {
    /// Whether a look at the file began less than [`TOKEN_FILE_RECHECK`] before `now`.
    fn fresh_at(&self, now: u64) -> bool {
        let seen = self.seen_at.load(Ordering::Relaxed);
        seen != 0 && now.saturating_sub(seen) < nanos(TOKEN_FILE_RECHECK)
    }

    /// Reads the file `path` names now (no file: no tokens).
    fn load(path: &Path) -> anyhow::Result<Self> {
        use std::io::Read as _;
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e.into()),
        };
        // The stamp of the very file read, taken before its bytes: a file renamed into
        // place meanwhile, or written after this, differs from it on the next request.
        let stamp = FileStamp::of(&rustix::fs::fstat(&file)?);
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let parsed: TokenFile = serde_json::from_slice(&bytes)?;
        Ok(Self {
            stamp: Some(stamp),
            grants: parsed.tokens.into_iter().filter_map(Grant::of).collect(),
            seen_at: AtomicU64::new(0),
        })
    }
}

/// Tokens by the raw SHA-256 of the token.
type Grants = HashMap<[u8; 32], Grant>;

/// What a token grants, as the server checks it on each request: parsed once when the
/// file is loaded, not on every request.
#[derive(Clone, Debug)]
struct Grant {
    role: Role,
    /// `None` when the file names no valid authority (the token is then refused).
    authority: Option<AuthorityId>,
    expires_at: Option<String>,
    revoked: bool,
}

impl Grant {
    /// The record's hash as raw bytes (a record whose hash is not 64 hex digits can match
    /// no token) and what it grants.
    fn of(record: TokenRecord) -> Option<([u8; 32], Grant)> {
        let mut sha256 = [0_u8; 32];
        hex::decode_to_slice(&record.sha256, &mut sha256).ok()?;
        let grant = Grant {
            role: record.role,
            authority: AuthorityId::parse(&record.authority).ok(),
            expires_at: record.expires_at,
            revoked: record.revoked_at.is_some(),
        };
        Some((sha256, grant))
    }
}

/// What tells one version of the token file from the next: every rewrite renames a new
/// file into place, so the file (device and inode) changes even when two rewrites share
/// a timestamp tick; an edit in place changes its modification time or length, and a
/// link added or a rename its change time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    device: i128,
    inode: i128,
    len: i128,
    modified: (i128, i128),
    changed: (i128, i128),
}

impl FileStamp {
    fn of(stat: &rustix::fs::Stat) -> Self {
        Self {
            device: i128::from(stat.st_dev),
            inode: i128::from(stat.st_ino),
            len: i128::from(stat.st_size),
            modified: (i128::from(stat.st_mtime), i128::from(stat.st_mtime_nsec)),
            changed: (i128::from(stat.st_ctime), i128::from(stat.st_ctime_nsec)),
        }
    }
}

fn unauthorized(detail: &str) -> Problem {
    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
}

impl Tokens {
    pub fn new(path: PathBuf) -> Self {
        let directory = path.file_name().and_then(|name| {
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let flags = rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::CLOEXEC;
            let handle = rustix::fs::open(parent, flags, rustix::fs::Mode::empty()).ok()?;
            Some((handle, name.to_owned()))
        });
        Self {
            path,
            directory,
            loaded: RwLock::default(),
            started: std::time::Instant::now(),
        }
    }

    /// The stamp of the file the path names now; `None` when there is none.
    fn current_stamp(&self) -> Option<FileStamp> {
        let stat = match &self.directory {
            Some((handle, name)) => {
                rustix::fs::statat(handle, name.as_os_str(), rustix::fs::AtFlags::empty())
            }
            None => rustix::fs::stat(&self.path),
        };
        stat.ok().map(|stat| FileStamp::of(&stat))
    }

    fn grant(&self, hash: &[u8; 32]) -> Result<Option<Grant>, Problem> {
        // Taken before the look at the file: what the look finds was there at least then.
        let now = nanos(self.started.elapsed()).max(1);
        {
            let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
            if loaded.fresh_at(now) {
                return Ok(loaded.grants.get(hash).cloned());
            }
        }
        let current = self.current_stamp();
        {
            let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
            if loaded.stamp == current {
                // Under the read lock: the file just seen is the one loaded.
                loaded.seen_at.fetch_max(now, Ordering::Relaxed);
                return Ok(loaded.grants.get(hash).cloned());
            }
        }
        let reloaded = Loaded::load(&self.path).map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "token_store",
                format!("the token file cannot be read: {e}"),
            )
        })?;
        reloaded.seen_at.store(now, Ordering::Relaxed);
        let grant = reloaded.grants.get(hash).cloned();
        let mut loaded = self.loaded.write().unwrap_or_else(PoisonError::into_inner);
        // Two reloads at once: the one whose look began later wins, so that a file
        // loaded is never older than its `seen_at` says.
        if loaded.seen_at.load(Ordering::Relaxed) < now {
            *loaded = reloaded;
        }
        Ok(grant)
    }

    /// The principal behind the request's bearer token: 401 without a valid one.
    pub fn principal(
        &self,
        request: &HttpRequest,
        registry: &ledger::registry::Registry,
    ) -> Result<Principal, Problem> {
        let header = request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("this endpoint needs a bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
        let grant = self
            .grant(&token_digest(token.trim()))?
            .ok_or_else(|| unauthorized("unknown token"))?;
        if grant.revoked {
            return Err(unauthorized("the token was revoked"));
        }
        if grant
            .expires_at
            .as_deref()
            .is_some_and(|at| at <= now().as_str())
        {
            return Err(unauthorized("the token has expired"));
        }
        let authority = grant
            .authority
            .ok_or_else(|| unauthorized("the token names no valid authority"))?;
        let registered = registry.get(&authority).ok_or_else(|| {
            unauthorized("the token's authority is not registered in this ledger")
        })?;
        Ok(Principal {
            role: grant.role,
            jurisdiction: registered.jurisdiction.clone(),
            authority,
        })
    }
}
