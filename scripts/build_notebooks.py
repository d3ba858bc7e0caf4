"""Execute the notebooks in place, so that they are stored with their outputs (what readers and the docs see).

Run after changing a notebook or anything it shows: ``python scripts/build_notebooks.py [NOTEBOOK ...]``.
Each runs in a fresh kernel from its own folder; a cell that fails stops the script and nothing is written for
that notebook. Execution counts and outputs are kept; cell metadata timings are dropped so that re-running an
unchanged notebook changes as little as possible.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def build(path: Path) -> float:
    """Execute ``path`` in place; return the seconds it took."""
    started = time.perf_counter()
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(notebook, tmp)
    tmp.replace(path)
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        print(f"{path.name}: executed and stored in {build(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
