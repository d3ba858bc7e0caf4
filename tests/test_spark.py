"""The Spark recipe of ``capitation.distributed``'s docstring, run as it is written, on Spark in local mode.

Running it is slow (a JVM, and Python workers that import the library): ``pytest -m slow tests/test_spark.py``;
the recipe is found and compiled in every run. Skipped when pyspark or Java is missing (``pip install pyspark``;
Java 17 from Debian's ``openjdk-17-jre-headless``).
"""

from __future__ import annotations

import functools
import operator
import os
import re
import shutil
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import capitation.distributed
from capitation import FeatureSpec, Membership
from capitation.model import BLOCK_SIZE
from capitation.stream import fit_parquet, score_parquet

#: Twelve practices of two ICBs at full lists: about 83,000 people, three parts of BLOCK_SIZE.
PRACTICES = ["A82005", "P81201", "A82062", "P81179", "P81695", "A81053", "A84035", "A83636", "A84037", "A86005",
             "A81002", "A81004"]


def recipe() -> str:
    """The code block of the docstring's Spark recipe, dedented."""
    doc = capitation.distributed.__doc__
    start = doc.index("Spark recipe")
    block = re.search(r"::\n\n((?:    .*\n|\n)+)", doc[start:])
    return textwrap.dedent(block.group(1))


def test_the_recipe_is_found_and_uses_cogroup_not_a_frame_without_records():
    code = recipe()
    assert "cogroup" in code and "stats_frame" in code and "score_partition(p, d," in code
    compile(code, "recipe", "exec")


@pytest.fixture(scope="module")
def spark():  # used by slow tests only
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java: apt-get install openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter, with capitation
    session = (SparkSession.builder.master("local[2]").appName("capitation-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.driver.memory", "2g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def england(tmp_path_factory):
    from capitation.datasets.synthetic import write_synthetic_england

    return write_synthetic_england(tmp_path_factory.mktemp("spark") / "se", 1.0, practices=PRACTICES,
                                   chunk_practices=4, progress=False)


@pytest.mark.slow
def test_the_docstring_recipe_fits_and_scores_as_the_stream_does(spark, england, tmp_path):
    practices = pd.read_parquet(england / "practices.parquet")
    icb = Membership.nhs_england("2025/26").as_series().loc[sorted(practices["practice_code"])]
    spec = FeatureSpec(outcome_year="2025/26", fixed_effects=("icb",))  # levels learned by the recipe
    scope = {"people_sdf": spark.read.parquet(str(england / "people")),
             "diagnoses_sdf": spark.read.parquet(str(england / "diagnoses")),
             "spec": spec, "groups": {"icb": icb}}
    exec(recipe(), scope)  # the documented recipe, run as a user would paste it

    stream = fit_parquet(spec, england / "people", england / "diagnoses", groups={"icb": icb}, on_aliased="drop",
                         progress=False)
    assert stream.stats_.n > 2 * BLOCK_SIZE  # three parts: the fold crosses parts
    model = scope["model"]
    assert model.spec_.levels == stream.spec_.levels and len(stream.spec_.levels[0][1]) == 2
    np.testing.assert_array_equal(model.coef_, stream.coef_)  # the exact fold: bit for bit
    for name in ("xtwx", "xtwy", "xtw1", "moments"):
        np.testing.assert_array_equal(getattr(model.stats_, name), getattr(stream.stats_, name))

    score_parquet(stream, england / "people", england / "diagnoses", groups={"icb": icb},
                  predictions=tmp_path / "need.parquet", progress=False)
    expected = pd.read_parquet(tmp_path / "need.parquet")
    scored = scope["scored"].toPandas().sort_values("person_id", kind="stable").reset_index(drop=True)
    np.testing.assert_array_equal(scored["person_id"].to_numpy(), expected["person_id"].to_numpy())
    np.testing.assert_array_equal(scored["need"].to_numpy(), expected["need"].to_numpy())
    assert scored["practice_code"].tolist() == expected["practice_code"].astype(str).tolist()

    # An order-free merge of the same rows (a plain sum) agrees to rounding only.
    rows = scope["stats"].toPandas()
    parts = capitation.distributed._stats_from_frame(rows)
    summed = functools.reduce(operator.add, [parts[k] for k in (2, 0, 1)])
    np.testing.assert_allclose(summed.xtwx, stream.stats_.xtwx, rtol=1e-12)
