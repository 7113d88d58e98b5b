#!/usr/bin/env python3
"""Turns bayesdrop-mnist reports into a results table with its targets, as markdown and
JSON: --set table is the course assignment's table (section 1, scripts/reproduce-table.sh), --set papers the
papers' 200-epoch rows (section 2, scripts/reproduce-papers.sh). A row passes when every target of it holds.
A variant of a row (<run>~<name>.json: one of the authors' choices changed) is listed under the row.

A row may have several seeded runs (<run>.seed<S>.json, as reproduce-table.sh --seeds writes them; they take the place of
<run>.json):
it then shows the mean and the spread (sample standard deviation; min-max for n_active) over the seeds, and its
targets are checked on the mean.

Each row names the commit its reports were written by (their "provenance"; "before provenance" for older reports).
The rows are a deliberate choice (the course table's families, the papers' rows); --trainer (default: the release
build's bayesdrop-mnist, when built) checks that each is a family the trainer lists (--list-dropouts), and stops
naming the ones it does not."""
import argparse
import glob
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reports_lib  # noqa: E402

# run name: (label, minimum test accuracy %, n_active upper bounds per gate or None, minimum compression or None,
#            the published accuracy or None)
TABLE = {
    "none": ("none", 98.14, None, None, 98.14),
    "bbd": ("beta-Bernoulli (BBD)", 98.70, [366, 202, 159], None, 98.78),
    "sbp": ("structured Bayesian pruning (SBP)", 98.40, [325, 147, 113], None, 98.46),
    "binary": ("binary (p = 0.2 input, 0.5 hidden)", 98.50, None, None, None),
    "gaussian": ("Gaussian (alpha = p / (1 - p))", 98.50, None, None, None),
    "variational": ("variational (learned alpha <= 1)", 98.50, None, None, None),
    "sparsevd": ("sparse VD", 98.30, None, 30.0, None),
}

# Section 2: error <= published (LeNet-5 sparse VD: 0.80 %), units no more than 10 % above the published ones.
def _units(published):
    return [int(u * 1.1) for u in published]


PAPERS = {
    "lenet300-sparsevd": ("LeNet-300-100, sparse VD", 100 - 1.92, None, 68.0, 100 - 1.92),
    "lenet5-sparsevd": ("LeNet-5-Caffe, sparse VD", 100 - 0.80, None, 200.0, 100 - 0.75),
    "mlp-sbp": ("784-500-300, SBP", 100 - 1.60, _units([245, 160, 55]), None, 100 - 1.55),
    "lenet5-sbp": ("LeNet-5-Caffe, SBP", 100 - 0.90, _units([3, 18, 284, 283]), None, 100 - 0.86),
    "mlp-bbd": ("784-500-300, BB", 100 - 1.40, _units([294, 110, 71]), None, 100 - 1.30),
}
TARGETS = TABLE


def _mean(values):
    return sum(values) / len(values)


def _spread(values):
    return statistics.stdev(values) if len(values) > 1 else 0.0


def row(dropout, reports):
    """One table row from the reports of one run's seeds: means over them, with their spread."""
    label, min_acc, max_active, min_compression, published = TARGETS[dropout]
    report = reports[0]
    accs = [100.0 * r["test_accuracy"] for r in reports]
    acc = _mean(accs)
    layers = report["layers"]
    per_seed_active = [r["n_active"] or [l["active_in"] for l in r["layers"]] for r in reports]  # gates if any
    n_active = [round(_mean(col), 1) for col in zip(*per_seed_active)]
    if len(reports) == 1:
        n_active = [int(a) for a in n_active]
    compressions = [r["compression"] for r in reports]
    checks = [acc >= min_acc]
    if max_active:
        checks.append(all(a <= m for a, m in zip(n_active, max_active)))
    if min_compression:
        checks.append(_mean(compressions) >= min_compression)
    seconds = [s for r in reports for s in r.get("epoch_seconds", [])]
    return {
        "dropout": dropout,
        "label": label,
        "test_accuracy": round(acc, 2),
        "test_accuracy_spread": round(_spread(accs), 2),
        "test_accuracy_per_seed": [round(a, 2) for a in accs],
        "seeds": [r["seed"] for r in reports],
        "n_active_range": [[min(col), max(col)] for col in zip(*per_seed_active)],
        "published_accuracy": published,
        "target_accuracy": min_acc,
        "n_active": n_active,
        "target_n_active": max_active,
        "input_kept": [round(100.0 * _mean([r["layers"][i]["input_kept"] for r in reports]), 2)
                       for i in range(len(layers))],
        "memory_kept": round(100.0 * _mean([r["memory_kept"] for r in reports]), 2),
        "flops_kept": round(100.0 * _mean([r["flops_kept"] for r in reports]), 2),
        "compression": round(_mean(compressions), 1),
        "compression_spread": round(_spread(compressions), 1),
        "target_compression": min_compression,
        "epochs": report["epochs"],
        "seed": report["seed"],
        "threads": report["threads"],
        "seconds_per_epoch": round(sum(seconds) / len(seconds), 2) if seconds else None,
        "minutes": round(sum(seconds) / 60.0 / len(reports), 1) if seconds else None,
        "meets_target": all(checks),
        "commits": [reports_lib.commit(r) for r in reports],  # per seed; None: written before provenance
    }


def markdown(rows, machine):
    out = [
        "| run | test acc % (target) | n_active per gate, or active inputs per layer (target) | input kept per layer % | memory kept % "
        "| FLOPs kept % | weight compression | s/epoch | minutes | meets target | commit |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    all_seeds = sorted({s for r in rows for s in r["seeds"]})
    for r in rows:
        target_active = ", ".join(map(str, r["target_n_active"])) if r["target_n_active"] else "all"
        several = len(r["seeds"]) > 1
        # a row run on fewer seeds than the table's (a set still running, or a single-seed variant) says which
        label = r["label"]
        if len(all_seeds) > 1 and sorted(r["seeds"]) != all_seeds:
            label += f" [seed{'s' if several else ''} {', '.join(map(str, sorted(r['seeds'])))}]"
        compression = f"{r['compression']}x" + (f" ± {r['compression_spread']}" if several else "") + (
            f" (>= {r['target_compression']:.0f}x)" if r["target_compression"] else "")
        acc = f"{r['test_accuracy']:.2f}" + (f" ± {r['test_accuracy_spread']:.2f}" if several else "")
        active = ", ".join(map(str, r["n_active"]))
        if several:
            active += " [" + ", ".join(f"{lo}-{hi}" for lo, hi in r["n_active_range"]) + "]"
        out.append(
            f"| {label} | {acc} (>= {r['target_accuracy']:.2f}) "
            f"| {active} ({target_active}) "
            f"| {', '.join(f'{v:.2f}' for v in r['input_kept'])} | {r['memory_kept']:.2f} | {r['flops_kept']:.2f} "
            f"| {compression} | {r['seconds_per_epoch']} | {r['minutes']} | {'yes' if r['meets_target'] else '**no**'} "
            f"| {reports_lib.commits_cell(r['commits'])} |"
        )
    epochs = sorted({r["epochs"] for r in rows})
    out.append("")
    seeds = all_seeds
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else (
        f"seeds {', '.join(map(str, seeds))}, a row on fewer says which (mean ± standard deviation over the seeds, n_active as mean [min-max]; "
        f"targets checked on the mean)")
    out.append(f"{', '.join(map(str, epochs))} epochs, {seed_text}, {rows[0]['threads']} threads, {machine}. "
               f"Inputs kept: active inputs of each weight layer (n_active of its gate). Memory and FLOPs kept: "
               f"parameters and multiply-adds of the pruned model / the dense one. Commit: the code that wrote "
               f"the row's reports (their provenance). Written by scripts/make-table.py.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", required=True, help="folder with <run>.json reports")
    ap.add_argument("--set", choices=["table", "papers"], default="table")
    ap.add_argument("--machine", default="")
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--trainer", default=reports_lib.default_trainer(),
                    help="bayesdrop-mnist whose --list-dropouts the rows' families are checked against (default: "
                         "$BAYESDROP_MNIST_EXE or build/release's, when built; without one no check)")
    args = ap.parse_args()
    global TARGETS
    TARGETS = TABLE if args.set == "table" else PAPERS
    if args.trainer:
        # the table's keys are families; the papers' rows are <model>-<family>
        names = list(TARGETS) if args.set == "table" else [k.split("-", 1)[1] for k in TARGETS]
        try:
            reports_lib.check_families(names, args.trainer, f"make-table (--set {args.set})")
        except reports_lib.FamilyError as e:
            sys.exit(str(e))
    rows = []
    for dropout in TARGETS:
        # Seeded reports when there are any (reproduce-table.sh --seeds), else the single run's.
        paths = sorted(glob.glob(os.path.join(glob.escape(args.runs), dropout + ".seed*.json")))
        paths = paths or [os.path.join(args.runs, dropout + ".json")]
        reports = []
        for path in paths:
            if os.path.exists(path):
                with open(path) as f:
                    reports.append(json.load(f))
        if reports:
            rows.append(row(dropout, reports))
        # Variants of a row (reproduce-papers.sh --variant NAME writes <row>~NAME.json, or <row>~NAME.seed<S>.json
        # with --seeds): listed under it, a variant's seeds as one row with their mean and spread.
        variants = {}
        for path in sorted(glob.glob(os.path.join(glob.escape(args.runs), dropout + "~*.json"))):
            name = os.path.basename(path)[len(dropout) + 1:-len(".json")]
            base, dot, seed = name.rpartition(".seed")
            if dot and seed.isdigit():
                name = base
            variants.setdefault(name, {})[path] = bool(dot and seed.isdigit())
        for name, paths in sorted(variants.items()):
            seeded = [p for p, is_seeded in paths.items() if is_seeded]
            reports = []
            for path in sorted(seeded or paths):  # the seeded reports take the place of a single one
                with open(path) as f:
                    reports.append(json.load(f))
            variant = row(dropout, reports)
            variant["variant"] = name
            variant["label"] += f" (variant {name})"
            rows.append(variant)
    if not rows:
        sys.exit(f"make-table: no reports in {args.runs}; run scripts/reproduce-table.sh first")
    with open(args.md, "w") as f:
        f.write(markdown(rows, args.machine))
    with open(args.json, "w") as f:
        json.dump({"machine": args.machine, "rows": rows}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
