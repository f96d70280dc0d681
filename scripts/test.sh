#!/usr/bin/env bash
# README command 2: install what is missing, then run every test layer:
#   1. lints and native `cargo test` of the pure crates (gateway, budget) and tenant-check,
#   2. wasm-bindgen-test for the worker's JS glue (in Node, via wasm-bindgen-test-runner),
#   3. the release build and a check of every tenant under tenants/, then end-to-end tests
#      against workerd (Miniflare) with the AI stand-in, including wrangler --dry-run deploys,
#      the unchanged official clients of every surface (the openai SDKs' chat completions and
#      Responses, Node and Python; the Anthropic SDKs, Node and Python; Vercel's AI SDK,
#      streamText and useChat's DefaultChatTransport against /ui/chat), and headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "tools"
bash scripts/tools.sh
# Test-only tools: the official OpenAI and Anthropic Python SDKs in .venv-sdk/ (pinned), and
# Debian's Chromium for the browser test (which says why it skips if Chromium cannot be installed).
bash scripts/sdk-venv.sh
bash scripts/chromium.sh || echo "[tools] chromium unavailable: the browser test will skip and say why"

step "format and lints"
cargo fmt --all -- --check
# No import circles between the modules of any crate (docs/ARCHITECTURE.md).
for src in crates/*/src; do python3 scripts/import-cycles.py "$src"; done
cargo clippy --workspace --exclude worker-api --all-targets -- -D warnings
cargo clippy -p worker-api --target wasm32-unknown-unknown --all-targets -- -D warnings

step "native tests (pure crates)"
cargo test --workspace --exclude worker-api

step "wasm tests (worker glue, wasm-bindgen-test in Node)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p worker-api --target wasm32-unknown-unknown

step "release build"
bash scripts/build.sh

step "size ceiling (gzipped wasm, scripts/wasm-ceiling.txt)"
bash scripts/wasm-ceiling.sh

step "tenant configs (tenant-check)"
cargo run -q -p tenant-check

step "end-to-end tests (workerd + AI stand-in)"
node --test --test-concurrency=2 tests/e2e/
