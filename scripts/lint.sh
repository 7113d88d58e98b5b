#!/usr/bin/env bash
# Style and static checks; reports, never edits (unless --fix, which runs clang-format -i on the flagged files).
#   1. clang-format --dry-run --Werror (rules in .clang-format) on the C++ sources of include/ src/ tests/ bench/
#      examples/
#   2. cppcheck --std=c++17 --enable=warning,performance,portability on the public headers
# Exit status 0 iff both are clean. Usage: scripts/lint.sh [--fix]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fix=0
[[ "${1:-}" == "--fix" ]] && fix=1

status=0
mapfile -t sources < <(find include src tests bench examples -type f \
  \( -name '*.hpp' -o -name '*.h' -o -name '*.cpp' -o -name '*.cc' \) 2>/dev/null | sort)

# --- 1. clang-format ----------------------------------------------------------------------------------------------
flagged=()
for f in "${sources[@]}"; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
    flagged+=("$f")
  fi
done
echo "lint: clang-format: ${#flagged[@]} of ${#sources[@]} files need formatting"
for f in "${flagged[@]}"; do
  n="$(clang-format --dry-run "$f" 2>&1 | grep -c 'warning:' || true)"
  echo "  $f ($n spots)"
done
if [[ ${#flagged[@]} -gt 0 ]]; then
  if [[ $fix == 1 ]]; then
    clang-format -i "${flagged[@]}"
    echo "lint: reformatted ${#flagged[@]} files"
  else
    echo "  see one with: clang-format --dry-run FILE   fix all with: scripts/lint.sh --fix"
    status=1
  fi
fi

# --- 2. cppcheck --------------------------------------------------------------------------------------------------
# Headers are listed explicitly (cppcheck skips *.hpp when given a directory). Eigen and the standard library are
# not on the include path on purpose: checking them is slow and not ours; missingIncludeSystem is only the note
# that they were not found.
mapfile -t headers < <(find include/bayesdrop -type f -name '*.hpp' | sort)
echo "lint: cppcheck: ${#headers[@]} headers"
if ! cppcheck --std=c++17 --language=c++ --enable=warning,performance,portability --inline-suppr \
  --error-exitcode=1 --suppress=missingIncludeSystem --quiet \
  --template='{file}:{line}: {severity}: {message} [{id}]' \
  -I include "${headers[@]}"; then
  echo "lint: cppcheck reported findings"
  status=1
else
  echo "lint: cppcheck: clean"
fi

[[ $status -eq 0 ]] && echo "lint: clean"
exit $status
