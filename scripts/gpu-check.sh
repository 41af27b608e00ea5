#!/usr/bin/env bash
# The GPU check, on a Linux machine with an NVIDIA GPU and pip-installed PyTorch (CUDA build); no .NET SDK needed.
# Usage: gpu-check.sh [RESULT_JSON]     (default gpu-check-results/gpu-check.json)
#   PYTHON=python3.12 picks the interpreter; GPU_CHECK_APP=path/to/GpuCheck picks the published program (by default
#   the app/ folder beside this script, else .gpu-check/app under the repository root).
# Steps: PyTorch's versions and library folders (python), the GPU (nvidia-smi), ldd -r of TorchSharp's native library
# against torch's libraries, then the published check (NCCL alone, then TorchSharp on CUDA if the ldd check is clean).
# Every step has a timeout; the whole run stays under about 5 minutes. The JSON is written and printed.
# Exit codes are the check's: 0 every step that ran passed, 1 a step failed, 2 NCCL not present, 3 usage,
# 4 a step hung (the check stopped there), 5 the check crashed or timed out as a whole (see "run" in the JSON).
set -uo pipefail

result=${1:-gpu-check-results/gpu-check.json}
results_dir=$(dirname "$result")
mkdir -p "$results_dir"
here=$(cd "$(dirname "$0")" && pwd)
app=${GPU_CHECK_APP:-}
if [[ -z "$app" ]]; then
  if [[ -x "$here/app/GpuCheck" ]]; then app="$here/app/GpuCheck"; else app="$here/../.gpu-check/app/GpuCheck"; fi
fi
python=${PYTHON:-python3}
bounded() { timeout --kill-after=10 "$@"; }

echo "[gpu-check] python: torch, CUDA, NCCL and their library folders" >&2
bounded 120 "$python" - "$results_dir/python.json" <<'PY' >&2
import glob, json, os, sys
out = {}
try:
    import torch
    out["torch"] = torch.__version__
    out["cuda"] = torch.version.cuda
    out["torchLib"] = os.path.join(os.path.dirname(torch.__file__), "lib")
    out["cudaAvailable"] = torch.cuda.is_available()
    try:
        out["ncclTorch"] = ".".join(str(part) for part in torch.cuda.nccl.version())
    except Exception as error:
        out["ncclTorchError"] = repr(error)
    if torch.cuda.is_available():
        out["gpu"] = torch.cuda.get_device_name(0)
except Exception as error:
    out["torchError"] = repr(error)
roots = []
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception as error:
    out["nvidiaPackagesError"] = repr(error)
def first(pattern):
    for root in roots:
        found = sorted(glob.glob(os.path.join(root, "**", pattern), recursive=True))
        if found:
            return found[0]
    return None
out["ncclLibrary"] = first("libnccl.so.2")
out["cudartLibrary"] = first("libcudart.so.13") or first("libcudart.so.12")
if out["ncclLibrary"]:
    header = os.path.join(os.path.dirname(os.path.dirname(out["ncclLibrary"])), "include", "nccl.h")
    out["ncclHeader"] = header if os.path.exists(header) else None
json.dump(out, open(sys.argv[1], "w"), indent=2)
print(json.dumps(out, indent=2))
PY
field() { "$python" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' "$results_dir/python.json" "$1" 2>/dev/null; }
torch_lib=$(field torchLib)
nccl_library=$(field ncclLibrary)
cudart_library=$(field cudartLibrary)
nccl_header=$(field ncclHeader)

echo "[gpu-check] nvidia-smi" >&2
bounded 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$results_dir/nvidia-smi.txt" 2>&1 || true
cat "$results_dir/nvidia-smi.txt" >&2

ldd_args=()
app_dir=$(dirname "$app")
if [[ -n "$torch_lib" && -f "$app_dir/libLibTorchSharp.so" ]]; then
  echo "[gpu-check] ldd -r libLibTorchSharp.so against $torch_lib" >&2
  LD_LIBRARY_PATH="$torch_lib:${nccl_library:+$(dirname "$nccl_library")}" bounded 60 ldd -r "$app_dir/libLibTorchSharp.so" \
    > "$results_dir/ldd.txt" 2>&1
  grep 'undefined symbol' "$results_dir/ldd.txt" > "$results_dir/missing.txt" || true
  missing=$(wc -l < "$results_dir/missing.txt")
  echo "[gpu-check] undefined symbols: $missing" >&2
  ldd_args=(--ldd-undefined "$missing")
fi

check_args=(--output "$result")
[[ -n "$torch_lib" ]] && check_args+=(--torch-lib "$torch_lib")
[[ -n "$nccl_header" ]] && check_args+=(--nccl-header "$nccl_header")
echo "[gpu-check] $app ${check_args[*]} ${ldd_args[*]}" >&2
rm -f "$result"
NCCL_LIBRARY=${NCCL_LIBRARY:-$nccl_library} CUDART_LIBRARY=${CUDART_LIBRARY:-$cudart_library} \
  LD_LIBRARY_PATH="${torch_lib:+$torch_lib:}${nccl_library:+$(dirname "$nccl_library"):}${LD_LIBRARY_PATH:-}" \
  bounded 270 "$app" "${check_args[@]}" "${ldd_args[@]}" > "$results_dir/check-stdout.txt" 2> "$results_dir/check-stderr.txt"
rc=$?
cat "$results_dir/check-stderr.txt" >&2

# Merge what the shell found into the check's JSON (or write one if the check died before writing any).
"$python" - "$result" "$results_dir" "$rc" <<'PY'
import json, os, sys
result, folder, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(name):
    path = os.path.join(folder, name)
    return open(path).read() if os.path.exists(path) else None
try:
    report = json.load(open(result))
except Exception as error:
    report = {"tool": "GpuCheck", "steps": [], "reportError": f"the check wrote no readable report: {error!r}"}
python = read("python.json")
report["machine"] = {"python": json.loads(python) if python else None, "nvidiaSmi": (read("nvidia-smi.txt") or "").strip()}
missing = read("missing.txt")
report["ldd"] = None if missing is None else {"undefinedSymbols": len(missing.splitlines()), "first": missing.splitlines()[:20]}
crashed = rc not in (0, 1, 2, 3, 4)
report["run"] = {"exitCode": rc, "crashedOrTimedOut": crashed, "stderrTail": (read("check-stderr.txt") or "")[-4000:]}
json.dump(report, open(result, "w"), indent=2)
print(json.dumps(report, indent=2))
sys.exit(5 if crashed else rc)
PY
