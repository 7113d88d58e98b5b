#!/usr/bin/env python3
"""Every instantiation a header declares `extern template` (core/instantiation.hpp) is defined in the compiled
library's sources (src/*.cpp); otherwise a program that links bayesdrop::compiled and uses it fails to link.

  tests/headers/check_instantiations.py [SOURCE_DIR]
"""
import pathlib
import re
import sys


def statements(text):
    """The file's statements with whitespace collapsed, so that formatting does not matter."""
    text = re.sub(r"//[^\n]*", "", text)
    return [re.sub(r"\s+", " ", s).strip() for s in text.split(";")]


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    declared = []
    for h in sorted((root / "include" / "bayesdrop").rglob("*.hpp")):
        text = h.read_text()
        for name in re.findall(r"^BAYESDROP_EXTERN_CLASS_TEMPLATE\((\w+)\)", text, re.M):
            declared += [(f"template class {name}<{s}>", h) for s in ("float", "double")]
        for s in statements(text):
            m = re.search(r"(?:^|[ }])extern template (.*)$", s)
            if m and not m.group(1).startswith("class Name<"):
                declared.append(("template " + m.group(1), h))
    defined = set()
    for src in sorted((root / "src").glob("*.cpp")):
        for s in statements(src.read_text()):
            m = re.search(r"(?:^|[ {}])(template .*)$", s)
            if m and not s.startswith("extern"):
                defined.add(m.group(1))
    if not declared:
        sys.exit(f"check_instantiations: no extern template found under {root}/include")
    missing = [(d, h) for d, h in declared if d not in defined]
    for d, h in missing:
        print(f"check_instantiations: {h.relative_to(root)} declares `extern {d};` but no src/*.cpp defines it: "
              f"add `{d};` to the src/ file of its group", file=sys.stderr)
    if missing:
        return 1
    print(f"check_instantiations: all {len(declared)} extern instantiations are defined in src/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
