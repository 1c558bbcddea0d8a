#!/usr/bin/env bash
# Build times of two revisions, one after the other, each in a clean clone with its own
# empty target directory: a cold release build, a cold test build (every test binary), then
# the rebuilds after touching one analysis file (test build, debug binary, release binary).
# Cargo's defaults (incremental debug builds, as a developer has them).
#
#   scripts/bench-build.sh BEFORE_REV AFTER_REV [FILE_IN_BEFORE FILE_IN_AFTER]
set -euo pipefail
before=${1:?usage: bench-build.sh BEFORE_REV AFTER_REV [FILE_BEFORE FILE_AFTER]}
after=${2:?usage: bench-build.sh BEFORE_REV AFTER_REV [FILE_BEFORE FILE_AFTER]}
file_before=${3:-src/analysis/detect/probes.rs}
file_after=${4:-crates/analysis/src/detect/probes.rs}
repo=$(git rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t() { local s e; s=$(date +%s.%N); "$@" >>"$work/log" 2>&1; e=$(date +%s.%N); printf '%.1f' "$(echo "$e - $s" | bc)"; }
for side in before after; do
  rev=${!side}
  file=$([ "$side" = before ] && echo "$file_before" || echo "$file_after")
  git clone -q "$repo" "$work/$side"
  git -C "$work/$side" checkout -q "$rev"
  cd "$work/$side"
  export CARGO_TARGET_DIR="$work/$side-target"
  echo "$side ($rev) cold release build: $(t cargo build --release --locked) s"
  echo "$side ($rev) cold test build: $(t cargo test --locked --workspace --all-targets --no-run) s"
  touch "$file"; echo "$side ($rev) test build after touching $file: $(t cargo test --locked --workspace --all-targets --no-run) s"
  touch "$file"; echo "$side ($rev) debug build after touching $file: $(t cargo build --locked) s"
  touch "$file"; echo "$side ($rev) release build after touching $file: $(t cargo build --release --locked) s"
  rm -rf "$CARGO_TARGET_DIR"
  cd "$repo"
done
