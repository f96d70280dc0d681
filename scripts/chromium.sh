#!/usr/bin/env bash
# Makes sure headless Chromium is at /usr/bin/chromium for the browser test
# (tests/e2e/browser.test.mjs). Installs Debian's `chromium` package with apt-get when it is
# missing and we are root; otherwise says what to do and exits non-zero. Fast when present.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
say() { printf '\033[1m[chromium]\033[0m %s\n' "$*"; }

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "$CHROMIUM is missing and this is not root, so it cannot be installed here."
  say "Install it with: sudo apt-get install -y chromium   (the browser test is skipped until then)"
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "$CHROMIUM is missing and apt-get is not available (not Debian/Ubuntu)."
  say "Install Chromium so that $CHROMIUM exists (the browser test is skipped until then)."
  exit 1
fi

say "installing Debian's chromium package (once; about a minute)"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq || ! apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
  say "apt-get could not install chromium (no package source reachable?)."
  exit 1
fi
if [ ! -x "$CHROMIUM" ]; then
  say "the chromium package installed, but $CHROMIUM is still missing."
  exit 1
fi
say "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
