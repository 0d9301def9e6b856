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
# The x64 module image's publish: its Dockerfile's own instruction (scripts/publish-image.sh), Native AOT since
# 2026-12-04. --composite (latency-remote, shadow-cost, startup) measures the self-contained composite ReadyToRun
# publish instead: what the arm64 images run and the x64 images ran before (docs/benchmarks.md).
composite_publish=(--self-contained true -p:PublishReadyToRunComposite=true)
image_dockerfile=modules/edgeml/Dockerfile.amd64
[[ $flavour == gpu ]] && image_dockerfile=modules/edgeml/Dockerfile.amd64.gpu
composite=false
for a in "${args[@]}"; do [[ $a == --composite ]] && composite=true; done
if $composite; then
  kept=()
  for a in "${args[@]}"; do [[ $a == --composite ]] || kept+=("$a"); done
  args=("${kept[@]}")
fi
publish() { # KIND OUT: KIND is image, composite or framework-dependent (the images' build before 2026-12-04 10:30)
  rm -rf "$2"
  case $1 in
    image) [[ $flavour == system ]] && { echo "bench: no x64 image has the system flavour" >&2; exit 2; }
      "$root/scripts/publish-image.sh" "$image_dockerfile" "$2" > /dev/null ;;
    composite) dotnet publish agent/EdgeMl.Agent.csproj -c Release -r linux-x64 "${composite_publish[@]}" \
      -p:OnnxRuntimeFlavor="$flavour" -o "$2" -v quiet -nologo -clp:ErrorsOnly >&2 ;;
    *) dotnet publish agent/EdgeMl.Agent.csproj -c Release -r linux-x64 --self-contained false "${@:3}" \
      -p:OnnxRuntimeFlavor="$flavour" -o "$2" -v quiet -nologo -clp:ErrorsOnly >&2 ;;
  esac
}
# latency-remote [rounds] [--starts N] [--composite]: publishes the agent as the x64 module image does (into
# artifacts/bench/edgeml) and measures it from a client in a separate process (tests/EdgeMl.Benchmarks/RemoteLatencyHarness.cs).
# agent-ab [rounds] --env NAME=VALUE [--env …] [--against BASELINE_DIR] [--types]: two agents, the second of that build
# with the environment given (a runtime setting), the first of BASELINE_DIR's build when given (a change's worth),
# measured in turns over HTTP binary and gRPC raw with bare Run between them: latency, the engine's own time, server
# CPU and exact bytes allocated per request (--types: by type, from a JIT build's EventPipe).
if [[ ${args[0]:-} == latency-remote || ${args[0]:-} == shadow-cost || ${args[0]:-} == agent-ab ]]; then
  published=$root/artifacts/bench/edgeml
  if $composite; then publish composite "$published"; else publish image "$published"; fi
  args+=(--agent "$published")
  # latency-remote also measures from a Python client (tests/EdgeMl.Benchmarks/python/oip_latency.py: grpcio, the gRPC
  # C-core tritonclient is built on, and http.client), with Debian's python3-grpcio and python3-grpc-tools.
  if [[ ${args[0]} == latency-remote ]]; then
    if ! /usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null && [[ $(id -u) -eq 0 ]]; then
      echo "bench: installing python3-grpcio and python3-grpc-tools from Debian" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-grpcio python3-grpc-tools >/dev/null
    fi
    if /usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null; then
      args+=(--python /usr/bin/python3)
    else
      echo "bench: no python3-grpcio and python3-grpc-tools (sudo apt-get install -y python3-grpcio python3-grpc-tools); the Python client is left out" >&2
    fi
  fi
fi
# startup [--starts N] [--baseline jit] [--composite]: the x64 image's build against the composite ReadyToRun build,
# started in turns: start to /v2/health/ready and idle memory. --composite: the composite build against the
# framework-dependent ReadyToRun publish the images used before it (--baseline jit: that one without ReadyToRun and
# with the SDK's default server GC).
if [[ ${args[0]:-} == startup ]]; then
  baseline_extra=()
  if [[ ${args[1]:-} == --baseline && ${args[2]:-} == jit ]]; then
    baseline_extra=(-p:PublishReadyToRun=false -p:ServerGarbageCollection=true -p:ConcurrentGarbageCollection=true)
    args=(startup "${args[@]:3}")
  fi
  if $composite; then
    publish composite "$root/artifacts/bench/edgeml"
    publish framework-dependent "$root/artifacts/bench/baseline" "${baseline_extra[@]}"
  else
    publish image "$root/artifacts/bench/edgeml"
    publish composite "$root/artifacts/bench/baseline"
  fi
  args+=(--agent "$root/artifacts/bench/edgeml" --baseline "$root/artifacts/bench/baseline")
fi
[[ ${#args[@]} -gt 0 ]] || args=(--filter '*')
dotnet run -c Release -p:OnnxRuntimeFlavor="$flavour" --project tests/EdgeMl.Benchmarks -- "${args[@]}"
