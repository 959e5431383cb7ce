//! The end-to-end tests: one binary, one module per area. Real redb files in temp dirs,
//! real keys, real child processes.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a failed test"
)]

mod api;
mod audit;
mod bulk;
mod cli;
mod corruption;
mod crash;
mod domain_model;
mod golden;
mod http;
mod log;
mod model;
mod openapi;
mod policies;
mod policy_host;
mod python;
mod scenarios;
mod search;
mod vectors;
