//! The policy host: runs national export-control policies, compiled to WebAssembly, under
//! hard limits (DESIGN.md "Policy plugins"; the ABI is plugins/ABI.md).
//!
//! One [`PolicyHost`] per process. A module is compiled once per SHA-256 (and cached on
//! local disk when a cache directory is given); each evaluation gets a fresh instance from
//! the pre-linked template, with its own fuel, epoch deadline and memory cap, so nothing
//! carries over from one decision to the next and a replay gives the same answer.
//! Whatever goes wrong (a trap, fuel or memory running out, output that breaks the ABI) is
//! a deny with the reason `policy_error`, naming what happened; the host goes on.
//!
//! The host implements the ledger's [`ledger::policy::PolicyRunner`]: the ledger decides
//! which policies run on which event and records what they said; the host only runs them.

mod abi;
mod cache;
mod fixtures;
mod host;
mod limits;

pub use abi::{ABI_V1_EXPORTS, AbiExport, check_module};
pub use fixtures::{FixtureResult, run_fixtures};
pub use host::{HostError, PolicyHost};
pub use limits::HostLimits;
