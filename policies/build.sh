#!/usr/bin/env bash
# Builds every example policy into target/wasm32-unknown-unknown/release/<policy>.wasm.
# Each is built as a cdylib here (not in its Cargo.toml), so that its crate stays an rlib
# that host-side benchmarks can call natively, and link-time optimisation still applies.
set -euo pipefail
cd "$(dirname "$0")"
for policy in embargo euc thresholds reexport broker; do
    cargo rustc --quiet --release --target wasm32-unknown-unknown \
        -p "armsledger-policy-$policy" --crate-type cdylib
done
