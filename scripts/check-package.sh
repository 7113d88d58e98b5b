#!/usr/bin/env bash
# Proves that bayesdrop can be consumed the two ways a user would:
#   1. installed:        configure+build+install bayesdrop (tests/examples/benchmarks off) to a temporary prefix, then
#                        build and run tests/package against it with -DCMAKE_PREFIX_PATH=<prefix>, header-only and
#                        against the compiled library; with BAYESDROP_MNIST_DIR set, both quick starts train;
#   2. add_subdirectory: build and run tests/package with -DUSE_SUBDIRECTORY=ON, and check that none of bayesdrop's
#                        tests, examples or benchmarks were configured or built.
#   3. with --deb: configure the `package` preset (no -march=native) in a temporary build tree, run `cpack -G DEB`,
#                        check the control fields, unpack the .deb and build the consumer against its /usr.
# Exits non-zero on any failure. Usage: scripts/check-package.sh [--keep] [--deb]   (--keep leaves the temporary tree)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

keep=0
deb=0
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --deb) deb=1 ;;
    *) echo "usage: $0 [--keep] [--deb]" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d "${TMPDIR:-/tmp}/bayesdrop-package.XXXXXX")"
if [[ $keep == 1 ]]; then
  trap 'echo "check-package: kept $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi

jobs="$(nproc 2>/dev/null || echo 2)"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
prefix="$work/prefix"

fail() {
  echo "check-package: FAILED: $*" >&2
  exit 1
}
step() { echo "== check-package: $*"; }

# --- 1. install to a temporary prefix -----------------------------------------------------------------------------
step "install bayesdrop to $prefix"
cmake -S . -B "$work/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DBAYESDROP_BUILD_TESTS=OFF -DBAYESDROP_BUILD_EXAMPLES=OFF -DBAYESDROP_BUILD_BENCHMARKS=OFF \
  -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/install-configure.log" 2>&1 ||
  { cat "$work/install-configure.log"; fail "configure of bayesdrop"; }
cmake --build "$work/build" -j "$jobs" >"$work/install-build.log" 2>&1 ||
  { cat "$work/install-build.log"; fail "build of bayesdrop"; }
cmake --install "$work/build" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "install"; }

cmakedir="$prefix/share/cmake/bayesdrop"
for f in include/bayesdrop/bayesdrop.hpp share/cmake/bayesdrop/bayesdropConfig.cmake \
  share/cmake/bayesdrop/bayesdropConfigVersion.cmake share/cmake/bayesdrop/bayesdropTargets.cmake; do
  [[ -f "$prefix/$f" ]] || fail "the install lacks $f"
done
# every header of the source tree is installed
while IFS= read -r h; do
  [[ -f "$prefix/include/$h" ]] || fail "header $h is not installed"
done < <(cd include && find bayesdrop -name '*.hpp' | sort)
# the helper target with our warnings/-march=native/OpenMP must not leak to consumers
if grep -q bayesdrop_build_settings "$cmakedir"/bayesdropTargets*.cmake; then
  fail "bayesdrop_build_settings is exported"
fi
echo "   installed $(find "$prefix" -type f | wc -l) files"

# --- 2. consumer against the installed package ----------------------------------------------------------------------
step "consumer with find_package(bayesdrop CONFIG) and CMAKE_PREFIX_PATH=$prefix"
cmake -S tests/package -B "$work/consumer" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DBAYESDROP_REQUIRED_VERSION=0.1 >"$work/consumer-configure.log" 2>&1 ||
  { cat "$work/consumer-configure.log"; fail "configure of the consumer (find_package)"; }
found="$(sed -n 's/^bayesdrop_DIR:PATH=//p' "$work/consumer/CMakeCache.txt")"
[[ "$found" == "$cmakedir" ]] || fail "the consumer found bayesdrop in '$found', expected '$cmakedir'"
cmake --build "$work/consumer" -j "$jobs" >"$work/consumer-build.log" 2>&1 ||
  { cat "$work/consumer-build.log"; fail "build of the consumer (find_package)"; }
"$work/consumer/app" | tee "$work/consumer-app.log" || fail "the consumer (find_package) exited non-zero"
# The back end is found, not chosen by hand (issue #31): the plain configure above takes oneDNN when it is installed,
# and the installed package hands it on to its consumers.
dnnl_library="$(sed -n 's/^BAYESDROP_DNNL_LIBRARY:FILEPATH=//p' "$work/build/CMakeCache.txt")"
dnnl_header="$(sed -n 's/^BAYESDROP_DNNL_INCLUDE_DIR:PATH=//p' "$work/build/CMakeCache.txt")"
want_backend=eigen
[[ -n "$dnnl_library" && "$dnnl_library" != *NOTFOUND && -n "$dnnl_header" && "$dnnl_header" != *NOTFOUND ]] &&
  want_backend=onednn
grep -qx "bayesdrop consumer: product back end $want_backend" "$work/consumer-app.log" ||
  fail "a plain configure should give the $want_backend back end (oneDNN library: '${dnnl_library:-none}')"
echo "   product back end: $want_backend, as a plain configure should choose on this machine"
[[ -f "$prefix/lib/libbayesdrop.a" ]] || fail "the install lacks the compiled library lib/libbayesdrop.a"
[[ -x "$work/consumer/app_compiled" ]] || fail "the consumer did not build app_compiled against bayesdrop::compiled"
"$work/consumer/app_compiled" || fail "the consumer linked to bayesdrop::compiled exited non-zero"
# The README's quick start, header-only and compiled, trained for its three epochs when MNIST is there.
if [[ -n "${BAYESDROP_MNIST_DIR:-}" && -d "${BAYESDROP_MNIST_DIR}" ]]; then
  for q in quickstart quickstart_compiled; do
    "$work/consumer/$q" "$BAYESDROP_MNIST_DIR" >"$work/$q.log" 2>&1 ||
      { cat "$work/$q.log"; fail "the README's quick start ($q) exited non-zero"; }
    grep -q '^parameters kept: ' "$work/$q.log" || { cat "$work/$q.log"; fail "$q printed no summary"; }
    echo "   $q: $(tail -n 2 "$work/$q.log" | tr '\n' ' ')"
  done
else
  echo "   the quick start was built but not run: BAYESDROP_MNIST_DIR is not set"
fi

# SameMajorVersion: asking for another major version must be refused
step "find_package(bayesdrop 99.0) must fail"
if cmake -S tests/package -B "$work/consumer-wrong-version" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
  -DBAYESDROP_REQUIRED_VERSION=99.0 >"$work/consumer-wrong-version.log" 2>&1; then
  fail "find_package(bayesdrop 99.0) succeeded against version $(sed -n 's/.*PACKAGE_VERSION "\(.*\)".*/\1/p' \
    "$cmakedir/bayesdropConfigVersion.cmake" | head -1)"
fi
echo "   refused, as it should be"

# --- 3. consumer with add_subdirectory ----------------------------------------------------------------------------
step "consumer with add_subdirectory($root)"
cmake -S tests/package -B "$work/subdir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DUSE_SUBDIRECTORY=ON -DBAYESDROP_SOURCE_DIR="$root" >"$work/subdir-configure.log" 2>&1 ||
  { cat "$work/subdir-configure.log"; fail "configure of the consumer (add_subdirectory)"; }
cmake --build "$work/subdir" -j "$jobs" >"$work/subdir-build.log" 2>&1 ||
  { cat "$work/subdir-build.log"; fail "build of the consumer (add_subdirectory)"; }
"$work/subdir/app" || fail "the consumer (add_subdirectory) exited non-zero"

# Nothing of bayesdrop's own beyond the library: no tests/examples/benchmarks directories, targets or executables.
for d in tests examples bench; do
  [[ ! -e "$work/subdir/bayesdrop/$d" ]] || fail "add_subdirectory configured bayesdrop's $d/"
done
for v in BAYESDROP_BUILD_TESTS BAYESDROP_BUILD_EXAMPLES BAYESDROP_BUILD_BENCHMARKS BAYESDROP_NATIVE_ARCH \
  BAYESDROP_BUILD_COMPILED; do
  grep -q "^$v:BOOL=OFF$" "$work/subdir/CMakeCache.txt" || fail "$v does not default to OFF under add_subdirectory"
done
ntests="$(cd "$work/subdir" && ctest -N | sed -n 's/^Total Tests: //p')"
[[ "$ntests" == "1" ]] || fail "the add_subdirectory consumer has $ntests ctest tests, expected 1 (its own)"
extra="$(find "$work/subdir" -type f -perm -u+x \( -name 'test_*' -o -name 'bench*' -o -name 'bayesdrop-*' \) | head -5)"
[[ -z "$extra" ]] || fail "add_subdirectory built bayesdrop programs: $extra"
echo "   no bayesdrop tests, examples or benchmarks configured or built"

checks="install + find_package, version check, add_subdirectory"

# --- 4. (--deb) the Debian package ---------------------------------------------------------------------------------
if [[ $deb == 1 ]]; then
  step "cpack -G DEB from the package preset"
  cmake --preset package -B "$work/deb" >"$work/deb-configure.log" 2>&1 ||
    { cat "$work/deb-configure.log"; fail "configure of the package preset"; }
  grep -q '^BAYESDROP_NATIVE_ARCH:BOOL=OFF$' "$work/deb/CMakeCache.txt" || fail "the package preset uses -march=native"
  cmake --build "$work/deb" -j "$jobs" >"$work/deb-build.log" 2>&1 ||
    { cat "$work/deb-build.log"; fail "build of the package preset"; }
  (cd "$work/deb" && cpack -G DEB) >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
  debfile="$(ls "$work"/deb/bayesdrop_*.deb 2>/dev/null | head -1)"
  [[ -n "$debfile" ]] || fail "cpack made no bayesdrop_*.deb"
  [[ "$(dpkg-deb -f "$debfile" Package)" == bayesdrop ]] || fail "the .deb is not named bayesdrop"
  depends="$(dpkg-deb -f "$debfile" Depends)"
  for need in libeigen3-dev zlib1g-dev; do
    [[ "$depends" == *"$need"* ]] || fail "the .deb does not depend on $need (Depends: $depends)"
  done
  dpkg-deb -x "$debfile" "$work/debroot"
  if [[ -x "$work/debroot/usr/bin/bayesdrop-mnist" ]]; then
    [[ "$depends" == *libstdc++6* ]] || fail "dpkg-shlibdeps did not run (Depends: $depends)"
    "$work/debroot/usr/bin/bayesdrop-mnist" --help >/dev/null || fail "the packaged trainer does not run"
  fi
  cmake -S tests/package -B "$work/consumer-deb" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/debroot/usr" >"$work/consumer-deb.log" 2>&1 &&
    cmake --build "$work/consumer-deb" -j "$jobs" >>"$work/consumer-deb.log" 2>&1 ||
    { cat "$work/consumer-deb.log"; fail "the consumer against the unpacked .deb"; }
  "$work/consumer-deb/app" || fail "the consumer (unpacked .deb) exited non-zero"
  echo "   $(basename "$debfile"): Depends: $depends"
  checks="$checks, .deb"
fi

echo "check-package: OK ($checks)"
