#!/usr/bin/python3
"""Draws the figures of bayesdrop's JSON reports with matplotlib, as PNG and SVG.

    scripts/plot.py REPORT.json... [--out DIR] [--formats png,svg] [--labels A,B,...]

Each report is recognised by its fields:

  bayesdrop-mnist --report           -> training.*  the training curves of every such report given, in one figure:
                                                     train and test cross-entropy and accuracy, KL and its weight,
                                                     learning rates and every gate's active units, per epoch
                                        kept.*      inputs, outputs and weights kept per layer, per run
  bayesdrop-uncertainty --report     -> reliability-NAME.*  reliability diagram over the confidence histogram
                                        rotation-NAME.*     accuracy, entropy and mutual information of a rotated
                                                            digit, deterministic and Monte Carlo
  scripts/make-table.py (rows with targets)        -> comparison-NAME.*  accuracy, active units and memory kept per
                                                                          run, with the published values and targets
  scripts/reproduce-uncertainty.sh (rows det/mc)   -> comparison-NAME.*  ECE, NLL, Brier and AUROC per run

NAME is the report's file name without .json. A report without a field a figure needs (or with null where a number
is needed, as a diverged run's NaN is written) stops the script with exit status 2 and a message that names the
file and the field; so does a file that is not JSON or not a known report, and an --out that is a file or cannot
be created or written.
Needs python3-matplotlib (Debian: apt-get install python3-matplotlib).
"""
import argparse
import json
import math
import os
import sys
import textwrap


class ReportError(Exception):
    """A report that cannot be drawn: the message names the file and what is missing."""


class Report:
    """A parsed JSON report and its file name, with field lookups that fail with the field's path."""

    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.name = os.path.splitext(os.path.basename(path))[0]

    def need(self, *keys, within=None, where=""):
        """The value at data[keys[0]][keys[1]]...; a ReportError naming the dotted path when it is absent."""
        node = self.data if within is None else within
        trail = where
        for key in keys:
            trail = f"{trail}[{key}]" if isinstance(key, int) else (f"{trail}.{key}" if trail else key)
            if isinstance(key, int):
                ok = isinstance(node, list) and -len(node) <= key < len(node)
            else:
                ok = isinstance(node, dict) and key in node
            if not ok:
                raise ReportError(f"{self.path}: missing field '{trail}'")
            node = node[key]
        return node

    def number(self, *keys, within=None, where=""):
        """A number; a ReportError naming the field when it is missing, null or not a number."""
        value = self.need(*keys, within=within, where=where)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            path = where + ("." if where else "") + ".".join(str(k) for k in keys)
            why = ("is null (NaN and infinity are written as null: did the run diverge?)" if value is None
                   else "must be a number")
            raise ReportError(f"{self.path}: field '{path}' {why}")
        return float(value)

    def entry(self, node, where):
        """node, an element of a list at `where`, which must be a JSON object; a ReportError otherwise."""
        if not isinstance(node, dict):
            raise ReportError(f"{self.path}: field '{where}' is {'null' if node is None else 'not an object'}")
        return node

    def numbers(self, *keys, within=None, where=""):
        """A list of numbers (null becomes NaN); a ReportError when the field is missing or not such a list."""
        value = self.need(*keys, within=within, where=where)
        if not isinstance(value, list) or not all(v is None or isinstance(v, (int, float)) for v in value):
            path = ".".join(str(k) for k in keys)
            raise ReportError(f"{self.path}: field '{where + ('.' if where else '') + path}' must be a list of "
                              "numbers")
        return [math.nan if v is None else float(v) for v in value]


def kind_of(report):
    d = report.data
    if not isinstance(d, dict):
        raise ReportError(f"{report.path}: not a bayesdrop report (a JSON object was expected)")
    if "rows" in d:
        rows = d["rows"]
        if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "deterministic" in rows[0]:
            return "uncertainty-table"
        return "table"
    if "reliability" in d or "rotation" in d:
        return "uncertainty"
    if "history" in d or "layers" in d:
        return "trainer"
    raise ReportError(f"{report.path}: not a report plot.py knows; expected the field 'history' or 'layers' "
                      "(bayesdrop-mnist --report), 'reliability' or 'rotation' (bayesdrop-uncertainty --report), "
                      "or 'rows' (scripts/make-table.py, scripts/reproduce-uncertainty.sh)")


def run_label(report):
    d = report.data
    model, dropout = d.get("model"), d.get("dropout")
    if "spec" in d and isinstance(d["spec"], dict):
        model, dropout = d["spec"].get("model", model), d["spec"].get("dropout", dropout)
    if model and dropout:
        return f"{model}, {dropout}"
    return report.name


# --- figures ---------------------------------------------------------------------------------------------------

class OutputError(Exception):
    """--out cannot take the figures: the message names the folder or file and why."""


def save(fig, out, stem, formats, written):
    for fmt in formats:
        path = os.path.join(out, f"{stem}.{fmt}")
        # No date in the files, so that the same report gives the same SVG.
        metadata = {"Date": None} if fmt == "svg" else {}
        try:
            fig.savefig(path, dpi=120, bbox_inches="tight", metadata=metadata)
        except OSError as e:
            raise OutputError(f"--out: cannot write '{path}': {e.strerror or e}")
        written.append(path)


def make_out_folder(out):
    """Creates --out (and its parents) when missing; an OutputError when it is a file or cannot be created."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"--out '{out}' is a file, not a folder; give a folder for the figures")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out '{out}': cannot create the folder: {e.strerror or e}")
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputError(f"--out '{out}': the folder is not writable")


def training_curves(plt, runs, labels):
    """One column per quantity, one colour per run; train solid, test dashed."""
    series = []
    for report, label in zip(runs, labels):
        history = report.need("history")
        if not isinstance(history, list) or not history:
            raise ReportError(f"{report.path}: field 'history' is empty (a run loaded with --load has no training "
                              "history)")
        rows = {key: [] for key in ("epoch", "train_cross_entropy", "test_cross_entropy", "train_accuracy",
                                    "test_accuracy", "kl", "kl_weight")}
        lr, n_active = [], []
        for i, epoch in enumerate(history):
            report.entry(epoch, f"history[{i}]")
            for key in rows:
                rows[key].append(report.number(key, within=epoch, where=f"history[{i}]"))
            lr.append(report.numbers("lr", within=epoch, where=f"history[{i}]"))
            n_active.append(report.numbers("n_active", within=epoch, where=f"history[{i}]"))
        series.append((label, rows, lr, n_active))

    fig, axes = plt.subplots(2, 3, figsize=(15, 8.2))
    (ax_ce, ax_acc, ax_kl), (ax_w, ax_lr, ax_units) = axes
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    any_gates = False
    for k, (label, rows, lr, n_active) in enumerate(series):
        c = colours[k % len(colours)]
        e = rows["epoch"]
        ax_ce.plot(e, rows["train_cross_entropy"], color=c, label=f"{label} train")
        ax_ce.plot(e, rows["test_cross_entropy"], color=c, ls="--", label=f"{label} test")
        ax_acc.plot(e, [100 * a for a in rows["train_accuracy"]], color=c, label=f"{label} train")
        ax_acc.plot(e, [100 * a for a in rows["test_accuracy"]], color=c, ls="--", label=f"{label} test")
        ax_kl.plot(e, rows["kl"], color=c, label=label)
        ax_w.plot(e, rows["kl_weight"], color=c, label=label)
        groups = max((len(v) for v in lr), default=0)
        for g in range(groups):
            ax_lr.plot(e, [v[g] if g < len(v) else math.nan for v in lr], color=c, ls=["-", "--", ":", "-."][g % 4],
                       label=f"{label}, group {g + 1}" + (" (weights)" if g == 0 and groups > 1 else "") +
                       (" (noise)" if g == groups - 1 and groups > 1 else ""))
        gates = max((len(v) for v in n_active), default=0)
        for g in range(gates):
            any_gates = True
            ax_units.plot(e, [v[g] if g < len(v) else math.nan for v in n_active], color=c,
                          ls=["-", "--", ":", "-."][g % 4], label=f"{label}, gate {g + 1}")
    ax_ce.set(title="cross-entropy (train solid, test dashed)", ylabel="mean cross-entropy (nats)")
    ax_ce.set_yscale("log")
    ax_acc.set(title="accuracy (train solid, test dashed)", ylabel="accuracy %")
    low = min(min(100 * a for a in rows["test_accuracy"][len(rows["epoch"]) // 10:] or [100])
              for _, rows, _, _ in series)
    ax_acc.set_ylim(max(0.0, min(low, 100.0) - 0.5), 100.05)
    ax_kl.set(title="KL divergence (sum over the model)", ylabel="KL (nats)")
    if all(v > 0 for _, rows, _, _ in series for v in rows["kl"]):
        ax_kl.set_yscale("log")
    ax_w.set(title="KL weight (warm-up)", ylabel="weight of KL / N")
    ax_lr.set(title="learning rate per optimiser group", ylabel="learning rate")
    ax_lr.set_yscale("log")
    ax_units.set(title="active units per gate (n_active)", ylabel="units")
    if not any_gates:
        ax_units.text(0.5, 0.5, "no gates in these runs", ha="center", va="center", transform=ax_units.transAxes)
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=1 + (len(series) > 3))
    fig.suptitle("training history: " + "; ".join(label for label, *_ in series))
    fig.tight_layout()
    return fig


def kept_per_layer(plt, runs, labels):
    """Grouped bars: per layer, the share of inputs, outputs and weights kept, one bar per run."""
    tables = []
    for report, label in zip(runs, labels):
        layers = report.need("layers")
        if not isinstance(layers, list) or not layers:
            raise ReportError(f"{report.path}: field 'layers' is empty")
        rows = []
        for i, layer in enumerate(layers):
            report.entry(layer, f"layers[{i}]")
            get = lambda key: report.number(key, within=layer, where=f"layers[{i}]")  # noqa: E731
            rows.append({"name": f"{i + 1} {layer.get('type', '')}".strip(),
                         "in": (get("active_in"), get("units_in")), "out": (get("active_out"), get("units_out")),
                         "weights": (get("active_weights"), get("weights"))})
        tables.append((label, rows))

    panels = [("in", "inputs kept"), ("out", "outputs kept"), ("weights", "weights kept")]
    n_layers = max(len(rows) for _, rows in tables)
    fig, axes = plt.subplots(3, 1, figsize=(max(7.0, 0.45 * n_layers * len(tables) + 3), 10), sharex=True)
    width = 0.8 / len(tables)
    # A layer's type names the tick only when every run has that type there (runs of different models share an axis).
    tick_names = []
    for i in range(n_layers):
        names = {rows[i]["name"] for _, rows in tables if i < len(rows)}
        tick_names.append(names.pop() if len(names) == 1 else str(i + 1))
    for ax, (key, title) in zip(axes, panels):
        for k, (label, rows) in enumerate(tables):
            xs = [i + (k - (len(tables) - 1) / 2) * width for i in range(len(rows))]
            shares = [100 * kept / total if total > 0 else math.nan for kept, total in (r[key] for r in rows)]
            bars = ax.bar(xs, shares, width, label=label)
            if len(tables) <= 3:
                for bar, r in zip(bars, rows):
                    kept, total = r[key]
                    ax.annotate(f"{kept:.0f}/{total:.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                                ha="center", va="bottom", fontsize=7, rotation=90 if len(tables) > 1 else 0,
                                xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(n_layers))
        ax.set_xticklabels(tick_names)
        ax.set(title=title + " per layer", ylabel="% kept", ylim=(0, 118))
        ax.grid(True, axis="y", alpha=0.3)
    axes[-1].set_xlabel("weight layer")
    axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle("what each run kept (active / total per weight layer)")
    fig.tight_layout()
    return fig


PREDICTORS = (("deterministic", "deterministic"), ("mc", "Monte Carlo"))


def reliability(plt, report):
    """Accuracy against mean confidence per bin (on the diagonal = calibrated), over the counts per bin."""
    bins = report.need("reliability")
    fig, (ax, hist) = plt.subplots(2, 1, figsize=(6.2, 7.4), sharex=True, gridspec_kw={"height_ratios": [3, 1.4]})
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", label="perfect calibration")
    mc = report.data.get("mc_samples")
    for k, (key, name) in enumerate(PREDICTORS):
        rows = report.need("reliability", key)
        if not isinstance(rows, list) or not rows:
            raise ReportError(f"{report.path}: field 'reliability.{key}' must be a non-empty list of bins")
        lower, upper, count, acc, conf = [], [], [], [], []
        for i, b in enumerate(rows):
            where = f"reliability.{key}[{i}]"
            lower.append(report.number("lower", within=b, where=where))
            upper.append(report.number("upper", within=b, where=where))
            count.append(report.number("count", within=b, where=where))
            acc.append(report.number("accuracy", within=b, where=where))
            conf.append(report.number("confidence", within=b, where=where))
        ece = report.data.get("uncertainty", {}).get(key, {}).get("ece")
        label = name + (f" (K = {mc})" if key == "mc" and mc else "") + (f", ECE {ece:.4f}" if ece is not None else "")
        used = [i for i in range(len(rows)) if count[i] > 0]  # an empty bin has no accuracy
        ax.plot([conf[i] for i in used], [acc[i] for i in used], marker="os"[k], ms=5, label=label)
        w = [(u - lo) / 2.2 for lo, u in zip(lower, upper)]
        hist.bar([lo + (u - lo) * (0.27 + 0.46 * k) for lo, u in zip(lower, upper)], count, width=w, label=name,
                 log=True)
    ax.set(title=f"reliability diagram ({bins.get('bins', len(rows)) if isinstance(bins, dict) else ''} bins): "
                 f"{run_label(report)}", ylabel="accuracy in the bin", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    hist.set(xlabel="confidence (mean of the bin; largest predicted probability)", ylabel="test images (log)")
    hist.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def rotation(plt, report):
    angles = report.numbers("rotation", "angles")
    digit = report.data.get("rotation", {}).get("digit", "?")
    images = report.data.get("rotation", {}).get("images")
    mc = report.data.get("mc_samples")
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for key, name in PREDICTORS:
        label = name + (f" (K = {mc})" if key == "mc" and mc else "")
        for ax, field in zip(axes, ("accuracy", "entropy", "mutual_information")):
            ax.plot(angles, report.numbers("rotation", key, field), marker="o", ms=4, label=label)
    titles = ("accuracy", "predictive entropy (nats)", "mutual information (nats)")
    for ax, title in zip(axes, titles):
        ax.set(title=title, xlabel="rotation angle (degrees)", xlim=(0, max(angles) if angles else 180))
        ax.set_xticks(range(0, int(max(angles or [180])) + 1, 30))
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
    axes[0].set_ylim(0, 1.02)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"test images of the digit {digit} rotated" + (f" ({images} images)" if images else "") +
                 f": {run_label(report)}")
    fig.tight_layout()
    return fig


def comparison(plt, report):
    """Per run of a results table: test accuracy, active units per gate and memory kept, beside the paper's values
    and the targets."""
    rows = report.need("rows")
    if not isinstance(rows, list) or not rows:
        raise ReportError(f"{report.path}: field 'rows' is empty")
    names, acc, published, target, memory, compression, target_compression, units, target_units = \
        [], [], [], [], [], [], [], [], []
    for i, r in enumerate(rows):
        where = f"rows[{i}]"
        names.append(str(report.need("label", within=r, where=where)))
        acc.append(report.number("test_accuracy", within=r, where=where))
        p = r.get("published_accuracy")
        t = r.get("target_accuracy")
        published.append(math.nan if p is None else float(p))
        target.append(math.nan if t is None else float(t))
        memory.append(report.number("memory_kept", within=r, where=where))
        compression.append(report.number("compression", within=r, where=where))
        tc = r.get("target_compression")
        target_compression.append(math.nan if tc is None else float(tc))
        units.append(report.numbers("n_active", within=r, where=where))
        target_units.append(r.get("target_n_active"))

    short = [textwrap.fill(n, 24) for n in names]
    y = list(range(len(rows)))
    fig, (ax_acc, ax_units, ax_mem) = plt.subplots(1, 3, figsize=(16, 1.6 + 0.55 * len(rows)), sharey=True)
    ax_acc.barh(y, acc, color="C0", label="this library")
    ax_acc.scatter(published, y, marker="D", color="C3", zorder=3, label="published")
    ax_acc.scatter(target, y, marker="|", s=300, color="k", zorder=3, label="target (minimum)")
    finite = [v for v in acc + published + target if not math.isnan(v)]
    ax_acc.set(title="test accuracy %", xlim=(min(finite) - 0.3, max(finite) + 0.2), xlabel="%")
    for yi, a in zip(y, acc):
        ax_acc.annotate(f"{a:.2f}", (a, yi), xytext=(-2, 0), textcoords="offset points", ha="right", va="center",
                        color="white", fontsize=8)

    most = max(len(u) for u in units)
    height = 0.8 / max(most, 1)
    for g in range(most):
        ys = [yi + (g - (most - 1) / 2) * height for yi in y]
        ax_units.barh(ys, [u[g] if g < len(u) else math.nan for u in units], height, color=f"C{g}",
                      label=f"gate {g + 1} (layer {g + 1} inputs)")
        tu = [t[g] if isinstance(t, list) and g < len(t) else math.nan for t in target_units]
        ax_units.scatter(tu, ys, marker="|", s=120, color="k", zorder=3,
                         label="target (maximum)" if g == 0 else None)
    ax_units.set(title="active units per gate (n_active)", xlabel="units")

    ax_mem.barh(y, memory, color="C2", label="memory kept %")
    ax_mem.set_xscale("log")
    ax_mem.set(title="parameters kept % (log); weight compression", xlabel="% of the dense model's parameters")
    for yi, m, c, tc in zip(y, memory, compression, target_compression):
        text = f"{m:.2f} %, {c:.1f}x" + ("" if math.isnan(tc) else f" (target >= {tc:.0f}x)")
        ax_mem.annotate(text, (m, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    ax_mem.set_xlim(min(memory) / 2, 400)

    ax_acc.set_yticks(y)
    ax_acc.set_yticklabels(short)
    ax_acc.invert_yaxis()
    for ax in (ax_acc, ax_units, ax_mem):
        ax.grid(True, axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    epochs = sorted({r.get("epochs") for r in rows if r.get("epochs") is not None})
    fig.suptitle(f"{report.name}: every run against its published value and target"
                 + (f" ({', '.join(map(str, epochs))} epochs)" if epochs else ""))
    fig.tight_layout()
    return fig


def uncertainty_comparison(plt, report):
    rows = report.need("rows")
    if not isinstance(rows, list) or not rows:
        raise ReportError(f"{report.path}: field 'rows' is empty")
    metrics = (("ece", "expected calibration error"), ("nll", "test NLL (nats)"), ("brier", "Brier score"),
               ("auroc_entropy", "AUROC MNIST vs Fashion-MNIST (entropy)"))
    names = [str(report.need("dropout", within=r, where=f"rows[{i}]")) for i, r in enumerate(rows)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(17, 1.6 + 0.5 * len(rows)), sharey=True)
    y = list(range(len(rows)))
    mc = report.data.get("mc_samples")
    for ax, (key, title) in zip(axes, metrics):
        for k, (pred, name) in enumerate(PREDICTORS):
            values = []
            for i, r in enumerate(rows):
                v = report.need(pred, key, within=r, where=f"rows[{i}]")
                values.append(math.nan if v is None else float(v))
            ax.barh([yi + (k - 0.5) * 0.4 for yi in y], values, 0.4, color=f"C{k}",
                    label=name + (f" (K = {mc})" if pred == "mc" and mc else ""))
        ax.set(title=title)
        ax.grid(True, axis="x", alpha=0.3)
    axes[-1].set_xlim(0.5, 1.0)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(names)
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{report.name}: calibration and out-of-distribution detection, deterministic vs Monte Carlo")
    fig.tight_layout()
    return fig


# --- main ------------------------------------------------------------------------------------------------------

def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return Report(path, json.load(f))
    except OSError as e:
        raise ReportError(f"{path}: cannot read it: {e.strerror}")
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not JSON ({e.msg} at line {e.lineno})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    parser.add_argument("reports", nargs="+", metavar="REPORT.json")
    parser.add_argument("--out", default=".", help="folder for the figures (created if needed; default .)")
    parser.add_argument("--formats", default="png,svg", help="comma-separated file formats (default png,svg)")
    parser.add_argument("--labels", help="comma-separated legend labels of the trainer reports, in order "
                                         "(default: model, dropout)")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if not formats or any(f not in ("png", "svg", "pdf") for f in formats):
        parser.error(f"--formats: png, svg or pdf, comma-separated; got '{args.formats}'")

    try:
        reports = [load(p) for p in args.reports]
        kinds = [kind_of(r) for r in reports]
    except ReportError as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    runs = [r for r, k in zip(reports, kinds) if k == "trainer"]
    labels = [run_label(r) for r in runs]
    if args.labels:
        labels = [s.strip() for s in args.labels.split(",")]
        if len(labels) != len(runs):
            parser.error(f"--labels: {len(labels)} labels for {len(runs)} trainer reports")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot.py: needs matplotlib: apt-get install python3-matplotlib (or pip install matplotlib)",
              file=sys.stderr)
        return 3
    plt.rcParams["svg.hashsalt"] = "bayesdrop"  # stable element ids in the SVG files

    written = []
    try:
        make_out_folder(args.out)
        if runs:
            for stem, draw in (("training", training_curves), ("kept", kept_per_layer)):
                fig = draw(plt, runs, labels)
                save(fig, args.out, stem, formats, written)
                plt.close(fig)
        for report, kind in zip(reports, kinds):
            if kind == "uncertainty":
                figures = (("reliability", reliability), ("rotation", rotation))
            elif kind == "table":
                figures = (("comparison", comparison),)
            elif kind == "uncertainty-table":
                figures = (("comparison", uncertainty_comparison),)
            else:
                continue
            for stem, draw in figures:
                fig = draw(plt, report)
                save(fig, args.out, f"{stem}-{report.name}", formats, written)
                plt.close(fig)
    except (ReportError, OutputError) as e:
        print(f"plot.py: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
