#!/usr/bin/env bash
# Reproduces the course assignment's table: the MLP 784-500-300-10 trained for
# 60 epochs with each dropout type and its recipe, one seeded run per row, and writes
#   results/table.md, results/table.json      the table, with the targets and whether each row meets them
#   results/runs/<dropout>.json, .log          each run's report and log
#   results/pictures/<dropout>/input_pixels.png  the pixels each model still reads
#   results/figures/table/*.png, .svg          training curves, kept per layer, the table against its targets
#   results/models/<dropout>.model             the trained models (not committed; --load them to evaluate again)
#
#   scripts/reproduce-table.sh [--epochs N] [--seed S | --seeds 1,2,3] [--threads T] [--only "bbd sbp"] [--build DIR]
#
# --seeds runs every row once per seed (reports results/runs/<dropout>.seed<S>.json) and the table shows each row as
# the mean and spread over the seeds, its targets checked on the mean.
#
# The rows are the course table's seven families, a deliberate choice (make-table.py has their targets); each must be
# one the trainer lists (bayesdrop-mnist --list-dropouts), or the script stops before any run.
#
# The gated rows start from the plain network trained first, as the reference code of both methods starts from a
# pretrained network (the authors pretrain 200 epochs); their 60 epochs come after that: 40 epochs for bbd (with 20,
# its input gate kept 367.3 pixels on the mean of three seeds against the target's 366; see README), 20 for sbp.
# --pretrain N sets both.
#
# Interruptions: each run checkpoints after every epoch (results/runs/<name>.ckpt); started again, the script skips
# the runs whose report exists and continues an interrupted one from its checkpoint, ending with the same model and
# report as an uninterrupted run. --fresh deletes the runs' reports and checkpoints first.
#
# Prints which run of how many is going and an estimate of the time left. Takes about 25 minutes on a 2-core machine (see README); run it on an otherwise idle machine, since the timings
# are part of the report. Needs the release build (scripts/setup.sh or cmake --preset release) and MNIST in
# $BAYESDROP_MNIST_DIR (default data/mnist; scripts/fetch-mnist.sh downloads it), and python3 for the table.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/reproduce-lib.sh"
source "$repo/scripts/families.sh"
epochs=60 seed=1 seeds="" threads=2 pretrain_bbd=40 pretrain_sbp=20 fresh=0 only="none binary gaussian variational sparsevd bbd sbp"
build="$repo/build/release" out="$repo/results"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --pretrain) pretrain_bbd="$2"; pretrain_sbp="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "reproduce-table: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

trainer="$build/examples/bayesdrop-mnist"
data="${BAYESDROP_MNIST_DIR:-$repo/data/mnist}"
if [[ ! -x "$trainer" ]]; then
  echo "reproduce-table: $trainer not found; build first: cmake --preset release && cmake --build --preset release" >&2
  exit 2
fi
if ! command -v python3 >/dev/null; then
  echo "reproduce-table: python3 is needed to write the table (apt-get install python3)" >&2
  exit 2
fi

check_families "$trainer" reproduce-table $only

if [[ -n "$seeds" && ! "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  echo "reproduce-table: --seeds takes a comma-separated list of integers such as 1,2,3, got '$seeds'" >&2
  exit 2
fi
mkdir -p "$out/runs" "$out/pictures" "$out/models"
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"

# One seed: <dropout>.json as before; several: <dropout>.seed<S>.json each (make-table.py then reads only those).
runs=()
for dropout in $only; do
  if [[ -z "$seeds" ]]; then runs+=("$dropout:$seed:$dropout"); else
    for s in ${seeds//,/ }; do runs+=("$dropout:$s:$dropout.seed$s"); done
  fi
done
progress_init "${#runs[@]}"
reports=()
for run in "${runs[@]}"; do
  IFS=: read -r dropout s name <<<"$run"
  report="$out/runs/$name.json" ckpt="$out/runs/$name.ckpt"
  reports+=("$report")
  if [[ "$fresh" == 1 ]]; then rm -f "$report" "$ckpt"; fi
  if [[ -f "$report" ]]; then
    progress_next "reproduce-table: $name has its report ($report); skipped (--fresh to redo it)"
    continue
  fi
  extra=()
  [[ "$dropout" == bbd ]] && extra=(--pretrain "$pretrain_bbd")
  [[ "$dropout" == sbp ]] && extra=(--pretrain "$pretrain_sbp")
  if [[ -f "$ckpt" ]]; then
    extra+=(--resume "$ckpt")
    progress_next "reproduce-table: $name continues from $ckpt"
  else
    progress_next "reproduce-table: $dropout, $epochs epochs, seed $s, $threads threads"
  fi
  "$trainer" "${extra[@]}" --data "$data" --model mlp --dropout "$dropout" --epochs "$epochs" --seed "$s" \
    --threads "$threads" --checkpoint "$ckpt" --report "$report.tmp" --pictures "$out/pictures/$name" \
    --save "$out/models/$name.model" >>"$out/runs/$name.log"
  mv "$report.tmp" "$report"  # the report appears only when the run is complete
  rm -f "$ckpt"
  progress_done "reproduce-table: $name" "$(grep '^test accuracy' "$out/runs/$name.log")"
done

python3 "$repo/scripts/make-table.py" --runs "$out/runs" --machine "$machine" --md "$out/table.md" \
  --json "$out/table.json" --trainer "$trainer"
cat "$out/table.md"
draw_figures "${reports[@]}" "$out/table.json" --out "$out/figures/table"
