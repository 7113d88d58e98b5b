#!/usr/bin/env bash
# The overhead table: the plain MLP training step's time over the time of its matrix products alone, and the
# generator's float normals per second, checked against the targets
#   step / products <= 1.3 with 2 threads,   Rng::normal<float> >= 3e8 values per second per thread.
#
# Usage: scripts/bench-overhead.sh [BUILD_DIR]      (default: build/release, the `release` preset)
#   Build first:  cmake --preset release && cmake --build --preset release --target bench_mlp_step bench_rng
# Each benchmark runs 5 repetitions of >= 0.5 s; the table shows their medians. Timings need a quiet machine: the
# script prints the load average first, and a busy machine makes the 2-thread numbers meaningless (OpenMP threads
# spin while they wait for each other). Exit status: 0 if both targets pass, 1 if one fails, 2 on usage errors.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build/release}"
mlp="$build/bench/bench_mlp_step"
rng="$build/bench/bench_rng"
for exe in "$mlp" "$rng"; do
  if [[ ! -x "$exe" ]]; then
    echo "bench-overhead: $exe not found; build it first:" >&2
    echo "  cmake --preset release && cmake --build --preset release --target bench_mlp_step bench_rng" >&2
    exit 2
  fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
flags=(--benchmark_format=json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
       --benchmark_min_time=0.5)

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)   ($(nproc) cores)"
"$mlp" "${flags[@]}" --benchmark_filter='BM_MlpTrainStep|BM_MlpStepMatmulsOnly|BM_MlpEvalForward' >"$tmp/mlp.json"
"$rng" "${flags[@]}" --benchmark_filter='BM_RngNormalFloat' >"$tmp/rng.json"
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$tmp/mlp.json" "$tmp/rng.json" <<'EOF'
import json
import sys

MAX_RATIO = 1.3        # step / products with 2 threads
MIN_NORMALS = 3e8      # float normals per second per thread
TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def medians(path):
    """run_name -> the median aggregate of that benchmark."""
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    return {r["run_name"]: r for r in runs if r.get("aggregate_name") == "median"}


mlp, rng = medians(sys.argv[1]), medians(sys.argv[2])


def ms(name):
    r = mlp[name]
    return r["real_time"] * TO_MS[r["time_unit"]]


ok = True
print()
print(f"{'threads':>7} {'step ms':>9} {'products ms':>12} {'step/products':>14} {'eval fwd ms':>12} "
      f"{'epoch s':>8}  verdict")
for arg in (1, 2):
    step, prod = f"BM_MlpTrainStep/{arg}/real_time", f"BM_MlpStepMatmulsOnly/{arg}/real_time"
    threads = int(mlp[step]["eigen_threads"])
    ratio = ms(step) / ms(prod)
    if arg == 2:
        passed = threads == 2 and ratio <= MAX_RATIO
        ok &= passed
        verdict = f"{'PASS' if passed else 'FAIL'} (target <= {MAX_RATIO}x with 2 threads)"
        if threads != 2:
            verdict += f"; Eigen used {threads} thread(s): built without OpenMP?"
    else:
        verdict = "(information)"
    print(f"{threads:>7} {ms(step):>9.3f} {ms(prod):>12.3f} {ratio:>13.3f}x "
          f"{ms(f'BM_MlpEvalForward/{arg}/real_time'):>12.3f} {mlp[step]['epoch_s']:>8.3f}  {verdict}")

rates = {name.split("/")[1]: r["items_per_second"] for name, r in rng.items()}
worst = min(rates.values())
passed = worst >= MIN_NORMALS
ok &= passed
print()
print("Rng::normal<float>, 1 thread: " + ", ".join(f"{float(v):.3g}/s (n={n})" for n, v in rates.items()))
print(f"  slowest {worst:.3g} normals/s: {'PASS' if passed else 'FAIL'} (target >= {MIN_NORMALS:.0e}/s per thread)")
sys.exit(0 if ok else 1)
EOF
