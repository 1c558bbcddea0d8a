#!/usr/bin/env bash
# Benchmarks the synthetic cluster generator and bundle loading at 1k, 15k and 150k pods:
# wall time and peak memory (GNU time), bundle size. Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-synth.sh [sizes...]   (default: 1000 15000 150000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=$PWD/target/release/kubectl-intel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1000 15000 150000); fi
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
printf '| pods | nodes | synth time (s) | synth peak RSS (MiB) | bundle (MiB) | load+verify time (s) | load+verify peak RSS (MiB) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|\n'
for pods in "${sizes[@]}"; do
  nodes=$(( pods / 30 > 12 ? pods / 30 : 12 ))
  out="$work/b$pods.intel.tar.zst"
  read -r st sm < <(measure "$bin" synth --pods "$pods" --nodes "$nodes" --out "$out")
  size=$(( $(stat -c %s "$out") / 1048576 ))
  read -r lt lm < <(measure "$bin" inspect "$out" --verify)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$pods" "$nodes" "$st" $((sm / 1024)) "$size" "$lt" $((lm / 1024))
  rm -f "$out"
done
