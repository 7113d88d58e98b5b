#!/usr/bin/env bash
# Predictive uncertainty of every dropout type (issue #8): for the MLP 784-500-300-10 trained with each type, runs
# bayesdrop-uncertainty (deterministic and Monte Carlo prediction, K = 20) and writes
#   results/uncertainty.md, results/uncertainty.json    one table: accuracy, NLL, ECE and OOD AUROC per type, and
#                                                       whether MC beats the plain MLP ('none', same run)
#   results/uncertainty/<dropout>.json, .log            each type's full report (reliability bins, rotation curves)
#   results/figures/uncertainty/*.png, .svg             per type the reliability diagram and the rotated-digit
#                                                       curves, and the comparison of all types (scripts/plot.py)
#
#   scripts/reproduce-uncertainty.sh [--epochs N] [--mc K] [--seed S] [--threads T] [--only "none bbd"]
#                                    [--build DIR] [--out DIR] [--dry-run]
#
# Types: every family the trainer lists (bayesdrop-mnist --list-dropouts), in its order, or those of --only.
# --dry-run prints each type with the model it would use (or train) and runs nothing.
# Models: results/models/<dropout>.model when it exists (written by scripts/reproduce-table.sh, 60 epochs); otherwise
# the type is trained here with bayesdrop-mnist --seed S --epochs N (default 60, the recipe's) and saved to
# results/uncertainty/models/, so that a quick run (--epochs 2) never replaces reproduce-table's models; a family
# that starts from another's model (dbb from bbd: the listing's starts_from) is trained from that family's model.
# Each row says which model it used and for how many epochs it was trained. Resumable: a model trained here by an
# earlier invocation is evaluated, not trained again, and an interrupted training continues from its checkpoint.
# Needs the release build, MNIST in $BAYESDROP_MNIST_DIR (default data/mnist), Fashion-MNIST in
# $BAYESDROP_FASHION_DIR (default /usr/share/datasets/fashion-mnist: apt-get install dataset-fashion-mnist) and
# python3. Evaluation takes about 15 s per type on 2 cores; training, when needed, about 3 minutes per type. Prints
# which type of how many is going and an estimate of the time left.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/reproduce-lib.sh"
source "$repo/scripts/families.sh"
epochs=60 mc=20 seed=1 threads=2 only="" dry_run=0
build="$repo/build/release" out="$repo/results"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --mc) mc="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "reproduce-uncertainty: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

trainer="$build/examples/bayesdrop-mnist"
tool="$build/examples/bayesdrop-uncertainty"
data="${BAYESDROP_MNIST_DIR:-$repo/data/mnist}"
fashion="${BAYESDROP_FASHION_DIR:-/usr/share/datasets/fashion-mnist}"
for exe in "$trainer" "$tool"; do
  if [[ ! -x "$exe" ]]; then
    echo "reproduce-uncertainty: $exe not found; build first: cmake --preset release && cmake --build --preset release" >&2
    exit 2
  fi
done
command -v python3 >/dev/null || { echo "reproduce-uncertainty: python3 is needed for the table" >&2; exit 2; }
if [[ -z "$only" ]]; then
  only="$(family_names "$trainer" | tr '\n' ' ')"
else
  check_families "$trainer" reproduce-uncertainty $only
fi

# The model a type is evaluated on: reproduce-table's when it exists, else the one trained here.
model_of() {
  if [[ -f "$out/models/$1.model" ]]; then echo "$out/models/$1.model"; else echo "$work/models/$1.model"; fi
}
work="$out/uncertainty"
if [[ "$dry_run" == 1 ]]; then
  for dropout in $only; do
    model="$(model_of "$dropout")" start="$(family_start "$trainer" "$dropout")"
    if [[ -f "$model" ]]; then echo "$dropout: evaluate $model"
    elif [[ -n "$start" ]]; then echo "$dropout: train $epochs epochs from $(model_of "$start"), then evaluate $model"
    else echo "$dropout: train $epochs epochs, then evaluate $model"; fi
  done
  exit 0
fi
if [[ ! -d "$fashion" ]]; then
  echo "reproduce-uncertainty: Fashion-MNIST not found in $fashion; apt-get install dataset-fashion-mnist, or set" \
       "BAYESDROP_FASHION_DIR to a folder with its four IDX files" >&2
  exit 2
fi

mkdir -p "$work/models"
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
start_all=$(date +%s)

: >"$work/sources.tsv"  # dropout, model file, where it came from, seconds of training, seconds of evaluation
progress_init "$(wc -w <<<"$only")"
for dropout in $only; do
  progress_next "reproduce-uncertainty: $dropout"
  model="$out/models/$dropout.model" source="reproduce-table" train_s=0
  if [[ ! -f "$model" && -f "$work/models/$dropout.model" ]]; then
    model="$work/models/$dropout.model" source="trained here"  # by an earlier invocation: not trained again
    train_s="$(cat "$work/models/$dropout.seconds" 2>/dev/null || echo 0)"
  elif [[ ! -f "$model" ]]; then
    model="$work/models/$dropout.model" source="trained here"
    init=()
    start="$(family_start "$trainer" "$dropout")"
    if [[ -n "$start" ]]; then
      init=(--init-from "$(model_of "$start")")
      [[ -f "${init[1]}" ]] || {
        echo "reproduce-uncertainty: $dropout starts from a $start model and there is none (${init[1]}): run $start" \
          "first (--only \"$start $dropout\")" >&2
        exit 2
      }
    fi
    echo "reproduce-uncertainty: $dropout: no $out/models/$dropout.model; training $epochs epochs, seed" \
      "$seed${start:+, from ${init[1]}}"
    t=$(date +%s)
    # Checkpointed: an interrupted training continues where it stopped when the script is started again.
    ckpt="$work/models/$dropout.ckpt" resume=()
    [[ -f "$ckpt" ]] && resume=(--resume "$ckpt")
    "$trainer" --data "$data" --model mlp --dropout "$dropout" --epochs "$epochs" --seed "$seed" \
      --threads "$threads" "${init[@]}" --checkpoint "$ckpt" "${resume[@]}" --save "$model" \
      >>"$work/$dropout.train.log"
    train_s=$(( $(date +%s) - t ))
    echo "$train_s" >"$work/models/$dropout.seconds"
    rm -f "$ckpt"
  fi
  echo "reproduce-uncertainty: $dropout: evaluating $model, MC K = $mc"
  t=$(date +%s)
  "$tool" --load "$model" --data "$data" --ood-data "$fashion" --mc "$mc" --seed "$seed" --threads "$threads" \
    --report "$work/$dropout.json" >"$work/$dropout.log"
  printf '%s\t%s\t%s\t%s\t%s\n' "$dropout" "$model" "$source" "$train_s" "$(( $(date +%s) - t ))" >>"$work/sources.tsv"
  progress_done "reproduce-uncertainty: $dropout"
done
total_s=$(( $(date +%s) - start_all ))

python3 - "$work" "$out/uncertainty.md" "$out/uncertainty.json" "$machine" "$total_s" "$mc" <<'PY'
"""One row per dropout type from the bayesdrop-uncertainty reports, and MC compared with the plain MLP."""
import json, os, sys

work, md_path, json_path, machine, total_s, mc = sys.argv[1:7]
rows = []
for line in open(os.path.join(work, "sources.tsv")):
    dropout, model, source, train_s, eval_s = line.rstrip("\n").split("\t")
    r = json.load(open(os.path.join(work, dropout + ".json")))
    u = r["uncertainty"]
    rows.append({"dropout": dropout, "model_file": model, "model_source": source,
                 "epochs": r["model_metadata"].get("epochs"), "train_seconds": int(train_s),
                 "eval_seconds": int(eval_s), "deterministic": u["deterministic"], "mc": u["mc"],
                 "commit": r.get("provenance", {}).get("commit")})  # None: a report from before provenance

# The plain MLP has no noise: its MC passes equal its deterministic pass, and its mutual information is 0 (AUROC
# null). Its OOD score is therefore its entropy AUROC, which both MC AUROCs of a Bayesian type are compared with.
base = next((x for x in rows if x["dropout"] == "none"), None)
for x in rows:
    if base is None or x is base:
        x["mc_beats_none"] = None
        continue
    b, m = base["deterministic"], x["mc"]
    better = lambda v, ref, lower=False: None if v is None or ref is None else (v < ref if lower else v > ref)
    x["mc_beats_none"] = {"ece": better(m["ece"], b["ece"], lower=True),
                          "auroc_entropy": better(m["auroc_entropy"], b["auroc_entropy"]),
                          "auroc_mutual_information": better(m["auroc_mutual_information"], b["auroc_entropy"])}

f4 = lambda v: "-" if v is None else f"{v:.4f}"
pair = lambda x, k, scale=1.0, fmt="{:.4f}": " / ".join(
    "-" if x[p][k] is None else fmt.format(scale * x[p][k]) for p in ("deterministic", "mc"))
yes = lambda v: "n/a" if v is None else ("yes" if v else "no")
lines = [f"| dropout | epochs | accuracy % (det / MC) | NLL (det / MC) | ECE (det / MC) | OOD AUROC entropy (det / MC) "
         f"| OOD AUROC MI (det / MC) | MC beats none: ECE, AUROC H, AUROC MI |",
         "|---|---|---|---|---|---|---|---|"]
for x in rows:
    beats = x["mc_beats_none"]
    cmp = "(baseline)" if x is base else ("n/a" if beats is None else ", ".join(
        yes(beats[k]) for k in ("ece", "auroc_entropy", "auroc_mutual_information")))
    lines.append(f"| {x['dropout']} | {x['epochs']} | {pair(x, 'accuracy', 100, '{:.2f}')} | {pair(x, 'nll')} "
                 f"| {pair(x, 'ece')} | {pair(x, 'auroc_entropy')} | {pair(x, 'auroc_mutual_information')} | {cmp} |")
sources = sorted({x["model_source"] for x in rows})
lines += ["",
          f"MLP 784-500-300-10 on the MNIST test set (10000 images); MC = mean softmax of K = {mc} stochastic passes, "
          f"det = one evaluation pass. ECE over 15 bins. OOD AUROC: MNIST test (negatives) vs Fashion-MNIST test "
          f"(positives), scored by predictive entropy or by mutual information (MI); '-': MI is 0 for every image "
          f"(always for det, and for MC of 'none', which has no noise), so its AUROC would be 0.5 by construction. "
          f"'MC beats none': the type's MC ECE is lower than the plain MLP's, and its MC AUROCs (entropy, MI) are "
          f"higher than the plain MLP's entropy AUROC, its only informative OOD score; measured in this run.",
          "",
          f"Models: {', '.join(sources)} (reproduce-table = results/models/, 60 epochs unless the epochs column "
          f"says otherwise). Total duration {int(total_s)} s ({int(total_s) / 60:.1f} min), including any training; "
          f"{machine}. Written by scripts/reproduce-uncertainty.sh."]
open(md_path, "w").write("\n".join(lines) + "\n")
json.dump({"machine": machine, "mc_samples": int(mc), "total_seconds": int(total_s), "rows": rows},
          open(json_path, "w"), indent=2)
PY
cat "$out/uncertainty.md"
reports=()
for dropout in $only; do reports+=("$work/$dropout.json"); done
draw_figures "${reports[@]}" "$out/uncertainty.json" --out "$out/figures/uncertainty"
