#!/usr/bin/env bash
# Builds the worker into build/ (index.js + index_bg.wasm) fully offline: worker-build is
# pointed at the cargo-installed wasm-bindgen and at wasm-opt and esbuild from node_modules,
# instead of the binaries it would otherwise download from GitHub.
#
# Skips the work when build/ is already up to date: build/.stamp holds a hash of every input
# (Cargo.lock, the Cargo.toml files, every file under crates/, this script, the tool versions
# and the commit baked into /health's version). Every wrangler.toml's [build] runs this script,
# so `wrangler deploy`/`wrangler dev` never upload a stale or missing build/, and an up-to-date
# one costs only the hash. FORCE_BUILD=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export GATEWAY_BUILD_SHA="${GATEWAY_BUILD_SHA:-$(git rev-parse --short HEAD 2>/dev/null || true)}"
# WASM_NAMES=1 keeps the wasm name section (Rust function names in a CPU profile, see
# docs/performance.md); about 15 % larger, so never for a deploy.
WASM_NAMES="${WASM_NAMES:-}"

# One build at a time (parallel `wrangler deploy --dry-run`s all run this script); whoever
# waited then finds the fresh stamp and skips.
mkdir -p target
if command -v flock >/dev/null 2>&1; then exec 9>target/.build.lock && flock 9; fi

sha() { if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1; }
inputs_hash() {
  {
    printf 'commit %s\n' "$GATEWAY_BUILD_SHA"
    printf 'names %s\n' "$WASM_NAMES"
    { rustc --version; worker-build --version; "$WASM_BINDGEN_BIN" --version; "$WASM_OPT_BIN" --version; } 2>/dev/null || true
    { for f in Cargo.lock Cargo.toml rust-toolchain rust-toolchain.toml .cargo/config.toml scripts/build.sh; do
        if [ -f "$f" ]; then printf '%s\n' "$f"; fi
      done
      find crates -type f -not -path 'crates/*/build/*' -not -path 'crates/*/target/*'
    } | LC_ALL=C sort | while IFS= read -r f; do printf '%s %s\n' "$(sha <"$f")" "$f"; done
  } | sha
}
# The operator console's vendor files (assets/console/vendor/, served by [assets]): built from
# the pinned npm packages when missing or stale, in well under a second otherwise.
node assets/build-console.mjs

STAMP="$(inputs_hash)"
if [ -z "${FORCE_BUILD:-}" ] && [ -f build/index.js ] && [ -f build/index_bg.wasm ] \
  && [ "$(cat build/.stamp 2>/dev/null)" = "$STAMP" ]; then
  printf '[build] build/ is up to date (inputs %s); skipped. FORCE_BUILD=1 rebuilds.\n' "${STAMP:0:12}"
  exit 0
fi

keep_names=()
if [ -n "$WASM_NAMES" ]; then
  keep_names=(-g)
  # worker-build's own wasm-opt pass would drop the names: give it a wrapper that keeps them.
  printf '#!/bin/sh\nexec "%s" -g "$@"\n' "$WASM_OPT_BIN" >target/wasm-opt-names
  chmod +x target/wasm-opt-names
  export WASM_OPT_BIN="$PWD/target/wasm-opt-names"
fi

cd crates/worker-api
worker-build --release
rm -rf ../../build && mv build ../../build
wasm="../../build/index_bg.wasm"
# worker-build 0.8.7 runs wasm-opt without -Oz; a size pass of our own shrinks the module by
# about a fifth (the line below prints both sizes; a smaller module starts faster). Features:
# those rustc emits for wasm32 plus exceptions.
before_opt=$(wc -c <"$wasm")
"$WASM_OPT_BIN" -Oz "${keep_names[@]}" --enable-bulk-memory --enable-nontrapping-float-to-int --enable-reference-types \
  --enable-exception-handling --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
printf '%s\n' "$STAMP" >../../build/.stamp
printf '[build] %s: %s bytes (%s before wasm-opt -Oz), %s bytes gzipped\n' "build/index_bg.wasm" \
  "$(wc -c <"$wasm")" "$before_opt" "$(gzip -9c "$wasm" | wc -c)"
