#!/usr/bin/env bash
# Runs EdgeMl's main job on embedded defaults on a fresh machine: sets up, builds `edgeml`, creates a demo signing
# key, packs and signs the fixture PaddleOCR classifier and publishes it into a local folder registry, then starts
# the agent (`edgeml run`): it pulls, verifies and activates the model, serves the Open Inference Protocol on
# http://127.0.0.1:8000 and its gRPC service on 127.0.0.1:8001, the diagnostics page at http://127.0.0.1:8000/,
# Prometheus text on :9600/metrics, and
# health on the embedded MQTT broker (127.0.0.1:1883, topics edgeml/<device>/#). Ctrl+C stops it.
# EDGEML_PORT, EDGEML_GRPC_PORT, EDGEML_METRICS_PORT and EDGEML_MQTT_PORT move the four ports (a local Mosquitto on 1883, say);
# EDGEML_DEMO_DIR (default .edgeml/demo) holds the key, registry and data.
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
port=${EDGEML_PORT:-8000}
grpc_port=${EDGEML_GRPC_PORT:-8001}
metrics_port=${EDGEML_METRICS_PORT:-9600}
mqtt_port=${EDGEML_MQTT_PORT:-1883}
api=http://127.0.0.1:$port
cat <<INFO
run: starting the agent on embedded defaults (data in $demo/data). Where to look:
  diagnostics page    $api/
  health              curl -s $api/api/health
                      $(printf %q "${edgeml[0]}") status --url $api
  prediction          curl -s -X POST $api/v2/models/ocr-cls/infer -H 'Content-Type: application/json' --data-binary @$(printf %q "$root/examples/request.json")
  gRPC                127.0.0.1:$grpc_port (inference.GRPCInferenceService); $(printf %q "${edgeml[0]}") infer --grpc --url http://127.0.0.1:$grpc_port --model ocr-cls --random
  metrics             curl -s http://127.0.0.1:$metrics_port/metrics
  MQTT health         any MQTT client on 127.0.0.1:$mqtt_port, topics edgeml/<device>/status, /health and /events
INFO
exec "${edgeml[@]}" run \
  --EdgeMl:Http:Urls="$api" \
  --EdgeMl:Grpc:Urls="http://127.0.0.1:$grpc_port" \
  --EdgeMl:MetricsUrls="http://127.0.0.1:$metrics_port" \
  --EdgeMl:Mqtt:Port="$mqtt_port" \
  --EdgeMl:DataDirectory="$demo/data" \
  --EdgeMl:TrustedKeyFiles:0="$demo/keys/demo.pub.pem" \
  --EdgeMl:Desired:registry="$demo/registry" \
  --EdgeMl:Desired:models:ocr-cls:version=latest \
  --EdgeMl:Desired:models:ocr-cls:providers="$providers" \
  --EdgeMl:Desired:models:ocr-cls:threads=1 \
  "$@"
