#!/usr/bin/env bash
# One training epoch per dropout type: bayesdrop (bench/bench_epoch) against PyTorch, interleaved, same threads and
# batch 100, several repetitions, ours and PyTorch back to back in each; prints per type the medians, the median of
# the repetitions' ratios with their minimum and maximum, and a warning when the repetitions' ratios disagree by more
# than 15 %.
#   --model mlp (default): the MLP 784-500-300-10 against the PyTorch reference (../shared/bench/torch_reference.py,
#     PyTorch's best CPU set-up), then the epoch's matrix-product bound (bench_epoch's EpochBound).
#   --model lenet5: LeNet-5-Caffe (bench_epoch's LeNet5Epoch) against bench/torch_lenet5.py (the same model and
#     recipe, PyTorch's convolutions on oneDNN), for none, sparsevd, bbd and sbp by default.
#
# Usage: scripts/compare-torch.sh [options]
#   --build DIR       build folder with bench/bench_epoch (default build/release; cmake --preset release &&
#                     cmake --build --preset release --target bench_epoch)
#   --threads N       threads for both (default 2)
#   --reps R          repetitions of each measurement (default 3); the table shows medians and the ratio's range
#   --model NAME      mlp or lenet5 (default mlp)
#   --dropouts LIST   comma-separated (default: none,binary,gaussian,variational,sparsevd,bbd,sbp; lenet5:
#                     none,sparsevd,bbd,sbp: the types the PyTorch references implement); each must be a family
#                     that bayesdrop-mnist --list-dropouts lists
#   --data DIR        MNIST folder for both (default $BAYESDROP_MNIST_DIR; without one both use random data)
#   --torch FILE      the PyTorch script (mlp: default $BAYESDROP_TORCH_REFERENCE or ../shared/bench/torch_reference.py;
#                     lenet5: default bench/torch_lenet5.py)
#   --json FILE       also write rows (dropout, ours_s, torch_s, ratio: the median of the per-repetition ratios,
#                     ratio_min, ratio_max, ratio_spread, ratios) and bound_s as JSON
# The reference runs under the first of $BAYESDROP_TORCH_PYTHON, python3, /usr/bin/python3 that can import torch.
# Needs Debian's python3-torch and libopenblas0-pthread (sudo apt-get install python3-torch libopenblas0-pthread).
# Targets (issue #31): mlp: ours <= 0.35 x PyTorch for every type, plain epoch <= 1.3 x bound_s; lenet5: none, bbd
# and sbp <= 0.5 x PyTorch, sparsevd <= 0.35 x.
# Timings need a quiet machine: the script prints the load average before and after.
# Exit status: 0 when it ran (the verdicts are in the table), 2 on usage or set-up errors.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/release"
threads=2
reps=3
model=mlp
dropouts=""
data="${BAYESDROP_MNIST_DIR:-}"
torch_ref=""
json=""

usage() { sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "compare-torch: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --dropouts) dropouts="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --torch) torch_ref="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer, got '$threads'"
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer, got '$reps'"
case "$model" in
  mlp)
    prefix=Epoch
    : "${dropouts:=none,binary,gaussian,variational,sparsevd,bbd,sbp}"
    : "${torch_ref:=${BAYESDROP_TORCH_REFERENCE:-$root/../shared/bench/torch_reference.py}}" ;;
  lenet5)
    prefix=LeNet5Epoch
    : "${dropouts:=none,sparsevd,bbd,sbp}"
    : "${torch_ref:=$root/bench/torch_lenet5.py}" ;;
  *) die "--model must be mlp or lenet5, got '$model'" ;;
esac
bench="$build/bench/bench_epoch"
[[ -x "$bench" ]] || die "$bench not found; build it: cmake --preset release && cmake --build --preset release --target bench_epoch"
# The default types are a deliberate choice (those the PyTorch references implement); every type must be a family of
# the library: checked against the trainer's list (bayesdrop-mnist --list-dropouts) when it is built, else against the
# benchmarks bench_epoch registers (one per family of the same registry).
IFS=',' read -r -a types <<<"$dropouts"
if [[ -x "$build/examples/bayesdrop-mnist" ]]; then
  source "$root/scripts/families.sh"
  check_families "$build/examples/bayesdrop-mnist" compare-torch "${types[@]}"
else
  for d in "${types[@]}"; do
    "$bench" --benchmark_list_tests --benchmark_filter="^$prefix/$d/" 2>/dev/null | grep -q . ||
      die "'$d' is not a dropout family of $bench (no $prefix/$d benchmark)"
  done
fi
[[ -f "$torch_ref" ]] || die "the PyTorch reference $torch_ref is missing; pass --torch FILE"
# Debian's python3-torch belongs to /usr/bin/python3; a python3 earlier on PATH (pyenv, a venv) may not see it.
torch_python=""
for py in "${BAYESDROP_TORCH_PYTHON:-}" python3 /usr/bin/python3; do
  if [[ -n "$py" ]] && "$py" -c 'import torch' 2>/dev/null; then torch_python="$py"; break; fi
done
[[ -n "$torch_python" ]] ||
  die "no python3 can import torch; install it: sudo apt-get install python3-torch libopenblas0-pthread"
if [[ -n "$data" && ! -d "$data" ]]; then die "--data $data is not a folder"; fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
torch_data=()
if [[ -n "$data" ]]; then torch_data=(--data "$data"); fi
export BAYESDROP_MNIST_DIR="$data"  # empty: random data in bench_epoch too

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   ($(nproc) cores; model $model; threads $threads;" \
     "reps $reps; data ${data:-random})"
for ((r = 1; r <= reps; ++r)); do
  for d in "${types[@]}"; do
    "$bench" --benchmark_filter="^$prefix/$d/$threads/" --benchmark_format=json >"$tmp/ours-$d-$r.json" 2>/dev/null ||
      die "bench_epoch failed for --dropout $d (unknown type?)"
    "$torch_python" "$torch_ref" --dropout "$d" --threads "$threads" "${torch_data[@]}" >"$tmp/torch-$d-$r.json" ||
      die "$(basename "$torch_ref") failed for --dropout $d"
    echo "  rep $r/$reps: $d done" >&2
  done
done
if [[ "$model" == mlp ]]; then
  "$bench" --benchmark_filter="^EpochBound/$threads/" --benchmark_format=json --benchmark_repetitions="$reps" \
    --benchmark_min_time=0.5 >"$tmp/bound.json" 2>/dev/null
fi
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$tmp" "$reps" "$threads" "$json" "${data:-random}" "$model" "${types[@]}" <<'EOF'
import datetime, json, os, platform, statistics, subprocess, sys

tmp, reps, threads, out, data, model = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
types = sys.argv[7:]
MAX_BOUND = 1.3
def max_ratio(d):
    return 0.35 if model == "mlp" or d == "sparsevd" else 0.5

def ours(d, r):
    runs = json.load(open(f"{tmp}/ours-{d}-{r}.json"))["benchmarks"]
    assert runs[0]["time_unit"] == "s", runs[0]["time_unit"]
    return runs[0]["real_time"]

def torch(d, r):
    return json.loads(open(f"{tmp}/torch-{d}-{r}.json").read().strip().splitlines()[-1])

bound_s = gflops = None
if os.path.exists(f"{tmp}/bound.json"):
    bound_runs = [b for b in json.load(open(f"{tmp}/bound.json"))["benchmarks"] if b.get("run_type") == "iteration"]
    bound_s = statistics.median(b["bound_s"] for b in bound_runs)
    gflops = statistics.median(b["gflops"] for b in bound_runs)
# Ours and PyTorch run back to back in each repetition, so each repetition's ratio compares the two under the same
# state of a shared machine; the verdict is on the median of those ratios, and the spread says whether the
# repetitions agree (a host that changes state between repetitions moves every absolute time, less so the ratio).
MAX_SPREAD = 0.15
rows = []
for d in types:
    o = [ours(d, r) for r in range(1, reps + 1)]
    t = [torch(d, r)["epoch_s"] for r in range(1, reps + 1)]
    ratios = [a / b for a, b in zip(o, t)]
    spread = max(ratios) / min(ratios) - 1
    rows.append(dict(dropout=d, ours_s=statistics.median(o), torch_s=statistics.median(t),
                     ratio=statistics.median(ratios), ratio_min=min(ratios), ratio_max=max(ratios),
                     ratio_spread=spread, ratios=ratios, ours_runs=o, torch_runs=t))
info = torch(types[0], 1)

print()
print(f"{'dropout':<12} {'ours s':>8} {'torch s':>8} {'ours/torch':>11} {'min-max':>13}  target  verdict")
for row in rows:
    ok = row["ratio"] <= max_ratio(row["dropout"])
    note = (f"; the repetitions disagree by {100 * row['ratio_spread']:.0f} % (> {100 * MAX_SPREAD:.0f} %): "
            "the machine changed state, measure again" if row["ratio_spread"] > MAX_SPREAD else "")
    print(f"{row['dropout']:<12} {row['ours_s']:>8.3f} {row['torch_s']:>8.3f} {row['ratio']:>10.3f}x "
          f"{row['ratio_min']:>6.3f}-{row['ratio_max']:.3f}  <={max_ratio(row['dropout']):.2f}x  {'PASS' if ok else 'FAIL'}{note}")
plain = next((r for r in rows if r["dropout"] == "none"), None)
if bound_s is not None:
    print()
    print(f"bound: {bound_s:.3f} s per epoch ({gflops:.1f} GFLOP/s on the step's products, {threads} threads)")
if plain and bound_s is not None:
    over = plain["ours_s"] / bound_s
    print(f"plain epoch / bound: {over:.2f}x  {'PASS' if over <= MAX_BOUND else 'FAIL'} (target <= {MAX_BOUND}x)")
if out:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
    # bench_epoch's output names the library version and the commit it was built from (bench/bench_support.hpp)
    context = json.load(open(f"{tmp}/ours-{types[0]}-1.json")).get("context", {})
    doc = dict(date=datetime.date.today().isoformat(), machine=dict(cpu=cpu, cores=os.cpu_count(),
               system=platform.platform()),
               provenance=dict(version=context.get("bayesdrop_version", "unknown"),
                               commit=context.get("bayesdrop_commit", "unknown")),
               model=model, threads=threads, batch=100, reps=reps, data=data,
               torch=dict(version=info.get("torch"), tuned=info.get("tuned")),
               rows=rows, bound_s=bound_s, bound_gflops=gflops,
               plain_over_bound=(plain["ours_s"] / bound_s) if plain and bound_s else None)
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"wrote {out}")
EOF
