#!/usr/bin/env bash
# Debian's Chromium, for the diagnostics page tests (Playwright drives it headless through its
# ExecutablePath; Playwright's own browser download is never used). Nothing is started here.
set -euo pipefail
if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "chromium: not installed and not root; run: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "chromium: installing from Debian"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
