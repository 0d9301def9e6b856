#!/usr/bin/env bash
# The native toolchain a Native AOT publish links with (the x64 module images' build, which CI runs:
# scripts/publish-image.sh): clang, and zlib's development files, from Debian, as the images' build stages install
# them. .NET's ILCompiler takes clang, or gcc when there is no clang.
set -euo pipefail
missing=()
command -v clang >/dev/null || command -v gcc >/dev/null || missing+=(clang)
[[ -e /usr/lib/x86_64-linux-gnu/libz.so || -e /usr/lib/aarch64-linux-gnu/libz.so || -e /usr/lib/libz.so ]] || missing+=(zlib1g-dev)
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "native-aot: ${missing[*]} missing and not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "native-aot: installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
