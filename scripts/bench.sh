#!/usr/bin/env bash
# Runs the benchmarks (bare ONNX Runtime against the engine, in one run). Arguments go to BenchmarkDotNet,
# e.g. scripts/bench.sh --filter '*EngineBenchmarks*'. Results land in BenchmarkDotNet.Artifacts/results.
# --flavour gpu|system first builds on that ONNX Runtime flavour (default cpu), e.g. the engine on the gpu flavour's
# CPU provider: scripts/bench.sh --flavour gpu --filter '*EngineBenchmarks*'.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/fetch-models.sh"
flavour=cpu
if [[ ${1:-} == --flavour ]]; then
  flavour=${2:?--flavour needs cpu, gpu or system}
  shift 2
fi
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--filter '*')
dotnet run -c Release -p:OnnxRuntimeFlavor="$flavour" --project tests/EdgeMl.Benchmarks -- "${args[@]}"
