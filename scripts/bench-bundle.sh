# Sourced by the bench scripts: builds the release binary and the example named $1 of the
# crate $2, and sets $bundle to $4 or, without it, to a fresh synthetic bundle of $3 pods
# (nodes: one per 30 pods, at least 12) in a temporary directory removed on exit.
bench_prepare() {
  local example=$1 crate=$2 pods=$3
  cargo build --release --locked --quiet
  cargo build --release --locked --quiet -p "$crate" --example "$example"
  target=${CARGO_TARGET_DIR:-$PWD/target}
  bundle=${4:-}
  if [ -z "$bundle" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    bundle="$work/b$pods.intel.tar.zst"
    "$target/release/kubectl-intel" synth --pods "$pods" --nodes $(( pods / 30 > 12 ? pods / 30 : 12 )) --out "$bundle" >/dev/null 2>&1
  fi
}
