#!/usr/bin/env bash
# Builds every distributable into dist/ (gitignored), so that users install in seconds without Rust:
#
#   dist/python/  abi3 wheels (CPython >= 3.9) for manylinux x86_64 and aarch64, and the sdist
#   dist/npm/     zoho-oauth-<v>.tgz (JavaScript only; optionalDependencies on the platform
#                 packages) and zoho-oauth-linux-x64-gnu-<v>.tgz, zoho-oauth-linux-arm64-gnu-<v>.tgz
#   dist/crates/  zoho-oauth-<v>.crate and zoho-mock-<v>.crate (`cargo package`, verified)
#
#   ./scripts/package.sh                  release builds (the `dist` profile once the workspace has one)
#   ./scripts/package.sh --profile dev    debug builds, same layout: what scripts/test.sh checks
#
# Cross builds use zig (PyPI's `ziglang`) through maturin --zig and napi -x (cargo-zigbuild), so
# the Linux wheels and addons need glibc 2.17 at most; the tools live in a venv of their own
# (target/pkg-venv). Five dependency graphs are compiled (two wheels, two addons, the crates'
# check): on 2 cores shared with other builds, release took 23 minutes from a cold target/ and
# dev XX; a second run with nothing changed takes under a minute. scripts/check-dist.sh
# installs and checks what this builds.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - started))" "$*"; }
# Runs a command and says how long it took.
timed() {
  local t0=$SECONDS
  "$@"
  printf '    (%s s)\n' "$((SECONDS - t0))"
}

host="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_BUILD_TARGET="$host"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
# The `dist` profile (thin LTO) when the workspace has one, release otherwise; --profile NAME.
if grep -q '^\[profile\.dist\]' Cargo.toml; then profile=dist; else profile=release; fi
if [ "${1:-}" = "--profile" ] && [ -n "${2:-}" ]; then profile="$2"; shift 2; fi
if [ $# -gt 0 ]; then
  echo "usage: $0 [--profile dev|release|NAME]" >&2
  exit 2
fi
# napi looks for a --profile's output in target/<triple>/<profile>/, which for dev is debug/.
if [ "$profile" = dev ]; then profile_args=(); else profile_args=(--profile "$profile"); fi
# Rust triple : npm platform (process.platform-process.arch-libc) : npm cpu
platforms=(
  "x86_64-unknown-linux-gnu:linux-x64-gnu:x64"
  "aarch64-unknown-linux-gnu:linux-arm64-gnu:arm64"
)

step "tools: Rust targets, and maturin, zig and cargo-zigbuild in target/pkg-venv"
for p in "${platforms[@]}"; do
  triple="${p%%:*}"
  if ! rustup target list --installed | grep -qx "$triple"; then
    echo "rustup target add $triple (the standard library for cross builds)"
    rustup target add "$triple"
  fi
done
venv="$PWD/target/pkg-venv"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check 'maturin==1.16.0' 'ziglang==0.17.1' 'cargo-zigbuild==0.24.1'
# maturin and napi find zig and cargo-zigbuild on PATH.
export PATH="$venv/bin:$PATH"
echo "maturin $(maturin --version | cut -d' ' -f2), zig $(python-zig version), $(cargo-zigbuild --version), profile $profile"

rm -rf dist
mkdir -p dist/python dist/npm dist/crates target/napi-dist

for p in "${platforms[@]}"; do
  triple="${p%%:*}"
  step "Python wheel for $triple (maturin --zig, $profile; cold: 5 to 8 minutes in release on 2 busy cores)"
  timed maturin build "${profile_args[@]}" --zig --locked --target "$triple" \
    -m bindings-python/Cargo.toml --out dist/python
done

step "Python sdist (builds from source with maturin: pip install zoho_oauth-$version.tar.gz)"
timed maturin sdist -m bindings-python/Cargo.toml --out dist/python

step "Node: @napi-rs/cli"
if [ ! -x bindings-node/node_modules/.bin/napi ]; then
  (cd bindings-node && npm install --no-audit --no-fund --loglevel=error)
fi

for p in "${platforms[@]}"; do
  IFS=: read -r triple plat cpu <<<"$p"
  pkg="zoho-oauth-$plat"
  step "Node addon for $triple -> $pkg (napi -x: cargo-zigbuild, $profile; cold: about 5 minutes in release)"
  (
    cd bindings-node
    # `.2.17`: zig links against glibc 2.17, as manylinux2014 wheels do. --no-js, and types
    # into target/: the loader and index.d.ts in the tree stay as they are.
    timed node_modules/.bin/napi build --platform "${profile_args[@]}" -x --target "$triple.2.17" \
      --output-dir ../target/napi-dist --no-js --dts native.d.ts
  )
  stage="target/npm-stage/$pkg"
  rm -rf "$stage" && mkdir -p "$stage"
  cp "target/napi-dist/zoho-oauth.$plat.node" "$stage/"
  cp LICENSE-MIT LICENSE-APACHE "$stage/"
  # napi-rs's per-platform package: only the addon, installed by npm where os, cpu and libc match.
  node -e '
    const [name, version, plat, cpu] = process.argv.slice(1)
    const main = require("./bindings-node/package.json")
    const pkg = {
      name, version,
      description: `The ${plat} native addon of zoho-oauth (installed by npm as an optional dependency)`,
      license: main.license,
      repository: main.repository,
      os: ["linux"], cpu: [cpu], libc: ["glibc"],
      main: `zoho-oauth.${plat}.node`,
      files: [`zoho-oauth.${plat}.node`, "LICENSE-MIT", "LICENSE-APACHE"],
      engines: main.engines,
    }
    require("fs").writeFileSync(process.argv[5] + "/package.json", JSON.stringify(pkg, null, 2) + "\n")
  ' "$pkg" "$version" "$plat" "$cpu" "$stage"
  printf '# %s\n\nThe %s native addon of [zoho-oauth](https://www.npmjs.com/package/zoho-oauth). Install `zoho-oauth`; npm picks this package by itself.\n' \
    "$pkg" "$plat" >"$stage/README.md"
  (cd "$stage" && npm pack --silent --pack-destination ../../../dist/npm >/dev/null)
  echo "dist/npm/$pkg-$version.tgz"
done

step "Node: the main package zoho-oauth (JavaScript, types, no install script)"
stage="target/npm-stage/zoho-oauth"
rm -rf "$stage" && mkdir -p "$stage"
cp bindings-node/{index.js,index.mjs,index.d.ts,binding.js,testing.js,testing.mjs,testing.d.ts,README.md} "$stage/"
cp LICENSE-MIT LICENSE-APACHE "$stage/"
node -e '
  const [stage, ...plats] = process.argv.slice(1)
  const pkg = require("./bindings-node/package.json")
  // What `napi prepublish` does: the platform packages become optional dependencies, npm
  // installs the one matching the machine, and nothing runs at install time.
  pkg.optionalDependencies = Object.fromEntries(plats.map((p) => [`zoho-oauth-${p}`, pkg.version]))
  pkg.files = pkg.files.filter((f) => f !== "install.js" && !f.endsWith(".node")).concat(["LICENSE-MIT", "LICENSE-APACHE"])
  delete pkg.scripts
  delete pkg.devDependencies
  require("fs").writeFileSync(stage + "/package.json", JSON.stringify(pkg, null, 2) + "\n")
' "$stage" $(for p in "${platforms[@]}"; do IFS=: read -r _ plat _ <<<"$p"; echo "$plat"; done)
(cd "$stage" && npm pack --silent --pack-destination ../../../dist/npm >/dev/null)
echo "dist/npm/zoho-oauth-$version.tgz"

step "Rust: cargo package zoho-oauth and zoho-mock (each built from its .crate to verify it)"
# --allow-dirty: dist/ is what the working tree holds. The workspace's dev profile (a packaged
# manifest has none), so that the check reuses the dependencies `cargo test` built.
timed cargo package --locked --allow-dirty -p zoho-mock -p zoho-oauth \
  --config 'profile.dev.debug="line-tables-only"' --config 'profile.dev.package."*".debug=false'
cp "target/package/zoho-oauth-$version.crate" "target/package/zoho-mock-$version.crate" dist/crates/

step "dist/ is ready ($((SECONDS - started)) s)"
find dist -type f -printf '%s\t%p\n' | sort -k2 | awk -F'\t' '{ printf "  %7.1f MB  %s\n", $1 / 1048576, $2 }'
