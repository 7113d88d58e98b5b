#!/usr/bin/env bash
# Quiet-machine measurements of issue #31 (products cut by shape): the background trainers are paused (SIGSTOP) for
# the duration and resumed at the end. OLD is the previous commit's build (Eigen's own parallel products).
set -u
cd /work/main
export BAYESDROP_MNIST_DIR=/work/shared/data/mnist
out=results/bench/2026-12-07-quiet
old=/work/integ/build
pids=$(pgrep -f bayesdrop-mnist)
[[ -n "$pids" ]] && kill -STOP $pids
trap '[[ -n "$pids" ]] && kill -CONT $pids' EXIT
sleep 5
echo "start $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
build/release/bench/bench_products --benchmark_min_time=0.5 --benchmark_filter='fm-W/' > $out/products.txt 2>&1
echo "products done $(date)"
scripts/compare-torch.sh --model mlp --threads 2 --reps 5 --json $out/compare-mlp.json > $out/compare-mlp.txt 2>&1
echo "mlp done $(date)"
scripts/compare-torch.sh --build build/onednn --model mlp --threads 2 --reps 3 --json $out/compare-mlp-onednn.json > $out/compare-mlp-onednn.txt 2>&1
echo "mlp onednn done $(date)"
for r in 1 2 3 4 5; do
  for b in $old/release build/release $old/onednn build/onednn; do
    $b/bench/bench_epoch --benchmark_filter='^Epoch/(none|sbp)/2' --benchmark_format=console 2>&1 | sed "s|^|$b |" | grep Epoch >> $out/old-new.txt
  done
done
echo "old-new done $(date)"
build/release/bench/bench_phases --threads 2 --steps 300 > $out/phases-mlp-2.txt 2>&1
build/onednn/bench/bench_phases --threads 2 --steps 300 > $out/phases-mlp-2-onednn.txt 2>&1
echo "phases done $(date)"
scripts/compare-torch.sh --model lenet5 --threads 2 --reps 3 --json $out/compare-lenet5.json > $out/compare-lenet5.txt 2>&1
scripts/compare-torch.sh --build build/onednn --model lenet5 --threads 2 --reps 3 --json $out/compare-lenet5-onednn.json > $out/compare-lenet5-onednn.txt 2>&1
echo "end $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
