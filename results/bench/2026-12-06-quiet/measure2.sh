#!/usr/bin/env bash
set -u
cd /work/main
export BAYESDROP_MNIST_DIR=/work/shared/data/mnist
out=/work/runs/quiet
pids=$(pgrep -f bayesdrop-mnist)
kill -STOP $pids
trap 'kill -CONT $pids' EXIT
sleep 3
echo "start $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
scripts/compare-torch.sh --build build/onednn-bench --model mlp --threads 2 --reps 3 --json $out/compare-mlp-onednn.json > $out/compare-mlp-onednn.txt 2>&1
echo "end $(date) load $(cut -d' ' -f1-3 /proc/loadavg)"
