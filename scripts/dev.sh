#!/usr/bin/env bash
# README command 1: install what is missing, build the worker, serve it on 127.0.0.1:8787
# and the demo chat page (examples/web-chat) on 127.0.0.1:8788.
#   bash scripts/dev.sh [--tenant NAME] [--port N] [--web-port N] [--no-web]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tools.sh
bash scripts/build.sh
exec node dev/serve.mjs "$@"
