"""The notebooks are stored executed, with their outputs, so that a reader (and the docs site) sees the results.

``python scripts/build_notebooks.py`` executes them in place; CI also runs them (``pytest --nbmake``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_is_stored_executed_in_order_with_its_outputs(path):
    cells = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: not executed top to bottom ({counts})"
    assert cells[-1]["outputs"], f"{path.name}: its last cell shows nothing"
    assert sum(bool(c["outputs"]) for c in cells) >= len(cells) / 2
    errors = [o for c in cells for o in c["outputs"] if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: stored with an error: {errors[0].get('ename')}"


def test_the_quick_start_prints_budgets_per_registered_person():
    quick = next(p for p in NOTEBOOKS if p.name.startswith("01_"))
    text = "".join("".join(o.get("text", "")) for c in json.loads(quick.read_text(encoding="utf-8"))["cells"]
                   for o in c.get("outputs", []))
    per_head = float(text.split(" per head on average")[0].rsplit("£", 1)[1].replace(",", ""))
    assert 300 < per_head < 3_000, per_head  # £ per registered person, not per person sampled
