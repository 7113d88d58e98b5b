#!/usr/bin/env bash
# Fuzzes the IDX reader: scripts/fuzz-idx.sh [SECONDS] is scripts/fuzz.sh idx [SECONDS] (see there).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/fuzz.sh" idx "$@"
