#!/usr/bin/env bash
# Installs what building and testing need, skipping whatever is already there at the right
# version. Safe to run again and again; sourced by dev.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[tools]\033[0m %s\n' "$*"; }

# Rust target for the worker.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# worker-build: the pinned version.
WORKER_BUILD_VERSION=0.8.7
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  say "installing worker-build $WORKER_BUILD_VERSION (a few minutes on 2 cores, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION"
fi

# wasm-bindgen-cli: exactly the wasm-bindgen version in Cargo.lock.
[ -f Cargo.lock ] || cargo generate-lockfile
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG_VERSION\$"; then
  say "installing wasm-bindgen-cli $WBG_VERSION (a few minutes on 2 cores, once)"
  cargo install wasm-bindgen-cli --version "=$WBG_VERSION"
fi

# Node tools (wrangler, miniflare, binaryen, esbuild), exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.lock-stamp; then
  say "installing Node tools with npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.lock-stamp
fi
