#!/usr/bin/env bash
# Compiles the generated Kotlin bindings with the Kotlin test program (plain kotlinc, no Gradle)
# and runs it with java against the in-process fake Zoho. The native library is the debug build
# that bindings-uniffi/generate.sh (or `cargo build -p zoho-oauth-uniffi`) leaves in target/.
#
#   bindings-uniffi/test-kotlin.sh
#
# Needs: a JDK (17 tested), Debian's JNA (/usr/share/java/jna.jar, package libjna-java) and the
# Kotlin compiler from the npm registry in target/kotlinc
#   (npm install --prefix target/kotlinc --no-save kotlin-compiler@2.4.20),
# which also ships kotlinx-coroutines. Override with KOTLIN_HOME and JNA_JAR.
set -euo pipefail
cd "$(dirname "$0")/.."

triple="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export CARGO_BUILD_TARGET="$triple"
KC="${KOTLIN_HOME:-target/kotlinc/node_modules/kotlin-compiler}"
JNA="${JNA_JAR:-/usr/share/java/jna.jar}"
for need in "$KC/bin/kotlinc" "$JNA"; do
  if [ ! -e "$need" ]; then
    echo "error: $need is missing (see the header of $0 for how to install it)" >&2
    exit 1
  fi
done
chmod +x "$KC"/bin/* 2>/dev/null || true

cargo build -q --locked -p zoho-oauth-uniffi
out=target/kotlin-test
mkdir -p "$out"
CP="$JNA:$KC/lib/kotlinx-coroutines-core-jvm.jar"
"$KC/bin/kotlinc" -nowarn -cp "$CP" -d "$out/tests.jar" \
  bindings-uniffi/kotlin/com/zohooauth/zoho_oauth.kt bindings-uniffi/tests/ZohoOAuthTest.kt
# jna.library.path: where JNA finds libzoho_oauth_uniffi.so (Android packs it per ABI instead).
java -Djna.library.path="${CARGO_TARGET_DIR:-target}/$triple/debug" -cp "$out/tests.jar:$CP:$KC/lib/kotlin-stdlib.jar" ZohoOAuthTestKt
