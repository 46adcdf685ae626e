#!/usr/bin/env bash
# Installs what scripts/package.sh put in dist/ the way a user would, on a PATH with no cargo or
# rustc, and runs a round trip against the fake Zoho in each language:
#
#   - Python: the x86_64 wheel into a fresh venv (pip --no-index: nothing else is fetched or
#     built), then examples/python/self_client_leads.py (grant code exchange, two CRM pages, a
#     refresh) against zoho_oauth.testing.MockZoho;
#   - Node: the npm tarballs into a fresh app folder (npm picks the linux-x64-gnu package; no
#     install script runs), then examples/node/self-client-leads.mjs against
#     require('zoho-oauth/testing');
#   - Kotlin (when package.sh made the jar): scripts/dist-check/KotlinSmoke.kt compiled against the
#     jar alone and run with its bundled native library;
#   - the artefacts that cannot run here (aarch64) are checked for shape: the wheel's platform
#     tag, the ELF machine of the .so and .node inside; and the sdist and .crate files exist.
#
#   ./scripts/check-dist.sh       (after ./scripts/package.sh)
#
# Prints the install times; bench/README.md ("Installing the packages") records them.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
work="$root/target/dist-check"
rm -rf "$work" && mkdir -p "$work"

step() { printf '\n==> %s\n' "$*"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# A PATH without any folder that holds cargo or rustc (~/.cargo/bin, /usr/bin when Debian's rustc
# is installed, ...), and no Rust variables: what a user without a Rust toolchain has.
clean_path=""
IFS=: read -ra dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  if [ -z "$d" ] || [ -e "$d/cargo" ] || [ -e "$d/rustc" ]; then continue; fi
  clean_path="${clean_path:+$clean_path:}$d"
done
no_rust=(env -u CARGO -u RUSTC -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u CARGO_HOME -u CARGO_BUILD_TARGET
  -u VIRTUAL_ENV)
# env takes its -u options before the first NAME=VALUE (the test command exports ZOHO_* itself).
for var in $(compgen -e | grep '^ZOHO_' || true); do no_rust+=(-u "$var"); done
no_rust+=("PATH=$clean_path")
for tool in cargo rustc; do
  if "${no_rust[@]}" bash -c "command -v $tool" >/dev/null; then
    echo "error: $tool is still on the PATH built without Rust: $clean_path" >&2
    exit 1
  fi
done
echo "PATH without Rust: $clean_path (command -v cargo and rustc fail)"

step "artefacts: names, platform tags and ELF machines"
python3 - "$root/dist" "$version" <<'EOF'
import glob, re, sys, tarfile, zipfile
dist, version = sys.argv[1], sys.argv[2]
MACHINES = {62: "x86_64", 183: "aarch64"}

def machine(data: bytes) -> str:
    # ELF header: magic, class (2 = 64-bit), data (1 = little endian), ..., e_machine at byte 18.
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit little-endian ELF file"
    return MACHINES.get(int.from_bytes(data[18:20], "little"), "unknown")

def glibc(data: bytes) -> tuple:
    # The newest glibc symbol version the library asks for; manylinux2014 allows 2.17.
    found = [tuple(int(x) for x in v.split(b".")) for v in re.findall(rb"GLIBC_(2\.[0-9]+(?:\.[0-9]+)?)\x00", data)]
    newest = max(found, default=(2, 0))
    assert newest <= (2, 17), f"needs glibc {'.'.join(map(str, newest))}, more than manylinux2014's 2.17"
    return newest

def one(pattern: str) -> str:
    found = glob.glob(f"{dist}/{pattern}")
    assert len(found) == 1, f"expected one {pattern} in dist/, found {found}"
    return found[0]

for arch in ("x86_64", "aarch64"):
    whl = one(f"python/zoho_oauth-{version}-cp39-abi3-manylinux*_{arch}.whl")
    with zipfile.ZipFile(whl) as z:
        [so] = [n for n in z.namelist() if n.startswith("zoho_oauth/_native") and n.endswith(".so")]
        data = z.read(so)
        got, needs = machine(data), glibc(data)
        licences = [n for n in z.namelist() if "LICENSE" in n]
    assert got == arch, f"{whl}: {so} is {got}"
    assert len(licences) == 2, f"{whl}: licence files {licences}"
    print(f"ok  {whl.split('/')[-1]}: {so} is ELF {got}, glibc >= {'.'.join(map(str, needs))}")

sdist = one(f"python/zoho_oauth-{version}.tar.gz")
with tarfile.open(sdist) as t:
    names = t.getnames()
for needed in ("pyproject.toml", "core/src/lib.rs", "mock/src/lib.rs", "bindings-python/src/lib.rs"):
    assert any(n.endswith(needed) for n in names), f"{sdist}: no {needed}"
print(f"ok  {sdist.split('/')[-1]}: the Rust sources of core, mock and the binding ({len(names)} files)")

for plat, arch in (("linux-x64-gnu", "x86_64"), ("linux-arm64-gnu", "aarch64")):
    tgz = one(f"npm/zoho-oauth-{plat}-{version}.tgz")
    with tarfile.open(tgz) as t:
        data = t.extractfile(f"package/zoho-oauth.{plat}.node").read()
    got, needs = machine(data), glibc(data)
    assert got == arch, f"{tgz}: the addon is {got}"
    print(f"ok  {tgz.split('/')[-1]}: zoho-oauth.{plat}.node is ELF {got}, glibc >= {'.'.join(map(str, needs))}")
tgz = one(f"npm/zoho-oauth-{version}.tgz")
with tarfile.open(tgz) as t:
    assert not [n for n in t.getnames() if n.endswith(".node")], f"{tgz}: the main package carries an addon"
print(f"ok  {tgz.split('/')[-1]}: JavaScript and types only")

for crate in ("zoho-oauth", "zoho-mock"):
    print(f"ok  {one(f'crates/{crate}-{version}.crate').split('/')[-1]}")

for jar in glob.glob(f"{dist}/kotlin/zoho-oauth-kotlin-{version}.jar"):
    with zipfile.ZipFile(jar) as z:
        data = z.read("linux-x86-64/libzoho_oauth_uniffi.so")
        assert any(n.startswith("com/zohooauth/") for n in z.namelist()), f"{jar}: no com.zohooauth classes"
    got, needs = machine(data), glibc(data)
    assert got == "x86_64", f"{jar}: the library is {got}"
    print(f"ok  {jar.split('/')[-1]}: linux-x86-64/libzoho_oauth_uniffi.so is ELF {got}, glibc >= {'.'.join(map(str, needs))}")
EOF

step "Python: the x86_64 wheel into a fresh venv, no Rust on PATH"
t0=$EPOCHREALTIME
"${no_rust[@]}" python3 -m venv "$work/venv"
venv_s=$(since "$t0")
wheel=$(ls "$root"/dist/python/zoho_oauth-"$version"-cp39-abi3-manylinux*_x86_64.whl)
t0=$EPOCHREALTIME
"${no_rust[@]}" "$work/venv/bin/pip" install -q --disable-pip-version-check --no-index "$wheel"
pip_s=$(since "$t0")
echo "python3 -m venv: $venv_s s; pip install $(basename "$wheel"): $pip_s s"
# From a folder outside the repository, so that only the installed package can be imported.
cd "$work"
"${no_rust[@]}" venv/bin/python -c 'import zoho_oauth; assert "/site-packages/" in zoho_oauth.__file__, zoho_oauth.__file__; print("imported from", zoho_oauth.__file__)'
t0=$EPOCHREALTIME
"${no_rust[@]}" venv/bin/python "$root/examples/python/self_client_leads.py"
py_run_s=$(since "$t0")
echo "round trip against zoho_oauth.testing.MockZoho: $py_run_s s"

step "Node: the npm tarballs into a fresh app folder, no Rust on PATH"
mkdir -p "$work/node-app"
cd "$work/node-app"
# The platform packages come from dist/ instead of the registry (they are not published):
# `overrides` points npm at the tarballs; it installs the one whose os, cpu and libc match.
node -e '
  const [version, dist] = process.argv.slice(1)
  const tgz = (name) => `file:${dist}/${name}-${version}.tgz`
  const app = {
    name: "dist-check-app", private: true, type: "module",
    dependencies: { "zoho-oauth": tgz("zoho-oauth") },
    overrides: {
      "zoho-oauth-linux-x64-gnu": tgz("zoho-oauth-linux-x64-gnu"),
      "zoho-oauth-linux-arm64-gnu": tgz("zoho-oauth-linux-arm64-gnu"),
    },
  }
  require("fs").writeFileSync("package.json", JSON.stringify(app, null, 2) + "\n")
' "$version" "$root/dist/npm"
cp "$root/examples/node/self-client-leads.mjs" .
t0=$EPOCHREALTIME
"${no_rust[@]}" npm install --no-audit --no-fund --loglevel=error
npm_s=$(since "$t0")
echo "npm install (zoho-oauth and the linux-x64-gnu addon from their tarballs): $npm_s s"
"${no_rust[@]}" node -e '
  const pkg = require("zoho-oauth/package.json")
  if (pkg.scripts) throw new Error("the installed zoho-oauth has scripts: " + JSON.stringify(pkg.scripts))
  console.log("addon from", require.resolve("zoho-oauth-linux-x64-gnu"))
  let arm = true
  try { require.resolve("zoho-oauth-linux-arm64-gnu") } catch { arm = false }
  if (arm) throw new Error("npm installed the arm64 addon on this machine")
'
t0=$EPOCHREALTIME
"${no_rust[@]}" node self-client-leads.mjs
node_run_s=$(since "$t0")
echo "round trip against require('zoho-oauth/testing'): $node_run_s s"
cd "$root"

kotlin_jar="$root/dist/kotlin/zoho-oauth-kotlin-$version.jar"
kc="$root/target/kotlinc/node_modules/kotlin-compiler"
if [ -f "$kotlin_jar" ]; then
  step "Kotlin: a round trip through the jar alone (its own native library; no jna.library.path)"
  cp_deps="/usr/share/java/jna.jar:$kc/lib/kotlinx-coroutines-core-jvm.jar:$kc/lib/kotlin-stdlib.jar"
  "${no_rust[@]}" "$kc/bin/kotlinc" -nowarn -cp "$kotlin_jar:$cp_deps" -d "$work/kotlin-tests.jar" \
    scripts/dist-check/KotlinSmoke.kt
  "${no_rust[@]}" java -cp "$work/kotlin-tests.jar:$kotlin_jar:$cp_deps" KotlinSmokeKt
fi

step "installed without Rust: pip install $pip_s s (venv $venv_s s), npm install $npm_s s; round trips $py_run_s s and $node_run_s s"
