"""What the Python scripts share (make-table.py, tradeoff.py, compare-reports.py, bench-tables.py import it):

- the dropout families, from the trainer itself (bayesdrop-mnist --list-dropouts --json: name, help, gates, dense,
  conv, starts_from), the one list the scripts take family names from;
- the commit of a report (its "provenance" object; reports written before the programs recorded it have none), as
  the tables print it.

The shell scripts' counterpart of the family functions is scripts/families.sh.
"""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEFORE_PROVENANCE = "before provenance"


class FamilyError(Exception):
    """A family list that does not match the trainer's; the message names the names and the trainer."""


def default_trainer():
    """The trainer the scripts ask by default: $BAYESDROP_MNIST_EXE, else the release build's; None when neither
    exists."""
    for path in (os.environ.get("BAYESDROP_MNIST_EXE"), os.path.join(ROOT, "build", "release", "examples",
                                                                     "bayesdrop-mnist")):
        if path and os.access(path, os.X_OK):
            return path
    return None


def listing(trainer):
    """The families `trainer --list-dropouts --json` lists, in the registry's order (dicts of name, help, gates,
    dense, conv, starts_from)."""
    try:
        out = subprocess.run([trainer, "--list-dropouts", "--json"], capture_output=True, text=True, check=True).stdout
        families = json.loads(out)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError) as e:
        raise FamilyError(f"'{trainer} --list-dropouts --json' failed ({e}); is it a bayesdrop-mnist of this tree?")
    if not isinstance(families, list) or not all(isinstance(f, dict) and "name" in f for f in families):
        raise FamilyError(f"'{trainer} --list-dropouts --json' did not print a list of families")
    return families


def family_names(trainer, kind=None):
    """The families' names; `kind` ("gates", "dense" or "conv") keeps those of that kind."""
    return [f["name"] for f in listing(trainer) if kind is None or f.get(kind)]


def check_families(names, trainer, who):
    """For a script whose list is a deliberate choice (the course table's rows, the sweep's methods): raises
    FamilyError naming every name of `names` that `trainer` does not list."""
    listed = family_names(trainer)
    unknown = [n for n in names if n not in listed]
    if unknown:
        raise FamilyError(f"{who}: not a dropout family of {trainer} --list-dropouts: {', '.join(unknown)} "
                          f"(it lists: {', '.join(listed)})")


def commit(report):
    """The full commit a report names ("<40 hex>[-dirty]" or "unknown"), or None for a report written before the
    programs recorded provenance."""
    p = report.get("provenance")
    return p.get("commit") if isinstance(p, dict) else None


def short_commit(full):
    """A commit as a table cell: its first 7 hex digits (and "-dirty"), "unknown", or "before provenance" (None)."""
    if full is None:
        return BEFORE_PROVENANCE
    if full == "unknown":
        return full
    sha, dirty = (full[:-len("-dirty")], True) if full.endswith("-dirty") else (full, False)
    return sha[:7] + ("-dirty" if dirty else "")


def commits_cell(commits):
    """The table cell of several reports' commits (one row's seeds): each distinct one once, in order."""
    shown = []
    for c in commits:
        s = short_commit(c)
        if s not in shown:
            shown.append(s)
    return ", ".join(shown)
