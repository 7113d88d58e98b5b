#!/usr/bin/env bash
# The accuracy-versus-cost trade-off of every pruning method on LeNet-500-300 (the MLP 784-500-300-10), as in Lee et
# al. 2018's figure: each method trained over its sweep values with the authors' 200-epoch recipe from a pretrained
# start, then results/tradeoff.md and results/tradeoff.json (per run: error, n_active per layer, FLOPs reduction,
# memory kept, beside the published points) and results/figures/tradeoff/tradeoff.png and .svg (test error against
# FLOPs reduction and against memory kept, one line per method, the published points of
# scripts/tradeoff_published.json overlaid), by scripts/tradeoff.py.
#
#   scripts/tradeoff.sh [--epochs N] [--seed S] [--threads T] [--only "none bbd sbp dbb sparsevd vib gd l0 ssl"]
#                       [--rates "1e-3 5e-3 1e-2 2e-2 5e-2"] [--kl-weights "0.1 0.3 1 3 10"] [--dbb-start RATE]
#                       [--ssl-rates "5e-5 1e-4 5e-4 1e-3 2e-3"]
#                       [--out DIR] [--build DIR] [--fresh]
#
# Runs, in this order (reports, logs and checkpoints in DIR/tradeoff/, models in DIR/models/tradeoff/):
#   none                  the plain MLP, --epochs epochs of its recipe: the reference point, and the pretrained
#                         start of every other run (--init-from), as the authors start BB, SBP and DBB from their
#                         pretrained base
#   bbd-R, sbp-R, vib-R,  the gates at learning rate R (--lr-noise R) and the weights at R/10 (--lr), each rate of
#   gd-R, l0-R            --rates, with the recipe's steps at 50 % and 75 % (the authors' init_lr sweep; VIB and
#                         generalized dropout run in the same code base the same way; L0, not in that comparison, as
#                         its other gates)
#   dbb-R                 from the bbd model of rate --dbb-start (default 1e-2: the authors' BB(1e-2) start of every
#                         DBB point), its dependent gates at R and the weights at R/10, with dbb's recipe
#   sparsevd-klW          sparse VD with every layer's KL weighted by W (--kl-scales W,W,W), with its authors'
#                         train_clip and recipe, for each W of --kl-weights
#   ssl-R                 group-lasso SSL with the loss CE + R x the group norms (--kl-scales 60000 R, three times),
#                         for each R of --ssl-rates (the comparison's SSL rates)
# --epochs (default 200, the authors' length) applies to every run; use 1 or 2 to smoke-test the script.
#
# Interruptions: a run whose report exists is skipped; an interrupted run continues from its checkpoint (--resume)
# to the same result as an uninterrupted one; --fresh deletes the chosen runs' reports and checkpoints first. So a
# sweep interrupted or spread over several days is continued, not restarted. Prints which run of how many is going
# and an estimate of the time left. Needs the release build (bayesdrop-mnist), MNIST in $BAYESDROP_MNIST_DIR, and
# /usr/bin/python3 with python3-matplotlib for the figure (the table is written without it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$repo/scripts/reproduce-lib.sh"
source "$repo/scripts/families.sh"
epochs=200 seed=1 threads=auto fresh=0 only="none bbd sbp dbb sparsevd vib gd l0 ssl"
rates="1e-3 5e-3 1e-2 2e-2 5e-2" kl_weights="0.1 0.3 1 3 10" dbb_start=1e-2 ssl_rates="5e-5 1e-4 5e-4 1e-3 2e-3"
build="$repo/build/release" out="$repo/results"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --rates) rates="$2"; shift 2 ;;
    --kl-weights) kl_weights="$2"; shift 2 ;;
    --ssl-rates) ssl_rates="$2"; shift 2 ;;
    --dbb-start) dbb_start="$2"; shift 2 ;;
    --fresh) fresh=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "tradeoff: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
trainer="$build/examples/bayesdrop-mnist"
data="${BAYESDROP_MNIST_DIR:-$repo/data/mnist}"
[[ -x "$trainer" ]] || { echo "tradeoff: $trainer not found; build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
# The sweep's methods are a deliberate choice (each has its sweep rule below, and tradeoff.py its published points);
# each must still be a family the trainer lists.
check_families "$trainer" tradeoff none bbd sbp dbb sparsevd vib gd l0 ssl
for m in $only; do
  case "$m" in none|bbd|sbp|dbb|sparsevd|vib|gd|l0|ssl) ;; *) echo "tradeoff: unknown method '$m' (none bbd sbp dbb sparsevd vib gd l0 ssl)" >&2; exit 2 ;; esac
done
number='^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$'
for v in $rates $kl_weights $dbb_start $ssl_rates; do
  [[ "$v" =~ $number ]] || { echo "tradeoff: '$v' is not a positive number" >&2; exit 2; }
done
runs_dir="$out/tradeoff" models="$out/models/tradeoff"
mkdir -p "$runs_dir" "$models"

# name:method:value in the order of their dependencies (none first, the bbd start before dbb)
runs=()
for m in none bbd sbp dbb sparsevd vib gd l0 ssl; do
  [[ " $only " == *" $m "* ]] || continue
  case "$m" in
    none) runs+=("none:none:") ;;
    bbd|sbp|dbb|vib|gd|l0) for r in $rates; do runs+=("$m-$r:$m:$r"); done ;;
    sparsevd) for w in $kl_weights; do runs+=("sparsevd-kl$w:sparsevd:$w"); done ;;
    ssl) for r in $ssl_rates; do runs+=("ssl-$r:ssl:$r"); done ;;
  esac
done

progress_init "${#runs[@]}"
for run in "${runs[@]}"; do
  IFS=: read -r name method value <<<"$run"
  report="$runs_dir/$name.json" ckpt="$runs_dir/$name.ckpt" model="$models/$name.model"
  if [[ "$fresh" == 1 ]]; then rm -f "$report" "$ckpt"; fi
  if [[ -f "$report" ]]; then
    progress_next "tradeoff: $name has its report ($report); skipped (--fresh to redo it)"
    continue
  fi
  flags=(--dropout "$method")
  case "$method" in
    none) start="" ;;
    bbd|sbp|vib|gd|l0) start="$models/none.model" ;;
    dbb) start="$models/bbd-$dbb_start.model" ;;
    sparsevd|ssl) start="$models/none.model" ;;
  esac
  case "$method" in
    bbd|sbp|dbb|vib|gd|l0) flags+=(--lr-noise "$value" --lr "$(awk -v r="$value" 'BEGIN { printf "%.10g", r / 10 }')") ;;
    sparsevd) flags+=(--train-clip --kl-scales "$value,$value,$value") ;;
    ssl) scale="$(awk -v r="$value" 'BEGIN { printf "%.10g", r * 60000 }')"  # the loss CE + r x penalty
      flags+=(--kl-scales "$scale,$scale,$scale") ;;
  esac
  resume=()
  if [[ -f "$ckpt" ]]; then
    resume=(--resume "$ckpt")
    progress_next "tradeoff: $name continues from $ckpt"
  else
    progress_next "tradeoff: $name (${flags[*]}), $epochs epochs, seed $seed, $threads threads"
  fi
  if [[ -n "$start" ]]; then
    if [[ ! -f "$start" ]]; then
      echo "tradeoff: $name starts from $start, which is missing: run its method first (--only) or, if its report" \
        "exists without the model, redo it with --fresh" >&2
      exit 2
    fi
    flags+=(--init-from "$start")
  fi
  "$trainer" --data "$data" --model mlp "${flags[@]}" --epochs "$epochs" --seed "$seed" --threads "$threads" \
    --checkpoint "$ckpt" "${resume[@]}" --report "$report.tmp" --save "$model" >>"$runs_dir/$name.log"
  mv "$report.tmp" "$report"  # the report appears only when the run is complete
  rm -f "$ckpt"
  progress_done "tradeoff: $name" "$(grep '^test accuracy' "$runs_dir/$name.log" | tail -1)"
done

reports=()
for f in "$runs_dir"/*.json; do [[ -f "$f" ]] && reports+=("$f"); done
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
figures=()
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  figures=(--figures "$out/figures/tradeoff")
else
  echo "tradeoff: no figure: python3-matplotlib is missing (apt-get install python3-matplotlib)" >&2
fi
/usr/bin/python3 "$repo/scripts/tradeoff.py" "${reports[@]}" --published "$repo/scripts/tradeoff_published.json" \
  --md "$out/tradeoff.md" --json "$out/tradeoff.json" --machine "$machine" --trainer "$trainer" "${figures[@]}"
cat "$out/tradeoff.md"
