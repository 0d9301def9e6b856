#!/usr/bin/env bash
# Runs the benchmarks (bare ONNX Runtime against the engine, in one run). Arguments go to BenchmarkDotNet,
# e.g. scripts/bench.sh --filter '*EngineBenchmarks*'. Results land in BenchmarkDotNet.Artifacts/results.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
"$root/scripts/fetch-models.sh"
args=("$@")
[[ ${#args[@]} -gt 0 ]] || args=(--filter '*')
dotnet run -c Release --project tests/EdgeMl.Benchmarks -- "${args[@]}"
