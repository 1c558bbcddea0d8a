#!/usr/bin/env bash
# Benchmarks optimize (rightsizing, consolidation, cost) on a synthetic cluster (default 150,000 pods on 5,000
# nodes), after the load. Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-optimize.sh [PODS] [BUNDLE]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-bundle.sh
bench_prepare optimize_bench intel-analysis "${1:-150000}" "${2:-}"
"$target/release/examples/optimize_bench" "$bundle"
