#!/usr/bin/env bash
# Quiet-machine measurements: the background trainers are paused (SIGSTOP) for the duration, resumed at the end.
set -u
cd /work/main
export BAYESDROP_MNIST_DIR=/work/shared/data/mnist
out=/work/runs/quiet
pids=$(pgrep -f bayesdrop-mnist)
kill -STOP $pids
trap 'kill -CONT $pids' EXIT
sleep 5
echo "start $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
build/release/bench/bench_products --benchmark_min_time=0.5 > $out/products.txt 2>&1
echo "products done $(date)"
scripts/compare-torch.sh --model mlp --threads 2 --reps 3 --json $out/compare-mlp.json > $out/compare-mlp.txt 2>&1
echo "mlp done $(date)"
for r in 1 2 3; do
  for b in release onednn-bench; do
    build/$b/bench/bench_epoch --benchmark_filter='^Epoch/(none|sbp)/2' --benchmark_format=console 2>&1 | sed "s|^|$b |" | grep Epoch >> $out/backends.txt
  done
done
echo "backends done $(date)"
scripts/compare-torch.sh --model lenet5 --threads 2 --reps 3 --json $out/compare-lenet5.json > $out/compare-lenet5.txt 2>&1
echo "lenet5 done $(date)"
build/release/bench/bench_phases --threads 2 --steps 300 > $out/phases-mlp-2.txt 2>&1
build/release/bench/bench_phases --threads 2 --steps 100 --model lenet5 > $out/phases-lenet5-2.txt 2>&1
echo "end $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
