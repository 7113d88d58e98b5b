"""Tests of scripts/fetch-mnist.sh and scripts/setup.sh on bad folders: each stops before any download, install or
build, with a message that names the folder or the file that is missing.

    python3 tests/scripts/test_data_scripts.py

No network is used: every case stops before the first download.
"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FETCH = os.path.join(ROOT, "scripts", "fetch-mnist.sh")
SETUP = os.path.join(ROOT, "scripts", "setup.sh")
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def run(*args, env=None):
    return subprocess.run(["bash", *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          timeout=60)


class DataScriptsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="bayesdrop_test_data_scripts_")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_fetch_checks_its_folder_before_downloading(self):
        a_file = os.path.join(self.dir, "a-file")
        with open(a_file, "w") as f:
            f.write("not a folder")
        cases = [(a_file, "cannot create the folder"), (os.path.join(a_file, "mnist"), "cannot create the folder")]
        if os.path.isdir("/proc/self"):  # a folder that no one, root included, can write into
            cases.append(("/proc/self", "is not writable"))
        for folder, why in cases:
            with self.subTest(folder):
                r = run(FETCH, folder)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn(f"'{folder}'", r.stderr)
                self.assertIn(why, r.stderr)
                self.assertNotIn("downloading", r.stdout + r.stderr)

    def test_setup_names_the_file_a_data_folder_lacks(self):
        data = os.path.join(self.dir, "mnist")
        os.makedirs(data)
        for name in FILES[:3]:
            with open(os.path.join(data, name + ".gz"), "wb") as f:
                f.write(b"\x1f\x8b")
        env = dict(os.environ, BAYESDROP_MNIST_DIR="")
        r = run(SETUP, "--data", data, "--epochs", "1", env=env)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"--data '{data}'", r.stderr)
        self.assertIn("t10k-labels-idx1-ubyte", r.stderr)
        for name in FILES[:3]:
            self.assertNotIn(name, r.stderr)
        self.assertNotIn("fetching", r.stdout + r.stderr)  # stopped before any download, install or build


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
