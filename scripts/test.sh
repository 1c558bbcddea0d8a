#!/usr/bin/env bash
# Runs every test: unit tests and the integration tests (the real kubectl against `serve`,
# hostile bundles, packaging manifests).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked --workspace --all-targets "$@"
