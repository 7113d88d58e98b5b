"""Tests of scripts/tradeoff.py (the table and figure step of scripts/tradeoff.sh), run by ctest.

    python3 tests/scripts/test_tradeoff.py

Reports in bayesdrop-mnist's format, written here, with the published runs' unit counts: the table must give the
published FLOPs reductions and memory (the same formulas), DBB's from its beta-Bernoulli and per-example counts, and
the targets at 1e-2; a report without a field stops it with exit status 2 naming the file and the field; the figure is
written as PNG and SVG. Exit status 77 (ctest: skipped) when matplotlib is missing.
"""
import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "tradeoff.py")
PUBLISHED = os.path.join(ROOT, "scripts", "tradeoff_published.json")
SKIP = 77


def tradeoff(*args):
    """tradeoff.py's main() in this process: (exit status, stdout, stderr)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("tradeoff", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = module.main(list(args))
    return status, out.getvalue(), err.getvalue()


def report(dropout, accuracy, n_active=None, active_in=(784, 500, 300), lr_noise=1e-2, kl_scales=(), per_example=None):
    layers = [{"name": f"layer{i + 1}", "type": "Linear", "units_in": u, "active_in": a}
              for i, (u, a) in enumerate(zip((784, 500, 300), active_in))]
    r = {"model": "mlp", "dropout": dropout, "epochs": 200, "test_accuracy": accuracy, "layers": layers,
         "n_active": list(n_active or []), "lr_noise": lr_noise, "kl_scales": list(kl_scales),
         "memory_kept": 0.5, "flops_kept": 0.25}
    if per_example is not None:
        r["n_active_per_example"] = per_example
    return r


class TradeoffTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f)
        return path

    def run_all(self, reports, figures=True):
        md, js = os.path.join(self.dir, "t.md"), os.path.join(self.dir, "t.json")
        args = [*reports, "--published", PUBLISHED, "--md", md, "--json", js]
        if figures:
            args += ["--figures", os.path.join(self.dir, "fig")]
        status, out, err = tradeoff(*args)
        return status, err, md, js

    def test_costs_follow_the_published_formulas(self):
        reports = [
            self.write("none.json", report("none", 0.9845, lr_noise=1e-3)),
            self.write("bbd-1e-2.json", report("bbd", 0.9868, n_active=[294, 110, 71])),
            self.write("sbp-1e-2.json", report("sbp", 0.9830, n_active=[300, 100, 43])),
            self.write("dbb-1e-2.json", report("dbb", 0.9860, n_active=[294, 110, 71],
                                               per_example=[106.0, 29.0, 32.0])),
            self.write("sparsevd-kl1.json", report("sparsevd", 0.9840, active_in=(536, 64, 35), kl_scales=[1, 1, 1])),
        ]
        status, err, md, js = self.run_all(reports)
        self.assertEqual(status, 0, err)
        with open(js, encoding="utf-8") as f:
            result = json.load(f)
        rows = {r["name"]: r for r in result["runs"]}
        self.assertAlmostEqual(rows["none"]["flops_reduction"], 1.0)
        self.assertAlmostEqual(rows["none"]["memory_percent"], 100.0)
        self.assertIsNone(rows["none"]["value"])
        # the published BB(1e-2), DBB(1e-2) and SVD(1e-2) costs from their unit counts
        self.assertAlmostEqual(rows["bbd-1e-2"]["flops_reduction"], 13.26, places=2)
        self.assertAlmostEqual(rows["bbd-1e-2"]["memory_percent"], 7.52, places=2)
        self.assertAlmostEqual(rows["dbb-1e-2"]["flops_reduction"], 33.51, places=2)
        self.assertAlmostEqual(rows["dbb-1e-2"]["memory_percent"], 0.98, places=2)
        self.assertAlmostEqual(rows["sparsevd-kl1"]["flops_reduction"], 14.73, places=2)
        self.assertAlmostEqual(rows["sparsevd-kl1"]["memory_percent"], 6.78, places=2)
        self.assertEqual(rows["sparsevd-kl1"]["value"], 1.0)
        self.assertAlmostEqual(rows["bbd-1e-2"]["error_percent"], 1.32, places=6)
        # the report's own weight-level numbers
        self.assertAlmostEqual(rows["sparsevd-kl1"]["weights_flops_reduction"], 4.0)
        self.assertAlmostEqual(rows["sparsevd-kl1"]["weights_memory_percent"], 50.0)
        # targets: BB meets both; SBP's input count 300 is above 1.1 * 255 and its error 1.70 above 1.66
        targets = {t["method"]: t for t in result["targets"]}
        self.assertTrue(targets["bbd"]["met"])
        self.assertFalse(targets["sbp"]["met"])
        self.assertIn("missed", targets["sbp"]["text"])
        with open(md, encoding="utf-8") as f:
            table = f.read()
        self.assertIn("| bbd-1e-2 | 0.01 | 1.32 | 294-110-71 |", table)
        self.assertIn("106.0-29.0-32.0", table)
        self.assertIn("| 294-110-71 | 13.26 | 7.52 | 1.30 |", table)  # the published BB(1e-2) beside it
        self.assertIn("1.51–1.56", table)  # SBP's published error: a range read off the figure
        for ext in ("png", "svg"):
            path = os.path.join(self.dir, "fig", f"tradeoff.{ext}")
            self.assertTrue(os.path.getsize(path) > 1000, path)

    def test_a_partial_sweep_says_what_is_missing(self):
        status, err, md, _ = self.run_all([self.write("bbd-5e-2.json", report("bbd", 0.985, [227, 66, 37], lr_noise=5e-2))],
                                          figures=False)
        self.assertEqual(status, 0, err)
        with open(md, encoding="utf-8") as f:
            table = f.read()
        self.assertIn("No runs yet for: none, sbp, dbb, sparsevd, vib, gd, l0, ssl.", table)
        self.assertIn("not run yet", table)

    def test_the_error_axis_keeps_the_curves_readable(self):
        import importlib.util
        spec = importlib.util.spec_from_file_location("tradeoff_axis", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with open(PUBLISHED, encoding="utf-8") as f:
            published = json.load(f)
        worst_published = 2.03  # the figure-only DBB point
        near = [{"error_percent": 1.4}, {"error_percent": 2.42}]
        # a run within a point of the worst published error stays on the axis...
        self.assertAlmostEqual(module.error_axis_top(near, published), 2.42 + 0.1)
        # ...one far above it is left out of the axis (drawn on its edge), so the rest keep their resolution
        far = near + [{"error_percent": 3.76}]
        self.assertAlmostEqual(module.error_axis_top(far, published), 2.42 + 0.1)
        self.assertGreater(module.error_axis_top([{"error_percent": 1.0}], published), worst_published)
        status, err, _, _ = self.run_all([self.write("sparsevd-kl10.json",
                                                     report("sparsevd", 0.9624, kl_scales=[10, 10, 10]))])
        self.assertEqual(status, 0, err)

    def test_a_bad_report_is_named(self):
        bad = report("dbb", 0.98, n_active=[294, 110, 71])  # no n_active_per_example
        status, err, _, _ = self.run_all([self.write("dbb.json", bad)], figures=False)
        self.assertEqual(status, 2)
        self.assertIn("dbb.json", err)
        self.assertIn("n_active_per_example", err)
        no_layers = report("bbd", 0.98, n_active=[1, 2, 3])
        del no_layers["layers"]
        status, err, _, _ = self.run_all([self.write("bbd.json", no_layers)], figures=False)
        self.assertEqual(status, 2)
        self.assertIn("missing field 'layers'", err)
        status, err, _, _ = self.run_all([self.write("conv.json", dict(report("bbd", 0.98, [1, 2, 3]), model="lenet5"))],
                                         figures=False)
        self.assertEqual(status, 2)
        self.assertIn("lenet5", err)
        with open(os.path.join(self.dir, "x.json"), "w", encoding="utf-8") as f:
            f.write("{not json")
        status, err, _, _ = self.run_all([os.path.join(self.dir, "x.json")], figures=False)
        self.assertEqual(status, 2)
        self.assertIn("not JSON", err)


def main():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("SKIPPED: matplotlib is missing (apt-get install python3-matplotlib)")
        return SKIP
    result = unittest.main(argv=[sys.argv[0]], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
