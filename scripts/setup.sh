#!/usr/bin/env bash
# The README's first command: install the dependencies, build the `release` preset, and train the MNIST example
# with its default arguments on $BAYESDROP_MNIST_DIR (default: data/mnist). Extra arguments go to the trainer.
#   scripts/setup.sh                 # e.g. BAYESDROP_MNIST_DIR=../shared/data/mnist scripts/setup.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative BAYESDROP_MNIST_DIR means relative to where the command was run: make it absolute before the cd.
if [[ -n "${BAYESDROP_MNIST_DIR:-}" && -d "$BAYESDROP_MNIST_DIR" ]]; then
  BAYESDROP_MNIST_DIR="$(cd "$BAYESDROP_MNIST_DIR" && pwd)"
  export BAYESDROP_MNIST_DIR
fi
cd "$root"

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release -j "$(nproc)"

trainer="build/release/examples/bayesdrop-mnist"
data="${BAYESDROP_MNIST_DIR:-data/mnist}"

have_mnist() {
  local f
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    [[ -f "$1/$f" || -f "$1/$f.gz" ]] || return 1
  done
}

if ! have_mnist "$data"; then
  cat >&2 <<MSG
setup: the MNIST files are not in '$data'.
  It needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte
  (each may be .gz). Get them with:
      scripts/fetch-mnist.sh data/mnist
  or point BAYESDROP_MNIST_DIR at a directory that has them, then run scripts/setup.sh again.
MSG
  exit 1
fi
if [[ ! -x "$trainer" ]]; then
  echo "setup: $trainer was not built (is the bayesdrop-mnist target defined in examples/CMakeLists.txt?)" >&2
  exit 1
fi

echo "setup: training: $trainer --data $data $*"
exec "$trainer" --data "$data" "$@"
