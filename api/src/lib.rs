//! The armsledger server and command line: the only crate that speaks HTTP.
//!
//! The command line lives in [`cli`], the HTTP server in [`server`]; the binary `armsledger` is a thin `main` over it,
//! so tests run the same code in-process.

pub mod audit;
pub mod auth;
pub mod bulk;
pub mod cli;
pub mod config;
pub mod demo;
pub mod feed;
pub mod metrics;
pub mod openapi;
pub mod policies;
pub mod policy_cli;
pub mod problem;
pub mod reads;
pub mod server;
