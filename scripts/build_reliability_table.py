"""Rewrite the bad-input count and table of docs/reliability.md from the catalogue in tests/bad_inputs.

    python scripts/build_reliability_table.py            # rewrite docs/reliability.md in place
    python scripts/build_reliability_table.py --check    # exit 1 if it is out of date

The page's prose is left alone; only the "**N distinct bad inputs**" figure and the table whose header is
``| case | entry point | exception |`` are regenerated. ``tests/bad_inputs/test_catalogue.py`` checks the same.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
HEADER = "| case | entry point | exception |\n|---|---|---|\n"


def render(text: str) -> str:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    from tests.bad_inputs.catalogue import cases

    catalogue = cases(Path("/nonexistent-placeholder"))
    rows = "".join(f"| `{c.id}` | `{c.entry}` | `{c.error.__name__}` |\n" for c in catalogue)
    text = re.sub(r"\*\*\d+ distinct bad inputs\*\*", f"**{len(catalogue)} distinct bad inputs**", text)
    start = text.index(HEADER) + len(HEADER)
    end = start
    while end < len(text) and text.startswith("| `", end):
        end = text.index("\n", end) + 1
    return text[:start] + rows + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/reliability.md is out of date")
    args = parser.parse_args()
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("docs/reliability.md is out of date: run python scripts/build_reliability_table.py",
                  file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
