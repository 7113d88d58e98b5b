#!/usr/bin/env bash
# The trainer's thread setting on a quiet machine and beside one other CPU-bound process: one MLP epoch (plain
# network, MNIST) with the default (--threads auto) against --threads 1 and --threads 2, interleaved, medians of R.
# The busy core is a shell loop started by this script and stopped when it ends.
#
# Usage: scripts/bench-threads.sh [--build DIR] [--data DIR] [--reps R] [--dropout NAME]
#   --build DIR    build folder with examples/bayesdrop-mnist (default build/release)
#   --data DIR     MNIST folder (default $BAYESDROP_MNIST_DIR)
#   --reps R       repetitions of each measurement (default 3)
#   --dropout D    dropout type to train (default none)
# Target (issue #18): under one busy core, the default is never slower than --threads 1 by more than 10 %.
# Needs the two cores to itself apart from the busy loop: the load average is printed before and after.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/release" data="${BAYESDROP_MNIST_DIR:-}" reps=3 dropout=none
die() { echo "bench-threads: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --dropout) dropout="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
trainer="$build/examples/bayesdrop-mnist"
[[ -x "$trainer" ]] || die "no trainer at $trainer; build it: cmake --build --preset release --target bayesdrop-mnist"
[[ -n "$data" ]] || die "no MNIST folder: pass --data DIR or set BAYESDROP_MNIST_DIR"
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive whole number, got '$reps'"
py=/usr/bin/python3
tmp="$(mktemp -d)"
busy_pid=""
cleanup() { [[ -n "$busy_pid" ]] && kill "$busy_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# Seconds of the run's one epoch, from its report.
epoch_seconds() {
  "$trainer" --data "$data" --dropout "$dropout" --epochs 1 --quiet --report "$tmp/r.json" "$@" >/dev/null
  "$py" -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['epoch_seconds'][0], r['threads'])" "$tmp/r.json"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
results="$tmp/results.txt"
for load in quiet busy; do
  if [[ $load == busy ]]; then
    (while :; do :; done) &
    busy_pid=$!
    sleep 1
  fi
  for ((r = 1; r <= reps; r++)); do
    for setting in auto 1 2; do
      read -r s used < <(epoch_seconds --threads "$setting")
      echo "$load $setting $s $used" | tee -a "$results"
    done
  done
  if [[ -n "$busy_pid" ]]; then kill "$busy_pid"; wait "$busy_pid" 2>/dev/null || true; busy_pid=""; fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$py" - "$results" "$dropout" "$(nproc)" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {}
for load in ("quiet", "busy"):
    for setting in ("auto", "1", "2"):
        secs = [float(r[2]) for r in rows if r[0] == load and r[1] == setting]
        used = sorted({r[3] for r in rows if r[0] == load and r[1] == setting})
        med[load, setting] = (statistics.median(secs), "/".join(used))
print(f"\nOne {sys.argv[2]} MLP epoch, seconds (median); {sys.argv[3]} cores\n")
print("| machine | default (auto) | threads used by auto | --threads 1 | --threads 2 | auto / threads 1 |")
print("|---|---:|---:|---:|---:|---:|")
for load, name in (("quiet", "quiet"), ("busy", "one busy core")):
    a, used = med[load, "auto"]
    one, two = med[load, "1"][0], med[load, "2"][0]
    print(f"| {name} | {a:.2f} | {used} | {one:.2f} | {two:.2f} | {a / one:.2f} |")
ratio = med["busy", "auto"][0] / med["busy", "1"][0]
print(f"\nTarget: under one busy core, auto <= 1.10 x --threads 1: {'met' if ratio <= 1.10 else 'not met'} ({ratio:.2f})")
PY
