"""Golden masters: outputs pinned byte for byte, so a restructuring that changes any of them fails.

Each case computes a sha256 of something a user receives (the demo's CSVs, a saved model's JSON, an allocation
of £55bn, a streamed fit's coefficients) and compares it with ``tests/golden/golden.json``. A deliberate change
of output regenerates that file in its own commit, saying why::

    CAPITATION_REGENERATE_GOLDEN=1 pytest tests/test_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import capitation as cp
from capitation.allocation import published_need
from capitation.cli import main
from capitation.datasets.synthetic import synthetic_england, write_synthetic_england
from capitation.model.persist import save_model
from capitation.stream import fit_parquet

GOLDEN = Path(__file__).parent / "golden" / "golden.json"
REGENERATE = os.environ.get("CAPITATION_REGENERATE_GOLDEN") == "1"
FEW = ["A81001", "A81002", "B82005", "Y02045", "M85063", "F84003", "P81016", "C84001"]
SPEC = cp.FeatureSpec(outcome_year="2025/26")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _floats(values) -> bytes:
    """Floats by their exact bits, so that a change in the last binary digit shows."""
    return "\n".join(float(v).hex() for v in np.asarray(values, dtype=np.float64).ravel()).encode()


def _check(name: str, digest: str) -> None:
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if REGENERATE:
        recorded[name] = digest
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return
    assert name in recorded, f"no golden value for {name!r}: regenerate (see the module docstring)"
    assert digest == recorded[name], f"{name} changed: if deliberate, regenerate in its own commit and say why"


def test_the_demo_writes_the_same_three_tables(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", "--fraction", "0.002", "--seed", "3", "--out", str(out)]) == 0
    for name in ("icb_budgets.csv", "practice_budgets.csv", "coefficients.csv"):
        _check(f"demo/{name}", _sha((out / name).read_bytes()))


def test_a_saved_model_is_the_same_bytes(tmp_path):
    england = synthetic_england(fraction=0.05, seed=4, practices=FEW)
    people = cp.Population.from_frame(england.people)
    X = SPEC.encode(people, diagnoses=england.diagnoses)
    model = cp.CostModel(on_aliased="drop", cov_type="HC1").fit(X, people.cost / people.exposure,
                                                                sample_weight=people.exposure)
    path = save_model(model, tmp_path / "model.json", spec=X.spec, created="2026-01-01T00:00:00Z")
    _check("model/model.json", _sha(path.read_bytes()))
    _check("model/model.npz", _sha(path.with_suffix(".npz").read_bytes()))
    need = cp.score(model, X)
    _check("model/need", _sha(_floats(need)))


def test_an_allocation_of_55bn_is_the_same_pennies():
    icbs = cp.Membership.nhs_england("2025/26")
    wp = published_need("2025/26", "core").drop(columns="icb_code")
    alloc = cp.allocate(wp, "55000000000", membership=icbs)
    practices = alloc.to_frame("practice", units="£000")
    consortia = alloc.to_frame("consortium", units="£000")
    table = pd.concat([practices[["budget_pence", "budget_000"]], consortia[["budget_pence", "budget_000"]]])
    _check("allocation/55bn", _sha(table.to_csv().encode()))


def test_a_streamed_fit_has_the_same_coefficients(tmp_path):
    folder = write_synthetic_england(tmp_path / "se", 0.05, seed=5, practices=FEW, chunk_practices=3)
    model = fit_parquet(SPEC, folder / "people", folder / "diagnoses", batch_rows=4_096, on_aliased="drop")
    _check("stream/coefficients", _sha(_floats(model.result_.params.to_numpy())
                                       + "\n".join(model.result_.params.index).encode()))


@pytest.mark.skipif(REGENERATE, reason="regenerating")
def test_the_golden_file_lists_exactly_the_pinned_outputs():
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(recorded) == sorted(["demo/icb_budgets.csv", "demo/practice_budgets.csv", "demo/coefficients.csv",
                                       "model/model.json", "model/model.npz", "model/need", "allocation/55bn",
                                       "stream/coefficients"])
