#!/usr/bin/env python3
"""No include runs back up: every `#include "bayesdrop/..."` of a public header names a header of its own folder or
of a lower level, the levels being the table of docs/design.md's section "Levels of the include graph".

  tests/headers/check_levels.py [SOURCE_DIR]          # exit 1 naming every include of a higher or peer level
  tests/headers/check_levels.py [SOURCE_DIR] --list   # also print each header's level and bayesdrop includes

Folders on one level are peers: neither includes the other (io/ reads data without knowing layers, and so on).
The umbrella header (include/bayesdrop/bayesdrop.hpp) sits above every level. A header in a folder the table does
not list fails too: give the folder its level in docs/design.md first.
"""
import pathlib
import re
import sys

SECTION = "## Levels of the include graph"
INCLUDE = re.compile(r'^\s*#\s*include\s+"bayesdrop/([^"]+)"', re.M)
ROW = re.compile(r"^\|\s*(\d+)\s*\|([^|]*)\|")


def read_levels(design):
    """{folder: level} from the table of the section SECTION of docs/design.md."""
    text = design.read_text()
    start = text.find(SECTION)
    if start < 0:
        sys.exit(f"check_levels: {design} has no section '{SECTION}'")
    body = text[start + len(SECTION):]
    end = body.find("\n## ")
    levels = {}
    for line in (body if end < 0 else body[:end]).splitlines():
        m = ROW.match(line)
        if m:
            for folder in re.findall(r"`([a-z_]+)/`", m.group(2)):
                levels[folder] = int(m.group(1))
    if not levels:
        sys.exit(f"check_levels: no '| level | `folder/` ... |' rows under '{SECTION}' in {design}")
    return levels


def folder_of(rel):
    """The folder of a header path relative to include/bayesdrop ('' for the umbrella)."""
    parts = pathlib.PurePosixPath(rel).parts
    return parts[0] if len(parts) > 1 else ""


def main():
    args = [a for a in sys.argv[1:] if a != "--list"]
    listing = "--list" in sys.argv[1:]
    root = pathlib.Path(args[0] if args else pathlib.Path(__file__).resolve().parents[2])
    levels = read_levels(root / "docs" / "design.md")
    top = max(levels.values()) + 1
    base = root / "include" / "bayesdrop"
    headers = sorted(h.relative_to(base).as_posix() for h in base.rglob("*.hpp"))
    if not headers:
        sys.exit(f"check_levels: no header under {base}")

    def level(rel):
        folder = folder_of(rel)
        return top if folder == "" else levels.get(folder)

    errors = []
    for rel in headers:
        mine = level(rel)
        includes = INCLUDE.findall((base / rel).read_text())
        if listing:
            shown = "umbrella" if mine == top else mine
            print(f"{rel} (level {shown}): " + (", ".join(includes) or "-"))
        if mine is None:
            errors.append(f"{rel}: its folder {folder_of(rel)}/ has no level in docs/design.md ('{SECTION}')")
            continue
        for inc in includes:
            theirs = level(inc)
            if not (base / inc).is_file():
                errors.append(f"{rel} includes bayesdrop/{inc}, which does not exist")
            elif theirs is None:
                errors.append(f"{rel} includes bayesdrop/{inc}, whose folder {folder_of(inc)}/ has no level")
            elif folder_of(inc) != folder_of(rel) and theirs >= mine:
                kind = "a higher" if theirs > mine else "a peer"
                errors.append(f"{rel} (level {mine}, {folder_of(rel)}/) includes bayesdrop/{inc} of {kind} level "
                              f"({theirs}, {folder_of(inc)}/)")
    for e in errors:
        print("check_levels: " + e, file=sys.stderr)
    if errors:
        print(f"check_levels: {len(errors)} include(s) against the levels of docs/design.md: move the code to the "
              f"level it needs, or the dependency out of it", file=sys.stderr)
        return 1
    print(f"check_levels: the {len(headers)} headers include only their own folder or lower levels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
