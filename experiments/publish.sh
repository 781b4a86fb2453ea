#!/usr/bin/env bash
# Builds Hybrid as one self-contained linux-x64 executable (no .NET SDK or runtime needed where it runs) into
# experiments/bin/linux-x64, for the scripts that run on machines without the SDK (speedup/run-16.sh, gpu/check.sh).
# About 59 MB: the .NET runtime, ILGPU, Orleans and ScottPlot's Skia natives.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
out=experiments/bin/linux-x64
rm -rf "$out"
dotnet publish src/Hybrid.Cli/Hybrid.Cli.csproj -c Release -r linux-x64 --self-contained --nologo -v quiet \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:InvariantGlobalization=true \
  -p:DebugType=none -p:GenerateDocumentationFile=false -o "$out"
echo "publish: $(du -sh "$out" | cut -f1) in $out"
