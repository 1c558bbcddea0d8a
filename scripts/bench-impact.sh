#!/usr/bin/env bash
# Benchmarks the impact analysis on a synthetic cluster (default 150,000 pods on 5,000
# nodes): after the load (bundle, scheduler cluster, relations), a rollout to 100 replicas
# of a Deployment with a new image — with the default 25%/25% and one pod at a time —
# simulated end to end. Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-impact.sh [PODS] [BUNDLE] [NS/NAME]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-150000}
cargo build --release --locked --quiet
cargo build --release --locked --quiet -p intel-analysis --example impact_bench
target=${CARGO_TARGET_DIR:-$PWD/target}
bundle=${2:-}
if [ -z "$bundle" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  bundle="$work/b$pods.intel.tar.zst"
  "$target/release/kubectl-intel" synth --pods "$pods" --nodes $(( pods / 30 > 12 ? pods / 30 : 12 )) --out "$bundle" >/dev/null 2>&1
fi
INTEL_TIMINGS=1 "$target/release/examples/impact_bench" "$bundle" ${3:-shop/catalog}
