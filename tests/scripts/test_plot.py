"""Tests of scripts/plot.py, run by ctest (tests/CMakeLists.txt).

    python3 tests/scripts/test_plot.py [unit|training]

unit: reports in the programs' formats, written here, give every figure kind as PNG and SVG; a report without a
field a figure needs, or with null where it needs a number, stops plot.py with exit status 2 and a message naming
the file and the field; so does an --out that is a file or cannot be created, never with a traceback.
training: a one-epoch run of bayesdrop-mnist (path in $BAYESDROP_MNIST_EXE) on $BAYESDROP_MNIST_DIR, then
bayesdrop-uncertainty ($BAYESDROP_UNCERTAINTY_EXE) on its model when Fashion-MNIST is there; plot.py draws their
reports.
Exit status 77 (ctest: skipped) when matplotlib or, for `training`, the data or the programs are missing.
"""
import contextlib
import copy
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLOT = os.path.join(ROOT, "scripts", "plot.py")
SKIP = 77


def plot(*args):
    return subprocess.run([sys.executable, PLOT, *args], capture_output=True, text=True)


def plot_here(*args):
    """plot.py's main() in this process (matplotlib is imported once): (exit status, stderr)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("plot", PLOT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = module.main(list(args))
    return status, err.getvalue()


def trainer_report(epochs=4, gates=(784, 500, 300), dropout="sbp"):
    history = []
    for e in range(1, epochs + 1):
        history.append({"epoch": e, "seconds": 1.0, "train_cross_entropy": 0.5 / e, "train_accuracy": 0.9 + 0.02 * e,
                        "test_cross_entropy": 0.6 / e, "test_accuracy": 0.9 + 0.015 * e, "kl": 1000.0 / e,
                        "kl_weight": min(1.0, e / 2), "l2": 0.01, "loss": 0.5 / e + 0.01, "lr": [1e-3, 1e-2],
                        "n_active": [int(g * (1 - 0.1 * e)) for g in gates]})
    layers = []
    for i, (u_in, u_out) in enumerate(zip((784, 500, 300), (500, 300, 10))):
        layers.append({"name": f"layer{i + 1}", "type": "Linear", "units_in": u_in, "active_in": u_in // 2,
                       "units_out": u_out, "active_out": u_out // 2, "weights": u_in * u_out,
                       "active_weights": u_in * u_out // 4, "params": u_in * u_out + u_out,
                       "params_kept": u_in * u_out // 4, "memory_kept": 0.25, "flops": u_in * u_out,
                       "flops_kept": 0.25, "compression": 4.0, "input_kept": 0.5})
    return {"model": "mlp", "dropout": dropout, "epochs": epochs, "history": history, "layers": layers,
            "test_accuracy": history[-1]["test_accuracy"], "n_active": list(gates)}


def uncertainty_report():
    bins = [{"lower": i / 15, "upper": (i + 1) / 15, "count": 0 if i < 3 else 10 * i,
             "accuracy": 0.0 if i < 3 else (i + 0.5) / 15, "confidence": 0.0 if i < 3 else (i + 0.4) / 15}
            for i in range(15)]
    angles = list(range(0, 181, 15))
    curve = {"accuracy": [1 - a / 200 for a in angles], "entropy": [a / 100 for a in angles],
             "mutual_information": [a / 400 for a in angles]}
    return {"spec": {"model": "mlp", "dropout": "bbd"}, "mc_samples": 20,
            "uncertainty": {"deterministic": {"ece": 0.01}, "mc": {"ece": 0.02}},
            "reliability": {"bins": 15, "deterministic": bins, "mc": copy.deepcopy(bins)},
            "rotation": {"digit": 1, "images": 1135, "angles": angles, "deterministic": curve,
                         "mc": copy.deepcopy(curve)}}


def table_report():
    rows = []
    for name, acc, units in (("none", 98.61, [784, 500, 300]), ("sbp", 98.55, [322, 134, 101])):
        rows.append({"dropout": name, "label": name, "test_accuracy": acc, "published_accuracy": 98.46,
                     "target_accuracy": 98.40, "n_active": units, "target_n_active": [325, 147, 113],
                     "memory_kept": 10.6, "flops_kept": 10.6, "compression": 9.4, "target_compression": None,
                     "epochs": 60})
    return {"machine": "test", "rows": rows}


def uncertainty_table():
    scores = {"accuracy": 0.98, "auroc_entropy": 0.95, "auroc_mutual_information": None, "brier": 0.02,
              "ece": 0.004, "nll": 0.04}
    return {"mc_samples": 20, "rows": [{"dropout": d, "deterministic": dict(scores), "mc": dict(scores)}
                                       for d in ("none", "bbd")]}


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def is_svg(path):
    with open(path, encoding="utf-8") as f:
        return "<svg" in f.read(4096)


class PlotTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bayesdrop_test_plot_")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f)
        return path

    def assert_figures(self, out, stems):
        for stem in stems:
            png, svg = os.path.join(out, stem + ".png"), os.path.join(out, stem + ".svg")
            self.assertTrue(os.path.isfile(png) and is_png(png), f"{png} is not a PNG")
            self.assertTrue(os.path.isfile(svg) and is_svg(svg), f"{svg} is not an SVG")
            self.assertGreater(os.path.getsize(png), 10000, f"{png} is too small to hold a figure")

    def test_every_figure_kind_is_written(self):
        reports = [self.write("sbp.json", trainer_report()),
                   self.write("none.json", trainer_report(gates=(), dropout="none")),
                   self.write("bbd-unc.json", uncertainty_report()), self.write("table.json", table_report()),
                   self.write("uncertainty.json", uncertainty_table())]
        out = os.path.join(self.dir, "figures")
        r = plot(*reports, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_figures(out, ["training", "kept", "reliability-bbd-unc", "rotation-bbd-unc", "comparison-table",
                                  "comparison-uncertainty"])
        self.assertEqual(len(os.listdir(out)), 12, sorted(os.listdir(out)))

    def test_a_missing_field_stops_it_and_is_named(self):
        cases = []
        t = trainer_report()
        del t["history"][2]["test_accuracy"]
        cases.append(("no-test-acc.json", t, "history[2].test_accuracy"))
        t = trainer_report()
        del t["history"]
        cases.append(("no-history.json", t, "'history'"))
        t = trainer_report()
        del t["layers"][1]["active_weights"]
        cases.append(("no-weights.json", t, "layers[1].active_weights"))
        u = uncertainty_report()
        del u["reliability"]["mc"]
        cases.append(("no-mc.json", u, "reliability.mc"))
        u = uncertainty_report()
        del u["rotation"]["deterministic"]["entropy"]
        cases.append(("no-entropy.json", u, "rotation.deterministic.entropy"))
        tb = table_report()
        del tb["rows"][1]["memory_kept"]
        cases.append(("no-memory.json", tb, "rows[1].memory_kept"))
        cases.append(("unknown.json", {"accuracy": 0.9}, "'history'"))
        for name, data, field in cases:
            with self.subTest(name):
                path = self.write(name, data)
                status, err = plot_here(path, "--out", os.path.join(self.dir, "out-" + name))
                self.assertEqual(status, 2, err)
                self.assertIn(path, err)
                self.assertIn(field, err)
        # And as a program: exit status 2, the message on stderr, no traceback.
        r = plot(os.path.join(self.dir, "no-mc.json"), "--out", self.dir)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("missing field 'reliability.mc'", r.stderr)
        self.assertNotIn("Traceback", r.stderr)

    def test_a_file_that_is_not_json_is_named(self):
        path = os.path.join(self.dir, "broken.json")
        with open(path, "w") as f:
            f.write('{"history": [')
        status, err = plot_here(path, "--out", self.dir)
        self.assertEqual(status, 2)
        self.assertIn("broken.json: not JSON", err)
        status, err = plot_here(os.path.join(self.dir, "absent.json"), "--out", self.dir)
        self.assertEqual(status, 2)
        self.assertIn("absent.json: cannot read it", err)

    def test_an_out_that_cannot_take_the_figures_is_named(self):
        report = self.write("sbp.json", trainer_report())
        a_file = os.path.join(self.dir, "a-file")
        with open(a_file, "w") as f:
            f.write("not a folder")
        cases = [(a_file, "is a file, not a folder"), (os.path.join(a_file, "figures"), "cannot create the folder")]
        if os.path.isdir("/proc/self"):  # a folder that no one, root included, can create
            cases.append(("/proc/bayesdrop-test-plot/figures", "cannot create the folder"))
        for out, why in cases:
            with self.subTest(out):
                r = plot(report, "--out", out, "--formats", "png")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(f"--out '{out}'", r.stderr)
                self.assertIn(why, r.stderr)
                self.assertNotIn("Traceback", r.stderr)
        with open(a_file) as f:
            self.assertEqual(f.read(), "not a folder")

    def test_a_null_in_history_or_layers_is_named(self):
        cases = []
        t = trainer_report()
        t["history"][1]["test_accuracy"] = None  # what the trainer writes for a NaN
        cases.append(("null-acc.json", t, "field 'history[1].test_accuracy' is null"))
        t = trainer_report()
        t["history"][2]["kl"] = None
        cases.append(("null-kl.json", t, "field 'history[2].kl' is null"))
        t = trainer_report()
        t["history"][0] = None
        cases.append(("null-epoch.json", t, "field 'history[0]' is null"))
        t = trainer_report()
        t["layers"][1] = None
        cases.append(("null-layer.json", t, "field 'layers[1]' is null"))
        t = trainer_report()
        t["layers"][0]["active_in"] = None
        cases.append(("null-active.json", t, "field 'layers[0].active_in' is null"))
        for name, data, message in cases:
            with self.subTest(name):
                path = self.write(name, data)
                r = plot(path, "--out", os.path.join(self.dir, "out-" + name), "--formats", "png")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(path, r.stderr)
                self.assertIn(message, r.stderr)
                self.assertNotIn("Traceback", r.stderr)


class TrainingRunTest(unittest.TestCase):
    """plot.py on the reports of a real (one-epoch) run of the two programs."""

    def test_plots_the_reports_of_a_short_run(self):
        exe, data = os.environ.get("BAYESDROP_MNIST_EXE", ""), os.environ.get("BAYESDROP_MNIST_DIR", "")
        with tempfile.TemporaryDirectory(prefix="bayesdrop_test_plot_run_") as tmp:
            report, model = os.path.join(tmp, "sbp.json"), os.path.join(tmp, "sbp.model")
            run = subprocess.run([exe, "--data", data, "--model", "lenet300", "--dropout", "sbp", "--epochs", "1",
                                  "--threads", "1", "--quiet", "--report", report, "--save", model,
                                  "--pictures", tmp], capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertTrue(is_png(os.path.join(tmp, "input_pixels.png")))
            reports = [report]
            unc_exe = os.environ.get("BAYESDROP_UNCERTAINTY_EXE", "")
            fashion = os.environ.get("BAYESDROP_FASHION_DIR", "/usr/share/datasets/fashion-mnist")
            if unc_exe and os.path.isdir(fashion):
                unc = os.path.join(tmp, "sbp-unc.json")
                run = subprocess.run([unc_exe, "--load", model, "--data", data, "--ood-data", fashion, "--mc", "2",
                                      "--threads", "1", "--report", unc], capture_output=True, text=True)
                self.assertEqual(run.returncode, 0, run.stderr)
                reports.append(unc)
            out = os.path.join(tmp, "figures")
            r = plot(*reports, "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            PlotTest.assert_figures(self, out, ["training", "kept"])
            if len(reports) == 2:
                PlotTest.assert_figures(self, out, ["reliability-sbp-unc", "rotation-sbp-unc"])
            else:
                print("note: Fashion-MNIST or bayesdrop-uncertainty missing; its figures were not drawn")


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "unit"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"skipped: {sys.executable} has no matplotlib (Debian: apt-get install python3-matplotlib)")
        return SKIP
    if which == "training":
        exe, data = os.environ.get("BAYESDROP_MNIST_EXE", ""), os.environ.get("BAYESDROP_MNIST_DIR", "")
        if not (exe and os.access(exe, os.X_OK)):
            print("skipped: BAYESDROP_MNIST_EXE does not name the built bayesdrop-mnist")
            return SKIP
        if not (data and os.path.isdir(data)):
            print("skipped: BAYESDROP_MNIST_DIR is not set to the MNIST folder")
            return SKIP
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(TrainingRunTest)
    else:
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(PlotTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
