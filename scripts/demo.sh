#!/usr/bin/env bash
# The main demo: `zoho-oauth demo` exchanges a self-client grant code, calls CRM, lets the token
# expire and refreshes it transparently (once, for 20 concurrent callers), survives a 429 with
# Retry-After and creates a Desk ticket, against the fake Zoho it starts in process. No
# credentials and no network beyond loopback. Needs only the Rust toolchain.
#
#   ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Build first with cargo's progress showing (the first build takes about 30 s on 2 cores; later
# ones print one "Finished" line), then run quietly.
echo "demo.sh: building the zoho-oauth command (debug) with cargo" >&2
cargo build --locked -p zoho-oauth-cli
exec cargo run --quiet --locked -p zoho-oauth-cli -- demo
