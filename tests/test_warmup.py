"""warmup() compiles the one signature each kernel is called with, so a service never compiles mid-request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json
import tempfile
from pathlib import Path

import capitation
from capitation import FeatureSpec, Membership, Population, aggregate, encode, fit_ols, score
from capitation._kernels import cells, design, groupby, score as score_kernels
from capitation.datasets.synthetic import synthetic_england, write_synthetic_england
from capitation.inputs import read_hes_apc
from capitation.model import CostModel
from capitation.stream import fit_parquet, score_parquet

kernels = {"gram_rows": design.gram_rows, "distinct_pairs": design.distinct_pairs,
           "score_rows": score_kernels.score_rows,
           "group_sum_fixed": groupby.group_sum_fixed, "group_count": groupby.group_count,
           "regroup_sum": groupby.regroup_sum, "wide_cells": cells.wide_cells}
capitation.warmup()
after_warmup = {name: len(k.signatures) for name, k in kernels.items()}

se = synthetic_england(0.05, practices=["A81001", "A81002"])
pop = Population.from_frame(se.people)
spec = FeatureSpec(outcome_year="2025/26", conditions=("DM", "HYP"))
X = encode(spec, pop, diagnoses=se.diagnoses, conditions=se.conditions)
fit_ols(X, pop.cost / pop.exposure, pop.exposure, cov_type="HC1", on_aliased="drop")
model = CostModel(on_aliased="drop").fit(X, pop.cost / pop.exposure, sample_weight=pop.exposure)
model.predict(X)
agg = aggregate(pop, score(model, X), membership=Membership.nhs_england("2025/26"), unassigned="line")
with tempfile.TemporaryDirectory() as d:
    root = write_synthetic_england(Path(d) / "se", 0.05, practices=["A81001"], progress=False)
    streamed = fit_parquet(FeatureSpec(outcome_year="2025/26"), root / "people", root / "diagnoses",
                           on_aliased="drop", progress=False)
    score_parquet(streamed, root / "people", root / "diagnoses", progress=False)
read_hes_apc(Path(r"HES_SAMPLE"), unknown_sex="drop")
print(json.dumps({"warmup": after_warmup, "after": {name: len(k.signatures) for name, k in kernels.items()}}))
"""

HES_SAMPLE = Path(__file__).parent / "data" / "artificial_hes_apc_0102_sample.csv"


def test_a_whole_pipeline_after_warmup_compiles_nothing_more():
    import json

    script = SCRIPT.replace("HES_SAMPLE", str(HES_SAMPLE))
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    counts = json.loads(out.strip().splitlines()[-1])
    assert counts["warmup"] == {name: 1 for name in counts["warmup"]}
    assert counts["after"] == counts["warmup"], "a kernel was compiled again for another signature"
