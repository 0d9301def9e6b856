#!/usr/bin/env bash
# Runs the benchmarks (bare ONNX Runtime against the engine, in one run). Arguments go to BenchmarkDotNet,
# e.g. scripts/bench.sh --filter '*EngineBenchmarks*'. Results land in BenchmarkDotNet.Artifacts/results.
# latency-remote [rounds] measures a published `edgeml run` from a client process, shadow-cost [rounds] the same
# with and without a shadow version, startup compares its start-up and memory with a baseline publish, fleet [N]
# rolls a version out across N real agents (docs/benchmarks.md).
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
# fleet [N] [--canary 0.1] [--load-callers 2] [--hub-down 5] [--steady 360]: N real `edgeml run` agents (default 50)
# against the IoT Hub simulator; v1 and v2 published with the CLI, v2 rolled out to the twins tagged ring=canary and
# then to all under load, the hub restarted, hub traffic per device counted (tests/EdgeMl.FleetHarness). The figures
# print as markdown and land in artifacts/fleet/fleet-N.md; exit 1 if any request failed.
if [[ ${1:-} == fleet ]]; then
  shift
  exec dotnet run -c Release -p:OnnxRuntimeFlavor="$flavour" --project tests/EdgeMl.FleetHarness -- "$@"
fi
# The module images' publish (modules/edgeml/Dockerfile.*): self-contained, one composite ReadyToRun image.
image_publish=(--self-contained true -p:PublishReadyToRunComposite=true)
# --aot (latency-remote, shadow-cost, startup): measure a Native AOT publish instead (docs/benchmarks.md). It restores
# the ILCompiler package, which the committed lock files do not list: its lock files go to each project's obj/. Parquet.Net
# and System.Device.Gpio are not trim-clean, so their warnings stay warnings here.
aot_publish=(-p:PublishAot=true -p:PublishReadyToRun=false -p:NuGetLockFilePath=obj/packages.aot.lock.json -p:TreatWarningsAsErrors=false)
aot=false
for a in "${args[@]}"; do [[ $a == --aot ]] && aot=true; done
if $aot; then
  kept=()
  for a in "${args[@]}"; do [[ $a == --aot ]] || kept+=("$a"); done
  args=("${kept[@]}")
fi
# latency-remote [rounds] [--starts N] [--aot]: publishes the agent as the module image does (into artifacts/bench/edgeml)
# and measures it from a client in a separate process (tests/EdgeMl.Benchmarks/RemoteLatencyHarness.cs).
if [[ ${1:-} == latency-remote || ${1:-} == shadow-cost ]]; then
  published=$root/artifacts/bench/edgeml
  rm -rf "$published"
  if $aot; then extra=("${aot_publish[@]}"); else extra=("${image_publish[@]}"); fi
  dotnet publish agent/EdgeMl.Agent.csproj -c Release -r linux-x64 "${extra[@]}" \
    -p:OnnxRuntimeFlavor="$flavour" -o "$published" -v quiet -nologo -clp:ErrorsOnly >&2
  args+=(--agent "$published")
fi
# startup [--starts N] [--baseline jit] [--aot]: this build as the images publish it against a baseline, the
# framework-dependent ReadyToRun publish the images used before (--baseline jit: without ReadyToRun, with the SDK's
# default server GC; --aot: a Native AOT publish against the images' build), started in turns: start to
# /v2/health/ready and idle memory.
if [[ ${1:-} == startup ]]; then
  candidate=("${image_publish[@]}")
  baseline=(--self-contained false)
  if [[ ${2:-} == --baseline && ${3:-} == jit ]]; then
    baseline+=(-p:PublishReadyToRun=false -p:ServerGarbageCollection=true -p:ConcurrentGarbageCollection=true)
    args=(startup "${args[@]:3}")
  fi
  if $aot; then
    candidate=("${aot_publish[@]}")
    baseline=("${image_publish[@]}")
  fi
  for variant in edgeml baseline; do
    rm -rf "$root/artifacts/bench/$variant"
    if [[ $variant == edgeml ]]; then extra=("${candidate[@]}"); else extra=("${baseline[@]}"); fi
    dotnet publish agent/EdgeMl.Agent.csproj -c Release -r linux-x64 -p:OnnxRuntimeFlavor="$flavour" \
      "${extra[@]}" -o "$root/artifacts/bench/$variant" -v quiet -nologo -clp:ErrorsOnly >&2
  done
  args+=(--agent "$root/artifacts/bench/edgeml" --baseline "$root/artifacts/bench/baseline")
fi
[[ ${#args[@]} -gt 0 ]] || args=(--filter '*')
dotnet run -c Release -p:OnnxRuntimeFlavor="$flavour" --project tests/EdgeMl.Benchmarks -- "${args[@]}"
