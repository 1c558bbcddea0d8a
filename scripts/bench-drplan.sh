#!/usr/bin/env bash
# Benchmarks dr-plan on a synthetic cluster (default 150,000 pods on 5,000 nodes): after
# the load, the plan with every zone and pool and the 20 most depended-on workloads.
# Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-drplan.sh [PODS] [BUNDLE]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-bundle.sh
bench_prepare drplan_bench intel-analysis "${1:-150000}" "${2:-}"
INTEL_TIMINGS=1 "$target/release/examples/drplan_bench" "$bundle"
