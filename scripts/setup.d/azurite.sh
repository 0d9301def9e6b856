#!/usr/bin/env bash
# Installs Azurite (pinned in scripts/setup.d/azurite/package-lock.json) into .tools/azurite for the
# blob registry tests. Quiet and quick when the installed lock file already matches the committed one.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$root/scripts/setup.d/azurite
dest=$root/.tools/azurite

if [[ -x $dest/node_modules/.bin/azurite-blob ]] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  exit 0
fi

command -v npm >/dev/null || { echo "azurite: npm is required" >&2; exit 1; }
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
echo "azurite: installing $(grep -o '"azurite": "[^"]*"' "$src/package.json")"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "azurite: ready in $dest"
