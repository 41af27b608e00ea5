#!/usr/bin/env bash
# Runs examples/blip-capfilt.yaml in standalone mode once per seed (the dataset's seed; every other setting as in the
# example) and prints a markdown row per seed: the threshold applied and the share of clean calibration pairs it
# rejects (where the capfilt stage has input calibration), the filter's precision and recall at finding corrupted web captions,
# the kept shares, and zero-shot retrieval on the clean test split of the first pretrain and of the re-pretrain.
#   scripts/capfilt-results.sh 1 2 3
# Each run's log and final JSON are kept in ${CAPFILT_RESULTS:-/tmp/capfilt-results}/seed-N.{log,json}. With
# CAPFILT_PARALLEL=1 the seeds run at once, each silo on its own ports with its share of the cores for libtorch's
# threads (two seeds at one thread each trained 2.7 times as fast as one seed with libtorch's default of two threads:
# docs/decisions.md), otherwise one after another. CAPFILT_SPEC=FILE
# runs another experiment spec of the same shape (stage ids data, pretrain, capfilt, repretrain) instead of the example.
# A second table gives precision and recall at other thresholds, from the capfilt stage's filter-curve.json. Where the
# spec trains each pretrain again at other training seeds (stages pretrain_seedK and repretrain_seedK, as
# examples/blip-capfilt-long.yaml does), a third table gives recall@1 at every training seed, its mean over them, and
# whether the re-pretrain's mean is higher in both directions: claim (b) as docs/results.md (round 14) fixes it.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
out="${CAPFILT_RESULTS:-/tmp/capfilt-results}"
source_spec="${CAPFILT_SPEC:-examples/blip-capfilt.yaml}"
[ -f "$source_spec" ] || { echo "capfilt-results: CAPFILT_SPEC '$source_spec' does not exist; give the path of an experiment spec" >&2; exit 2; }
mkdir -p "$out"
dotnet build src/Orchestrator.Standalone -c Release -v quiet -nologo >/dev/null

run_seed() {
  local seed=$1 index=$2
  local spec="$out/blip-capfilt-seed-$seed.yaml"
  # Only the dataset stage's seed changes: the seed on the line after "kind: dataset.synthetic".
  awk -v seed="$seed" '/kind: dataset.synthetic/ { data = 1 } data && /seed:/ { sub(/seed: *[0-9]+/, "seed: " seed); data = 0 } { print }' \
    "$source_spec" > "$spec"
  local started=$(date +%s)
  # Runs at once share the cores: each libtorch pool gets its part, so no run's threads spin waiting for the cores.
  local threads=0
  [ "${CAPFILT_PARALLEL:-0}" = 1 ] && threads=$(( $(nproc) / ${#seeds[@]} > 0 ? $(nproc) / ${#seeds[@]} : 1 ))
  nice dotnet run --project src/Orchestrator.Standalone -c Release --no-build -- \
    --urls "http://127.0.0.1:$((5180 + index))" --Orchestrator:SiloPort=$((11200 + index)) --Orchestrator:GatewayPort=$((30200 + index)) \
    --Worker:TorchThreads=$threads --Artifacts:DataDirectory="$out/artifacts-$seed" --run "$spec" > "$out/seed-$seed.log" 2>&1 || true
  echo $(( ($(date +%s) - started + 30) / 60 )) > "$out/seed-$seed.minutes"
}

row() {
  local seed=$1
  # The final JSON is the experiment's view on one line (log lines of the host's shutdown may follow it).
  grep '^{"id":"exp-' "$out/seed-$seed.log" | tail -n 1 > "$out/seed-$seed.json" || true
  python3 - "$out/seed-$seed.json" "$seed" "$(cat "$out/seed-$seed.minutes")" <<'PY'
import json, sys
try:
    view = json.load(open(sys.argv[1]))
except ValueError:
    print(f"| {sys.argv[2]} | run failed: no final JSON in its log |")
    sys.exit(0)
stages = {stage["id"]: stage for stage in view["stages"]}
def m(stage, key):
    value = (stages.get(stage, {}).get("metrics") or {}).get(key)
    return "–" if value is None else f"{value:.3f}"
def steps(stage):
    checkpoint = stages.get(stage, {}).get("lastCheckpoint") or {}
    return checkpoint.get("step", "–")
c, p, r = "capfilt", "pretrain", "repretrain"
kinds = ", ".join(f"{key[len('filter_recall_'):]} {m(c, key)}" for key in sorted(stages.get(c, {}).get("metrics") or {})
                  if key.startswith("filter_recall_"))
print(f"| {sys.argv[2]} | {m(c, 'threshold')} | {m(c, 'calibration_rejected_share')} | {m(c, 'filter_precision')} | {m(c, 'filter_recall')} | {m(c, 'filter_break_even')} at {m(c, 'filter_break_even_score')} "
      f"| {m(c, 'filter_average_precision')} | {kinds or '–'} | {m(c, 'kept_web_share')} | {m(c, 'kept_synthetic_share')} "
      f"| {m(p, 'eval_i2t_r1')} / {m(p, 'eval_i2t_r5')} | {m(p, 'eval_t2i_r1')} / {m(p, 'eval_t2i_r5')} "
      f"| {m(r, 'eval_i2t_r1')} / {m(r, 'eval_i2t_r5')} | {m(r, 'eval_t2i_r1')} / {m(r, 'eval_t2i_r5')} "
      f"| {m(p, 'eval_r_mean')} / {m(r, 'eval_r_mean')} | {steps(p)} / {steps(r)} | {sys.argv[3]} |")
PY
}

index=0
for seed in "${seeds[@]}"; do
  if [ "${CAPFILT_PARALLEL:-0}" = 1 ]; then run_seed "$seed" "$index" & else run_seed "$seed" "$index"; fi
  index=$((index + 1))
done
wait

echo "| seed | threshold | clean test pairs rejected | filter precision | filter recall | filter break-even (P = R), at score | filter average precision | recall by kind | kept web | kept synthetic | pretrain i2t R@1 / R@5 | pretrain t2i R@1 / R@5 | re-pretrain i2t R@1 / R@5 | re-pretrain t2i R@1 / R@5 | mean recall | steps | minutes |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for seed in "${seeds[@]}"; do row "$seed"; done

# What other thresholds would have done, from each run's filter-curve.json (beside capfilt's scores).
echo
echo "| seed | P / R at 0.3 | at 0.4 | at 0.5 | at 0.6 | at 0.7 |"
echo "|---|---|---|---|---|---|"
for seed in "${seeds[@]}"; do
  python3 - "$out/artifacts-$seed" "$seed" <<'PY'
import glob, json, os, sys
curves = sorted(glob.glob(f"{sys.argv[1]}/artifacts/*/capfilt/*/scores/filter-curve.json"), key=os.path.getmtime)
if not curves:
    print(f"| {sys.argv[2]} | no filter-curve.json (the run failed, or its web dataset records no corruptions) |")
    sys.exit(0)
points = {round(point["threshold"], 2): point for point in json.load(open(curves[-1]))}
def cell(threshold):
    point = points.get(threshold)
    if point is None:
        return "–"
    precision = "–" if point["precision"] is None else f"{point['precision']:.3f}"
    recall = "–" if point["recall"] is None else f"{point['recall']:.3f}"
    return f"{precision} / {recall}"
print(f"| {sys.argv[2]} | " + " | ".join(cell(t) for t in (0.3, 0.4, 0.5, 0.6, 0.7)) + " |")
PY
done

echo
echo "| seed | training seeds | first pretrain i2t R@1 | re-pretrain i2t R@1 | first pretrain t2i R@1 | re-pretrain t2i R@1 | mean i2t R@1, first → re-pretrain | mean t2i R@1, first → re-pretrain | re-pretrain higher both ways |"
echo "|---|---|---|---|---|---|---|---|---|"
for seed in "${seeds[@]}"; do
  python3 - "$out/seed-$seed.json" "$seed" <<'PY'
import json, re, sys
try:
    view = json.load(open(sys.argv[1]))
except ValueError:
    print(f"| {sys.argv[2]} | run failed: no final JSON in its log |")
    sys.exit(0)
metrics = {stage["id"]: stage.get("metrics") or {} for stage in view["stages"]}
# Training seed 0 is the stage without a suffix; seed K is the stage with _seedK, where the spec has both.
training_seeds = [0] + sorted(int(match.group(1)) for stage in metrics
                              if (match := re.fullmatch(r"pretrain_seed(\d+)", stage)) and f"repretrain_seed{match.group(1)}" in metrics)
def stage(prefix, training_seed):
    return prefix if training_seed == 0 else f"{prefix}_seed{training_seed}"
def recalls(prefix, key):
    return [metrics.get(stage(prefix, s), {}).get(key) for s in training_seeds]
def cell(values):
    return " / ".join("–" if v is None else f"{v:.3f}" for v in values)
means, cells = [], []
for key in ("eval_i2t_r1", "eval_t2i_r1"):
    first, again = recalls("pretrain", key), recalls("repretrain", key)
    cells += [cell(first), cell(again)]
    if None in first or None in again:
        means.append(None)
        continue
    means.append((sum(first) / len(first), sum(again) / len(again)))
arrows = ["–" if pair is None else f"{pair[0]:.4f} → {pair[1]:.4f}" for pair in means]
verdict = "–" if None in means else ("yes" if all(again > first for first, again in means) else "no")
print(f"| {sys.argv[2]} | {', '.join(map(str, training_seeds))} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} | {arrows[0]} | {arrows[1]} | {verdict} |")
PY
done
