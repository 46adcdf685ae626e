#!/usr/bin/env bash
# Builds every distributable into dist/ (gitignored), so that users install in seconds without Rust:
#
#   dist/python/  abi3 wheels (CPython >= 3.9) for manylinux x86_64 and aarch64, and the sdist
#   dist/npm/     zoho-oauth-<v>.tgz (JavaScript only; optionalDependencies on the platform
#                 packages) and zoho-oauth-linux-x64-gnu-<v>.tgz, zoho-oauth-linux-arm64-gnu-<v>.tgz
#   dist/crates/  zoho-oauth-<v>.crate and zoho-mock-<v>.crate (`cargo package`, verified)
#   dist/kotlin/  zoho-oauth-kotlin-<v>.jar: the Kotlin bindings and the linux-x64-gnu library
#                 (when the Kotlin compiler that scripts/test.sh installs is in target/kotlinc)
#
#   ./scripts/package.sh                  release builds (the `dist` profile once the workspace has one)
#   ./scripts/package.sh --profile dev    debug builds, same layout: what scripts/test.sh checks
#
# Cross builds use zig (PyPI's `ziglang`) through maturin --zig and napi -x (cargo-zigbuild), so
# the Linux wheels and addons need glibc 2.17 at most; the tools live in a venv of their own
# (target/pkg-venv). Five dependency graphs are compiled (two wheels, two addons, the Kotlin
# library) plus the crates' check; on 2 cores shared with other builds, from a cold target/,
# release took about 20 minutes and dev 10; a second run with nothing changed takes under a
# minute (bench/README.md, "Installing the packages"). scripts/check-dist.sh installs and checks
# what this builds.
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

# Each zig tool builds in a target dir of its own: maturin and cargo-zigbuild give the C compiler
# (aws-lc-sys) different wrapper scripts, and sharing one dir with each other or with the test
# command's host builds would make every run rebuild the other's dependencies.
maturin_dir="$PWD/target/pkg/maturin"
zig_dir="$PWD/target/pkg/zigbuild"

rm -rf dist
mkdir -p dist/python dist/npm dist/crates target/napi-dist

for p in "${platforms[@]}"; do
  triple="${p%%:*}"
  step "Python wheel for $triple (maturin --zig, $profile; cold: 5 to 8 min in release, 1.5 to 3.5 in dev)"
  timed maturin build "${profile_args[@]}" --zig --locked --target "$triple" \
    --target-dir "$maturin_dir" -m bindings-python/Cargo.toml --out dist/python
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
  step "Node addon for $triple -> $pkg (napi -x: cargo-zigbuild, $profile; cold: about 5 min in release, 1.5 in dev)"
  (
    cd bindings-node
    # `.2.17`: zig links against glibc 2.17, as manylinux2014 wheels do. --no-js, and types
    # into target/: the loader and index.d.ts in the tree stay as they are.
    timed node_modules/.bin/napi build --platform "${profile_args[@]}" -x --target "$triple.2.17" \
      --target-dir "$zig_dir" --output-dir ../target/napi-dist --no-js --dts native.d.ts
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

step "Kotlin: dist/kotlin/zoho-oauth-kotlin-$version.jar (com.zohooauth and the linux-x64-gnu library)"
kc=target/kotlinc/node_modules/kotlin-compiler
if [ -x "$kc/bin/kotlinc" ] && [ -f /usr/share/java/jna.jar ]; then
  case "$profile" in dev) cargo_profile=() ;; release) cargo_profile=(--release) ;; *) cargo_profile=(--profile "$profile") ;; esac
  case "$profile" in dev) out_dir=debug ;; *) out_dir="$profile" ;; esac
  timed cargo zigbuild "${cargo_profile[@]}" --locked -p zoho-oauth-uniffi --target x86_64-unknown-linux-gnu.2.17 \
    --target-dir "$zig_dir"
  classes=target/kotlin-dist/classes
  rm -rf target/kotlin-dist && mkdir -p "$classes/linux-x86-64" "$classes/META-INF" dist/kotlin
  # JNA loads a library from the class path under <os>-<arch>/, so the jar needs no
  # -Djna.library.path.
  cp "$zig_dir/x86_64-unknown-linux-gnu/$out_dir/libzoho_oauth_uniffi.so" "$classes/linux-x86-64/"
  cp LICENSE-MIT LICENSE-APACHE "$classes/META-INF/"
  timed "$kc/bin/kotlinc" -nowarn -cp "/usr/share/java/jna.jar:$kc/lib/kotlinx-coroutines-core-jvm.jar" \
    -d "$classes" bindings-uniffi/kotlin/com/zohooauth/zoho_oauth.kt
  jar --create --file "dist/kotlin/zoho-oauth-kotlin-$version.jar" -C "$classes" .
  echo "dist/kotlin/zoho-oauth-kotlin-$version.jar (needs JNA 5 and kotlinx-coroutines on the class path)"
else
  echo "skipped: needs the Kotlin compiler in target/kotlinc and Debian's JNA (scripts/test.sh installs both)"
fi

step "dist/ is ready ($((SECONDS - started)) s)"
find dist -type f -printf '%s\t%p\n' | sort -k2 | awk -F'\t' '{ printf "  %7.1f MB  %s\n", $1 / 1048576, $2 }'
