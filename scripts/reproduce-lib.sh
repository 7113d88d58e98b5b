# shellcheck shell=bash
# What the reproduction scripts (scripts/reproduce-*.sh) share; they source it.
#   draw_figures ARGS...       scripts/plot.py ARGS with Debian's matplotlib, or a note of how to draw them later
# Progress of a script's runs:
#   progress_init N            before the first of N runs
#   progress_next NAME         before each run: "[run 2/7] NAME; 3 min elapsed, about 12 min left"
#   progress_done NAME TEXT    after each run: its duration and TEXT
# The time left is the mean duration of the runs done so far times the runs still to go; before the first run ends
# there is none. Runs of one script differ in length (dropout types, models), so it is an estimate, no more.
progress_total=0 progress_index=0 progress_start=0 progress_run_start=0

progress_minutes() {  # seconds -> "42 s" or "12.5 min"
  if (($1 < 120)); then echo "$1 s"; else awk -v s="$1" 'BEGIN { printf "%.1f min", s / 60 }'; fi
}

progress_init() {
  progress_total="$1" progress_index=0 progress_start=$(date +%s)
}

progress_next() {
  progress_index=$((progress_index + 1))
  progress_run_start=$(date +%s)
  local elapsed=$((progress_run_start - progress_start)) done=$((progress_index - 1)) left="time left not known yet"
  if ((done > 0)); then
    left="about $(progress_minutes $((elapsed * (progress_total - done) / done))) left"
  fi
  echo "[run $progress_index/$progress_total] $1; $(progress_minutes "$elapsed") elapsed, $left"
}

progress_done() {
  echo "[run $progress_index/$progress_total] $1 took $(progress_minutes $(($(date +%s) - progress_run_start)))${2:+: $2}"
}

# The figures are drawn by scripts/plot.py; the runs stand without them, so a missing matplotlib is a note, not an
# error. Expects $repo, the repository's root.
draw_figures() {
  if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    /usr/bin/python3 "${repo:?draw_figures needs \$repo}/scripts/plot.py" "$@"
  else
    echo "$(basename "$0"): no figures: python3-matplotlib is missing (apt-get install python3-matplotlib), then:" \
      "scripts/plot.py $*" >&2
  fi
}
