#!/usr/bin/env bash
# Rewrites every project's NuGet lock files (packages.lock.json for the cpu flavour, packages.<flavour>.lock.json for
# gpu and system, packages.aot.lock.json and packages.gpu.aot.lock.json for the x64 images' Native AOT publish) after a
# package is added or its version changes in Directory.Packages.props. Commit the result:
# CI restores in locked mode and fails on a lock file that does not match.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
for flavour in cpu gpu system; do
  echo "== lock files: $flavour"
  dotnet restore EdgeMl.sln --force-evaluate -p:RestoreLockedMode=false -p:OnnxRuntimeFlavor="$flavour" -v quiet -nologo
done
for flavour in cpu gpu; do
  echo "== lock files: $flavour, Native AOT"
  dotnet restore agent/EdgeMl.Agent.csproj --force-evaluate -p:RestoreLockedMode=false -p:PublishAot=true -p:OnnxRuntimeFlavor="$flavour" -v quiet -nologo
done
