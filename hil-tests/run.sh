#!/usr/bin/env bash
# One command on a GPU box (or a Jetson): builds the ONNX Runtime flavour this machine needs, runs the hardware
# tests and prints a table of results and timings for docs/benchmarks.md. Without a GPU it says so and exits 0 once
# the CPU-side checks (the self-check and each provider's verdict) have passed.
#   hil-tests/run.sh                 # flavour: system on a Jetson, gpu on x86-64, else cpu
#   EDGEML_HIL_FLAVOUR=cpu hil-tests/run.sh
# GPIO loopback tests run too when EDGEML_HIL_GPIO_OUT/IN are set (hil-tests/README.md).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [[ -e /etc/nv_tegra_release ]]; then
  flavour=system   # Jetson: the device's own libonnxruntime.so with CUDA and TensorRT
elif [[ $(uname -m) == x86_64 ]]; then
  flavour=gpu      # Microsoft.ML.OnnxRuntime.Gpu: CUDA 13 and TensorRT 10
else
  flavour=cpu
fi
flavour=${EDGEML_HIL_FLAVOUR:-$flavour}

gpu=""
for device in /dev/nvidia0 /dev/nvhost-ctrl-gpu /dev/nvgpu/igpu0/ctrl; do
  [[ -e $device ]] && gpu=$device && break
done

"$root/scripts/fetch-models.sh" > /dev/null
echo "hil: $(uname -m), ONNX Runtime flavour $flavour, GPU device: ${gpu:-none}"
# With a wired GPIO pair, the module image's own build of this architecture and flavour (Native AOT on x64) runs a
# GPIO trigger too: published as its Dockerfile publishes it, unless EDGEML_HIL_AGENT names one already.
if [[ -n ${EDGEML_HIL_GPIO_OUT:-} && -n ${EDGEML_HIL_GPIO_IN:-} && -z ${EDGEML_HIL_AGENT:-} ]]; then
  case $(uname -m)/$flavour in
    x86_64/gpu) dockerfile=Dockerfile.amd64.gpu ;;
    x86_64/*) dockerfile=Dockerfile.amd64 ;;
    aarch64/system) dockerfile=Dockerfile.arm64v8.jetson ;;
    *) dockerfile=Dockerfile.arm64v8 ;;
  esac
  echo "hil: publishing the $dockerfile build for the GPIO trigger test"
  "$root/scripts/publish-image.sh" "modules/edgeml/$dockerfile" "$root/artifacts/hil/$dockerfile" > /dev/null
  export EDGEML_HIL_AGENT=$root/artifacts/hil/$dockerfile/edgeml
fi
dotnet build hil-tests/EdgeMl.HilTests -c Release -p:OnnxRuntimeFlavor="$flavour" -v quiet -nologo
log=$(mktemp)
status=0
dotnet test hil-tests/EdgeMl.HilTests -c Release -p:OnnxRuntimeFlavor="$flavour" --no-build \
  --logger "console;verbosity=detailed" > "$log" 2>&1 || status=$?
grep -E '^\s*(Passed|Failed|Skipped) EdgeMl\.|^\s*(Passed|Failed)!|Total tests|^\s+(Passed|Failed|Skipped): ' "$log" | sed 's/^ *//' || true
if [[ $status -ne 0 ]]; then
  grep -A30 -E '^\s*Failed EdgeMl\.' "$log" || cat "$log"
fi

echo
echo "| check | result |"
echo "| --- | --- |"
grep -h 'hil-result: ' "$log" | sed -E 's/^.*hil-result: (.*) \| (.*)$/| \1 | \2 |/' || true
rm -f "$log"
echo

if [[ -z $gpu ]]; then
  echo "hil: no NVIDIA GPU on this machine: the CUDA and TensorRT tests skipped (the provider lines of the table say why); CPU-side checks $([[ $status -eq 0 ]] && echo passed || echo FAILED)."
fi
exit $status
