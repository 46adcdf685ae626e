#!/usr/bin/env bash
# Runs every check and every test of the project, in every language it has so far.
# Installs what it needs by itself; safe to run on a fresh clone. Used by .ci/run.
#
#   ./scripts/test.sh
#
# Steps: formatting, clippy (warnings are errors), the no-OpenSSL check, then every Rust test
# (the mock's own tests and the core's tests against the mock over real HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "TLS is rustls only: no openssl-sys or native-tls in the dependency graph"
for crate in openssl-sys native-tls; do
  if cargo tree --workspace -e normal -i "$crate" >/dev/null 2>&1; then
    echo "error: $crate is in the dependency graph:" >&2
    cargo tree --workspace -e normal -i "$crate" >&2
    exit 1
  fi
done
echo "ok"

step "cargo test (workspace)"
cargo test --workspace --locked 2>&1 | tee target/test-rust.log
# One closing line for the whole Rust run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "\nrust: %d passed, %d failed\n", p, f }' target/test-rust.log

step "all checks passed in $((SECONDS - started)) s"
