#!/usr/bin/env python3
"""The markdown tables of docs/benchmarks.md's quiet run of 2026-12-07 and README's speed table, from the outputs
measure.sh left in this folder: python3 results/bench/2026-12-07-quiet/tables.py"""
import json
import os
import re
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
MLP_TYPES = ["none", "binary", "gaussian", "variational", "sparsevd", "bbd", "sbp"]
# Issue #31's targets: ours / PyTorch, and each type's epoch over the plain one (bench_phases' step).
TORCH_TARGET = {"mlp": {t: 0.35 for t in MLP_TYPES}, "lenet5": {"none": 0.5, "sparsevd": 0.35, "bbd": 0.5, "sbp": 0.5}}
PLAIN_TARGET = {"binary": 1.08, "gaussian": 1.08, "sbp": 1.10, "variational": 1.45, "bbd": 1.45, "dbb": 1.6,
                "sparsevd": 2.3}


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def verdict(value, target):
    return "met" if value <= target else "**missed**"


def torch_table(model):
    eigen, onednn = load(f"compare-{model}.json"), load(f"compare-{model}-onednn.json")
    print(f"\n{model}: seconds per epoch (median of the repetitions), ours / PyTorch per repetition: median (min-max)\n")
    print("| --dropout | Eigen s | PyTorch s | Eigen / PyTorch | oneDNN s | PyTorch s | oneDNN / PyTorch | target |")
    print("|---|---:|---:|---|---:|---:|---|---|")
    for a, b in zip(eigen["rows"], onednn["rows"]):
        target = TORCH_TARGET[model][a["dropout"]]
        print(f"| {a['dropout']} | {a['ours_s']:.3f} | {a['torch_s']:.3f} | {a['ratio']:.2f} ({a['ratio_min']:.2f}-"
              f"{a['ratio_max']:.2f}) {verdict(a['ratio'], target)} | {b['ours_s']:.3f} | {b['torch_s']:.3f} | "
              f"{b['ratio']:.2f} ({b['ratio_min']:.2f}-{b['ratio_max']:.2f}) {verdict(b['ratio'], target)} | "
              f"<= {target} |")
    for side, doc in (("Eigen", eigen), ("oneDNN", onednn)):
        if doc.get("bound_s"):
            print(f"\n{side}: EpochBound {doc['bound_s']:.3f} s ({doc['bound_gflops']:.1f} GFLOP/s), plain epoch / "
                  f"bound {doc['plain_over_bound']:.2f}x; commit {doc['provenance']['commit']}, {doc['reps']} reps")


def phases_totals(name):
    """dropout -> (forward, backward, KL gradient, loss, optimiser, step, x plain) from a bench_phases output."""
    rows = {}
    with open(os.path.join(HERE, name)) as f:
        text = f.read()
    totals = text[text.index("## Totals"):]
    for line in totals.splitlines():
        m = re.match(r"\| (\w+) \|((?: [\d.]+ \|)+)$", line)
        if m:
            rows[m.group(1)] = [float(x) for x in m.group(2).split("|") if x.strip()]
    return rows


def phases_table():
    eigen, onednn = phases_totals("phases-mlp-2.txt"), phases_totals("phases-mlp-2-onednn.txt")
    print("\nMLP step by phase, 2 threads, us per step of 100 (Eigen; oneDNN's step and x plain beside it)\n")
    print("| dropout | forward | backward | KL gradient | loss | optimiser | step | x plain | oneDNN step | "
          "oneDNN x plain | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for d, r in eigen.items():
        o = onednn.get(d)
        target = PLAIN_TARGET.get(d)
        mark = "" if target is None else f"<= {target}: Eigen {verdict(r[6], target)}, oneDNN {verdict(o[6], target)}"
        print(f"| {d} | {r[0]:.0f} | {r[1]:.0f} | {r[2]:.0f} | {r[3]:.0f} | {r[4]:.0f} | {r[5]:.0f} | {r[6]:.2f} | "
              f"{o[5]:.0f} | {o[6]:.2f} | {mark} |")


def products():
    with open(os.path.join(HERE, "products.txt")) as f:
        text = f.read()
    best = re.findall(r"best at 2 threads: ([\d.]+) GFLOP/s \(([^)]*)\): epoch bound ([\d.]+) s", text)
    if best:
        rate, where, bound = best[-1]
        eigen, onednn = load("compare-mlp.json"), load("compare-mlp-onednn.json")
        e = next(r for r in eigen["rows"] if r["dropout"] == "none")["ours_s"]
        o = next(r for r in onednn["rows"] if r["dropout"] == "none")["ours_s"]
        print(f"\nbest product rate, 2 threads: {rate} GFLOP/s ({where}), {bound} s of products per epoch; plain epoch "
              f"over it: Eigen {e / float(bound):.2f}x, oneDNN {o / float(bound):.2f}x (target <= 1.3x)")


def old_new():
    runs = {}
    with open(os.path.join(HERE, "old-new.txt")) as f:
        for line in f:
            build, name, seconds = line.split()[:3]
            runs.setdefault((build, name.split("/iterations")[0]), []).append(float(seconds))
    print("\nold (Eigen's / oneDNN's own threads) against new (products cut by shape), bench_epoch, s per epoch\n")
    for (build, name), v in sorted(runs.items()):
        print(f"{build:28s} {name:18s} " + " ".join(f"{x:.3f}" for x in v) + f"  median {statistics.median(v):.3f}")


torch_table("mlp")
torch_table("lenet5")
phases_table()
products()
old_new()
