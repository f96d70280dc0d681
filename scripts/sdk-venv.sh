#!/usr/bin/env bash
# Prepares .venv-sdk/ (git-ignored): a Python venv with the pinned official OpenAI and Anthropic
# Python clients and pytest from tests/sdk/python/requirements.txt, for
# tests/e2e/sdk-python.test.mjs and tests/e2e/sdk-python-surfaces.test.mjs.
# Idempotent and silent when the venv is already up to date: it is (re)built only when it is
# missing, broken, or requirements.txt changed since the last successful install (a stamp
# inside the venv holds the file's hash). Needs python3 (3.11+) with venv, and PyPI or a mirror
# the way pip is configured. PYTHON=/path/to/python3.x picks another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-sdk
req=tests/sdk/python/requirements.txt
stamp=$venv/.requirements.sha256
py=${PYTHON:-python3}

want=$(sha256sum "$req" | cut -d' ' -f1)
fresh() { [[ -f $stamp && $(<"$stamp") == "$want" ]] && "$venv/bin/python" -c '' 2>/dev/null; }
fresh && exit 0
# Two e2e files call this (sdk-python*.test.mjs) and `node --test` runs files in parallel: the
# first builds the venv, the other waits for it here and then finds it up to date.
if command -v flock >/dev/null; then
  exec 9>"${TMPDIR:-/tmp}/sdk-venv.$(pwd | sha256sum | cut -c1-16).lock"
  flock 9
  fresh && exit 0
fi

fail() { echo "sdk-venv: $*" >&2; exit 1; }
command -v "$py" >/dev/null || fail "'$py' not found: install Python 3.11+ (or set PYTHON=/path/to/python3)"
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' || fail "'$py' is $("$py" -V 2>&1); need Python 3.9+ (3.11 tested)"

echo "sdk-venv: creating $venv from $req" >&2
rm -rf "$venv"
"$py" -m venv "$venv" || { rm -rf "$venv"; fail "'$py -m venv' failed (Debian/Ubuntu: apt-get install python3-venv)"; }
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"; then
  rm -rf "$venv"
  fail "pip could not install $req (is PyPI reachable?)"
fi
echo "$want" >"$stamp"
