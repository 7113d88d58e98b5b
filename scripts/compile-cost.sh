#!/usr/bin/env bash
# What including bayesdrop costs: compiles translation units one at a time and prints, for each, the compiler's user
# CPU seconds and peak memory (/usr/bin/time). CPU time, not wall time, so that a busy machine changes little.
#
#   scripts/compile-cost.sh                       # the full table: programs, every public header alone, the largest
#                                                 # test files; g++ (and clang++ when present) at -O2 and -O0 -g
#   scripts/compile-cost.sh --only quickstart     # some rows only: words (each with its "(compiled)" twin), or
#                                                 # exact names separated by commas
#   scripts/compile-cost.sh --compilers g++ --levels O2
#   scripts/compile-cost.sh --check               # CI: the quickstart at -O2 with g++, fails past twice the budget
#   scripts/compile-cost.sh --markdown            # the table as Markdown (docs/benchmarks.md)
#
# Rows: quickstart (examples/quickstart.cpp, the umbrella), sparse-vd-mlp (examples/sparse_vd_mlp.cpp: one family,
# Sequential and fit), by-name (models/zoo.hpp's build_model<float>: every family in float), trainer
# (examples/mnist/main.cpp, every family), eigen (a plain Eigen program, for scale),
# header:<path> (each public header with an empty main), test:<file> (the largest test files). The programs are
# compiled twice: header-only, and as a program that links the optional compiled library (bayesdrop::compiled,
# -DBAYESDROP_COMPILED_LIB) would be, marked "(compiled)". Only compilation is timed (-c), not linking.
#
# Flags as a user's build: -std=c++17 -march=native -fopenmp, Eigen from /usr/include/eigen3 (or $EIGEN_INCLUDE_DIR).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The budget of issue #28 (g++ 12, -O2 -march=native, this project's 2-core machines): CPU seconds and MB.
budget_quickstart_s=10
budget_quickstart_mb=700

only=""
compilers=""
levels="O2 O0g"
check=0
markdown=0
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) only="${2:?--only needs a list of rows}"; shift 2 ;;
    --compilers) compilers="${2:?--compilers needs a list, e.g. g++ or 'g++ clang++'}"; shift 2 ;;
    --levels) levels="${2:?--levels needs O2, O0g or both}"; shift 2 ;;
    --check) check=1; only="${only:-quickstart}"; compilers="${compilers:-g++}"; levels="O2"; shift ;;
    --markdown) markdown=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compile-cost: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ ! -x /usr/bin/time ]]; then
  echo "compile-cost: /usr/bin/time is missing (Debian: apt-get install time)" >&2
  exit 2
fi
if [[ -z "$compilers" ]]; then
  compilers="g++"
  command -v clang++ >/dev/null 2>&1 && compilers="g++ clang++"
fi
for c in $compilers; do
  command -v "$c" >/dev/null 2>&1 || { echo "compile-cost: compiler '$c' not found" >&2; exit 2; }
done
for l in $levels; do
  [[ "$l" == O2 || "$l" == O0g ]] || { echo "compile-cost: level '$l' is neither O2 nor O0g" >&2; exit 2; }
done

eigen="${EIGEN_INCLUDE_DIR:-/usr/include/eigen3}"
if [[ ! -f "$eigen/Eigen/Core" ]]; then
  echo "compile-cost: Eigen not found at $eigen (Debian: apt-get install libeigen3-dev, or set EIGEN_INCLUDE_DIR)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat >"$work/eigen.cpp" <<'EOF'
#include <Eigen/Dense>
#include <cstdio>
int main() {
  Eigen::MatrixXf a = Eigen::MatrixXf::Constant(64, 64, 0.5f), b = a * a;
  std::printf("%f\n", double(b.sum()));
}
EOF

cat >"$work/by_name.cpp" <<'EOF'
#include <bayesdrop/models/zoo.hpp>
#include <cstdio>
int main() {
  bayesdrop::Rng rng(1);
  auto net = bayesdrop::build_model<float>(bayesdrop::ModelSpec{"mlp", "sbp"}, rng);
  std::printf("%ld layers\n", long(net.size()));
}
EOF

# rows: "name|source|extra flags"
rows=()
rows+=("eigen|$work/eigen.cpp|")
rows+=("quickstart|examples/quickstart.cpp|")
rows+=("quickstart (compiled)|examples/quickstart.cpp|-DBAYESDROP_COMPILED_LIB")
rows+=("sparse-vd-mlp|examples/sparse_vd_mlp.cpp|")
rows+=("sparse-vd-mlp (compiled)|examples/sparse_vd_mlp.cpp|-DBAYESDROP_COMPILED_LIB")
rows+=("by-name|$work/by_name.cpp|")
rows+=("by-name (compiled)|$work/by_name.cpp|-DBAYESDROP_COMPILED_LIB")
rows+=("trainer|examples/mnist/main.cpp|-Iexamples/common")
rows+=("trainer (compiled)|examples/mnist/main.cpp|-Iexamples/common -DBAYESDROP_COMPILED_LIB")
while IFS= read -r h; do
  rel="${h#include/}"
  printf '#include <%s>\nint main() {}\n' "$rel" >"$work/header_${rel//\//_}.cpp"
  rows+=("header:$rel|$work/header_${rel//\//_}.cpp|")
done < <(find include/bayesdrop -name '*.hpp' | sort)
# the five largest test sources by lines
while IFS= read -r t; do
  flags="-Itests -Iexamples/common -Iexamples/mnist -Iexamples/uncertainty"
  rows+=("test:${t#tests/}|$t|$flags")
  rows+=("test:${t#tests/} (compiled)|$t|$flags -DBAYESDROP_COMPILED_LIB")  # as the suite builds them
done < <(find tests -name 'test_*.cpp' -print0 | xargs -0 wc -l | grep -v ' total$' | sort -rn | head -n 5 |
  awk '{print $2}')

selected() {  # selected <name>
  [[ -z "$only" ]] && return 0
  local want wants
  # a comma-separated list names rows exactly ("quickstart (compiled),trainer"); else words, each with its
  # "(compiled)" twin
  if [[ "$only" == *,* ]]; then
    IFS=',' read -ra wants <<<"$only"
    for want in "${wants[@]}"; do [[ "$1" == "$want" ]] && return 0; done
    return 1
  fi
  for want in $only; do
    [[ "$1" == "$want" ]] && return 0
    [[ $check -eq 0 && "$1" == "$want (compiled)" ]] && return 0
  done
  return 1
}

results=()
failed=0
for c in $compilers; do
  for l in $levels; do
    opt="-O2"
    [[ "$l" == O0g ]] && opt="-O0 -g"
    for row in "${rows[@]}"; do
      IFS='|' read -r name src extra <<<"$row"
      selected "$name" || continue
      [[ -f "$src" ]] || { echo "compile-cost: $src is missing" >&2; exit 2; }
      # shellcheck disable=SC2086  # $opt and $extra are flag lists
      if /usr/bin/time -f '%U %M' -o "$work/time" "$c" -std=c++17 $opt -march=native -fopenmp -Iinclude \
        -isystem "$eigen" $extra -c "$src" -o "$work/out.o" 2>"$work/err"; then
        read -r user kb <"$work/time"
        mb=$((kb / 1024))
      else
        echo "compile-cost: $c failed on $src:" >&2
        head -n 20 "$work/err" >&2
        user="fail"
        mb="-"
        failed=1
      fi
      results+=("$name|$c|$l|$user|$mb")
      [[ $markdown -eq 1 ]] || printf '%-48s %-8s %-4s %8s s %7s MB\n' "$name" "$c" "$l" "$user" "$mb"
    done
  done
done

if [[ $markdown -eq 1 ]]; then
  echo "| translation unit | compiler | flags | CPU (user) s | peak MB |"
  echo "|---|---|---|---:|---:|"
  for r in "${results[@]}"; do
    IFS='|' read -r name c l user mb <<<"$r"
    flags="-O2"
    [[ "$l" == O0g ]] && flags="-O0 -g"
    echo "| $name | $c | $flags | $user | $mb |"
  done
fi

if [[ $check -eq 1 ]]; then
  for r in "${results[@]}"; do
    IFS='|' read -r name c l user mb <<<"$r"
    [[ "$name" == quickstart ]] || continue
    if [[ "$user" == fail ]]; then
      echo "compile-cost: FAIL: the quickstart did not compile" >&2
      exit 1
    fi
    over_s="$(awk -v u="$user" -v b="$budget_quickstart_s" 'BEGIN { print (u > 2 * b) ? 1 : 0 }')"
    if [[ "$over_s" -eq 1 || "$mb" -gt $((2 * budget_quickstart_mb)) ]]; then
      echo "compile-cost: FAIL: the quickstart took ${user} s and ${mb} MB; the budget is ${budget_quickstart_s} s" \
        "and ${budget_quickstart_mb} MB, and the check fails past twice that. Did a header start instantiating" \
        "layers (the registry's families, a non-template inline function using Eigen)? See docs/design.md," \
        "\"What a header may instantiate\"." >&2
      exit 1
    fi
    echo "compile-cost: quickstart ${user} s, ${mb} MB (budget ${budget_quickstart_s} s, ${budget_quickstart_mb} MB;" \
      "fails past twice that)"
  done
fi
exit $failed
