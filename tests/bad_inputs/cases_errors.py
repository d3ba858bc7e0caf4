"""Bad inputs of one class — raw Python errors turned into CapitationError: options, dates, model files,
constant outcomes, text numbers."""

from __future__ import annotations

import sys
from unittest import mock

import pandas as pd

from capitation.errors import InputError, MissingDependencyError, OutputError

from .catalogue import FIX, Case, people


def need_table(**columns) -> pd.DataFrame:
    """A per-practice need table (as ``capitation allocate --need`` reads it), with columns replaced."""
    frame = pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"], "need": [1.0, 2.0, 3.0],
                          "registered": [100, 200, 300]})
    return frame.assign(**columns)


def _need(frame):
    from capitation.allocation import need_from_table

    return need_from_table(frame)


def _cli(*argv):
    from capitation.cli import main

    return main(["--debug", *argv])  # --debug: the exception itself, not the printed line


def _no_work(*args, **kwargs):
    raise AssertionError("the work started before the check that must come first")


def _without(module: str, call):
    """``call()`` as if ``module`` were not installed, and with the synthetic generator (the work) forbidden."""
    with mock.patch.dict(sys.modules, {module: None}), \
            mock.patch("capitation.datasets.synthetic.synthetic_england", _no_work):
        return call()


def _people_csv(tmp):
    path = tmp / "people-for-cli.csv"
    people().to_csv(path, index=False)
    return path


def cases(tmp) -> list[Case]:
    return [
        # ---- text numbers → capitation.allocation.need_from_table (capitation allocate --need) -----------
        Case("need-table-bad-thousands-separator", "allocation.need_from_table",
             lambda: _need(need_table(registered=["1,234", "12,34", "900"])), InputError, "'need'",
             "'registered'", "'12,34'", FIX),
        Case("need-table-text-need", "allocation.need_from_table",
             lambda: _need(need_table(need=["1.5", "high", "2"])), InputError, "'need'", "row 1", "'high'", FIX),
        Case("need-table-missing-practice-code", "allocation.need_from_table",
             lambda: _need(need_table(practice_code=["A81001", None, "A81003"])), InputError, "'practice_code'",
             "row 1", "empty", FIX),
        Case("need-table-person-twice", "allocation.need_from_table",
             lambda: _need(pd.DataFrame({"person_id": [7, 7, 14], "practice_code": ["A81001", "A81002", "A81001"],
                                         "need": [1.0, 2.0, 3.0]})), InputError, "'person_id'", "rows [0, 1]",
             "7", FIX),
        # ---- options → the command line, checked before the work -----------------------------------------
        Case("cli-report-without-matplotlib", "cli.main",
             lambda: _without("matplotlib", lambda: _cli("report", "--out", str(tmp / "r.html"))),
             MissingDependencyError, "matplotlib", None, 'pip install "capitation[report]"', FIX),
        Case("cli-output-file-is-a-folder", "cli.main",
             lambda: _cli("fit", "--people", str(_people_csv(tmp)), "--no-diagnoses", "--out", str(tmp),
                          "--quiet"), OutputError, "--out", None, "which is a folder", FIX),
        Case("cli-output-overwrites-its-input", "cli.main",
             lambda: _cli("fit", "--people", str(_people_csv(tmp)), "--no-diagnoses", "--out",
                          str(tmp / "people-for-cli.csv"), "--overwrite", "--quiet"), OutputError, "--out",
             "--people", "people-for-cli.csv", FIX),
        Case("cli-allocate-level-practice", "cli.main",
             lambda: _cli("allocate", "--need", str(tmp / "need.csv"), "--level", "practice", "--out",
                          str(tmp / "alloc"), "--quiet"), InputError, "--level", None, "'practice'", FIX),
    ]
