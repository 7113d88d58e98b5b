#!/usr/bin/env bash
# One epoch of the MLP 784-500-300-10 with each dropout type, one thread, seed 1: a quick check that every type
# trains, printed as the markdown table README shows. Needs the release build and MNIST.
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
for d in none binary gaussian variational sparsevd bbd sbp; do
  "$trainer" --data "$data" --epochs "$epochs" --dropout "$d" --threads 1 --quiet --report "$tmp/$d.json" >/dev/null
  python3 - "$tmp/$d.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
secs = sum(r["epoch_seconds"]) / len(r["epoch_seconds"])
active = ", ".join(str(l["active_in"]) for l in r["layers"])
print(f'| {r["dropout"]} | {100 * r["test_accuracy"]:.2f} % | {secs:.1f} | {active} |')
PY
done
