#!/usr/bin/env bash
# Benchmarks dr-plan on a synthetic cluster (default 150,000 pods on 5,000 nodes): after
# the load, the plan with every zone and pool and the 20 most depended-on workloads.
# Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-drplan.sh [PODS] [BUNDLE]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-150000}
cargo build --release --locked --quiet
cargo build --release --locked --quiet -p intel-analysis --example drplan_bench
target=${CARGO_TARGET_DIR:-$PWD/target}
bundle=${2:-}
if [ -z "$bundle" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  bundle="$work/b$pods.intel.tar.zst"
  "$target/release/kubectl-intel" synth --pods "$pods" --nodes $(( pods / 30 > 12 ? pods / 30 : 12 )) --out "$bundle" >/dev/null 2>&1
fi
INTEL_TIMINGS=1 "$target/release/examples/drplan_bench" "$bundle"
