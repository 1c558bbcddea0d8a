#!/usr/bin/env bash
# The README's first command: builds kubectl-intel, writes the embedded demo cluster as a
# bundle, inspects it, diagnoses it and explains what happened, simulates a drain and a
# change before they are made, and replays it as a
# read-only API that the real kubectl talks to. No cluster needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x target/release/kubectl-intel ]; then
  echo "demo: building kubectl-intel (release); the first build takes about 12 minutes on 2 cores" >&2
fi
# Cargo's own progress (a bar on a terminal, a line per crate otherwise) goes to stderr.
cargo build --release --locked
bin=target/release/kubectl-intel
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

$bin demo --out "$work/demo.intel.tar.zst"
echo; echo "== kubectl intel inspect --verify"
$bin inspect "$work/demo.intel.tar.zst" --verify

echo; echo "== kubectl intel diagnose \"users are reporting timeouts\""
$bin diagnose "users are reporting timeouts" --bundle "$work/demo.intel.tar.zst" | sed -n "1,60p"
echo; echo "== kubectl intel explain \"what happened, and why didn't our alerts catch it?\""
$bin explain "what happened, and why didn't our alerts catch it?" --bundle "$work/demo.intel.tar.zst" \
  | sed -n '/^SUMMARY/,/^$/p;/^TIMELINE/,/^$/p;/^ALERT GAPS/,/^$/p' | sed -n "1,60p"

# The scheduler engine: drain the node the first shop pod runs on, as cluster-autoscaler
# would, and see where what it evicts goes.
node=$(tar --zstd -xOf "$work/demo.intel.tar.zst" resources/core/v1/pods.json \
  | python3 -c 'import json, sys; print(next(p["spec"]["nodeName"] for p in json.load(sys.stdin)["items"] if p["metadata"]["namespace"] == "shop" and p["spec"].get("nodeName")))')
echo; echo "== kubectl intel schedule --drain $node"
$bin schedule --drain "$node" --bundle "$work/demo.intel.tar.zst"

# A what-if: checkout's memory raised past what its namespace's LimitRange allows. The
# rollout is simulated step by step; the strategies were simulated too.
echo; echo "== kubectl intel impact --set-resources shop/deployment/checkout=memory=12Gi/memory=12Gi"
$bin impact --set-resources shop/deployment/checkout=memory=12Gi/memory=12Gi --bundle "$work/demo.intel.tar.zst" \
  | sed -n '/^SUMMARY/,/^IMPACT/p'

# Disaster recovery: what losing a zone takes down, simulated.
echo; echo "== kubectl intel dr-plan --scenario zone=eu-west-1b"
$bin dr-plan --scenario zone=eu-west-1b --bundle "$work/demo.intel.tar.zst" \
  | sed -n '/^SUMMARY/,/^$/p;/^SCENARIOS/,/^$/p'

# Rightsizing: what each container should request, from its use (krr's simple strategy).
echo; echo "== kubectl intel optimize"
$bin optimize --bundle "$work/demo.intel.tar.zst" > "$work/optimize.txt"
sed -n '/^SUMMARY/,/^$/p;/^RECOMMENDATIONS/,/^  1\./p' "$work/optimize.txt"
grep -A5 '^  1\. ' "$work/optimize.txt" | sed -n '2,6p'

if command -v kubectl >/dev/null 2>&1; then
  $bin serve "$work/demo.intel.tar.zst" --listen 127.0.0.1:0 --kubeconfig-out "$work/kubeconfig" >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do [ -s "$work/kubeconfig" ] && break; sleep 0.1; done
  k() { echo; echo "== kubectl $*"; kubectl --kubeconfig "$work/kubeconfig" "$@"; }
  k get pods -A
  k top pods -n shop
  pod=$(kubectl --kubeconfig "$work/kubeconfig" get pods -n shop -o name | grep auth | head -1)
  k logs -n shop "$pod" --previous --tail 4
  k get events -n shop --field-selector type=Warning
else
  echo "(kubectl not found: skipping the replay part of the demo)"
fi
