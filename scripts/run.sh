#!/usr/bin/env bash
# Runs EdgeMl's main job on embedded defaults: sets up a fresh machine, builds the `edgeml` executable and
# serves predictions of the fixture PaddleOCR classifier through the inference engine, on the provider chain
# given by EDGEML_PROVIDERS (default tensorrt,cuda,cpu: on a CPU-only build it falls back and says so).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/setup.sh"
dotnet build agent -c Release -v quiet -nologo -clp:ErrorsOnly
exec "$root/agent/bin/Release/net10.0/edgeml" predict \
  --model "$root/.fixtures/models/ch_ppocr_mobile_v2.0_cls_infer.onnx" \
  --shape 1,3,48,192 --count "${EDGEML_COUNT:-500}" --threads 1 \
  --providers "${EDGEML_PROVIDERS:-tensorrt,cuda,cpu}" "$@"
