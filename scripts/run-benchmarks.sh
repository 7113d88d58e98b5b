#!/usr/bin/env bash
# Every benchmark behind docs/benchmarks.md, in one run on a quiet machine, with its JSON kept:
#   1. scripts/compare-torch.sh with 2 threads (R repetitions) and with 1 thread (one repetition, for information:
#      the targets are stated for 2 threads), epoch per dropout type vs PyTorch, and the bound
#   2. scripts/compare-torch.sh --model lenet5 with 2 threads: LeNet-5's epoch (none, sparsevd, bbd, sbp) vs PyTorch;
#      bench_conv: LeNet-5's convolutions in training beside Eigen's products of the same shapes
#   3. bench_layers: every dropout type as one layer, training and evaluation, 1 and 2 threads; LRT vs sampled weights
#   4. bench_compact: test-set inference of pruned models, masked vs compact, 1 and 2 threads
#   5. scripts/bench-overhead.sh: the plain step over its matrix products, and the generator's rate
# then prints the tables (scripts/bench-tables.py) that docs/benchmarks.md shows.
#
# Usage: scripts/run-benchmarks.sh [--build DIR] [--out DIR] [--reps R]
#   --build DIR  build folder (default build/release); the script builds the benchmark targets there first
#   --out DIR    where the JSON and logs go (default results/bench)
#   --reps R     repetitions of each epoch measurement (default 3)
# MNIST: $BAYESDROP_MNIST_DIR if set (epochs on real data), else random data. Takes about 40 minutes on 2 cores.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/release"
out="$root/results/bench"
reps=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-benchmarks: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [[ ! -f "$build/CMakeCache.txt" ]]; then cmake --preset release >/dev/null; fi
cmake --build "$build" --target bench_epoch bench_layers bench_conv bench_compact bench_mlp_step bench_rng >/dev/null
mkdir -p "$out"

start=$(date +%s)
for t in 2 1; do
  r=$([[ $t == 2 ]] && echo "$reps" || echo 1)
  "$root/scripts/compare-torch.sh" --build "$build" --threads "$t" --reps "$r" --json "$out/compare-torch-$t.json" |
    tee "$out/compare-torch-$t.txt"
done
"$root/scripts/compare-torch.sh" --build "$build" --model lenet5 --threads 2 --reps "$reps" \
  --json "$out/compare-torch-lenet5-2.json" | tee "$out/compare-torch-lenet5-2.txt"
"$build/bench/bench_conv" --benchmark_min_time=1 | tee "$out/conv.txt"
"$build/bench/bench_layers" --benchmark_min_time=0.3 --benchmark_format=json >"$out/layers.json"
"$build/bench/bench_compact" --benchmark_filter='^BM_(Mlp|LeNet)' --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.5 --benchmark_format=json >"$out/compact.json"
"$root/scripts/bench-overhead.sh" "$build" | tee "$out/overhead.txt" || true  # a missed target is reported, not fatal
echo "benchmarks took $(( ($(date +%s) - start) / 60 )) minutes"

python3 "$root/scripts/bench-tables.py" "$out" | tee "$out/tables.md"
