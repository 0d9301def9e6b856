#!/usr/bin/env bash
# Runs EdgeMl's main job on embedded defaults on a fresh machine: sets up, builds `edgeml`, creates a demo signing
# key, packs and signs the fixture PaddleOCR classifier and publishes it into a local folder registry, then starts
# the agent (`edgeml run`): it pulls, verifies and activates the model, serves the Open Inference Protocol on
# http://127.0.0.1:8000, the diagnostics page at http://127.0.0.1:8000/, Prometheus text on :9600/metrics, and
# health on the embedded MQTT broker (127.0.0.1:1883, topics edgeml/<device>/#). Ctrl+C stops it.
# EDGEML_PROVIDERS (default tensorrt,cuda,cpu) is the model's provider chain: on a CPU-only build it falls back
# and reports the model as degraded, with the reason. Extra arguments go to `edgeml run` (--EdgeMl:Key=value).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

"$root/scripts/setup.sh" models
dotnet build agent -c Release -v quiet -nologo -clp:ErrorsOnly
edgeml=("$root/agent/bin/Release/net10.0/edgeml")

demo=${EDGEML_DEMO_DIR:-$root/.edgeml/demo}
mkdir -p "$demo"
if [[ ! -f $demo/keys/demo.key.pem ]]; then
  "${edgeml[@]}" keys create --name demo --out "$demo/keys" >/dev/null
fi
if [[ ! -f $demo/registry/ocr-cls/versions.json ]]; then
  rm -rf "$demo/package"
  "${edgeml[@]}" model pack "$root/.fixtures/models/ch_ppocr_mobile_v2.0_cls_infer.onnx" \
    --name ocr-cls --version 1 --out "$demo/package" --shape x=1,3,48,192 --golden 1 >/dev/null
  "${edgeml[@]}" model sign "$demo/package" --key "$demo/keys/demo.key.pem" >/dev/null
  "${edgeml[@]}" model publish "$demo/package" --registry "$demo/registry" --key "$demo/keys/demo.key.pem" >/dev/null
  echo "run: published ocr-cls v1, signed with $demo/keys/demo.pub.pem, into the folder registry $demo/registry"
fi

providers=${EDGEML_PROVIDERS:-tensorrt,cuda,cpu}
cat <<INFO
run: starting the agent on embedded defaults (data in $demo/data). Where to look:
  diagnostics page    http://127.0.0.1:8000/
  health              curl -s http://127.0.0.1:8000/api/health        (or: edgeml status)
  predictions         curl -s http://127.0.0.1:8000/v2/models/ocr-cls/infer -H "Content-Type: application/json" -d @request.json
  metrics             curl -s http://127.0.0.1:9600/metrics
  MQTT health         mosquitto_sub -h 127.0.0.1 -p 1883 -t 'edgeml/#' -v
INFO
exec "${edgeml[@]}" run \
  --EdgeMl:DataDirectory="$demo/data" \
  --EdgeMl:TrustedKeyFiles:0="$demo/keys/demo.pub.pem" \
  --EdgeMl:Desired:registry="$demo/registry" \
  --EdgeMl:Desired:models:ocr-cls:version=latest \
  --EdgeMl:Desired:models:ocr-cls:providers="$providers" \
  --EdgeMl:Desired:models:ocr-cls:threads=1 \
  "$@"
