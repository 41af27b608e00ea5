#!/usr/bin/env bash
# Publishes the GPU check (tools/GpuCheck) for linux-x64, self-contained, as one compressed file plus TorchSharp's
# native libLibTorchSharp.so (no libtorch: the GPU machine's PyTorch supplies it), into .gpu-check/ (git-ignored),
# with scripts/gpu-check.sh beside it. Copy that folder to a Linux GPU machine with PyTorch and run
# .gpu-check/gpu-check.sh there. docs/decisions/nccl-backend.md, "The GPU check".
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-check
rm -rf "$out"
dotnet publish tools/GpuCheck/GpuCheck.csproj -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:InvariantGlobalization=true \
  -p:DebugType=none -o "$out/app"
rm -f "$out/app/GpuCheck.xml"
cp scripts/gpu-check.sh "$out/gpu-check.sh"
chmod +x "$out/gpu-check.sh" "$out/app/GpuCheck"
# Two libtorch copies in one process would be fatal on the GPU machine: refuse to ship one.
if ls "$out/app" | grep -E '^lib(torch|c10)' >/dev/null; then
  echo "publish-gpu-check: $out/app contains a libtorch library; the check must reference TorchSharp alone, not TorchSharp-cpu" >&2
  exit 1
fi
ls -l "$out/app"
du -sh "$out"
