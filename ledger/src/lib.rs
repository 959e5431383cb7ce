//! The armsledger log: an append-only, signed record of the life of small arms and light
//! weapons, committed to an RFC 9162 Merkle tree whose checkpoints anyone can verify.
//!
//! This crate knows nothing of HTTP or wasmtime. Its layers, bottom up:
//! - [`json`]: the JSON events are made of, and its canonical form (RFC 8785);
//! - [`crypto`]: ed25519 keys and strict verification;
//! - [`event`]: the signed envelope and the values it holds; [`rejection`]: why one is refused;
//! - [`merkle`]: tree hashing, proofs from stored subtrees, proof verification;
//! - [`note`]: C2SP signed notes, checkpoints and verifier keys;
//! - [`entry`], [`registry`], [`store`]: the log entry, the authority key registry, the redb file;
//! - [`Ledger`]: genesis, open, append (a verifier stage, then one writer with group
//!   commit), read;
//! - [`verify`]: the fsck that checks a whole file;
//! - [`values`]: the domain's parsed values (country codes, serial numbers, calibres...);
//! - [`catalogue`]: the typed payloads of every domain event type.
//!
//! ```
//! # fn main() -> anyhow::Result<()> {
//! use ledger::{Genesis, Ledger, LedgerConfig, SystemClock, crypto, event::*};
//! let dir = tempfile::tempdir()?;
//! let root_key = crypto::generate_signing_key()?;
//! let log = Ledger::create(&dir.path().join("ledger.redb"), Genesis {
//!     origin: "armsledger.example/be".into(),
//!     log_key: crypto::generate_signing_key()?,
//!     root_authority: AuthorityId::parse("be-admin")?,
//!     root_name: "Ledger administration".into(),
//!     jurisdiction: "BE".into(),
//!     root_key_id: KeyId::parse("k1")?,
//!     root_key: &root_key,
//!     occurred_at: Timestamp::parse("2026-11-27T10:00:00Z").map_err(anyhow::Error::msg)?,
//! }, LedgerConfig::default(), SystemClock::shared())?;
//! assert_eq!(log.reader()?.tree_size()?, 1);
//! # Ok(()) }
//! ```

pub mod catalogue;
pub mod crypto;
pub mod domain;
pub mod entry;
pub mod event;
pub mod json;
mod ledger;
pub mod merkle;
pub mod note;
#[cfg(feature = "openapi")]
mod openapi;
pub mod policy;
pub mod projections;
pub mod registry;
pub mod rejection;
pub mod search;
mod serial_grams;
pub mod store;
pub mod values;
mod verifier;
pub mod verify;
mod view_cache;
mod writer;

pub use ledger::{
    AppendError, BatchBodyError, Clock, Genesis, Ledger, LedgerConfig, LedgerStats, OpenError,
    PendingAppend, PreparedEvents, Receipt, SystemClock,
};
pub use verifier::{Incoming, Received};
