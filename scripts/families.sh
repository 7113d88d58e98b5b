# shellcheck shell=bash
# The dropout families, from the trainer itself (bayesdrop-mnist --list-dropouts [--json]): the one list the scripts
# take their family names from, so that a family registered once in the library appears in every script. Sourced;
# needs python3 for the JSON.
#   family_names TRAINER [KIND]         every family, one a line, in the registry's order; KIND (gates, dense or conv)
#                                       keeps the families of that kind
#   family_start TRAINER NAME           the family whose model NAME's runs start from (--init-from), empty when none
#   check_families TRAINER WHO NAME...  exits 2, naming each NAME the trainer does not list: for a script whose list
#                                       is a deliberate choice (the course table's rows, the torch references' types)

# The listing as JSON, or exit 2 naming the trainer.
family_listing_json() {
  "$1" --list-dropouts --json || {
    echo "$(basename "$0"): '$1 --list-dropouts --json' failed; is it a bayesdrop-mnist of this source tree?" >&2
    exit 2
  }
}

family_names() {
  local json
  json="$(family_listing_json "$1")" || exit 2
  python3 -c '
import json, sys
kind = sys.argv[1]
for f in json.loads(sys.stdin.read()):
    if not kind or f[kind]:
        print(f["name"])' "${2:-}" <<<"$json"
}

family_start() {
  local json
  json="$(family_listing_json "$1")" || exit 2
  python3 -c '
import json, sys
for f in json.loads(sys.stdin.read()):
    if f["name"] == sys.argv[1]:
        print(f["starts_from"])' "$2" <<<"$json"
}

check_families() {
  local trainer="$1" who="$2" listed name unknown=()
  shift 2
  listed="$("$trainer" --list-dropouts)" || {
    echo "$who: '$trainer --list-dropouts' failed; is it a bayesdrop-mnist of this source tree?" >&2
    exit 2
  }
  for name in "$@"; do
    grep -qxF -- "$name" <<<"$listed" || unknown+=("$name")
  done
  if ((${#unknown[@]} > 0)); then
    echo "$who: not a dropout family of $trainer --list-dropouts: ${unknown[*]} (it lists: $(echo $listed))" >&2
    exit 2
  fi
}
