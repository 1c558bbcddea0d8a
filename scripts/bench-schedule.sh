#!/usr/bin/env bash
# Benchmarks the scheduler engine on a synthetic cluster (default 150,000 pods on 5,000
# nodes): building the cluster, one pod's what-if p50/p99, a fork and revert of a 100-pod
# change, a zone lost with every displaced pod placed again, and peak memory. Numbers go
# into BENCHMARKS.md.
# Usage: scripts/bench-schedule.sh [PODS] [BUNDLE]   (an existing bundle skips generation)
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-150000}
cargo build --release --locked --quiet
cargo build --release --locked --quiet -p intel-scheduler --example bench
target=${CARGO_TARGET_DIR:-$PWD/target}
bundle=${2:-}
if [ -z "$bundle" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  bundle="$work/b$pods.intel.tar.zst"
  "$target/release/kubectl-intel" synth --pods "$pods" --nodes $(( pods / 30 > 12 ? pods / 30 : 12 )) --out "$bundle" >/dev/null 2>&1
fi
"$target/release/examples/bench" "$bundle"
