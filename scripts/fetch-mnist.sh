#!/usr/bin/env bash
# Downloads the four MNIST .gz files into DIR (default data/mnist) and checks their md5 sums.
#
#   scripts/fetch-mnist.sh [DIR]
#
# Files already present with the right md5 are not downloaded again. Mirrors are tried in order; a download with
# the wrong md5 is deleted and the next mirror tried. At the end it prints the line that points bayesdrop at DIR.
# A folder that cannot be created or written stops it (exit 1) before any download. Needs curl or wget, and md5sum
# (or md5 / openssl).
set -euo pipefail

dir="${1:-data/mnist}"

mirrors=(
  "https://ossci-datasets.s3.amazonaws.com/mnist/"
  "https://storage.googleapis.com/cvdf-datasets/mnist/"
  "http://yann.lecun.com/exdb/mnist/"
)
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

expected_md5() {
  case "$1" in
    train-images-idx3-ubyte.gz) echo f68b3c2dcbeaaa9fbdd348bbdeb94873 ;;
    train-labels-idx1-ubyte.gz) echo d53e105ee54ea40749a09fcbcd1e9432 ;;
    t10k-images-idx3-ubyte.gz) echo 9fb629c4189551a2d022fa330f9573f3 ;;
    t10k-labels-idx1-ubyte.gz) echo ec29112dd5afa0611ce80d1b7f02629c ;;
    *) echo "internal error: no md5 for $1" >&2; return 1 ;;
  esac
}

md5_of() {
  if command -v md5sum >/dev/null 2>&1; then
    md5sum "$1" | cut -d' ' -f1
  elif command -v md5 >/dev/null 2>&1; then
    md5 -q "$1"
  elif command -v openssl >/dev/null 2>&1; then
    openssl md5 -r "$1" | cut -d' ' -f1
  else
    echo "error: need md5sum, md5 or openssl to verify the downloads" >&2
    return 1
  fi
}

if command -v curl >/dev/null 2>&1; then
  download() { curl --fail --silent --show-error --location --retry 2 --connect-timeout 20 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  download() { wget --quiet --tries=3 --timeout=20 -O "$2" "$1"; }
else
  download() { echo "error: need curl or wget to download MNIST" >&2; return 1; }
fi

# The folder must take files before anything is downloaded: a download into a folder that cannot hold it is wasted.
if ! mkdir -p "$dir" 2>/dev/null || [ ! -d "$dir" ]; then
  echo "error: cannot create the folder '$dir' for MNIST (a part of the path is a file, or no permission);" \
    "give another folder: scripts/fetch-mnist.sh DIR" >&2
  exit 1
fi
abs="$(cd "$dir" && pwd)"
probe="$abs/.fetch-mnist-probe.$$"
if ! (: >"$probe") 2>/dev/null; then
  echo "error: the folder '$abs' is not writable; give a writable folder: scripts/fetch-mnist.sh DIR" >&2
  exit 1
fi
rm -f "$probe"

failed=()
for f in "${files[@]}"; do
  want="$(expected_md5 "$f")"
  target="$abs/$f"
  if [ -f "$target" ]; then
    have="$(md5_of "$target")"
    if [ "$have" = "$want" ]; then
      echo "$f: present, md5 verified"
      continue
    fi
    echo "$f: present but md5 $have != $want; downloading again"
  fi
  ok=0
  for mirror in "${mirrors[@]}"; do
    part="$target.part"
    rm -f "$part"
    echo "$f: downloading from $mirror"
    if ! download "$mirror$f" "$part"; then
      echo "$f: download from $mirror failed" >&2
      rm -f "$part"
      continue
    fi
    have="$(md5_of "$part")"
    if [ "$have" != "$want" ]; then
      echo "$f: md5 $have from $mirror != $want; deleted, trying the next mirror" >&2
      rm -f "$part"
      continue
    fi
    mv -f "$part" "$target"
    echo "$f: downloaded, md5 verified"
    ok=1
    break
  done
  if [ "$ok" -eq 0 ]; then failed+=("$f"); fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "error: could not get ${failed[*]} with the right md5 from any mirror (${mirrors[*]})." >&2
  echo "Download them by hand into $abs, or for Fashion-MNIST use: apt-get install dataset-fashion-mnist" >&2
  exit 1
fi

echo "MNIST is ready in $abs. Point bayesdrop at it with:"
echo "export BAYESDROP_MNIST_DIR=$abs"
