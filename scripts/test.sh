#!/usr/bin/env bash
# Runs every test: unit tests and the integration tests (the real kubectl against `serve`,
# the real MCP client and the official conformance suite, the Mermaid and DOT renderers,
# hostile bundles, packaging manifests). First installs what those talk to, once, cached
# outside the clone (scripts/test-deps.sh); what could not be installed is skipped and
# listed at the very end. INTEL_NO_INSTALL=1 skips the installation.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${INTEL_NO_INSTALL:-}" != "1" ]; then
  # shellcheck source=scripts/test-deps.sh
  . scripts/test-deps.sh
fi
export INTEL_SKIP_LOG
INTEL_SKIP_LOG=$(mktemp)
trap 'rm -f "$INTEL_SKIP_LOG"' EXIT
status=0
cargo test --locked --workspace --all-targets "$@" || status=$?
echo
if [ -s "$INTEL_SKIP_LOG" ]; then
  echo "test.sh: SKIPPED (their tools are missing; scripts/test-deps.sh says why):"
  sort -u "$INTEL_SKIP_LOG" | sed 's/^/  - /'
else
  echo "test.sh: nothing skipped"
fi
exit "$status"
