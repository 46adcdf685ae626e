#!/usr/bin/env bash
# Generates the Kotlin bindings (package com.zohooauth) from the Rust crate, in uniffi's library
# mode: builds libzoho_oauth_uniffi.so (debug) and runs the prebuilt uniffi-bindgen 0.31.0 from
# PyPI (installed in the repository's .venv) on it. KDoc comes from the Rust doc comments.
#
#   bindings-uniffi/generate.sh           # writes bindings-uniffi/kotlin/com/zohooauth/zoho_oauth.kt
#   bindings-uniffi/generate.sh --check   # regenerates into a temporary folder; fails on any diff
#
# Needs: cargo, and `.venv/bin/uniffi-bindgen` 0.31.0
#   (python3 -m venv .venv && .venv/bin/pip install uniffi-bindgen==0.31.0).
# The bindgen version must match the `uniffi` crate version exactly (pinned in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

BINDGEN_VERSION=0.31.0
OUT=bindings-uniffi/kotlin
FILE=com/zohooauth/zoho_oauth.kt

bindgen=.venv/bin/uniffi-bindgen
if [ ! -x "$bindgen" ]; then
  echo "error: $bindgen is missing; install it with: .venv/bin/pip install uniffi-bindgen==$BINDGEN_VERSION" >&2
  exit 1
fi

triple="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export CARGO_BUILD_TARGET="$triple"
cargo build -q --locked -p zoho-oauth-uniffi
lib="${CARGO_TARGET_DIR:-target}/$triple/debug/libzoho_oauth_uniffi.so"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# --no-format: ktlint is not installed, and unformatted output is stable across machines.
# The bindgen reads bindings-uniffi/uniffi.toml (package name) through `cargo metadata`, so it
# must run inside the workspace.
"$bindgen" generate --library "$lib" --language kotlin --out-dir "$tmp" --no-format >/dev/null

if [ "${1:-}" = "--check" ]; then
  if ! diff -u "$OUT/$FILE" "$tmp/$FILE" >"$tmp/diff"; then
    head -n 80 "$tmp/diff" >&2
    echo "error: $OUT/$FILE is out of date with the Rust sources; run bindings-uniffi/generate.sh and commit it" >&2
    exit 1
  fi
  echo "ok: $OUT/$FILE is up to date"
else
  mkdir -p "$OUT/$(dirname "$FILE")"
  cp "$tmp/$FILE" "$OUT/$FILE"
  echo "wrote $OUT/$FILE"
fi
