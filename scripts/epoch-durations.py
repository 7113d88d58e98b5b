#!/usr/bin/env python3
"""Per-epoch training time of each dropout family, read from trainer reports (their "epoch_seconds" and
"epoch_threads"), so that a duration quoted in README comes from committed records:

    scripts/epoch-durations.py results/tradeoff/*.json [--md FILE]

One row per (model, dropout, threads): the median over every epoch of every report of that kind, the range of the
runs' own medians, and how many runs and epochs it counts. Reports give the seconds of the training pass only (not
the test evaluation after each epoch). Exits 2, naming the file, for a report without epoch_seconds.
"""
import argparse
import json
import statistics
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+", help="trainer --report files")
    ap.add_argument("--md", help="also write the table to this file")
    args = ap.parse_args()
    groups = {}
    for path in args.reports:
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit(f"epoch-durations: cannot read {path}: {e}")
        seconds = r.get("epoch_seconds")
        if not seconds:
            print(f"epoch-durations: {path} has no epoch_seconds (not a training report?)", file=sys.stderr)
            sys.exit(2)
        threads = sorted({t for t in r.get("epoch_threads") or [r.get("threads")] if t is not None})
        key = (r.get("model", "?"), r.get("dropout", "?"), ",".join(map(str, threads)) or "?")
        groups.setdefault(key, []).append(seconds)
    lines = ["| model | dropout | threads | s/epoch (median of all epochs) | run medians (min-max) | runs | epochs |",
             "|---|---|---|---|---|---|---|"]
    for (model, dropout, threads), runs in sorted(groups.items()):
        every = [s for run in runs for s in run]
        medians = [statistics.median(run) for run in runs]
        lines.append(f"| {model} | {dropout} | {threads} | {statistics.median(every):.2f} | "
                     f"{min(medians):.2f}-{max(medians):.2f} | {len(runs)} | {len(every)} |")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.md:
        with open(args.md, "w") as f:
            f.write("# Training seconds per epoch, from the reports\n\n")
            f.write("Written by `scripts/epoch-durations.py " + " ".join(args.reports[:3]) +
                    (" ..." if len(args.reports) > 3 else "") + "`.\n\n" + text)


if __name__ == "__main__":
    main()
