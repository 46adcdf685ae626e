#!/usr/bin/env bash
# The main demo: a narrated walk through Zoho's OAuth quirks against the built-in fake Zoho.
# No credentials and no network beyond loopback. Needs only the Rust toolchain.
#
#   ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --locked -p zoho-mock --example walkthrough
