#!/usr/bin/env bash
# Benchmarks `diagnose` on synthetic clusters of 1k, 15k and 150k pods: wall time and peak
# memory (GNU time) of loading the bundle and running the analysis, as a user runs it, and
# its CPU time (user + system: less sensitive than wall time to other work on the machine).
# Numbers go into BENCHMARKS.md.
# Usage: scripts/bench-diagnose.sh [sizes...]   (default: 1000 15000 150000)
# Honours CARGO_TARGET_DIR. Set SYMPTOM to change the symptom (default "production is slow"),
# QUESTION the explain question (default "what happened, and how are services connected?").
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/kubectl-intel
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1000 15000 150000); fi
symptom=${SYMPTOM:-production is slow}
question=${QUESTION:-what happened, and how are services connected?}
printf '| pods | nodes | bundle (MiB) | diagnose wall time (s) | CPU time (s) | peak RSS (MiB) | findings | root causes | explain wall time (s) | explain peak RSS (MiB) |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for pods in "${sizes[@]}"; do
  nodes=$(( pods / 30 > 12 ? pods / 30 : 12 ))
  out="$work/b$pods.intel.tar.zst"
  "$bin" synth --pods "$pods" --nodes "$nodes" --out "$out" >/dev/null 2>&1
  size=$(( $(stat -c %s "$out") / 1048576 ))
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$bin" diagnose "$symptom" --bundle "$out" -o json >"$work/report.json"
  read -r dt dm du ds <"$work/time"
  cpu=$(awk -v u="$du" -v s="$ds" 'BEGIN { printf "%.2f", u + s }')
  read -r nf nr < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["findings"]), len(r["rootCauses"]))' "$work/report.json")
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" explain "$question" --bundle "$out" -o json >/dev/null
  read -r et em <"$work/time"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$pods" "$nodes" "$size" "$dt" "$cpu" $((dm / 1024)) "$nf" "$nr" "$et" $((em / 1024))
  rm -f "$out"
done
