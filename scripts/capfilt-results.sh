#!/usr/bin/env bash
# Runs examples/blip-capfilt.yaml in standalone mode once per seed (the dataset's seed; every other setting as in the
# example) and prints a markdown row per seed: the filter's precision and recall at finding corrupted web captions,
# the kept shares, and zero-shot retrieval on the clean test split of the first pretrain and of the re-pretrain.
#   scripts/capfilt-results.sh 7 11 13
# Each run's log and final JSON are kept in ${CAPFILT_RESULTS:-/tmp/capfilt-results}/seed-N.{log,json}.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(7 11 13)
out="${CAPFILT_RESULTS:-/tmp/capfilt-results}"
mkdir -p "$out"
dotnet build src/Orchestrator.Silo -c Release -v quiet -nologo >/dev/null

echo "| seed | filter precision | filter recall | kept web | kept synthetic | pretrain i2t R@1 / R@5 | pretrain t2i R@1 / R@5 | re-pretrain i2t R@1 / R@5 | re-pretrain t2i R@1 / R@5 | minutes |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for seed in "${seeds[@]}"; do
  spec="$out/blip-capfilt-seed-$seed.yaml"
  # Only the dataset stage's seed changes: the line of the stage with id "data".
  awk -v seed="$seed" '/kind: dataset.synthetic/ { data = 1 } data && /seed:/ { sub(/seed: *[0-9]+/, "seed: " seed); data = 0 } { print }' \
    examples/blip-capfilt.yaml > "$spec"
  started=$(date +%s)
  dotnet run --project src/Orchestrator.Silo -c Release --no-build -- --standalone \
    --Artifacts:DataDirectory="$out/artifacts-$seed" --run "$spec" > "$out/seed-$seed.log" 2>&1 || {
      echo "seed $seed failed; see $out/seed-$seed.log" >&2; continue; }
  minutes=$(( ($(date +%s) - started + 30) / 60 ))
  # The final JSON is the last output: from the last line that opens a JSON object to the end.
  awk '/^\{/ { buffer = "" } { buffer = buffer $0 "\n" } END { printf "%s", buffer }' "$out/seed-$seed.log" > "$out/seed-$seed.json"
  python3 - "$out/seed-$seed.json" "$seed" "$minutes" <<'PY'
import json, sys
view = json.load(open(sys.argv[1]))
metrics = {stage["id"]: (stage.get("metrics") or {}) for stage in view["stages"]}
def m(stage, key):
    value = metrics.get(stage, {}).get(key)
    return "–" if value is None else f"{value:.3f}"
c, p, r = "capfilt", "pretrain", "repretrain"
print(f"| {sys.argv[2]} | {m(c, 'filter_precision')} | {m(c, 'filter_recall')} | {m(c, 'kept_web_share')} | {m(c, 'kept_synthetic_share')} "
      f"| {m(p, 'eval_i2t_r1')} / {m(p, 'eval_i2t_r5')} | {m(p, 'eval_t2i_r1')} / {m(p, 'eval_t2i_r5')} "
      f"| {m(r, 'eval_i2t_r1')} / {m(r, 'eval_i2t_r5')} | {m(r, 'eval_t2i_r1')} / {m(r, 'eval_t2i_r5')} | {sys.argv[3]} |")
PY
done
