#!/usr/bin/env bash
# Writes the library's reports with one binary: for every library scenario (and the
# healthy shop), the synthetic bundle's diagnose and explain answers as JSON, Markdown and
# text, into OUT_DIR. Two builds give byte-identical reports when a change is meant to
# change no behaviour (a refactor, a crate split):
#
#   scripts/library-reports.sh /tmp/before path/to/old/kubectl-intel
#   scripts/library-reports.sh /tmp/after  target/release/kubectl-intel
#   diff -r /tmp/before /tmp/after && echo identical
set -euo pipefail
out=${1:?usage: library-reports.sh OUT_DIR [BINARY]}
bin=$(realpath "${2:-target/release/kubectl-intel}")
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scenarios=$("$bin" synth --list | awk 'NR>0 {print $1}' | grep -E '^[a-z0-9-]+$' || true)
for s in healthy $scenarios; do
  b="$work/$s.intel.tar.zst"
  if [ "$s" = healthy ]; then
    "$bin" synth --out "$b" >/dev/null 2>&1
  else
    "$bin" synth --scenario "$s" --out "$b" >/dev/null 2>&1
  fi
  for fmt in json markdown text; do
    "$bin" diagnose --bundle "$b" -o "$fmt" >"$out/$s.diagnose.$fmt" 2>/dev/null || echo "exit $?" >>"$out/$s.diagnose.$fmt"
    "$bin" explain --bundle "$b" "what happened?" -o "$fmt" >"$out/$s.explain.$fmt" 2>/dev/null || echo "exit $?" >>"$out/$s.explain.$fmt"
  done
  "$bin" explain --bundle "$b" "how do services connect?" -o mermaid >"$out/$s.map.mermaid" 2>/dev/null || echo "exit $?" >>"$out/$s.map.mermaid"
  (cd "$work" && "$bin" inspect "$s.intel.tar.zst") >"$out/$s.inspect.txt" 2>/dev/null || echo "exit $?" >>"$out/$s.inspect.txt"
  sha256sum <"$b" | cut -d' ' -f1 >"$out/$s.bundle.sha256"
done
echo "library-reports: $(ls "$out" | wc -l) files in $out"
