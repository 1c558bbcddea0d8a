#!/usr/bin/env bash
# Benchmarks the impact analysis on a synthetic cluster (default 150,000 pods on 5,000
# nodes): after the load (bundle, scheduler cluster, relations), a rollout to 100 replicas
# of a Deployment with a new image — with the default 25%/25% and one pod at a time —
# simulated end to end. Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-impact.sh [PODS] [BUNDLE] [NS/NAME]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-bundle.sh
bench_prepare impact_bench intel-analysis "${1:-150000}" "${2:-}"
INTEL_TIMINGS=1 "$target/release/examples/impact_bench" "$bundle" ${3:-shop/catalog}
