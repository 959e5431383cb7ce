#!/usr/bin/env bash
# The whole test suite: builds the wasm policies (policies/build.sh), then runs every
# test of the workspace.
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
# The cross-language client tests sign events with Python's cryptography and rfc8785, and
# check the server's answers against its OpenAPI document with jsonschema.
python3 -m pip install --quiet --disable-pip-version-check cryptography rfc8785 jsonschema
./policies/build.sh
cargo test --workspace
