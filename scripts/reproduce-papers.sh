#!/usr/bin/env bash
# Runs the papers' 200-epoch MNIST rows from scratch, one seeded run each, and
# writes results/papers.md and results/papers.json (each run's report, log and pictures under results/papers/), and
# the figures of the runs and of the table in results/figures/papers/ (scripts/plot.py). Prints which run of how many
# is going and an estimate of the time left.
#
#   scripts/reproduce-papers.sh [--epochs N] [--seed S] [--threads T] [--only "lenet300-sparsevd lenet5-sbp"]
#
# Rows: lenet300-sparsevd, lenet5-sparsevd, mlp-sbp, lenet5-sbp, mlp-bbd. The reference code of SBP and BB starts
# from a pretrained network; these runs do not (see README). Durations on a 2-core machine: LeNet-300-100 sparse VD
# about 15 minutes, the MLP rows one to two hours each, the LeNet-5 rows several hours each: run them one at a time
# with --only on an otherwise idle machine. Needs the release build, MNIST in $BAYESDROP_MNIST_DIR and python3.
#
# Interruptions: each run checkpoints after every epoch (results/papers/<row>.ckpt); started again, the script skips
# the rows whose report exists and continues an interrupted row from its checkpoint (--resume), ending with the same
# model and report as an uninterrupted run. --fresh deletes a row's checkpoint and report first and starts it over.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/progress.sh"
epochs=200 seed=1 threads=2 fresh=0 build="$repo/build/release" out="$repo/results"
only="lenet300-sparsevd lenet5-sparsevd mlp-sbp lenet5-sbp mlp-bbd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "reproduce-papers: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
trainer="$build/examples/bayesdrop-mnist"
data="${BAYESDROP_MNIST_DIR:-$repo/data/mnist}"
[[ -x "$trainer" ]] || { echo "reproduce-papers: build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }

mkdir -p "$out/papers"

# The figures, drawn by scripts/plot.py with Debian's matplotlib; the runs stand without them.
draw_figures() {
  if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    /usr/bin/python3 "$repo/scripts/plot.py" "$@"
  else
    echo "$(basename "$0"): no figures: python3-matplotlib is missing (apt-get install python3-matplotlib), then:" \
      "scripts/plot.py $*" >&2
  fi
}

rows=($only)
progress_init "${#rows[@]}"
for row in "${rows[@]}"; do
  model="${row%%-*}" dropout="${row#*-}"
  report="$out/papers/$row.json" ckpt="$out/papers/$row.ckpt"
  if [[ "$fresh" == 1 ]]; then rm -f "$report" "$ckpt"; fi
  if [[ -f "$report" ]]; then
    progress_next "reproduce-papers: $row has its report ($report); skipped (--fresh to redo it)"
    continue
  fi
  resume=()
  if [[ -f "$ckpt" ]]; then
    resume=(--resume "$ckpt")
    progress_next "reproduce-papers: $row continues from $ckpt"
  else
    progress_next "reproduce-papers: $row ($model, $dropout), $epochs epochs, seed $seed, $threads threads"
  fi
  "$trainer" --data "$data" --model "$model" --dropout "$dropout" --epochs "$epochs" --seed "$seed" \
    --threads "$threads" --checkpoint "$ckpt" "${resume[@]}" --report "$report.tmp" --pictures "$out/papers/$row" \
    >>"$out/papers/$row.log"
  mv "$report.tmp" "$report"  # the report appears only when the row is complete
  progress_done "reproduce-papers: $row (this session)" "$(grep '^test accuracy' "$out/papers/$row.log" | tail -1)"
done
python3 "$repo/scripts/make-table.py" --set papers --runs "$out/papers" \
  --machine "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores" --md "$out/papers.md" --json "$out/papers.json"
cat "$out/papers.md"
runs=()
for row in $only; do runs+=("$out/papers/$row.json"); done
draw_figures "${runs[@]}" "$out/papers.json" --out "$out/figures/papers"
