#!/usr/bin/env bash
# Installs the Debian 12 packages bayesdrop needs to build, test, package and lint, and tries the optional ones.
# Skips apt entirely when `dpkg -s` reports every package installed, so it is fast and works offline on a machine
# that has them.
# Runs apt as root, or through sudo when not root.
#
#   scripts/install-deps.sh              # everything (scripts/test.sh runs this)
#   scripts/install-deps.sh --trainer    # only what the `trainer` preset needs to build bayesdrop-mnist (setup.sh)
#   scripts/install-deps.sh PKG...       # these packages only (e.g. curl ca-certificates to fetch MNIST)
set -euo pipefail

# What bayesdrop-mnist needs (examples/CMakeLists.txt: Eigen, zlib, CLI11, nlohmann-json, stb), and a compiler.
trainer_packages=(
  cmake ninja-build g++               # build (CMakePresets.json uses the Ninja generator)
  libeigen3-dev zlib1g-dev            # the library's own dependencies
  libcli11-dev nlohmann-json3-dev libstb-dev  # the examples' flags, JSON reports and PNG pictures
)

packages=(
  "${trainer_packages[@]}" make
  catch2 libbenchmark-dev             # unit tests, benchmarks
  python3-matplotlib                  # scripts/plot.py (the figures) and its test
  clang libclang-rt-14-dev            # clang builds, clang's sanitizer runtimes
  dpkg-dev file                       # cpack -G DEB with CPACK_DEBIAN_PACKAGE_SHLIBDEPS (dpkg-shlibdeps, file)
  clang-format cppcheck               # scripts/lint.sh
  time                                # /usr/bin/time for scripts/compile-cost.sh (.ci/run's include-cost check)
  doxygen                             # the `docs` target (API reference; no graphviz: HAVE_DOT=NO)
  dataset-fashion-mnist               # real-data IDX test (tests/io/test_mnist_real.cpp; skipped when absent)
)

# Optional: the oneDNN product back end (-DBAYESDROP_ONEDNN=ON; scripts/test.sh builds and tests it when present) and
# bench_products' OpenBLAS and oneDNN variants. A failure to install them is reported, never fatal.
optional_packages=(libdnnl-dev libopenblas-dev)

case "${1:-}" in
  --trainer) packages=("${trainer_packages[@]}") optional_packages=() ;;
  -*) echo "install-deps: unknown option '$1' (use --trainer, package names, or nothing)" >&2; exit 2 ;;
  "") ;;
  *) packages=("$@") optional_packages=() ;;
esac

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'; }
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
missing_optional=()
for p in "${optional_packages[@]}"; do
  installed "$p" || missing_optional+=("$p")
done

if [[ ${#missing[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]]; then
  echo "install-deps: all $((${#packages[@]} + ${#optional_packages[@]})) packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
if [[ ${#missing[@]} -gt 0 ]]; then
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [[ ${#missing_optional[@]} -gt 0 ]]; then
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    "${missing_optional[@]}" || echo "install-deps: optional ${missing_optional[*]} not installed (not needed)" >&2
fi
echo "install-deps: done"
