#!/usr/bin/env bash
# Runs every check and every test of the project, in every language it has so far.
# Installs what it needs by itself; safe to run on a fresh clone. Used by .ci/run.
#
#   ./scripts/test.sh
#
# Steps: formatting, clippy (warnings are errors), the no-OpenSSL check, a Redis server, a
# Redis Cluster, a Redis Sentinel group, a PostgreSQL and a MariaDB server of its own (installed with apt-get when missing, stopped by PID
# at the end: scripts/test-servers.sh), every Rust test (the
# mock's own tests, the core's tests against the mock over real HTTP, the file and Redis stores
# with real worker processes, and every Rust example in examples/rust), the Python package in a
# virtualenv of its own (.venv): native module, pytest, the examples, mypy --strict and stubtest;
# the Node package: npm install, native addon, node --test, index.d.ts checked against the
# implementation, tsc --strict with TypeScript 5 and 7, the examples; Zoho's own
# CRM Node SDK against the zoho-mock binary (mock/sdk-check); the Kotlin package: regenerated
# bindings checked against the committed ones, Kotlin tests; the packages (scripts/package.sh
# into dist/), installed on a PATH without Rust and run against the fake Zoho
# (scripts/check-dist.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
# Debian packages the tests need, installed only when missing (with sudo when not root). The
# first argument says why; the script says what it installs, and how, before it does.
apt_install() {
  local why="$1" sudo=""
  shift
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing Debian packages: $* ($why), with: ${sudo:+$sudo }apt-get update && ${sudo:+$sudo }apt-get install -y $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
started=$SECONDS

# napi always builds for an explicit --target; giving every tool the same one lets cargo, maturin
# and napi share target/<triple>/ instead of compiling the dependency graph twice.
CARGO_BUILD_TARGET="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_BUILD_TARGET

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The Redis store and the SDK CSV import are features of the core (on by default); without them
# it must still build cleanly, and a redis:// URL must say which feature to enable (the unit
# test below runs only in this configuration). About 50 s the first time, a few seconds after.
step "core without its default features (redis, csv, postgres, mysql): build, clippy, unit tests"
cargo build -p zoho-oauth --no-default-features --locked
cargo clippy -p zoho-oauth --no-default-features --locked -- -D warnings
cargo test -p zoho-oauth --no-default-features --lib --locked

step "TLS is rustls only: no openssl-sys or native-tls in the dependency graph"
for crate in openssl-sys native-tls; do
  if cargo tree --workspace -e normal -i "$crate" >/dev/null 2>&1; then
    echo "error: $crate is in the dependency graph:" >&2
    cargo tree --workspace -e normal -i "$crate" >&2
    exit 1
  fi
done
echo "ok"

step "Redis for the shared-store tests: install when missing, start on a free loopback port"
if ! command -v redis-server >/dev/null 2>&1; then
  apt_install "redis-server is missing; the file and Redis store tests share one server" redis-server
fi
redis_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p target/redis
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$PWD/target/redis" --logfile "$PWD/target/redis/redis.log" --daemonize no &
redis_pid=$!
# Stopped by PID however this script ends (with the database servers started below).
source scripts/test-servers.sh
trap 'kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; stop_store_servers' EXIT
for _ in $(seq 1 100); do
  if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then break; fi
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$redis_port" ping
# Every language's store tests use this server; a missing one is a failure, not a skip.
export REDIS_URL="redis://127.0.0.1:$redis_port/0" ZOHO_REQUIRE_REDIS=1

step "PostgreSQL, MariaDB, a Redis Cluster and a Redis Sentinel group for the shared stores"
# scripts/test-servers.sh: installed when missing, on free loopback ports, data under
# target/stores/, stopped by PID at exit. Measured on 2 cores: 34 s to install postgresql,
# mariadb-server and redis-sentinel on a first run; then PostgreSQL 2 s, MariaDB 3 s, the
# cluster (3 masters, 3 replicas) 3 s, Sentinel (master, replica, sentinel) 1 s.
servers_started=$SECONDS
start_postgres
start_mariadb
start_redis_cluster
start_redis_sentinel
echo "database servers: $((SECONDS - servers_started)) s"
# The store suites of every language run against them; a missing server is a failure, not a skip.
export ZOHO_REQUIRE_STORES=1

step "cargo test (core, mock, the command and the Rust examples; the bindings are tested in their own languages)"
cargo test --locked 2>&1 | tee target/test-rust.log
# One closing line for the whole Rust run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "\nrust: %d passed, %d failed\n", p, f }' target/test-rust.log

step "Conformance on every shared store: the Rust runner on Redis (single, cluster, sentinel), PostgreSQL, MariaDB"
# The same scenarios the memory store passes above, each client on the shared store (about 14 s
# per store). The Python and Node runners play them on PostgreSQL and two more stores each in
# their steps below, so every store passes a second language's runner too.
for store in "$REDIS_URL" "$ZOHO_TEST_REDIS_CLUSTER_URL" "$ZOHO_TEST_REDIS_SENTINEL_URL" \
  "$ZOHO_TEST_POSTGRES_URL?table=conformance_rust" "$ZOHO_TEST_MYSQL_URL?table=conformance_rust"; do
  echo "conformance on ${store%%:*}"
  ZOHO_CONFORMANCE_STORE="$store" cargo test --locked -q -p zoho-oauth --test conformance
done

step "Python: virtualenv, native module, pytest, mypy --strict"
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check 'maturin>=1.9,<2' 'pytest>=8' \
  'pytest-asyncio>=0.23' 'mypy>=1.10' 'requests>=2.31' 'httpx>=0.27'
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop -q --locked -m bindings-python/Cargo.toml
.venv/bin/python -m pytest -q bindings-python/tests
# The conformance runner again on shared stores, and on a token store of the user's own ("object:",
# a Python object with get/compare_and_set/keys).
for store in "$ZOHO_TEST_POSTGRES_URL?table=conformance_python" "$ZOHO_TEST_REDIS_CLUSTER_URL" \
  "$ZOHO_TEST_MYSQL_URL?table=conformance_python" "object:"; do
  echo "conformance on ${store%%:*}"
  ZOHO_CONFORMANCE_STORE="$store" .venv/bin/python -m pytest -q bindings-python/tests/test_conformance.py
done
# Every example runs as documented: with no ZOHO_* variable set it starts the fake Zoho itself and
# asserts what it shows (the Rust ones run in `cargo test`: examples/rust/tests/examples.rs).
no_zoho=(env)
for var in $(compgen -e | grep '^ZOHO_' || true); do no_zoho+=(-u "$var"); done
for example in examples/python/*.py; do
  echo "example: $example"
  "${no_zoho[@]}" .venv/bin/python "$example" >/dev/null
done
(
  cd bindings-python
  ../.venv/bin/mypy --strict python/zoho_oauth tests ../examples/python
  # The hand-written stubs must match what the native module really exports.
  ../.venv/bin/python -m mypy.stubtest zoho_oauth._native
)
.venv/bin/python scripts/check-quickstart.py

step "Node: npm install, native addon, node --test, index.d.ts against the implementation, tsc --strict (TypeScript 5 and 7), the examples"
(
  cd bindings-node
  npm install --no-audit --no-fund --loglevel=error
  npx napi build --platform --js native.js --dts native.d.ts
  node --test __test__/
  for store in "$ZOHO_TEST_POSTGRES_URL?table=conformance_node" "$REDIS_URL" "$ZOHO_TEST_REDIS_SENTINEL_URL" "object:"; do
    echo "conformance on ${store%%:*}"
    ZOHO_CONFORMANCE_STORE="$store" node --test __test__/conformance.test.mjs
  done
  # Every runtime export and class member declared in index.d.ts / testing.d.ts and the other
  # way round, the error-code unions equal to the core's (a list of differences on drift).
  node check-types.mjs
  # The declarations, the generated native.d.ts and __test__/types-check.ts with --strict, and
  # index.js against native.d.ts, by both pinned compilers (typescript5 is an npm alias).
  npm run --silent typecheck
)
(
  # The examples import 'zoho-oauth' as an application would: a file: dependency on bindings-node.
  cd examples/node
  ZOHO_OAUTH_SKIP_BUILD=1 npm install --no-package-lock --no-audit --no-fund --loglevel=error
  for example in *.mjs; do
    echo "example: examples/node/$example"
    "${no_zoho[@]}" node "$example" >/dev/null
  done
  # Type-checked against index.d.ts as plain JavaScript (JSDoc where a literal needs a type), by
  # TypeScript 7, not strict (7 makes --strict the default; these are untyped scripts).
  ../../bindings-node/node_modules/typescript/bin/tsc --noEmit --strict false --skipLibCheck --allowJs --checkJs --module nodenext \
    --moduleResolution nodenext --target es2022 --typeRoots ../../bindings-node/node_modules/@types --types node ./*.mjs
)

step "Zoho's own CRM Node SDK, unmodified, against zoho-mock (mock/sdk-check)"
# The official SDK (pinned in mock/sdk-check/package.json) talks to the zoho-mock binary over
# real HTTP: it is a client nobody here wrote, so it checks the mock's fidelity.
cargo build --locked -q -p zoho-mock --bin zoho-mock
(cd mock/sdk-check && npm install --no-audit --no-fund --loglevel=error)
mkdir -p target/sdk-check
rm -f target/sdk-check/mock.url
"target/$CARGO_BUILD_TARGET/debug/zoho-mock" --port 0 >target/sdk-check/mock.url 2>target/sdk-check/mock.log &
mock_pid=$!
for _ in $(seq 1 100); do
  if [ -s target/sdk-check/mock.url ]; then break; fi
  sleep 0.1
done
sdk_status=0
node mock/sdk-check/check.mjs "$(head -n 1 target/sdk-check/mock.url)" || sdk_status=$?
# Stopped by PID whatever the check did.
kill "$mock_pid" 2>/dev/null || true
wait "$mock_pid" 2>/dev/null || true
if [ "$sdk_status" -ne 0 ]; then
  echo "error: the SDK check failed (mock log: target/sdk-check/mock.log)" >&2
  exit "$sdk_status"
fi

step "Kotlin (uniffi): generated bindings up to date, Kotlin tests against the mock"
# A JDK and Debian's JNA; the Kotlin compiler (with kotlinx-coroutines) from the npm registry,
# kept in target/kotlinc (Debian's kotlin 1.3 is too old for uniffi's output); the prebuilt
# uniffi-bindgen from PyPI, the exact version of the uniffi crate (no bindgen to compile).
if ! command -v javac >/dev/null 2>&1 || [ ! -f /usr/share/java/jna.jar ]; then
  apt_install "javac or Debian's JNA is missing; the Kotlin tests compile and load the bindings with them" \
    openjdk-17-jdk-headless libjna-java
fi
if [ ! -x target/kotlinc/node_modules/kotlin-compiler/bin/kotlinc ]; then
  npm install --prefix target/kotlinc --no-save --no-audit --no-fund --loglevel=error kotlin-compiler@2.4.20
fi
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check 'uniffi-bindgen==0.31.0'
bindings-uniffi/generate.sh --check
bindings-uniffi/test-kotlin.sh

step "Packages: every distributable into dist/, then installed and run with no cargo or rustc on PATH"
# Debug builds of the same packages, built the same way (zig, glibc 2.17, aarch64 cross-built):
# about 10 minutes from a clean checkout on 2 cores, 1 when target/pkg is warm; release builds
# would take about 20 (`./scripts/package.sh` alone makes those). bench/README.md, "Installing
# the packages", has the measurements.
package_started=$SECONDS
./scripts/package.sh --profile dev
./scripts/check-dist.sh
echo "packages: $((SECONDS - package_started)) s"

step "all checks passed in $((SECONDS - started)) s"
