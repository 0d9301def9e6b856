#!/usr/bin/env bash
# Fuzzes the parsers that read what others wrote (fuzz/EdgeMl.Fuzz) with afl++ and SharpFuzz: publishes the harness,
# instruments the parsers' assemblies, runs each harness for a bounded time, one after another, and prints the
# executions, crashes and hangs of each. Not part of scripts/test.sh (the suite replays the seed corpus instead).
#
# Usage: scripts/fuzz.sh [HARNESS...] [--seconds N | --execs N] [--timeout-ms N]
#   HARNESS      infer-json infer-binary desired manifest versions iothub-topic property-bag (default: all)
#   --seconds N  stop each harness after N seconds (default 60)
#   --execs N    stop each harness after about N executions instead
#   --timeout-ms a run longer than this is a hang (default 2000; .NET's first runs JIT-compile)
# Findings go to artifacts/fuzz/findings/HARNESS/default/{crashes,hangs} ($EDGEML_FUZZ_OUT instead of artifacts/fuzz
# if set); replay one, with its stack, on the uninstrumented build (the instrumented one runs only under afl-fuzz):
#   dotnet run --project fuzz/EdgeMl.Fuzz -c Release -- HARNESS FILE
# Exit: 0 no crash and no hang, 1 a crash or hang was found, 2 bad usage or setup.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

all=(infer-json infer-binary desired manifest versions iothub-topic property-bag)
declare -A dictionary=([infer-json]=infer [infer-binary]=infer [desired]=desired [manifest]=package [versions]=package
  [iothub-topic]=iothub [property-bag]=iothub)
harnesses=()
limit=(-V 60)
timeout_ms=2000
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) limit=(-V "${2:?--seconds needs a number}"); shift 2 ;;
    --execs) limit=(-E "${2:?--execs needs a number}"); shift 2 ;;
    --timeout-ms) timeout_ms=${2:?--timeout-ms needs a number}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *)
      [[ -n ${dictionary[$1]:-} ]] || { echo "fuzz: unknown harness '$1'; harnesses: ${all[*]}" >&2; exit 2; }
      harnesses+=("$1"); shift ;;
  esac
done
[[ ${#harnesses[@]} -gt 0 ]] || harnesses=("${all[@]}")

# afl++ from Debian, as scripts/setup.d installs the test servers; only this script needs it.
if ! command -v afl-fuzz >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "fuzz: afl-fuzz is not installed and this is not root; run: sudo apt-get install -y afl++" >&2
    exit 2
  fi
  echo "fuzz: installing afl++ from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi

# EDGEML_FUZZ_OUT: where the instrumented build and the findings go, so that two runs can share a machine.
out=${EDGEML_FUZZ_OUT:-$root/artifacts/fuzz}
tools=$out/tools
if [[ ! -x $tools/sharpfuzz ]]; then
  echo "fuzz: installing the SharpFuzz.CommandLine tool"
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# A fresh publish each time: instrumenting rewrites the assemblies in place, and an instrumented one cannot be
# instrumented again.
echo "fuzz: publishing fuzz/EdgeMl.Fuzz"
rm -rf "$out/bin"
dotnet publish fuzz/EdgeMl.Fuzz/EdgeMl.Fuzz.csproj -c Release -o "$out/bin" -p:UseAppHost=false > "$out.publish.log" 2>&1 \
  || { cat "$out.publish.log"; echo "fuzz: publish FAILED" >&2; exit 2; }
rm -f "$out.publish.log"
# Only the namespaces of the parsers and what they call: coverage elsewhere would only be noise in the map.
instrument() {
  local assembly=$1; shift
  DOTNET_ROLL_FORWARD=Major "$tools/sharpfuzz" "$out/bin/$assembly" "$@" >/dev/null \
    || { echo "fuzz: instrumenting $assembly FAILED" >&2; exit 2; }
}
instrument edgeml.dll EdgeMl.Agent.Protocol EdgeMl.Agent.Desired
instrument EdgeMl.Runtime.dll EdgeMl.Runtime.Packages EdgeMl.Runtime.Tensors
instrument EdgeMl.CloudSync.dll EdgeMl.CloudSync.IoTHub

# No UI (the output goes to a file or a pipe), no CPU pinning (the machine is shared), and no demand to change the
# system's core pattern or CPU governor: this runs as a developer's command, not on a dedicated box.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export DOTNET_TieredPGO=0 DOTNET_gcServer=0

stat() { awk -v k="$2" -F' *: *' '$1 == k { print $2 }' "$1"; }
status=0
summary=()
for harness in "${harnesses[@]}"; do
  findings=$out/findings/$harness
  rm -rf "$findings" "$findings.log"
  mkdir -p "$out/findings"
  echo "fuzz: $harness (afl-fuzz ${limit[*]}, timeout ${timeout_ms} ms)"
  afl-fuzz -i "fuzz/corpus/$harness" -o "$findings" "${limit[@]}" -t "$timeout_ms" -m none \
    -x "fuzz/dictionaries/${dictionary[$harness]}.dict" -- dotnet "$out/bin/EdgeMl.Fuzz.dll" "$harness" \
    > "$findings.log" 2>&1 || { tail -30 "$findings.log"; echo "fuzz: afl-fuzz failed for $harness" >&2; exit 2; }
  stats=$findings/default/fuzzer_stats
  execs=$(stat "$stats" execs_done)
  rate=$(stat "$stats" execs_per_sec)
  crashes=$(stat "$stats" saved_crashes)
  hangs=$(stat "$stats" saved_hangs)
  seconds=$(( $(stat "$stats" last_update) - $(stat "$stats" start_time) ))
  line=$(printf '%-13s execs %10s  exec/s %8s  seconds %5s  corpus %5s  crashes %s  hangs %s' "$harness" "$execs" "$rate" \
    "$seconds" "$(stat "$stats" corpus_count)" "$crashes" "$hangs")
  echo "$line"
  summary+=("$line")
  if [[ $crashes != 0 || $hangs != 0 ]]; then
    status=1
    echo "  findings: $findings/default/{crashes,hangs}; replay: dotnet run --project fuzz/EdgeMl.Fuzz -c Release -- $harness FILE"
  fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
