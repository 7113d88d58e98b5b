#!/usr/bin/env bash
# Fuzzes a reader with libFuzzer under AddressSanitizer and UBSan.
#
#   scripts/fuzz.sh TARGET [SECONDS]     (default 60; works from any directory, needs no network)
#
# Targets:
#   idx    the IDX reader and MNIST conversion (tests/fuzz/fuzz_idx.cpp, include/bayesdrop/io/idx.hpp)
#   model  model files (tests/fuzz/fuzz_model_file.cpp, include/bayesdrop/models/model_file.hpp) and the programs'
#          reading of their metadata (examples/common/model_metadata.hpp)
#
# Builds the target with clang, seeds a corpus with small valid and broken inputs, and runs for SECONDS. Exits
# non-zero on any crash, leak, timeout or sanitizer report; the work directory with the crashing input is then kept
# and its path printed.
#
# Environment: FUZZ_CXX (default: clang++, else clang++-14), EIGEN_INCLUDE (default /usr/include/eigen3),
# BAYESDROP_FUZZ_DIR (work directory to use and keep; default a fresh temporary one, removed on success).
set -euo pipefail

usage() {
  echo "usage: $0 TARGET [SECONDS]   (TARGET: idx or model; SECONDS: a positive whole number, default 60)" >&2
  exit 2
}
target="${1:-}"
seconds="${2:-60}"
case "$target" in
  idx) source_file="fuzz_idx.cpp" ;;
  model) source_file="fuzz_model_file.cpp" ;;
  *) usage ;;
esac
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then usage; fi
tag="fuzz-$target"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eigen="${EIGEN_INCLUDE:-/usr/include/eigen3}"
cxx="${FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for candidate in clang++ clang++-14; do
    if command -v "$candidate" >/dev/null 2>&1; then cxx="$candidate"; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "error: no clang++ found; install clang and libclang-rt-dev (libFuzzer), or set FUZZ_CXX" >&2
  exit 2
fi
if [ ! -f "$eigen/Eigen/Core" ]; then
  echo "error: Eigen headers not found in $eigen; install libeigen3-dev or set EIGEN_INCLUDE" >&2
  exit 2
fi

if [ -n "${BAYESDROP_FUZZ_DIR:-}" ]; then
  work="$BAYESDROP_FUZZ_DIR"
  mkdir -p "$work"
  keep=1
else
  work="$(mktemp -d "${TMPDIR:-/tmp}/bayesdrop-$tag.XXXXXX")"
  keep=0
fi
work="$(cd "$work" && pwd)"
finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    echo "$tag: FAILED (exit $status); inputs, log and binary kept in $work" >&2
  elif [ "$keep" -eq 0 ]; then
    rm -rf "$work"
  fi
  exit "$status"
}
trap finish EXIT

# --- build ----------------------------------------------------------------------------------------------------------
binary="$work/${source_file%.cpp}"
echo "$tag: building with $cxx into $work"
"$cxx" -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$repo/include" -I"$repo/examples/common" -I"$eigen" "$repo/tests/fuzz/$source_file" -o "$binary" -lz

corpus="$work/corpus"
mkdir -p "$corpus" "$work/artifacts"
dict="$work/$target.dict"
max_len=8192

# --- seed corpus and dictionary -------------------------------------------------------------------------------------
seed_idx() {
  # labels: magic 0x00000801, 5 items
  printf '\x00\x00\x08\x01\x00\x00\x00\x05\x00\x01\x09\x07\x03' >"$corpus/labels"
  # images: magic 0x00000803, 2 images of 3 x 2
  printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x02\x00\x10\x80\xff\x7f\x01\xff\xfe\x00\x00\x40\x20' \
    >"$corpus/images"
  # images with zero items; one with a truncated body; one with a trailing byte; a float32 type byte
  printf '\x00\x00\x08\x03\x00\x00\x00\x00\x00\x00\x00\x1c\x00\x00\x00\x1c' >"$corpus/images-empty"
  printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03' >"$corpus/images-truncated"
  printf '\x00\x00\x08\x01\x00\x00\x00\x02\x04\x05\x06' >"$corpus/labels-trailing"
  printf '\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x80\x3f' >"$corpus/labels-float"
  # a header promising 2^31 bytes
  printf '\x00\x00\x08\x03\x80\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\xaa\xbb' >"$corpus/images-huge"
  if command -v gzip >/dev/null 2>&1; then
    for f in labels images images-empty labels-trailing; do
      gzip -9 -n -c "$corpus/$f" >"$corpus/$f.gz"
    done
    # two concatenated gzip members
    cat "$corpus/labels.gz" "$corpus/images.gz" >"$corpus/concatenated.gz"
  else
    echo "$tag: gzip not found, no gzip seeds (the gzip path is still fuzzed, less effectively)" >&2
  fi
  # Tokens that help the fuzzer build headers: IDX magics and the gzip header start.
  cat >"$dict" <<'DICT'
magic_images="\x00\x00\x08\x03"
magic_labels="\x00\x00\x08\x01"
gzip_header="\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
size_28="\x00\x00\x00\x1c"
DICT
}

seed_model() {
  # Valid files of the fuzzed architecture (float, double), of another one, and of an empty model: the binary
  # writes them itself, so the seeds always match the current format.
  BAYESDROP_FUZZ_WRITE_SEEDS="$corpus" "$binary" >/dev/null 2>&1
  printf 'BAYESDRP\x02\x00\x00\x00' >"$corpus/newer-version-truncated"
  # Names and sizes help the fuzzer build layers that match the model (the target fixes checksums itself).
  cat >"$dict" <<'DICT'
magic="BAYESDRP"
version_1="\x01\x00\x00\x00"
float="\x04\x00\x00\x00"
double="\x08\x00\x00\x00"
linear="\x06\x00\x00\x00Linear"
relu="\x04\x00\x00\x00ReLU"
bbd="\x14\x00\x00\x00BetaBernoulliDropout"
sbp="\x19\x00\x00\x00StructuredBayesianPruning"
weight="\x00\x06\x00\x00\x00weight"
bias="\x00\x04\x00\x00\x00bias"
meta_model="\"model\""
meta_dropout="\"dropout\""
meta_p_input="\"p_input\""
meta_p_hidden="\"p_hidden\""
meta_epochs="\"epochs\""
meta_mlp="\"mlp\""
meta_lenet5="\"lenet5\""
meta_bbd="\"bbd\""
json_null="null"
json_true="true"
json_array="[]"
json_object="{}"
json_number="-1e3"
DICT
}

"seed_$target"

# --- run ------------------------------------------------------------------------------------------------------------
echo "$tag: fuzzing for ${seconds}s"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
cd "$work"
"$binary" "$corpus" \
  -dict="$dict" \
  -max_total_time="$seconds" \
  -rss_limit_mb=2048 \
  -max_len="$max_len" \
  -timeout=25 \
  -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" 2>&1 | tee "$work/fuzz.log"

# libFuzzer's exit status already reflects crashes; also refuse any sanitizer report that slipped through.
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$work/fuzz.log"; then
  echo "$tag: sanitizer or libFuzzer report in the log" >&2
  exit 1
fi
if [ -n "$(ls -A "$work/artifacts")" ]; then
  echo "$tag: crash artifacts written: $(ls "$work/artifacts")" >&2
  exit 1
fi
echo "$tag: OK ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/fuzz.log" | grep -Eo '[0-9]+$' || echo '?') executions in ${seconds}s)"
