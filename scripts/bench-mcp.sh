#!/usr/bin/env bash
# Benchmark of `kubectl intel mcp` over streamable HTTP: CALLS (200) concurrent tool calls
# on a synthetic PODS-pod (10,000) bundle; prints p50/p99 latency per tool and the server's
# peak RSS. Not run in CI (minutes on 2 cores); results go in BENCHMARKS.md.
#
#   scripts/bench-mcp.sh                 # 10k pods, 200 calls
#   PODS=2000 CALLS=50 scripts/bench-mcp.sh
#
# Needs a Python with the `mcp` package (its httpx2): $INTEL_PYTHON, as .ci/run sets up.
set -euo pipefail
cd "$(dirname "$0")/.."

PODS=${PODS:-10000}
CALLS=${CALLS:-200}
PY=${INTEL_PYTHON:-python3}
"$PY" -c "import httpx2" 2>/dev/null || {
  echo "bench-mcp: $PY lacks the mcp package; set INTEL_PYTHON (see .ci/run)" >&2
  exit 2
}

cargo build --release --locked --quiet
bin=${CARGO_TARGET_DIR:-target}/release/kubectl-intel
work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "bench-mcp: generating a ${PODS}-pod bundle"
SECONDS=0
"$bin" synth --pods "$PODS" --out "$work/big.intel.tar.zst"
echo "bench-mcp: bundle $(du -h "$work/big.intel.tar.zst" | cut -f1), generated in ${SECONDS} s"

"$bin" mcp --bundle "$work/big.intel.tar.zst" --listen 127.0.0.1:0 2>"$work/server.log" &
pid=$!
url=
for _ in $(seq 1 600); do
  url=$(grep -o 'http://[^ ]*' "$work/server.log" || true)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "bench-mcp: the server did not start" >&2; exit 1; }
echo "bench-mcp: server at $url (pid $pid), start-up RSS $(awk '/VmRSS/ {print int($2/1024) " MiB"}' "/proc/$pid/status")"

"$PY" scripts/bench_mcp.py --url "$url" --pid "$pid" --calls "$CALLS"
