#!/usr/bin/env bash
# Benchmarks the scheduler engine on a synthetic cluster (default 150,000 pods on 5,000
# nodes): building the cluster, one pod's what-if p50/p99, a fork and revert of a 100-pod
# change, a zone lost with every displaced pod placed again, and peak memory. Numbers go
# into BENCHMARKS.md.
# Usage: scripts/bench-schedule.sh [PODS] [BUNDLE]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-bundle.sh
bench_prepare bench intel-scheduler "${1:-150000}" "${2:-}"
"$target/release/examples/bench" "$bundle"
