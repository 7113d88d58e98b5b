"""Every script takes its dropout families from the trainer (bayesdrop-mnist --list-dropouts [--json]), run by ctest.

    python3 tests/scripts/test_family_lists.py

The scripts are run against fake builds: a "bayesdrop-mnist" that lists families of the test's choosing (a family
"toyfam" the library does not have, "toydep" that starts from it, or a listing without one of the library's
families). Scripts whose list means "every family" (reproduce-uncertainty.sh, compare-reports.py, bench-tables.py)
must show the toy families; scripts whose list is a deliberate choice (reproduce-table.sh, reproduce-papers.sh,
tradeoff.sh, compare-torch.sh, make-table.py, tradeoff.py) must stop with a message naming a family the trainer does
not list, before any run. Nothing is trained: the fakes answer at once.
"""
import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")

LIBRARY = ["none", "binary", "gaussian", "variational", "sparsevd", "bbd", "sbp", "dbb", "vib", "gd", "l0", "ssl"]


def family(name, starts_from="", gates=True):
    return {"name": name, "help": f"the {name} family", "gates": gates, "dense": not gates, "conv": False,
            "starts_from": starts_from}


def library_listing(without=(), extra=()):
    """The library's families (dbb from bbd), less `without`, plus `extra`."""
    return [family(n, "bbd" if n == "dbb" else "") for n in LIBRARY if n not in without] + list(extra)


FAKE_TRAINER = textwrap.dedent('''\
    #!/usr/bin/env python3
    # A stand-in for bayesdrop-mnist: --list-dropouts [--json] prints LISTING; a training run appends its argv to
    # LOG, checks that its --init-from file exists, and writes --save and --report files.
    import json, os, random, sys
    LISTING = {listing}
    LOG = {log!r}
    args = sys.argv[1:]
    if "--list-dropouts" in args:
        print(json.dumps(LISTING) if "--json" in args else "\\n".join(f["name"] for f in LISTING))
        sys.exit(0)
    with open(LOG, "a") as f:
        f.write(json.dumps(args) + "\\n")
    value = lambda flag: args[args.index(flag) + 1] if flag in args else None
    if value("--init-from") and not os.path.exists(value("--init-from")):
        sys.exit(f"fake trainer: --init-from {{value('--init-from')}} does not exist")
    if value("--save"):
        open(value("--save"), "w").write("model")
    if value("--report"):
        report = {{"dropout": value("--dropout"), "test_accuracy": 0.9, "epoch_seconds": [random.random()],
                  "provenance": {{"commit": "%040x" % random.getrandbits(160), "date": str(random.random())}}}}
        json.dump(report, open(value("--report"), "w"))
    ''')


def write_exe(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class FamilyListsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.log = os.path.join(self.dir, "runs.log")

    def tearDown(self):
        self.tmp.cleanup()

    def build(self, listing, name="build"):
        """A fake build folder: examples/bayesdrop-mnist listing `listing`, and stand-ins for the other programs."""
        build = os.path.join(self.dir, name)
        write_exe(os.path.join(build, "examples", "bayesdrop-mnist"),
                  FAKE_TRAINER.format(listing=repr(listing), log=self.log))
        write_exe(os.path.join(build, "examples", "bayesdrop-uncertainty"), "#!/bin/sh\nexit 3\n")
        write_exe(os.path.join(build, "bench", "bench_epoch"), "#!/bin/sh\nexit 3\n")
        return build

    def run_script(self, *cmd, env=None):
        full_env = dict(os.environ, BAYESDROP_MNIST_DIR=self.dir, BAYESDROP_FASHION_DIR=self.dir, **(env or {}))
        return subprocess.run(list(cmd), capture_output=True, text=True, env=full_env, timeout=120)

    def runs(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().splitlines()

    # --- "every family": the toy families appear ----------------------------------------------------------------

    def test_reproduce_uncertainty_runs_every_listed_family_each_from_its_start(self):
        build = self.build(library_listing(extra=[family("toyfam"), family("toydep", "toyfam")]))
        r = self.run_script(os.path.join(SCRIPTS, "reproduce-uncertainty.sh"), "--build", build, "--out",
                            os.path.join(self.dir, "out"), "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual([line.split(":")[0] for line in lines], LIBRARY + ["toyfam", "toydep"])
        self.assertIn("from " + os.path.join(self.dir, "out", "uncertainty", "models", "toyfam.model"), lines[-1])
        self.assertIn("uncertainty/models/bbd.model", lines[LIBRARY.index("dbb")])
        self.assertEqual(self.runs(), [], "a dry run trains nothing")

    def test_reproduce_uncertainty_only_is_checked_against_the_listing(self):
        build = self.build(library_listing())
        r = self.run_script(os.path.join(SCRIPTS, "reproduce-uncertainty.sh"), "--build", build, "--out",
                            os.path.join(self.dir, "out"), "--only", "none toyfam", "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a dropout family", r.stderr)
        self.assertIn("toyfam", r.stderr)

    def test_compare_reports_runs_every_listed_family_and_ignores_provenance(self):
        build = self.build(library_listing(extra=[family("toydep", "toyfam"), family("toyfam")]))
        trainer = os.path.join(build, "examples", "bayesdrop-mnist")
        r = self.run_script(sys.executable, os.path.join(SCRIPTS, "compare-reports.py"), trainer, trainer,
                            "--keep", os.path.join(self.dir, "reports"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ran = [line.split()[0] for line in r.stdout.splitlines() if "equal" in line or "DIFFERS" in line]
        # toydep listed before its start: its start is moved ahead of it
        self.assertEqual(ran, LIBRARY + ["toyfam", "toydep"])
        self.assertNotIn("DIFFERS", r.stdout)  # the fakes' commits, dates and timings differ on every run
        toydep = [json.loads(line) for line in self.runs() if '"toydep"' in line]
        self.assertEqual(len(toydep), 2)
        for args in toydep:
            self.assertTrue(args[args.index("--init-from") + 1].endswith("-toyfam.model"))

    def test_bench_tables_rows_are_the_families_the_benchmark_ran(self):
        out = os.path.join(self.dir, "bench")
        os.makedirs(out)
        benchmarks = [{"name": f"{mode}/{shape}/{fam}/{t}/real_time", "real_time": 10.0, "time_unit": "us"}
                      for mode in ("Train", "Eval") for shape in ("784x500", "500x300", "300x10", "conv1", "conv2")
                      for fam in ("none", "toyfam") for t in (1, 2)]
        with open(os.path.join(out, "layers.json"), "w") as f:
            json.dump({"context": {"bayesdrop_commit": "a" * 40}, "benchmarks": benchmarks}, f)
        r = self.run_script(sys.executable, os.path.join(SCRIPTS, "bench-tables.py"), out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| toyfam | 10 / 10 |", r.stdout)
        self.assertNotIn("| sbp |", r.stdout)
        self.assertIn("Commit aaaaaaa.", r.stdout)

    # --- deliberate lists: a name the trainer does not list stops the script, named --------------------------

    def assert_refused(self, r, name):
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("not a dropout family", r.stderr)
        self.assertIn(name, r.stderr.split("(it lists")[0])
        self.assertEqual(self.runs(), [], "refused before any run")

    def test_reproduce_table_refuses_a_row_the_trainer_does_not_list(self):
        build = self.build(library_listing(without=["sbp"]))
        r = self.run_script(os.path.join(SCRIPTS, "reproduce-table.sh"), "--build", build, "--out",
                            os.path.join(self.dir, "out"))
        self.assert_refused(r, "sbp")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "out")))

    def test_reproduce_papers_refuses_a_row_the_trainer_does_not_list(self):
        build = self.build(library_listing(without=["sparsevd"]))
        r = self.run_script(os.path.join(SCRIPTS, "reproduce-papers.sh"), "--build", build, "--out",
                            os.path.join(self.dir, "out"))
        self.assert_refused(r, "sparsevd")

    def test_tradeoff_refuses_a_method_the_trainer_does_not_list(self):
        build = self.build(library_listing(without=["l0"]))
        r = self.run_script(os.path.join(SCRIPTS, "tradeoff.sh"), "--build", build, "--out",
                            os.path.join(self.dir, "out"), "--only", "none")
        self.assert_refused(r, "l0")

    def test_compare_torch_refuses_a_type_the_trainer_does_not_list(self):
        build = self.build(library_listing(without=["bbd"]))
        r = self.run_script(os.path.join(SCRIPTS, "compare-torch.sh"), "--build", build)
        self.assert_refused(r, "bbd")
        r = self.run_script(os.path.join(SCRIPTS, "compare-torch.sh"), "--build", build, "--dropouts", "none,toyfam")
        self.assert_refused(r, "toyfam")

    def test_make_table_and_tradeoff_py_refuse_a_family_the_trainer_does_not_list(self):
        trainer = os.path.join(self.build(library_listing(without=["variational", "vib"])), "examples",
                               "bayesdrop-mnist")
        out = os.path.join(self.dir, "t")
        r = self.run_script(sys.executable, os.path.join(SCRIPTS, "make-table.py"), "--runs", self.dir, "--md",
                            out + ".md", "--json", out + ".json", "--trainer", trainer)
        self.assert_refused(r, "variational")
        r = self.run_script(sys.executable, os.path.join(SCRIPTS, "tradeoff.py"), "--published",
                            os.path.join(SCRIPTS, "tradeoff_published.json"), "--md", out + ".md", "--json",
                            out + ".json", "--trainer", trainer)
        self.assert_refused(r, "vib")
        self.assertFalse(os.path.exists(out + ".md"))


if __name__ == "__main__":
    unittest.main()
