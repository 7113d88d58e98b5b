#!/usr/bin/env bash
# The README's first command: from a fresh clone to a trained model. Finds MNIST (or fetches it), installs only the
# packages the trainer needs, builds only the trainer (the `trainer` preset: no tests, benchmarks or docs) and trains
# the MNIST example with its defaults. Extra arguments go to the trainer.
#
#   scripts/setup.sh                     # e.g. scripts/setup.sh --epochs 5 --dropout sbp
#
# MNIST is looked for in --data DIR (if given), then $BAYESDROP_MNIST_DIR, then data/mnist, and the first folder
# with the four files is used. When none has them they are fetched into data/mnist (scripts/fetch-mnist.sh, which
# checks their md5); when that fails (no network), the script says where to put the files and exits with 1.
# The whole test suite has its own command, scripts/test.sh, which installs everything else.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

have_mnist() {
  local f
  [[ -n "$1" && -d "$1" ]] || return 1
  for f in "${files[@]}"; do
    [[ -f "$1/$f" || -f "$1/$f.gz" ]] || return 1
  done
}

# Sets $missing to the files of the four that folder $1 lacks ("NAME(.gz), ...") and $present to how many it holds.
missing_mnist() {
  local f
  missing=""
  present=0
  for f in "${files[@]}"; do
    if [[ -f "$1/$f" || -f "$1/$f.gz" ]]; then
      present=$((present + 1))
    else
      missing+="${missing:+, }$f(.gz)"
    fi
  done
}

# Arguments for the trainer, with --data taken out: it gets the folder found below.
user_data=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data)
      [[ $# -ge 2 ]] || { echo "setup: --data needs a folder" >&2; exit 2; }
      user_data="$2"; shift 2 ;;
    --data=*) user_data="${1#--data=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

# Candidates as the trainer orders them; relative paths are relative to where the command was run.
data=""
for candidate in "$user_data" "${BAYESDROP_MNIST_DIR:-}" "$root/data/mnist"; do
  if have_mnist "$candidate"; then
    data="$(cd "$candidate" && pwd)"
    break
  fi
  if [[ -n "$candidate" && -d "$candidate" ]]; then
    missing_mnist "$candidate"
    # A --data folder with some of the files is a folder the user meant: name what it lacks and stop there.
    if [[ "$candidate" == "$user_data" && "$present" -gt 0 ]]; then
      echo "setup: --data '$candidate' lacks $missing (it holds the other $present of the four MNIST files);" \
        "put the missing one(s) there (scripts/fetch-mnist.sh '$candidate' fetches them), or leave out --data" >&2
      exit 2
    fi
    if [[ "$candidate" != "$root/data/mnist" ]]; then
      echo "setup: '$candidate' lacks $missing; looking further" >&2
    fi
  elif [[ -n "$candidate" && "$candidate" != "$root/data/mnist" ]]; then
    echo "setup: '$candidate' does not hold the four MNIST files (no such folder); looking further" >&2
  fi
done
cd "$root"

if [[ -z "$data" ]]; then
  echo "setup: MNIST is not in --data, \$BAYESDROP_MNIST_DIR or data/mnist; fetching it into data/mnist" \
    "(scripts/fetch-mnist.sh, md5-checked)"
  fetched=0
  # A minimal system may have no downloader or no CA certificates for https; a failure here is reported below.
  if command -v curl >/dev/null 2>&1 && [[ -f /etc/ssl/certs/ca-certificates.crt ]] ||
    scripts/install-deps.sh curl ca-certificates; then
    if scripts/fetch-mnist.sh data/mnist; then fetched=1; fi
  fi
  if [[ "$fetched" -eq 0 ]]; then
    cat >&2 <<MSG

setup: could not download MNIST (no network, or the mirrors are out of reach).
  Put these four files (gzipped as below, or unpacked without .gz) into $root/data/mnist:
      train-images-idx3-ubyte.gz
      train-labels-idx1-ubyte.gz
      t10k-images-idx3-ubyte.gz
      t10k-labels-idx1-ubyte.gz
  or into any folder named by --data DIR or BAYESDROP_MNIST_DIR=DIR, then run scripts/setup.sh again.
MSG
    exit 1
  fi
  data="$root/data/mnist"
fi
echo "setup: MNIST from $data"

scripts/install-deps.sh --trainer
cmake --preset trainer
cmake --build --preset trainer -j "$(nproc)"

trainer="build/trainer/examples/bayesdrop-mnist"
if [[ ! -x "$trainer" ]]; then
  echo "setup: $trainer was not built (is the bayesdrop-mnist target defined in examples/CMakeLists.txt?)" >&2
  exit 1
fi
echo "setup: training: $trainer --data $data ${args[*]}"
exec "$trainer" --data "$data" "${args[@]}"
