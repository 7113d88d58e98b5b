#!/usr/bin/python3
"""The accuracy-versus-cost trade-off of the pruning methods on LeNet-500-300 (scripts/tradeoff.sh's sweep): its
table as markdown and JSON, and its figure (test error against FLOPs reduction and against memory kept, one line
per method, the published points overlaid).

    scripts/tradeoff.py REPORT.json... --published scripts/tradeoff_published.json --md OUT.md --json OUT.json
                        [--figures DIR] [--formats png,svg] [--machine TEXT] [--trainer BAYESDROP_MNIST]

Each REPORT is a bayesdrop-mnist --report of the MLP 784-500-300-10 (dropout none, bbd, sbp, dbb, sparsevd, vib,
gd, l0 or ssl; the BB authors' comparison has no L0 points).
Its sweep value is read from the report: the gates' learning rate (lr_noise) for the gate families, the rate (kl_scales / 60000) for ssl, the KL weight
(kl_scales, one per layer, all equal) for sparsevd.

Costs are counted as the published ones are (OpenXAIProject/Variational_Dropouts, src/experiments/flops and
memory), from the units each layer keeps (n_active: input pixels, h1, h2):
  FLOPs of a dense layer n_in -> n_out: n_in n_out + n_out (+ n_out for its ReLU); reduction = 546610 / FLOPs
  memory of a dense layer: n_in n_out + n_out parameters; kept = memory / 545810
  dbb: the dense layers read the per-example counts d (report n_active_per_example) and produce the
       beta-Bernoulli counts b (report n_active); each gate adds 4 b FLOPs and 2 b parameters (its batch norm)
  sparsevd: the units that still have a weight (the neuron view of the published sparse VD points); its
       weight-level numbers (what a sparse format keeps) are listed too, from the report's own summary.
Each row names the commit its report was written by (the report's "provenance"; "before provenance" for reports
older than that). The sweep's methods are a deliberate choice (METHODS: each has its sweep value and published
points); --trainer (default: the release build's bayesdrop-mnist, when built) checks that each is a family the
trainer lists (--list-dropouts) and stops, naming the ones it does not.
Needs python3; the figure needs python3-matplotlib (Debian: apt-get install python3-matplotlib).
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reports_lib  # noqa: E402

METHODS = ["bbd", "sbp", "dbb", "sparsevd", "vib", "gd", "l0", "ssl"]
LABELS = {"none": "no pruning", "bbd": "beta-Bernoulli (BB)", "sbp": "SBP", "dbb": "dependent BB (DBB)",
          "sparsevd": "sparse VD", "vib": "VIB", "gd": "generalized dropout", "l0": "L0 gates",
          "ssl": "SSL (group lasso)"}
COLOURS = {"bbd": "tab:blue", "sbp": "tab:orange", "dbb": "tab:green", "sparsevd": "tab:red", "vib": "tab:purple",
           "gd": "tab:brown", "l0": "tab:pink", "ssl": "tab:olive", "none": "black"}
SIZES = [784, 500, 300, 10]
ORIGINAL_FLOPS = 546610
ORIGINAL_PARAMS = 545810
# targets.md section 4: BB and SBP at the default rate 1e-2, units within 10 % of the published ones (or lower), error
# no more than 0.1 point above the published curve there (SBP: the upper end of the range the figure gives).
TARGETS = {"bbd": ([294, 110, 71], 1.30), "sbp": ([255, 100, 43], 1.56)}


class TradeoffError(Exception):
    """A report or data file that cannot be used; the message names it and what is wrong."""


def fc_flops(n_in, n_out, relu=True):
    return n_in * n_out + n_out + (n_out if relu else 0)


def flops(units):
    """FLOPs of the MLP with units = [in, h1, h2] kept."""
    u = list(units) + [10]
    return sum(fc_flops(u[i], u[i + 1], relu=i < 2) for i in range(3))


def flops_dbb(bb, per_example):
    """FLOPs of a DBB MLP: beta-Bernoulli counts bb, per-example counts per_example."""
    b = list(bb) + [10]
    return sum(4 * b[i] + fc_flops(per_example[i], b[i + 1], relu=i < 2) for i in range(3))


def memory(units, bn=None):
    """Parameters of the MLP with units kept; bn: the DBB gates' units, 2 batch-norm parameters each."""
    u = list(units) + [10]
    total = sum(u[i] * u[i + 1] + u[i + 1] for i in range(3))
    return total + (2 * sum(bn) if bn else 0)


def need(report, path, key):
    if key not in report:
        raise TradeoffError(f"{path}: missing field '{key}'")
    return report[key]


def sweep_value(report, path, method):
    if method == "none":
        return None
    if method in ("sparsevd", "ssl"):
        scales = report.get("kl_scales") or []
        if not scales:
            return 1.0
        if any(s != scales[0] for s in scales):
            raise TradeoffError(f"{path}: kl_scales {scales} are not one KL weight for every layer")
        # ssl's KL scale is the comparison's rate times the 60000 training images (tradeoff.sh)
        return float(scales[0]) / 60000 if method == "ssl" else float(scales[0])
    return float(need(report, path, "lr_noise"))


def run_row(path, report):
    """One run of the sweep: its method, value, error and costs."""
    method = need(report, path, "dropout")
    if method not in METHODS + ["none"]:
        raise TradeoffError(f"{path}: dropout '{method}' is not one of the sweep's ({', '.join(['none'] + METHODS)})")
    if need(report, path, "model") != "mlp":
        raise TradeoffError(f"{path}: model '{report['model']}' is not the MLP 784-500-300-10 ('mlp')")
    layers = need(report, path, "layers")
    if len(layers) != 3:
        raise TradeoffError(f"{path}: {len(layers)} layers in 'layers', the MLP has 3")
    accuracy = float(need(report, path, "test_accuracy"))
    gates = report.get("n_active") or []
    if method in ("bbd", "sbp", "dbb", "vib", "gd", "l0"):
        if len(gates) != 3:
            raise TradeoffError(f"{path}: 'n_active' must have the 3 gates' counts, got {gates}")
        units = [int(g) for g in gates]
    else:
        units = [int(l["active_in"]) for l in layers]
    row = {"name": os.path.splitext(os.path.basename(path))[0], "method": method,
           "value": sweep_value(report, path, method), "error_percent": 100.0 * (1.0 - accuracy),
           "n_active": units, "n_active_per_example": None, "epochs": report.get("epochs"),
           "weights_memory_percent": 100.0 * float(need(report, path, "memory_kept")),
           "weights_flops_reduction": 1.0 / float(need(report, path, "flops_kept"))
           if float(report["flops_kept"]) > 0 else math.inf,
           "commit": reports_lib.commit(report)}  # None: written before the reports recorded provenance
    if method == "dbb":
        per_example = report.get("n_active_per_example") or []
        if len(per_example) != 3:
            raise TradeoffError(f"{path}: a dbb report needs 'n_active_per_example' for its 3 gates")
        row["n_active_per_example"] = [float(v) for v in per_example]
        row["flops_reduction"] = ORIGINAL_FLOPS / flops_dbb(units, row["n_active_per_example"])
        row["memory_percent"] = 100.0 * memory(row["n_active_per_example"], bn=units) / ORIGINAL_PARAMS
    else:
        row["flops_reduction"] = ORIGINAL_FLOPS / flops(units)
        row["memory_percent"] = 100.0 * memory(units) / ORIGINAL_PARAMS
    return row


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise TradeoffError(f"{path}: cannot read the {what}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise TradeoffError(f"{path}: the {what} is not JSON ({e.msg} at line {e.lineno})")


def published_point(published, method, value):
    for p in published["points"].get(method, []):
        if value is not None and math.isclose(p["value"], value, rel_tol=1e-9):
            return p
    return None


def fmt_error(e):
    if e is None:
        return "–"
    if isinstance(e, list):
        return f"{e[0]:.2f}–{e[1]:.2f}"
    return f"{e:.2f}"


def fmt_number(point, key):
    return "–" if point is None else f"{point[key]:.2f}"


def fmt_units(u, digits=0):
    return "–" if u is None else "-".join(f"{x:.{digits}f}" for x in u)


def targets(rows, published):
    """The sweep's targets at the default rate 1e-2: BB and SBP units and error (targets.md section 4)."""
    checks = []
    for method, (units, error) in TARGETS.items():
        run = next((r for r in rows if r["method"] == method and r["value"] is not None
                    and math.isclose(r["value"], 1e-2)), None)
        if run is None:
            checks.append({"method": method, "met": None, "text": "not run yet"})
            continue
        units_ok = all(u <= 1.1 * p for u, p in zip(run["n_active"], units))
        error_ok = run["error_percent"] <= error + 0.1 + 1e-9
        checks.append({"method": method, "met": units_ok and error_ok,
                       "text": f"n_active {fmt_units(run['n_active'])} (target: each at most 10 % above "
                               f"{fmt_units(units)}: {'met' if units_ok else 'missed'}), error "
                               f"{run['error_percent']:.2f} % (target <= {error + 0.1:.2f} %: "
                               f"{'met' if error_ok else 'missed'})"})
    return checks


def markdown(rows, published, machine):
    lines = ["# The accuracy-versus-cost trade-off on LeNet-500-300 (784-500-300-10, MNIST)", "",
             "Written by scripts/tradeoff.py from the runs of scripts/tradeoff.sh"
             + (f" ({machine})" if machine else "") + ". Costs counted as the published points are "
             "(scripts/tradeoff.py's header): FLOPs reduction and memory kept from the units each layer keeps; "
             "for dbb the per-example units. \"weights\" columns: bayesdrop's own count of the kept weights "
             "(sparse VD prunes single weights). Published: OpenXAIProject/Variational_Dropouts "
             "(scripts/tradeoff_published.json names the files), errors read off its figure.", "",
             "| run | value | error % | n_active (in-h1-h2) | per example | FLOPs × | memory % | weights: FLOPs × "
             "| weights: memory % | published n_active | published FLOPs × | published memory % | published error % "
             "| commit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    order = {m: i for i, m in enumerate(["none"] + METHODS)}
    for r in sorted(rows, key=lambda r: (order[r["method"]], r["value"] or 0)):
        p = published_point(published, r["method"], r["value"]) if r["method"] != "sparsevd" else None
        value = "–" if r["value"] is None else f"{r['value']:g}"
        lines.append(
            f"| {r['name']} | {value} | {r['error_percent']:.2f} | {fmt_units(r['n_active'])} | "
            f"{fmt_units(r['n_active_per_example'], 1)} | {r['flops_reduction']:.2f} | {r['memory_percent']:.2f} | "
            f"{r['weights_flops_reduction']:.2f} | {r['weights_memory_percent']:.2f} | "
            f"{fmt_units(p['n_active']) if p else '–'} | {fmt_number(p, 'flops_reduction')} | "
            f"{fmt_number(p, 'memory_percent')} | {fmt_error(p['error_percent']) if p else '–'} | "
            f"{reports_lib.short_commit(r['commit'])} |")
    lines += ["", "Targets at the default rate 1e-2 (BB and SBP units within 10 % of the published ones or lower, "
              "error at most 0.1 point above the published curve):", ""]
    for c in targets(rows, published):
        lines.append(f"- {LABELS[c['method']]}: {c['text']}")
    missing = [m for m in ["none"] + METHODS if not any(r["method"] == m for r in rows)]
    if missing:
        lines += ["", "No runs yet for: " + ", ".join(missing) + "."]
    return "\n".join(lines) + "\n"


def error_axis_top(rows, published):
    """The error axis' upper end: above every published error and every run at most a point above the worst of them,
    so that the methods' curves keep their resolution."""
    known = [published.get("original_error_percent", 0.0)]
    for pts in published["points"].values():
        for p in pts:
            e = p["error_percent"]
            known += e if isinstance(e, list) else ([e] if e is not None else [])
    known += [p["error_percent"] for p in published.get("figure_only", [])]
    ceiling = max(known) + 1.0
    shown = known + [r["error_percent"] for r in rows if r["error_percent"] <= ceiling]
    return max(shown) + 0.1


def draw(rows, published, out, formats):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "bayesdrop"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (("flops_reduction", "FLOPs reduction (×, log scale)"), ("memory_percent", "memory kept (%, log scale)"))
    reference = next((r for r in rows if r["method"] == "none"), None)
    top = error_axis_top(rows, published)
    for ax, (key, xlabel) in zip(axes, panels):
        for method in METHODS:
            runs = sorted((r for r in rows if r["method"] == method), key=lambda r: r[key])
            colour = COLOURS[method]
            if runs:
                ax.plot([r[key] for r in runs], [r["error_percent"] for r in runs], "-o", color=colour,
                        label=f"{LABELS[method]} (bayesdrop)")
            pts = published["points"].get(method, [])
            single = [p for p in pts if isinstance(p["error_percent"], (int, float))]
            ranged = [p for p in pts if isinstance(p["error_percent"], list)]
            if single:
                single.sort(key=lambda p: p[key])
                ax.plot([p[key] for p in single], [p["error_percent"] for p in single], "--s", color=colour,
                        markerfacecolor="none", label=f"{LABELS[method]} (published)")
            if ranged:
                mid = [(p["error_percent"][0] + p["error_percent"][1]) / 2 for p in ranged]
                half = [(p["error_percent"][1] - p["error_percent"][0]) / 2 for p in ranged]
                ax.errorbar([p[key] for p in ranged], mid, yerr=half, fmt="s", color=colour, markerfacecolor="none",
                            capsize=3, label=f"{LABELS[method]} (published, error range)")
            unknown = [p for p in pts if p["error_percent"] is None]
            if unknown:  # published costs without a readable error: ticks on the bottom edge
                ax.plot([p[key] for p in unknown], [0.0] * len(unknown), "|", color=colour, markersize=14,
                        transform=ax.get_xaxis_transform(), label=f"{LABELS[method]} (published, no error)")
        if key == "flops_reduction":
            for extra in published.get("figure_only", []):
                ax.plot([extra["flops_reduction"]], [extra["error_percent"]], "x", color=COLOURS[extra["method"]],
                        label=f"{LABELS[extra['method']]} (published figure only, no cost table row)")
        ax.axhline(published["original_error_percent"], color="grey", linestyle=":",
                   label="no pruning (published)")
        if reference:
            ax.axhline(reference["error_percent"], color="black", linestyle="-.", label="no pruning (bayesdrop)")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test error (%)")
        ax.grid(True, which="both", alpha=0.3)
        # Runs far above every published error (a strong sparse VD KL weight) would squeeze the rest into a band at
        # the bottom: the axis stops at `top`, and each run above it is marked on the top edge with its error.
        ax.set_ylim(top=top)
        for r in rows:
            if r["error_percent"] > top:
                colour = COLOURS[r["method"]]
                ax.plot([r[key]], [top], "^", color=colour, clip_on=False)
                ax.annotate(f"{r['error_percent']:.2f} %", (r[key], top), xytext=(4, -10), textcoords="offset points",
                            fontsize=7, color=colour)
    axes[1].invert_xaxis()  # less memory to the right, as more FLOPs reduction on the left panel
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle("LeNet-500-300 on MNIST: test error against cost")
    fig.tight_layout(rect=(0, 0.16, 1, 0.95))
    os.makedirs(out, exist_ok=True)
    written = []
    for f in formats:
        path = os.path.join(out, f"tradeoff.{f}")
        fig.savefig(path, dpi=120)
        written.append(path)
    plt.close(fig)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("reports", nargs="*", metavar="REPORT.json")
    parser.add_argument("--published", required=True, help="the published points (scripts/tradeoff_published.json)")
    parser.add_argument("--md", required=True, help="markdown table to write")
    parser.add_argument("--json", required=True, help="JSON of the runs and the published points to write")
    parser.add_argument("--figures", help="folder for tradeoff.png/.svg (none drawn without it)")
    parser.add_argument("--formats", default="png,svg", help="comma-separated figure formats (default png,svg)")
    parser.add_argument("--machine", default="", help="the machine, for the table's header")
    parser.add_argument("--trainer", default=reports_lib.default_trainer(),
                        help="bayesdrop-mnist whose --list-dropouts the sweep's methods are checked against (default: "
                             "$BAYESDROP_MNIST_EXE or build/release's, when built; without one no check)")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if not formats or any(f not in ("png", "svg", "pdf") for f in formats):
        parser.error(f"--formats: png, svg or pdf, comma-separated; got '{args.formats}'")
    try:
        if args.trainer:
            reports_lib.check_families(["none"] + METHODS, args.trainer, "tradeoff.py")
        published = load_json(args.published, "published points")
        if "points" not in published or "original_error_percent" not in published:
            raise TradeoffError(f"{args.published}: needs 'points' and 'original_error_percent'")
        rows = [run_row(p, load_json(p, "report")) for p in args.reports]
    except reports_lib.FamilyError as e:
        print(e, file=sys.stderr)
        return 2
    except TradeoffError as e:
        print(f"tradeoff.py: {e}", file=sys.stderr)
        return 2
    with open(args.md, "w", encoding="utf-8") as f:
        f.write(markdown(rows, published, args.machine))
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump({"machine": args.machine, "runs": rows, "targets": targets(rows, published),
                   "published": published}, f, indent=2)
        f.write("\n")
    print(f"wrote {args.md}\nwrote {args.json}")
    if args.figures:
        try:
            written = draw(rows, published, args.figures, formats)
        except ImportError:
            print("tradeoff.py: no figure: needs matplotlib (apt-get install python3-matplotlib)", file=sys.stderr)
            return 3
        for path in written:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
