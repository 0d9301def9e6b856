#!/usr/bin/env bash
# Everything a fresh machine needs before the agent or the tests can run. Idempotent; each part
# of the house that needs a server or tool adds a script to scripts/setup.d/. `setup.sh models` does only what
# running the agent needs (the SDK check, npm, the fixture models).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required" >&2; exit 1; }
if ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq npm >/dev/null
fi

"$root/scripts/fetch-models.sh"
# `setup.sh models` stops here: running the agent needs the models, not the test servers and browser.
[[ ${1:-} == models ]] && exit 0
for part in "$root"/scripts/setup.d/*.sh; do
  [[ -e $part ]] || continue
  bash "$part"
done
