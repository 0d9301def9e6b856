#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh machine, then runs the whole suite on the default (cpu) ONNX
# Runtime flavour, the runtime and agent tests again on the gpu flavour (Microsoft.ML.OnnxRuntime.Gpu: its CUDA and
# TensorRT providers are in the build, and on a machine without CUDA 13 the tests assert the missing libraries are
# named), the tests that run the edgeml executable again on the x64 images' Native AOT builds, and publishes the agent
# for linux-arm64 with the system flavour, as the Jetson image does.
# Usage: scripts/test.sh [--quick] [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Runtime]
#   --quick  only the in-process unit tests on the cpu flavour: no test that starts a server or a process (those carry
#            the trait Category=Server, see tests/EdgeMl.Testing/TestCategory.cs), no gpu run, no publish.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [[ ${1:-} == --quick ]]; then
  shift
  "$root/scripts/setup.sh" models
  exec dotnet test EdgeMl.sln -c Release --filter "Category!=Server" "$@"
fi

"$root/scripts/setup.sh"

results=$root/artifacts/test-results
rm -rf "$results"
log=$(mktemp)
status=0
run() {
  echo "== $*"
  "$@" 2>&1 | tee -a "$log" || status=$?
}

# The x64 images' Native AOT builds, each published by its Dockerfile's own publish instruction. The entry-command
# tests run them (EDGEML_IMAGE_BUILDS), and the process tests run again on them below.
images=$root/artifacts/publish/images
for dockerfile in Dockerfile.amd64 Dockerfile.amd64.gpu; do
  echo "== scripts/publish-image.sh modules/edgeml/$dockerfile"
  if ! "$root/scripts/publish-image.sh" "modules/edgeml/$dockerfile" "$images/$dockerfile" > "$log.publish" 2>&1; then
    cat "$log.publish"
    echo "$dockerfile: publish FAILED" >&2
    status=1
  fi
done
rm -f "$log.publish"
export EDGEML_IMAGE_BUILDS=$images

run dotnet test EdgeMl.sln -c Release --results-directory "$results/cpu" --logger "trx" --logger "console;verbosity=normal" "$@"
# The diagnostics page as Chromium drew it, kept with the results.
cp -r tests/EdgeMl.Agent.Tests/bin/Release/net10.0/screenshots "$results/screenshots" 2>/dev/null || true
# Each flavour builds into its own bin/ and obj/ (Directory.Build.props), so this does not disturb the cpu build.
for project in tests/EdgeMl.Runtime.Tests tests/EdgeMl.Agent.Tests; do
  run dotnet test "$project" -c Release -p:OnnxRuntimeFlavor=gpu --results-directory "$results/gpu" --logger "trx" \
    --logger "console;verbosity=normal" "$@"
done

# The tests that run edgeml as its users do, again on each x64 image's executable: what the module runs, not the build
# the tests were compiled beside.
for flavour in cpu gpu; do
  dockerfile=Dockerfile.amd64; [[ $flavour == gpu ]] && dockerfile=Dockerfile.amd64.gpu
  EDGEML_TEST_EXECUTABLE=$images/$dockerfile/edgeml run dotnet test tests/EdgeMl.Agent.Tests -c Release -p:OnnxRuntimeFlavor=$flavour \
    --filter "Category=Published" --results-directory "$results/native-$flavour" --logger "trx" --logger "console;verbosity=normal" "$@"
done

# Jetson, as its image publishes it: self-contained with one composite ReadyToRun image for arm64, and managed ONNX
# Runtime only; the device image supplies libonnxruntime.so, so none may be in the output.
publish=$root/artifacts/publish/linux-arm64-system
rm -rf "$publish"
echo "== dotnet publish agent -r linux-arm64 --self-contained true -p:PublishReadyToRunComposite=true -p:OnnxRuntimeFlavor=system"
if dotnet publish agent/EdgeMl.Agent.csproj -c Release -r linux-arm64 --self-contained true -p:PublishReadyToRunComposite=true \
    -p:OnnxRuntimeFlavor=system -o "$publish" > "$log.publish" 2>&1 && [[ -x $publish/edgeml && -f $publish/edgeml.r2r.dll ]] \
    && ! ls "$publish" | grep -q '^libonnxruntime'; then
  echo "linux-arm64 system flavour: published to $publish"
else
  cat "$log.publish"
  echo "linux-arm64 system flavour: publish FAILED" >&2
  status=1
fi
rm -f "$log.publish"

# Each failed test again with its message, so that the end of the output names it however long the runs were.
awk '/^== / { pass = $0 } /^ +Failed [^!]/ { print pass; shown = 12 } /^ +Stack Trace:/ { shown = 0 } shown > 0 { print; shown-- }' "$log"
# One closing line over all test runs, in the form CI reads.
awk '/^ +Passed: [0-9]+$/ { p += $2 } /^ +Failed: [0-9]+$/ { f += $2 } /^ +Skipped: [0-9]+$/ { s += $2 }
     END { printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit $status
