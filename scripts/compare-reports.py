#!/usr/bin/env python3
"""Do two builds of the trainer train the same? Runs bayesdrop-mnist from two builds with the same flags for every
dropout family and compares their JSON reports field by field (timings, thread counts and provenance aside).

  scripts/compare-reports.py OLD_TRAINER NEW_TRAINER [--epochs 2] [--model mlp] [--data DIR] [--keep DIR]
                             [--threads-old 1] [--threads-new 1]

The same trainer given twice with --threads-new 2 checks that the thread count changes no number (issue #31).

A change that should not alter any number (a refactoring, the compile-time work of issue #28) passes it; the script
exits 1 naming the first differing field of each family that differs. dbb starts from the bbd run's saved model, as
the trainer requires. Families come from the new trainer itself (--list-dropouts --json, scripts/reports_lib.py):
every family it lists, in its order; one that starts from another's model (starts_from: dbb from bbd) gets that
run's saved model, on each side.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reports_lib  # noqa: E402

# Fields that measure the run rather than its result, and init_from (each side starts dbb from its own bbd file,
# whose contents the bbd comparison checks). A field only the new report has is reported, except these.
IGNORED = {"epoch_seconds", "seconds", "epoch_threads", "threads", "threads_requested", "provenance", "wall_seconds",
           "train_seconds", "init_from"}


def diff(a, b, path=""):
    """The first path where a and b differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in IGNORED:
                continue
            if k not in a or k not in b:
                return f"{path}/{k} (only in {'new' if k in b else 'old'})"
            d = diff(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length {len(a)} against {len(b)})"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} against {b!r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--data", default=os.environ.get("BAYESDROP_MNIST_DIR", "data/mnist"))
    ap.add_argument("--keep", help="write the reports here instead of a temporary folder")
    ap.add_argument("--only", help="comma-separated families (default: all the new trainer lists)")
    ap.add_argument("--threads-old", type=int, default=1, help="threads of the old side's runs (default 1)")
    ap.add_argument("--threads-new", type=int, default=1, help="threads of the new side's runs (default 1)")
    args = ap.parse_args()
    for t in (args.old, args.new):
        if not os.access(t, os.X_OK):
            sys.exit(f"compare-reports: {t} is not an executable trainer")

    try:
        listed = reports_lib.listing(args.new)
        if args.only:
            reports_lib.check_families(args.only.split(","), args.new, "--only")
    except reports_lib.FamilyError as e:
        sys.exit(f"compare-reports: {e}")
    start = {f["name"]: f.get("starts_from") or "" for f in listed}
    names = args.only.split(",") if args.only else [f["name"] for f in listed]
    moved = True
    while moved:  # a family's start runs before it (and saves its model), its own start before that
        moved = False
        for fam in names:
            s = start[fam]
            if s and s not in names[:names.index(fam)]:
                if s in names:
                    names.remove(s)
                names.insert(names.index(fam), s)
                moved = True
                break
    starts = {start[fam] for fam in names if start[fam]}
    out = args.keep or tempfile.mkdtemp(prefix="compare-reports-")
    os.makedirs(out, exist_ok=True)
    bad = 0
    for fam in names:
        reports = []
        for side, trainer, threads in (("old", args.old, args.threads_old), ("new", args.new, args.threads_new)):
            report = os.path.join(out, f"{side}-{args.model}-{fam}.json")
            cmd = [trainer, "--data", args.data, "--model", args.model, "--dropout", fam, "--epochs",
                   str(args.epochs), "--threads", str(threads), "--quiet", "--report", report]
            if fam in starts:
                cmd += ["--save", os.path.join(out, f"{side}-{args.model}-{fam}.model")]
            if start[fam]:
                cmd += ["--init-from", os.path.join(out, f"{side}-{args.model}-{start[fam]}.model")]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{fam}: the {side} trainer failed ({r.returncode}): {r.stderr.strip()[:300]}")
                bad = 1
                reports = None
                break
            with open(report) as f:
                reports.append(json.load(f))
        if reports is None:
            continue
        d = diff(reports[0], reports[1])
        acc = reports[1].get("test_accuracy")
        print(f"{fam:12s} {'equal' if d is None else 'DIFFERS at ' + d}  (test accuracy {acc})")
        bad |= d is not None
    print(f"reports in {out}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
