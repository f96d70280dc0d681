#!/usr/bin/env bash
# Builds the worker into build/ (index.js + index_bg.wasm) fully offline: worker-build is
# pointed at the cargo-installed wasm-bindgen and at wasm-opt and esbuild from node_modules,
# instead of the binaries it would otherwise download from GitHub.
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export GATEWAY_BUILD_SHA="${GATEWAY_BUILD_SHA:-$(git rev-parse --short HEAD 2>/dev/null || true)}"
cd crates/worker-api
worker-build --release
rm -rf ../../build && mv build ../../build
wasm="../../build/index_bg.wasm"
# worker-build 0.8.7 runs wasm-opt without -Oz; a size pass of our own takes the module from
# ~607 KB to ~466 KB (cold start). Features: those rustc emits for wasm32 plus exceptions.
"$WASM_OPT_BIN" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-reference-types \
  --enable-exception-handling --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  "$wasm" -o "$wasm.opt" && mv "$wasm.opt" "$wasm"
printf '[build] %s: %s bytes, %s bytes gzipped\n' "build/index_bg.wasm" "$(wc -c <"$wasm")" "$(gzip -9c "$wasm" | wc -c)"
