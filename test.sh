#!/usr/bin/env bash
# The whole test suite: builds the wasm policies, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --manifest-path policies/Cargo.toml --release
cargo test --workspace
