#!/usr/bin/env bash
# Azurite (Azure Storage emulator) from npm, pinned by the committed lock file, into .tools/azurite.
# Tests start it themselves on an ephemeral loopback port (tests/EdgeMl.Testing/Azurite).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target=$root/.tools/azurite
pinned=$root/scripts/setup.d/azurite

if [[ -x $target/node_modules/.bin/azurite-blob ]] && cmp -s "$pinned/package-lock.json" "$target/package-lock.json"; then
  exit 0
fi

command -v npm >/dev/null || { echo "azurite: npm is required" >&2; exit 1; }
mkdir -p "$target"
cp "$pinned/package.json" "$pinned/package-lock.json" "$target/"
(cd "$target" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "azurite: installed $(node -p "require('$target/node_modules/azurite/package.json').version") into .tools/azurite"
