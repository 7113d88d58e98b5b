#!/usr/bin/env bash
# One epoch of the MLP 784-500-300-10 with each dropout type, one thread, seed 1: a quick check that every type
# trains, printed as the markdown table README shows. Needs the release build and MNIST.
# The types are the trainer's own list (bayesdrop-mnist --list-dropouts --json), so a family registered once is run
# here too; one that starts from another's model (starts_from: dbb from bbd) gets that run's saved model.
#   scripts/smoke-dropouts.sh [EPOCHS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
trainer="$root/build/release/examples/bayesdrop-mnist"
data="${BAYESDROP_MNIST_DIR:-$root/data/mnist}"
epochs="${1:-1}"
[[ -x "$trainer" ]] || { echo "smoke-dropouts: build first: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "| --dropout | test accuracy after $epochs epoch(s) | seconds per epoch | active inputs per dense layer |"
echo "|---|---|---|---|"
# name and starts_from of every family, one "name start" pair a line, in the registry's order
families="$("$trainer" --list-dropouts --json | python3 -c '
import json, sys
for f in json.load(sys.stdin):
    print(f["name"], f["starts_from"] or "-")')"
while read -r d start; do
  init=()
  if [[ "$start" != "-" ]]; then
    [[ -f "$tmp/$start.model" ]] || { echo "smoke-dropouts: $d starts from $start, which did not run first" >&2; exit 1; }
    init=(--init-from "$tmp/$start.model")
  fi
  "$trainer" --data "$data" --epochs "$epochs" --dropout "$d" --threads 1 --quiet --report "$tmp/$d.json" \
    --save "$tmp/$d.model" "${init[@]}" </dev/null >/dev/null
  python3 - "$tmp/$d.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
secs = sum(r["epoch_seconds"]) / len(r["epoch_seconds"])
active = ", ".join(str(l["active_in"]) for l in r["layers"])
print(f'| {r["dropout"]} | {100 * r["test_accuracy"]:.2f} % | {secs:.1f} | {active} |')
PY
done <<<"$families"
