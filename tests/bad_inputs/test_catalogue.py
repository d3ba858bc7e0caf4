"""Every bad input in the catalogue is refused with the promised exception and a message that acts."""

from __future__ import annotations

from pathlib import Path

import pytest

from .catalogue import Case, cases

_CASES = cases(Path("/nonexistent-placeholder"))  # ids only; calls run with a real tmp folder below
IDS = [c.id for c in _CASES]


def test_catalogue_is_large_and_distinct():
    assert len(IDS) >= 40
    assert len(set(IDS)) == len(IDS), "case ids must be unique"


@pytest.mark.parametrize("case_id", IDS)
def test_bad_input_is_refused_with_an_actionable_message(case_id, tmp_path):
    case: Case = {c.id: c for c in cases(tmp_path)}[case_id]
    with pytest.raises(case.error) as info:
        case.call()
    message = str(info.value)
    missing = {k: v for k, v in case.fragments().items() if v not in message}
    assert not missing, f"{case.id}: message lacks {missing}:\n{message}"


def test_reliability_doc_is_true():
    """docs/reliability.md states the number of bad inputs, lists every case and every property test."""
    import re

    import test_properties

    doc = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    stated = re.search(r"\*\*(\d+) distinct bad inputs\*\*", doc)
    assert stated and int(stated.group(1)) == len(IDS), "update the count in docs/reliability.md"
    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", doc, flags=re.M)
    assert listed == IDS, "the case table in docs/reliability.md must list the catalogue in order"
    for name in test_properties.PROPERTIES:
        assert f"`{name}`" in doc, f"docs/reliability.md does not list the property {name}"
