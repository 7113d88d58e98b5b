#!/usr/bin/env bash
# THE test command (the README's second command; .ci/run runs it):
#   1. install the Debian dependencies (scripts/install-deps.sh; a no-op when they are present), then
#      scripts/lint.sh: the sources formatted as .clang-format says, cppcheck clean over the headers
#   2. configure + build the `release` preset, run all its tests:  ctest --preset release
#      (the MNIST tests read BAYESDROP_MNIST_DIR; without it they exit with the skip code 77, which ctest's
#      SKIP_RETURN_CODE turns into "Skipped": counted as skipped below, never as passed), then build its `docs`
#      target: Doxygen over the headers, where any warning fails (skipped, and counted as skipped, when doxygen is not
#      installed)
#   3. scripts/check-package.sh: install + find_package consumer, add_subdirectory consumer
#   4. configure + build the `asan` preset (ASan + UBSan, -g1; the `training` tests are not built), run its tests:
#      ctest --preset asan
#   5. when oneDNN is installed (libdnnl-dev, an optional package): build/onednn, the release preset with
#      -DBAYESDROP_ONEDNN=ON, builds only the tests that touch the dense products and runs each (one stage each)
# Every stage runs even when an earlier one failed: builds keep going past errors (ninja -k 0) and the tests that did
# build still run (ctest lists the others as *_NOT_BUILT failures); tests whose configure failed count as one failure. The last line is the summary, `summary: N passed, N failed, N skipped`, counting ctest tests plus one
# for each non-test stage; it is also written to build/test-summary.txt. Exit status 0 iff nothing failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A relative BAYESDROP_MNIST_DIR means relative to where the command was run: make it absolute before the cd.
if [[ -n "${BAYESDROP_MNIST_DIR:-}" && -d "$BAYESDROP_MNIST_DIR" ]]; then
  BAYESDROP_MNIST_DIR="$(cd "$BAYESDROP_MNIST_DIR" && pwd)"
  export BAYESDROP_MNIST_DIR
fi
cd "$root"

jobs="$(nproc 2>/dev/null || echo 2)"
logs="build/test-logs"
mkdir -p "$logs"

passed=0
failed=0
skipped=0
report=()
t_all=$SECONDS

note() {  # note <stage> <PASS|FAIL|SKIP> <seconds> [detail]
  report+=("$(printf '  %-22s %-4s %5ss  %s' "$1" "$2" "$3" "${4:-}")")
  echo "==> [$1] $2 in ${3}s ${4:-}"
}

# stage <name> <command...>: a non-test step that counts as one test.
stage() {
  local name="$1" t0=$SECONDS rc=0
  shift
  echo "==> [$name] $*"
  "$@" || rc=$?
  if [[ $rc -eq 0 ]]; then
    passed=$((passed + 1))
    note "$name" PASS $((SECONDS - t0))
  else
    failed=$((failed + 1))
    note "$name" FAIL $((SECONDS - t0)) "(exit $rc)"
  fi
  return $rc
}

configure_and_build() {  # && chains, because `set -e` does not apply inside a function called from `||`
  cmake --preset "$1" && cmake --build --preset "$1" -j "$jobs" -- -k 0
}

# run_ctest <preset>: counts every ctest test into passed/failed/skipped.
run_ctest() {
  local preset="$1" t0=$SECONDS rc=0 log="$logs/ctest-$1.log"
  echo "==> [ctest $preset] ctest --preset $preset -j $jobs"
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log" || rc=$?
  local line total=0 nfail=0 nskip nskipped
  line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)"
  if [[ -n "$line" ]]; then
    total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
    nfail="$(sed -E 's/^[0-9]+% tests passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
  fi
  nskipped="$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log" || true)"   # counted in "out of"
  nskip="$(grep -cE '^[[:space:]]*[0-9]+ - .* \((Skipped|Disabled)\)$' "$log" || true)"
  if [[ -z "$line" || ( $rc -ne 0 && $nfail -eq 0 ) ]]; then
    nfail=$((nfail + 1))  # ctest itself failed (no tests found, bad preset, ...)
  fi
  local npass=$((total - nfail - nskipped))
  [[ $npass -lt 0 ]] && npass=0
  passed=$((passed + npass))
  failed=$((failed + nfail))
  skipped=$((skipped + nskip))
  local status=PASS
  [[ $rc -ne 0 || $nfail -ne 0 ]] && status=FAIL
  note "ctest $preset" "$status" $((SECONDS - t0)) "($total tests, $nfail failed, $nskip skipped)"
}

skip_stage() {  # skip_stage <name> <why>: a test stage that could not run counts as one failure
  failed=$((failed + 1))
  note "$1" FAIL 0 "(not run: $2)"
}

if [[ -n "${BAYESDROP_MNIST_DIR:-}" ]]; then
  echo "test: BAYESDROP_MNIST_DIR=$BAYESDROP_MNIST_DIR"
else
  echo "test: BAYESDROP_MNIST_DIR is not set; tests that need MNIST will skip"
fi

stage "install-deps" scripts/install-deps.sh || true
stage "lint" scripts/lint.sh || true

build_and_test() {  # build_and_test <preset>
  stage "build $1" configure_and_build "$1" || true
  if [[ -f "build/$1/CTestTestfile.cmake" ]]; then
    run_ctest "$1"
  else
    skip_stage "ctest $1" "the $1 configure failed"
  fi
}

build_and_test release

# -DBAYESDROP_BUILD_DOCS=ON: a build dir configured before doxygen was installed has the option cached OFF.
build_docs() {
  cmake --preset "$1" -DBAYESDROP_BUILD_DOCS=ON >/dev/null && cmake --build --preset "$1" --target docs
}
if command -v doxygen >/dev/null 2>&1; then
  stage "docs" build_docs release || true
else
  skipped=$((skipped + 1))
  note "docs" SKIP 0 "(doxygen is not installed: scripts/install-deps.sh installs it)"
fi

stage "check-package" scripts/check-package.sh || true

build_and_test asan

# The optional oneDNN back end (core/gemm.hpp): a few targets only, since a full build takes half an hour here.
onednn_tests=(test_gemm test_layers test_model_gradcheck test_no_allocation test_training)
configure_onednn() {
  cmake --preset release -B build/onednn -DBAYESDROP_ONEDNN=ON -DBAYESDROP_BUILD_EXAMPLES=OFF \
    -DBAYESDROP_BUILD_BENCHMARKS=OFF -DBAYESDROP_BUILD_DOCS=OFF -DBAYESDROP_CHECK_HEADERS=OFF &&
    cmake --build build/onednn -j "$jobs" --target "${onednn_tests[@]}" -- -k 0
}
if [[ -f /usr/include/oneapi/dnnl/dnnl.hpp ]]; then
  stage "build onednn" configure_onednn || true
  for t in "${onednn_tests[@]}"; do
    if [[ -x "build/onednn/tests/$t" ]]; then
      stage "onednn $t" "build/onednn/tests/$t" || true
    else
      skip_stage "onednn $t" "not built"
    fi
  done
else
  skipped=$((skipped + 1))
  note "onednn" SKIP 0 "(libdnnl-dev is not installed: scripts/install-deps.sh tries to install it)"
fi

summary="summary: $passed passed, $failed failed, $skipped skipped"
echo
echo "test: stages (total $((SECONDS - t_all))s):"
printf '%s\n' "${report[@]}"
echo "$summary" >build/test-summary.txt
echo "$summary"
[[ $failed -eq 0 ]]
