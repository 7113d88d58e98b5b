#!/usr/bin/env python3
"""Markdown tables of a scripts/run-benchmarks.sh run: python3 scripts/bench-tables.py results/bench

The per-layer table has a row per family that bench_layers ran (it registers one per family of the library's
registry, bayesdrop::dropout_names(): the list bayesdrop-mnist --list-dropouts prints), in its order; no list is
kept here. Each table names the commit its benchmark was built from (the output's context or provenance, when it
has one)."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reports_lib  # noqa: E402

TO_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
SHAPES = ["784x500", "500x300", "300x10", "conv1", "conv2"]


def load(path):
    with open(path) as f:
        return json.load(f)


def us(run):
    return run["real_time"] * TO_US[run["time_unit"]]


def layer_families(runs):
    """The families of the Train/<shape>/<family>/<threads> and Eval/... benchmarks, in the order they ran."""
    families = []
    for name in runs:
        parts = name.split("/")
        if len(parts) == 4 and parts[0] in ("Train", "Eval") and parts[2] not in families:
            families.append(parts[2])
    return families


def commit_note(commit):
    """' Commit abc1234.' for a benchmark output that names its commit; '' for one from before they did."""
    return "" if commit is None else f" Commit {reports_lib.short_commit(commit)}."


def epoch_tables(out):
    for t in (2, 1):
        path = os.path.join(out, f"compare-torch-{t}.json")
        if not os.path.exists(path):
            continue
        doc = load(path)
        print(f"### One training epoch, {t} thread{'s' if t > 1 else ''} (median of {doc['reps']}, data: {doc['data']})\n")
        print("| dropout | bayesdrop s | PyTorch s | bayesdrop / PyTorch | target <= 0.5 |")
        print("|---|---:|---:|---:|---|")
        for r in doc["rows"]:
            print(f"| {r['dropout']} | {r['ours_s']:.3f} | {r['torch_s']:.3f} | {r['ratio']:.3f} | "
                  f"{'met' if r['ratio'] <= 0.5 else 'not met'} |")
        plain = next((r for r in doc["rows"] if r["dropout"] == "none"), None)
        print(f"\nBound: {doc['bound_s']:.3f} s per epoch ({doc['bound_gflops']:.1f} GFLOP/s on the step's products)."
              + (f" Plain epoch / bound = {plain['ours_s'] / doc['bound_s']:.2f} (target <= 1.5: "
                 f"{'met' if plain['ours_s'] / doc['bound_s'] <= 1.5 else 'not met'})." if plain else ""))
        print(f"Machine: {doc['machine']['cpu']}, {doc['machine']['cores']} cores; PyTorch {doc['torch']['version']}"
              f" (tuned: {doc['torch']['tuned']}); {doc['date']}."
              + commit_note(doc.get("provenance", {}).get("commit")) + "\n")


def layer_tables(out):
    path = os.path.join(out, "layers.json")
    if not os.path.exists(path):
        return
    doc = load(path)
    runs = {b["name"].replace("/real_time", ""): b for b in doc["benchmarks"]}
    commit = commit_note(doc.get("context", {}).get("bayesdrop_commit"))
    if commit:
        print(f"bench_layers:{commit}\n")
    for mode in ("Train", "Eval"):
        what = "forward + backward + KL gradient" if mode == "Train" else "evaluation forward"
        print(f"### One layer, {what}: microseconds per batch of 100 (1 thread / 2 threads)\n")
        print("| dropout | " + " | ".join(SHAPES) + " |")
        print("|---|" + "---:|" * len(SHAPES))
        for d in layer_families(runs):
            cells = []
            for s in SHAPES:
                a, b = runs.get(f"{mode}/{s}/{d}/1"), runs.get(f"{mode}/{s}/{d}/2")
                cells.append(f"{us(a):.0f} / {us(b):.0f}" if a and b else "-")
            print(f"| {d} | " + " | ".join(cells) + " |")
        print()
    print("### Local reparameterisation against sampled weights (sparse VD dense layer, training): microseconds per "
          "batch of 100 (1 thread / 2 threads)\n")
    print("| shape | LRT (SparseVDLinear) | one W per batch | one W per example |")
    print("|---|---:|---:|---:|")
    for s in SHAPES[:3]:
        cells = []
        for kind in ("Lrt", "WeightsPerBatch", "WeightsPerExample"):
            a, b = runs.get(f"{kind}/{s}/1"), runs.get(f"{kind}/{s}/2")
            cells.append(f"{us(a):.0f} / {us(b):.0f}" if a and b else "-")
        print(f"| {s} | " + " | ".join(cells) + " |")
    print()


def compact_table(out):
    path = os.path.join(out, "compact.json")
    if not os.path.exists(path):
        return
    med = {b["run_name"].replace("/real_time", ""): b for b in load(path)["benchmarks"]
           if b.get("aggregate_name") == "median"}
    rows = [("784-500-300-10, SBP (245-160-55 kept)", "BM_MlpSbpMasked", "BM_MlpSbpCompact", "2.33"),
            ("LeNet-5-Caffe, SBP (3-18-284-283 kept)", "BM_LeNet5SbpMasked", "BM_LeNet5SbpCompact", "5.41"),
            ("LeNet-300-100, sparse VD (98.9/97.2/62.0 % pruned)", "BM_LeNet300SvdMasked", "BM_LeNet300SvdDefault",
             "-")]
    print("### Test-set inference of pruned models (10000 examples in batches of 1000): masked against compact\n")
    print("| model | threads | masked ms / 1000 | compact ms / 1000 | speed-up | published CPU speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, masked, compact, paper in rows:
        for t in (1, 2):
            a, b = med.get(f"{masked}/{t}"), med.get(f"{compact}/{t}")
            if a and b:
                print(f"| {label} | {t} | {us(a) / 1e3:.3f} | {us(b) / 1e3:.3f} | {us(a) / us(b):.2f}x | {paper} |")
    print()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    epoch_tables(out)
    layer_tables(out)
    compact_table(out)


if __name__ == "__main__":
    main()
