#!/usr/bin/env bash
# Runs the papers' 200-epoch MNIST rows from scratch, one seeded run each, and
# writes results/papers.md and results/papers.json (each run's report, log and pictures under results/papers/), and
# the figures of the runs and of the table in results/figures/papers/ (scripts/plot.py). Prints which run of how many
# is going and an estimate of the time left.
#
#   scripts/reproduce-papers.sh [--epochs N] [--seed S | --seeds 1,2,3] [--threads T]
#                               [--only "lenet300-sparsevd lenet5-sbp"] [--variant NAME]
#
# --seeds runs every row once per seed (reports results/papers/<row>.seed<S>.json, checkpoints <row>.seed<S>.ckpt)
# and the table shows each row as the mean and spread over its seeds, its targets checked on the mean
# (make-table.py). A row's single-seed report of seed 1 (<row>.json, written without --seeds) is the seed-1 run of
# the set: it is renamed <row>.seed1.json rather than run again.
#
# Rows: lenet300-sparsevd, lenet5-sparsevd, mlp-sbp, lenet5-sbp, mlp-bbd, each with its authors' training choices
# (the flags in `authors` below: sparse VD's train_clip, the pretrained start of SBP and BB, SBP's LeNet-5 Adam).
# --variant NAME runs the rows that have that variant (`variants` below: one authors' choice changed) and writes
# <row>~NAME.json beside the row's report; the table lists the variants under their rows. Durations on a 2-core
# machine at 1 thread: the MLP rows 15 to 30 minutes each, the LeNet-5 rows several hours each. Needs the release
# build, MNIST in $BAYESDROP_MNIST_DIR and python3.
#
# Interruptions: each run checkpoints after every epoch, its --pretrain epochs too (results/papers/<row>.ckpt);
# started again, the script skips the rows whose report exists and continues an interrupted row from its checkpoint
# (--resume), ending with the same model and report as an uninterrupted run. --fresh deletes a row's checkpoint and
# report first and starts it over.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/reproduce-lib.sh"
source "$repo/scripts/families.sh"
epochs=200 seed=1 seeds="" threads=2 fresh=0 variant="" build="$repo/build/release" out="$repo/results"
all_rows="lenet300-sparsevd lenet5-sparsevd mlp-sbp lenet5-sbp mlp-bbd"
only="$all_rows"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --variant) variant="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "reproduce-papers: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
trainer="$build/examples/bayesdrop-mnist"
data="${BAYESDROP_MNIST_DIR:-$repo/data/mnist}"
[[ -x "$trainer" ]] || { echo "reproduce-papers: build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
# The rows (<model>-<family>) are a deliberate choice; each family must be one the trainer lists.
check_families "$trainer" reproduce-papers $(for row in $all_rows; do echo "${row#*-}"; done)

mkdir -p "$out/papers"

# The authors' choices of each row (README "The papers' rows" cites the script of each).
declare -A authors=(
  [lenet300-sparsevd]="--train-clip"
  [lenet5-sparsevd]="--train-clip"
  [mlp-sbp]="--pretrain 200"
  [lenet5-sbp]="--sbp-adam --batch 128 --pretrain 200"
  [mlp-bbd]="--pretrain 200"
)
# Variants: the row's flags with one choice changed, tried where a row misses its target.
declare -A variants=(
  [lenet300-sparsevd~no-clip]=""
  # The sparse VD authors' MNIST reader subtracts the training set's mean image from every image; their loss is a sum
  # over the data set (N times our mean), which Adam cancels except through its epsilon (1e-8 / 60000 mimics it).
  [lenet300-sparsevd~center]="--train-clip --center-inputs"
  [lenet300-sparsevd~loss-scale]="--train-clip --adam-eps 1.7e-13"
  [lenet300-sparsevd~authors-data]="--train-clip --center-inputs --adam-eps 1.7e-13"
  [lenet5-sparsevd~center]="--train-clip --center-inputs"
  [lenet5-sparsevd~no-clip]=""
  [lenet5-sparsevd~pretrain]="--train-clip --pretrain 200"
  [mlp-sbp~no-pretrain]=""
  [mlp-bbd~no-pretrain]=""
  [lenet5-sbp~no-pretrain]="--sbp-adam --batch 128"
  # The authors' LeNet-5 script gates only the two convolutions; a KL weight of 0 leaves the dense gates free of the
  # prior, so they keep every input (they can only rescale them) and the KL acts on the conv channels alone.
  [lenet5-sbp~conv-gates]="--sbp-adam --batch 128 --pretrain 200 --kl-scales 1,1,0,0"
  # SBP's LeNet-5 scripts (lenet5.py, lenet5-sbp.py) also pretrain with their SBP Adam (beta1 0.95, linear decay
  # from epoch 100, no L2) and read MNIST minus its mean image.
  [lenet5-sbp~pretrain-adam]="--sbp-adam --batch 128 --pretrain 200 --pretrain-sbp-adam"
  [lenet5-sbp~center]="--sbp-adam --batch 128 --pretrain 200 --center-inputs"
  # Their network: convolutions padded to SAME (2450 dense inputs), and each conv's bias added after its gate.
  [lenet5-sbp~same]="--model lenet5-same --sbp-adam --batch 128 --pretrain 200"
  [lenet5-sbp~bias-after-gate]="--model lenet5-bias-after-gate --sbp-adam --batch 128 --pretrain 200"
  # Their loss sums over the data set (N times our mean); under Adam that is our loss with epsilon / N, as
  # LeNet-300-100's loss-scale variant (1e-8 / 60000).
  [lenet5-sbp~loss-scale]="--sbp-adam --batch 128 --pretrain 200 --adam-eps 1.7e-13"
  # Their dense layers start from a normal of std 0.01 truncated at two stds (their convolutions Glorot uniform, as
  # ours), and their batches are the training set's stored order every epoch: 468 of 128, then one of 96.
  [lenet5-sbp~dense-init]="--sbp-adam --batch 128 --pretrain 200 --dense-init-std 0.01"
  [lenet5-sbp~fixed-order]="--sbp-adam --batch 128 --pretrain 200 --fixed-order"
  # Every choice above at once, as their two scripts run (the loss scale in both phases: --adam-eps reaches
  # --pretrain-sbp-adam's pretraining too).
  [lenet5-sbp~authors]="--model lenet5-same-bias-after-gate --sbp-adam --batch 128 --pretrain 200 --pretrain-sbp-adam --center-inputs --kl-scales 1,1,0,0 --adam-eps 1.7e-13 --dense-init-std 0.01 --fixed-order"
)

if [[ -n "$seeds" && ! "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  echo "reproduce-papers: --seeds takes a comma-separated list of integers such as 1,2,3, got '$seeds'" >&2
  exit 2
fi
rows=()  # <row>:<seed>:<file name without .json>
for row in $only; do
  [[ -v "authors[$row]" ]] || { echo "reproduce-papers: unknown row '$row' (rows: ${!authors[*]})" >&2; exit 2; }
  if [[ -n "$variant" ]]; then
    [[ -v "variants[$row~$variant]" ]] || continue
    row="$row~$variant"
  fi
  if [[ -z "$seeds" ]]; then rows+=("$row:$seed:$row"); else
    for s in ${seeds//,/ }; do rows+=("$row:$s:$row.seed$s"); done
  fi
done
[[ ${#rows[@]} -gt 0 ]] || { echo "reproduce-papers: no row of '$only' has the variant '$variant'" >&2; exit 2; }
progress_init "${#rows[@]}"
for entry in "${rows[@]}"; do
  IFS=: read -r row seed name <<<"$entry"
  base="${row%%~*}"
  model="${base%%-*}" dropout="${base#*-}"
  if [[ "$row" == *~* ]]; then read -ra flags <<<"${variants[$row]}"; else read -ra flags <<<"${authors[$row]}"; fi
  # A variant may build the row's network another way (--model lenet5-same): its --model replaces the row's.
  model_flag=(--model "$model")
  [[ " ${flags[*]} " == *" --model "* ]] && model_flag=()
  report="$out/papers/$name.json" ckpt="$out/papers/$name.ckpt"
  # A single-seed report of seed 1 is this set's seed-1 run (same flags, same seed): kept, under its seed's name.
  if [[ "$name" == "$row.seed1" && ! -f "$report" && -f "$out/papers/$row.json" ]] &&
     python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("seed") != 1)' "$out/papers/$row.json"; then
    mv "$out/papers/$row.json" "$report"
    [[ -f "$out/papers/$row.log" ]] && mv "$out/papers/$row.log" "$out/papers/$name.log"
    [[ -d "$out/papers/$row" ]] && mv "$out/papers/$row" "$out/papers/$name"
  fi
  if [[ "$fresh" == 1 ]]; then rm -f "$report" "$ckpt"; fi
  if [[ -f "$report" ]]; then
    progress_next "reproduce-papers: $name has its report ($report); skipped (--fresh to redo it)"
    continue
  fi
  resume=()
  if [[ -f "$ckpt" ]]; then
    resume=(--resume "$ckpt")
    progress_next "reproduce-papers: $name continues from $ckpt"
  else
    progress_next "reproduce-papers: $row ($model, $dropout, ${flags[*]:-no extra flags}), $epochs epochs, seed $seed, $threads threads"
  fi
  "$trainer" --data "$data" "${model_flag[@]}" --dropout "$dropout" --epochs "$epochs" --seed "$seed" \
    --threads "$threads" "${flags[@]}" --checkpoint "$ckpt" "${resume[@]}" --report "$report.tmp" --pictures "$out/papers/$name" \
    >>"$out/papers/$name.log"
  mv "$report.tmp" "$report"  # the report appears only when the row is complete
  progress_done "reproduce-papers: $name (this session)" "$(grep '^test accuracy' "$out/papers/$name.log" | tail -1)"
done
python3 "$repo/scripts/make-table.py" --set papers --runs "$out/papers" --trainer "$trainer" \
  --machine "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores" --md "$out/papers.md" --json "$out/papers.json"
cat "$out/papers.md"
# The figures show every finished row (or every finished row of this variant), not only this invocation's.
runs=()
for base in $all_rows; do
  row="$base${variant:+~$variant}"
  if [[ -f "$out/papers/$row.json" ]]; then runs+=("$out/papers/$row.json")
  elif [[ -f "$out/papers/$row.seed1.json" ]]; then runs+=("$out/papers/$row.seed1.json"); fi
done
draw_figures "${runs[@]}" "$out/papers.json" --out "$out/figures/papers${variant:+/$variant}"
