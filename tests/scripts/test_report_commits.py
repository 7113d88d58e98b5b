"""make-table.py and tradeoff.py name the commit of each row, from its reports' "provenance", run by ctest.

    python3 tests/scripts/test_report_commits.py

Reports written here: one with provenance (a clean and a dirty commit), one without (written before the programs
recorded it): the markdown shows the short commit, "-dirty", or "before provenance"; the JSON the full commits (null
for the older report). A row over several seeds lists each distinct commit once.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
CLEAN, DIRTY = "0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98-dirty"


def table_report(dropout, seed, commit=None):
    layers = [{"name": f"layer{i + 1}", "type": "Linear", "units_in": u, "active_in": u, "input_kept": 1.0}
              for i, u in enumerate((784, 500, 300))]
    r = {"model": "mlp", "dropout": dropout, "epochs": 2, "seed": seed, "threads": 1, "test_accuracy": 0.985,
         "layers": layers, "n_active": [], "compression": 1.0, "memory_kept": 1.0, "flops_kept": 1.0,
         "epoch_seconds": [1.0, 1.0], "lr_noise": 1e-2, "kl_scales": []}
    if commit is not None:
        r["provenance"] = {"version": "0.1.0", "commit": commit, "command_line": "bayesdrop-mnist",
                           "date": "2026-12-07T10:11:12Z", "machine": {}, "threads": 1}
    return r


class ReportCommitsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(data, f)
        return path

    def run_script(self, *args):
        r = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def read(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return f.read()

    def test_make_table_names_each_rows_commits(self):
        self.write("none.json", table_report("none", 1))  # before provenance
        self.write("bbd.seed1.json", table_report("bbd", 1, CLEAN))
        self.write("bbd.seed2.json", table_report("bbd", 2, CLEAN))
        self.write("bbd.seed3.json", table_report("bbd", 3, DIRTY))
        self.run_script(os.path.join(SCRIPTS, "make-table.py"), "--runs", self.dir, "--md",
                        os.path.join(self.dir, "t.md"), "--json", os.path.join(self.dir, "t.json"))
        md = self.read("t.md").splitlines()
        self.assertTrue(md[0].endswith("| commit |"), md[0])
        # one seed in a table of three: the row names its seed
        none = next(line for line in md if line.startswith("| none [seed 1] |"))
        bbd = next(line for line in md if line.startswith("| beta-Bernoulli"))
        self.assertTrue(none.endswith("| before provenance |"), none)
        self.assertTrue(bbd.endswith("| 0123456, fedcba9-dirty |"), bbd)
        rows = {r["dropout"]: r for r in json.loads(self.read("t.json"))["rows"]}
        self.assertEqual(rows["none"]["commits"], [None])
        self.assertEqual(rows["bbd"]["commits"], [CLEAN, CLEAN, DIRTY])

    def test_tradeoff_names_each_runs_commit(self):
        old = self.write("none.json", table_report("none", 1))
        new = self.write("bbd-1e-2.json", dict(table_report("bbd", 1, DIRTY), n_active=[294, 110, 71]))
        self.run_script(os.path.join(SCRIPTS, "tradeoff.py"), old, new, "--published",
                        os.path.join(SCRIPTS, "tradeoff_published.json"), "--md", os.path.join(self.dir, "t.md"),
                        "--json", os.path.join(self.dir, "t.json"))
        md = self.read("t.md").splitlines()
        header = next(line for line in md if line.startswith("| run |"))
        self.assertTrue(header.endswith("| commit |"), header)
        self.assertTrue(next(line for line in md if line.startswith("| none |")).endswith("| before provenance |"))
        self.assertTrue(next(line for line in md if line.startswith("| bbd-1e-2 |")).endswith("| fedcba9-dirty |"))
        runs = {r["name"]: r for r in json.loads(self.read("t.json"))["runs"]}
        self.assertIsNone(runs["none"]["commit"])
        self.assertEqual(runs["bbd-1e-2"]["commit"], DIRTY)

    def test_compare_reports_ignores_provenance(self):
        import importlib.util
        spec = importlib.util.spec_from_file_location("compare_reports", os.path.join(SCRIPTS, "compare-reports.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        a, b = table_report("bbd", 1, CLEAN), table_report("bbd", 1, DIRTY)
        b["provenance"]["date"] = "2027-01-01T00:00:00Z"
        self.assertIsNone(module.diff(a, b))
        self.assertIsNone(module.diff(table_report("bbd", 1), b), "a report from before provenance")
        b["test_accuracy"] = 0.5
        self.assertEqual(module.diff(a, b), "/test_accuracy: 0.985 against 0.5")


if __name__ == "__main__":
    unittest.main()
