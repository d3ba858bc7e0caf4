"""Fixtures shared by the tests; the helpers they use are in ``helpers.py``."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import make_people


@pytest.fixture
def people() -> pd.DataFrame:
    return make_people()
