#!/usr/bin/env bash
# README command 1: install what is missing, build the worker, serve it on 127.0.0.1:8787
# and the demo chat page (examples/web-chat) on 127.0.0.1:8788 (dev/serve.mjs first bundles the
# AI SDK client the page loads, examples/web-chat/vendor/ai.js, when missing or stale).
# Unless the tenant is in open mode, dev/serve.mjs makes a dev API key for the run (random
# ADMIN_TOKEN, POST /admin/keys), prints it on a line starting with `API key:` and puts it in
# the printed curl lines and page link. The operator console is served by the gateway itself at
# <gateway>/console/ (assets/console, Workers Static Assets); its URL is printed too.
#   bash scripts/dev.sh [--tenant NAME] [--port N] [--web-port N] [--no-web]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/tools.sh
bash scripts/build.sh
exec node dev/serve.mjs "$@"
