#!/usr/bin/env bash
# The official Azure IoT Node.js device SDK, used by the IoT Hub simulator cross-check test
# (tests/node-sdk-check). Idempotent: npm ci only when the lock file changed since the last install.
set -euo pipefail
dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/node-sdk-check" && pwd)
stamp=$dir/node_modules/.edgeml-lock.sha256
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
