#!/usr/bin/env bash
# Publishes the agent exactly as a module image's build stage does, without Docker: runs the Dockerfile's own
# `RUN dotnet publish …` instruction (continuation lines and its checks included) from the repository root, with the
# image's /app replaced by OUT. CI runs the result as the image would (scripts/test.sh, EDGEML_IMAGE_BUILDS).
# Usage: scripts/publish-image.sh modules/edgeml/Dockerfile.amd64 OUT
# Exit codes: 0 published; 1 the publish or its checks failed; 2 usage, no publish instruction in the Dockerfile, or
# an OUT that is not a folder of its own (/, the repository, HOME).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ $# -ne 2 || ! -f $1 ]]; then
  echo "usage: scripts/publish-image.sh DOCKERFILE OUT" >&2
  exit 2
fi
dockerfile=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$(mkdir -p "$2" && cd "$2" && pwd)
# OUT is emptied first, as the image's /app starts empty: never a folder that holds anything else.
if [[ $out == / || $out == "$root" || $out == "${HOME:-/}" ]]; then
  echo "publish-image: will not empty $out; name a folder of its own" >&2
  exit 2
fi

# The instruction: from its RUN line through every line ending in a backslash.
command=$(awk '/^RUN dotnet publish / { on = 1 } on { sub(/^RUN /, ""); line = $0; cont = sub(/\\$/, "", line); printf "%s ", line; if (!cont) exit }' "$dockerfile")
if [[ -z $command ]]; then
  echo "publish-image: $1 has no 'RUN dotnet publish' instruction" >&2
  exit 2
fi
# /app, as a whole path or a path's first part, becomes OUT.
command=$(sed -E "s#(^|[[:space:]])/app(/|[[:space:]]|\$)#\\1$out\\2#g" <<< "$command")

cd "$root"
rm -rf "${out:?}"/*
echo "== $command"
bash -c "set -euo pipefail; $command"
