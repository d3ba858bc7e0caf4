"""Each ``capitation`` subcommand on small data, through ``capitation.cli.main`` in a temporary folder."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from capitation._io import read_table
from capitation.allocation import to_pence
from capitation.allocation.money import half_up
from capitation.cli import SUBCOMMANDS, command_name, main
from capitation.errors import CapitationError
from capitation.model.persist import load_model
from helpers import make_membership, make_people

TOTAL = "1234567.89"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """People (CSV), diagnoses (Parquet) and a membership (CSV) for 12 practices in 3 consortia."""
    folder = tmp_path_factory.mktemp("inputs")
    people = make_people(800, seed=5)
    rng = np.random.default_rng(5)
    who = rng.choice(people["person_id"].to_numpy(), 300)
    diagnoses = pd.DataFrame({"person_id": who, "icd10": rng.choice(["I21.9", "J45X", "E119", "N18.4"], len(who)),
                              "fy": rng.choice(["2023/24", "2024/25"], len(who))})
    people.to_csv(folder / "people.csv", index=False)
    diagnoses.to_parquet(folder / "diagnoses.parquet", index=False)
    make_membership(people["practice_code"].unique()).to_csv(folder / "membership.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def model(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "model.json"
    status = main(["fit", "--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet"),
                   "--year", "2025/26", "--out", str(out), "--quiet"])
    assert status == 0
    return out


@pytest.mark.parametrize("name", [command_name(n) for n in SUBCOMMANDS if n != "report"])
def test_help_for_every_subcommand(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert f"usage: capitation {name}" in capsys.readouterr().out


@pytest.fixture
def fake_generator(monkeypatch):
    """The synthetic generator replaced by a fast, deterministic stand-in (the real one is tested in its own
    module, and below under ``-m slow``): ``capitation synth``'s own work is writing and recording."""
    import types

    import capitation.datasets.synthetic as synthetic

    def tables(fraction, seed, practices):
        people = make_people(200, n_practices=3, seed=seed)
        if practices:
            people["practice_code"] = np.resize(np.asarray(practices, dtype=object), len(people))
        diagnoses = pd.DataFrame({"person_id": people["person_id"].to_numpy()[:40], "icd10": ["I21.9", "J45X"] * 20,
                                  "fy": "2024/25"})
        conditions = pd.DataFrame({"person_id": people["person_id"].to_numpy()[:10], "register": "DM"})
        areas = pd.DataFrame({"lsoa_code": sorted(people["lsoa_code"].unique())})
        practices_frame = make_membership(people["practice_code"].unique()).rename(
            columns={"consortium_code": "icb_code", "consortium_name": "icb_name"})
        return types.SimpleNamespace(people=people, diagnoses=diagnoses, conditions=conditions, areas=areas,
                                     practices=practices_frame)

    def fake(fraction=0.01, *, seed=0, outcome_year="2025/26", practices=None, list_inflation=0.0, progress=None):
        return tables(fraction, seed, practices)

    def fake_write(path, fraction=1.0, *, seed=0, outcome_year="2025/26", practices=None, list_inflation=0.0,
                   chunk_practices=200, progress=None, overwrite=False):
        from pathlib import Path

        path = Path(path)
        if path.exists() and not overwrite:
            raise synthetic.InputError(f"The 'path' parameter names an existing location: {str(path)!r}.")
        t = tables(fraction, seed, practices)
        for name in ("people", "diagnoses", "conditions"):
            (path / name).mkdir(parents=True, exist_ok=True)
            getattr(t, name).to_parquet(path / name / "part-00000.parquet", index=False)
        for name in ("areas", "practices"):
            getattr(t, name).to_parquet(path / f"{name}.parquet", index=False)
        return path

    monkeypatch.setattr(synthetic, "synthetic_england", fake)
    monkeypatch.setattr(synthetic, "write_synthetic_england", fake_write)


def test_synth_writes_tables_that_fit_and_allocate_read(fake_generator, tmp_path, capsys):
    args = ["--fraction", "0.05", "--practices", "A81001,A81002", "--seed", "3"]
    assert main(["synth", *args, "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    said_csv = capsys.readouterr().out
    assert main(["synth", *args, "--out", str(tmp_path / "pq")]) == 0
    said_parquet = capsys.readouterr().out
    args.append("--quiet")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["areas.csv", "conditions.csv", "diagnoses.csv",
                                                                     "people.csv", "practices.csv"]
    from_csv = read_table(tmp_path / "csv" / "people.csv", "people")
    from_parquet = read_table(tmp_path / "pq" / "people", "people")
    assert from_csv.equals(from_parquet) and sorted(from_csv["practice_code"].unique()) == ["A81001", "A81002"]
    # it says how many people and records it wrote, the same for both formats
    records = len(read_table(tmp_path / "csv" / "diagnoses.csv", "diagnoses"))
    for said in (said_csv, said_parquet):
        assert f"{len(from_csv):,} people and {records:,} diagnosis records" in said
    pq = tmp_path / "pq"
    assert main(["fit", "--people", str(pq / "people"), "--diagnoses", str(pq / "diagnoses"), "--year", "2025/26",
                 "--out", str(tmp_path / "m.json"), "--quiet"]) == 0
    # the practices table (icb_code, icb_name) serves as the membership
    assert main(["allocate", "--model", str(tmp_path / "m.json"), "--people", str(pq / "people"), "--diagnoses",
                 str(pq / "diagnoses"), "--membership", str(pq / "practices.parquet"), "--out", str(tmp_path / "a"),
                 "--control-total", "1000", "--quiet"]) == 0
    # an existing folder is not overwritten without --overwrite: one line, status 1
    assert main(["synth", *args, "--format", "csv", "--out", str(tmp_path / "csv")]) == 1
    assert main(["synth", *args, "--out", str(tmp_path / "pq")]) == 1
    assert main(["synth", *args, "--out", str(tmp_path / "pq"), "--overwrite"]) == 0


@pytest.mark.slow
def test_synth_with_the_real_generator(tmp_path):
    assert main(["synth", "--fraction", "0.05", "--practices", "A81001,A81002", "--out", str(tmp_path / "s"),
                 "--quiet"]) == 0
    people = read_table(tmp_path / "s" / "people", "people")
    assert sorted(people["practice_code"].unique()) == ["A81001", "A81002"]


def test_fit_prints_a_summary_and_saves_the_model(data, tmp_path, capsys):
    out = tmp_path / "fit" / "model.json"
    assert main(["fit", "--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet"),
                 "--year", "2025/26", "--out", str(out), "--coefficients", str(tmp_path / "fit" / "coef.csv")]) == 0
    printed = capsys.readouterr().out
    assert "R² (person)" in printed and "people 800" in printed
    model = load_model(out)
    assert model.spec_.outcome_year == "2025/26" and model.result_.n == 800
    coef = pd.read_csv(tmp_path / "fit" / "coef.csv", index_col=0)
    assert np.array_equal(coef["coef"].to_numpy(), model.result_.to_frame()["coef"].to_numpy())


def test_score_writes_need_per_person(data, model, tmp_path):
    out = tmp_path / "need.parquet"
    assert main(["score", "--model", str(model), "--people", str(data / "people.csv"), "--diagnoses",
                 str(data / "diagnoses.parquet"), "--out", str(out), "--quiet"]) == 0
    need = pd.read_parquet(out)
    people = pd.read_csv(data / "people.csv")
    assert need["person_id"].tolist() == people["person_id"].tolist()
    assert list(need.columns) == ["person_id", "practice_code", "exposure", "need"]
    assert np.isfinite(need["need"]).all() and need["need"].std() > 0


def test_allocate_from_need_and_from_the_model_agree_to_the_penny(data, model, tmp_path, capsys):
    need = tmp_path / "need.csv"
    common = ["--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet")]
    assert main(["score", "--model", str(model), *common, "--out", str(need), "--quiet"]) == 0
    membership = ["--membership", str(data / "membership.csv"), "--control-total", TOTAL]
    assert main(["allocate", "--need", str(need), *membership, "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    assert "£1,234,567.89" in printed and "£'000" in printed
    assert main(["allocate", "--model", str(model), *common, *membership, "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    for name in ("practice_budgets.csv", "icb_budgets.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    practices = pd.read_csv(tmp_path / "a" / "practice_budgets.csv")
    icbs = pd.read_csv(tmp_path / "a" / "icb_budgets.csv")
    assert practices["budget_pence"].sum() == icbs["budget_pence"].sum() == to_pence(TOTAL)
    by_icb = practices.groupby("consortium_code")["budget_pence"].sum()
    assert by_icb.to_dict() == icbs.set_index("consortium_code")["budget_pence"].to_dict()
    assert {"budget", "budget_000"} <= set(icbs.columns)
    # one £'000 rule: each published column adds up to the control total in £'000, rounded half up
    assert icbs["budget_000"].sum() == practices["budget_000"].sum() == half_up(to_pence(TOTAL), 100_000)
    assert (practices["budget_000"] - practices["budget_pence"] / 100_000).abs().max() < 1
    assert [f"{p // 100}.{p % 100:02d}" for p in practices["budget_pence"]] == \
        practices["budget"].map("{:.2f}".format).tolist()


def test_allocate_from_need_per_practice_in_parquet(data, tmp_path, capsys):
    need = pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"], "need": [1.0, 2.0, 1.0],
                         "registered": [10, 10, 10]})
    need.to_csv(tmp_path / "need.csv", index=False)
    assert main(["allocate", "--need", str(tmp_path / "need.csv"), "--membership", str(data / "membership.csv"),
                 "--control-total", "100", "--format", "parquet", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    table = pd.read_parquet(tmp_path / "out" / "practice_budgets.parquet").set_index("practice_code")
    assert table.loc[["A81001", "A81002", "A81003"], "budget_pence"].tolist() == [2500, 5000, 2500]
    assert table["budget_pence"].sum() == 10_000
    # every practice of the membership appears: the others on lines of their own, with the reason, and counted
    members = pd.read_csv(data / "membership.csv")
    assert set(table.index) == set(members["practice_code"])
    others = table.drop(index=["A81001", "A81002", "A81003"])
    assert (others["budget_pence"] == 0).all() and (~others["funded"]).all()
    assert set(others["reason"]) == {"no registered people in the need data"}
    assert f"{len(others):,} practice(s) of the membership get no budget" in printed


def test_errors_are_one_line_with_status_1_and_tracebacks_only_with_debug(data, tmp_path, capsys):
    argv = ["fit", "--people", str(tmp_path / "absent.parquet"), "--out", str(tmp_path / "m.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("capitation: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "absent.parquet" in err
    with pytest.raises(CapitationError, match=r"absent\.parquet"):
        main(["--debug", *argv])
    # allocate needs exactly one source of need
    assert main(["allocate", "--out", str(tmp_path / "o"), "--quiet"]) == 1
    assert "either --need" in capsys.readouterr().err
    # fitting needs costs
    no_cost = pd.read_csv(data / "people.csv").drop(columns="cost")
    no_cost.to_csv(tmp_path / "people.csv", index=False)
    assert main(["fit", "--people", str(tmp_path / "people.csv"), "--no-diagnoses", "--out",
                 str(tmp_path / "m.json"), "--quiet"]) == 1
    assert "no 'cost' column" in capsys.readouterr().err


# -- errors speak in options: one line, the option named, no Python ------------------------------------------

#: What a user must never see: exception class names, tracebacks, Python's keyword spelling, parameters.
PYTHON = re.compile(r"\b[A-Z]\w*(?:Error|Exception|Warning)\b|Traceback|\b\w+=(?:True|False)\b|\bparameter\b|"
                    r"\bof [A-Z]\w+\.\w+|'(?:control_total|outcome_year|list_inflation|on_aliased|cov_type|path)'")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("capitation: error: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def bad(tmp_path_factory, data):
    """Bad files of every kind, by name."""
    folder = tmp_path_factory.mktemp("bad")
    people = pd.read_csv(data / "people.csv")
    files = {"absent": folder / "absent.csv", "folder": folder / "a-folder", "empty": folder / "empty.csv",
             "wrong_columns": folder / "wrong.csv", "garbage": folder / "garbage.csv",
             "garbage_parquet": folder / "garbage.parquet", "bad_age": folder / "bad-age.csv",
             "bad_date": folder / "bad-date.csv", "need_bad_thousands": folder / "need-1.csv",
             "need_text": folder / "need-2.csv", "need_no_registered": folder / "need-3.csv",
             "existing": folder / "existing.json", "a_file": folder / "a-file.txt", "garbage_json": folder / "m.json"}
    files["folder"].mkdir()
    files["empty"].write_bytes(b"")
    pd.DataFrame({"id": [1, 2], "practice": ["A81001", "A81002"]}).to_csv(files["wrong_columns"], index=False)
    files["garbage"].write_bytes(bytes(range(256)) * 8)
    files["garbage_parquet"].write_bytes(bytes(range(256)) * 8)
    files["garbage_json"].write_bytes(b"\x00\xffnot json{")
    people.assign(age=people["age"].astype(str).where(people.index != 5, "forty")).to_csv(files["bad_age"],
                                                                                          index=False)
    pd.DataFrame({"person_id": people["person_id"].head(4), "icd10": "I21.9",
                  "date": ["2024-01-01", "2024-13-45", "2024-02-01", "2024-03-01"]}).to_csv(files["bad_date"],
                                                                                          index=False)
    codes = sorted(people["practice_code"].unique())[:3]
    pd.DataFrame({"practice_code": codes, "need": [1.0, 2.0, 3.0], "registered": ["1,234", "12,34", "900"]}).to_csv(
        files["need_bad_thousands"], index=False)
    pd.DataFrame({"practice_code": codes, "need": ["1.5", "high", "2"], "registered": [10, 10, 10]}).to_csv(
        files["need_text"], index=False)
    pd.DataFrame({"practice_code": codes, "need": [1.0, 2.0, 3.0]}).to_csv(files["need_no_registered"], index=False)
    files["need_ok"] = folder / "need-ok.csv"
    pd.DataFrame({"practice_code": codes, "need": [1.0, 2.0, 3.0], "registered": [10, 20, 30]}).to_csv(
        files["need_ok"], index=False)
    files["existing"].write_text("{}")
    files["a_file"].write_text("not a folder")
    return files


def _bad_cases():
    """(id, expected status, argv builder taking the data folder, the bad files, the model and a fresh folder)."""
    def fit(**over):
        def argv(d, b, m, t):
            opts = {"--people": str(d / "people.csv"), "--diagnoses": str(d / "diagnoses.parquet"),
                    "--out": str(t / "model.json")}
            opts.update({k: (v(d, b, m, t) if callable(v) else v) for k, v in over.items()})
            return ["fit", *[x for k, v in opts.items() if v is not None
                             for x in ((k,) if v is True else (k, str(v)))], "--quiet"]
        return argv

    def cmd(*parts):
        return lambda d, b, m, t: [p(d, b, m, t) if callable(p) else p for p in parts]

    people = lambda d, b, m, t: str(d / "people.csv")  # noqa: E731
    membership = lambda d, b, m, t: str(d / "membership.csv")  # noqa: E731
    model = lambda d, b, m, t: str(m)  # noqa: E731
    out = lambda d, b, m, t: str(t / "out")  # noqa: E731

    def f(name):
        return lambda d, b, m, t: str(b[name])

    def allocate_ok(*bad):  # valid need and membership, so only the bad option can be refused
        return cmd("allocate", "--need", f("need_ok"), "--membership", membership, "--out", out, *bad)

    return [
        ("fit-people-missing-file", 1, fit(**{"--people": f("absent")})),
        ("fit-people-is-a-folder", 1, fit(**{"--people": f("folder")})),
        ("fit-people-empty-csv", 1, fit(**{"--people": f("empty")})),
        ("fit-people-wrong-columns", 1, fit(**{"--people": f("wrong_columns")})),
        ("fit-people-garbage-bytes", 1, fit(**{"--people": f("garbage")})),
        ("fit-people-garbage-parquet", 1, fit(**{"--people": f("garbage_parquet")})),
        ("fit-people-age-not-a-number", 1, fit(**{"--people": f("bad_age")})),
        ("fit-diagnoses-bad-date", 1, fit(**{"--diagnoses": f("bad_date"), "--year": "2025/26"})),
        ("fit-diagnoses-missing-file", 1, fit(**{"--diagnoses": f("absent")})),
        ("fit-out-is-a-folder", 1, fit(**{"--out": f("folder")})),
        ("fit-out-exists", 1, fit(**{"--out": f("existing")})),
        ("fit-out-is-the-npz", 1, fit(**{"--out": lambda d, b, m, t: str(t / "model.npz")})),
        ("fit-out-is-the-people-input", 1, fit(**{"--out": people, "--overwrite": True})),
        ("fit-out-under-a-file", 1, fit(**{"--out": lambda d, b, m, t: str(b["a_file"] / "model.json")})),
        ("fit-coefficients-suffix", 1, fit(**{"--coefficients": lambda d, b, m, t: str(t / "coef.xlsx")})),
        ("fit-year-malformed", 1, fit(**{"--year": "2025/27"})),
        ("fit-registers-without-conditions", 1, fit(**{"--registers": "DM"})),
        ("fit-need-vars-without-areas", 1, fit(**{"--need-vars": "imd"})),
        ("fit-grouping-missing-file", 1, fit(**{"--grouping": f("absent")})),
        ("fit-grouping-wrong-columns", 1, fit(**{"--grouping": f("wrong_columns")})),
        ("fit-cap-not-a-number", 2, fit(**{"--cap": "lots"})),
        ("fit-cap-percentile-too-high", 2, fit(**{"--cap": "p150"})),
        ("fit-cov-type-unknown", 2, fit(**{"--cov-type": "HC9"})),
        ("fit-unknown-option", 2, fit(**{"--peeple": "x.csv"})),
        ("fit-out-missing", 2, cmd("fit", "--people", people)),
        ("score-model-missing-file", 1, cmd("score", "--model", f("absent"), "--people", people, "--out",
                                            lambda d, b, m, t: str(t / "need.csv"))),
        ("score-model-garbage", 1, cmd("score", "--model", f("garbage_json"), "--people", people, "--out",
                                       lambda d, b, m, t: str(t / "need.csv"))),
        ("score-out-suffix", 1, cmd("score", "--model", model, "--people", people, "--out",
                                    lambda d, b, m, t: str(t / "need.txt"))),
        ("score-out-is-a-folder", 1, cmd("score", "--model", model, "--people", people, "--out", f("folder"))),
        ("score-people-garbage", 1, cmd("score", "--model", model, "--people", f("garbage"), "--out",
                                        lambda d, b, m, t: str(t / "need.csv"))),
        ("allocate-need-bad-thousands", 1, cmd("allocate", "--need", f("need_bad_thousands"), "--membership",
                                               membership, "--out", out)),
        ("allocate-need-text", 1, cmd("allocate", "--need", f("need_text"), "--membership", membership,
                                      "--out", out)),
        ("allocate-need-no-registered", 1, cmd("allocate", "--need", f("need_no_registered"), "--membership",
                                               membership, "--out", out)),
        ("allocate-need-empty-csv", 1, cmd("allocate", "--need", f("empty"), "--out", out)),
        ("allocate-need-missing-file", 1, cmd("allocate", "--need", f("absent"), "--out", out)),
        ("allocate-control-total-comma-decimal", 1, allocate_ok("--control-total", "55,5")),
        ("allocate-control-total-words", 1, allocate_ok("--control-total", "one million")),
        ("allocate-control-total-negative", 1, allocate_ok("--control-total", "-5")),
        ("allocate-membership-garbage", 1, cmd("allocate", "--need", f("need_text"), "--membership", f("garbage"),
                                               "--out", out)),
        ("allocate-membership-wrong-columns", 1, cmd("allocate", "--need", f("need_text"), "--membership",
                                                     f("wrong_columns"), "--out", out)),
        ("allocate-level-practice", 1, cmd("allocate", "--need", f("need_text"), "--membership", membership,
                                           "--level", "practice", "--out", out)),
        ("allocate-level-unknown-for-nhs-england", 1, cmd("allocate", "--need", f("need_text"), "--level", "PCN",
                                                          "--out", out)),
        ("allocate-out-is-a-file", 1, cmd("allocate", "--need", f("need_text"), "--out", f("a_file"))),
        ("allocate-neither-need-nor-model", 1, cmd("allocate", "--out", out)),
        ("allocate-model-without-people", 1, cmd("allocate", "--model", model, "--out", out)),
        ("allocate-need-with-people", 1, cmd("allocate", "--need", f("need_text"), "--people", people, "--out",
                                             out)),
        ("allocate-format-unknown", 2, cmd("allocate", "--need", f("need_text"), "--format", "xlsx", "--out", out)),
        ("synth-out-is-a-file", 1, cmd("synth", "--out", f("a_file"))),
        ("synth-out-not-empty", 1, cmd("synth", "--out", lambda d, b, m, t: str(d))),
        ("synth-year-unknown", 1, cmd("synth", "--year", "1999/00", "--out", out)),
        ("synth-list-inflation-too-high", 1, cmd("synth", "--list-inflation", "0.9", "--out", out)),
        ("synth-fraction-zero", 2, cmd("synth", "--fraction", "0", "--out", out)),
        ("synth-seed-negative", 2, cmd("synth", "--seed", "-1", "--out", out)),
        ("demo-control-total-comma-decimal", 1, cmd("demo", "--control-total", "55,5", "--out", out)),
        ("demo-out-is-a-file", 1, cmd("demo", "--out", f("a_file"))),
        ("demo-fraction-above-one", 2, cmd("demo", "--fraction", "1.5")),
        ("report-control-total-words", 1, cmd("report", "--control-total", "lots", "--out",
                                              lambda d, b, m, t: str(t / "r.html"))),
        ("report-out-is-a-folder", 1, cmd("report", "--out", f("folder"))),
        ("report-out-exists", 1, cmd("report", "--out", f("existing"))),
        ("report-people-missing-file", 1, cmd("report", "--people", f("absent"), "--out",
                                              lambda d, b, m, t: str(t / "r.html"))),
        ("report-min-count-zero", 2, cmd("report", "--min-count", "0")),
        ("report-validation-practices-negative", 2, cmd("report", "--validation-practices", "-3")),
        ("reproduce-manifest-missing-file", 1, cmd("reproduce", f("absent"))),
        ("reproduce-manifest-garbage", 1, cmd("reproduce", f("garbage_json"))),
    ]


BAD_CASES = _bad_cases()


@pytest.mark.parametrize("case", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_arguments_and_files_get_one_line_naming_an_option(case, data, bad, model, tmp_path, capsys,
                                                               monkeypatch):
    """Every subcommand, fed bad arguments or files: status 1 (2 for usage), one line, an option named, no
    Python (no exception class, no ``x=True``, no ``'control_total'`` parameter, no API names)."""
    import capitation.datasets.synthetic as synthetic

    def no_work(*args, **kwargs):  # a refusal must come before the long work
        raise AssertionError("the synthetic generator ran before the inputs were checked")

    name, expected, argv = case
    if name.startswith(("demo-", "report-")):
        monkeypatch.setattr(synthetic, "synthetic_england", no_work)
    monkeypatch.chdir(tmp_path)
    try:
        status = main(argv(data, bad, model, tmp_path))
    except SystemExit as exit_:
        status = exit_.code
    assert status == expected
    line = _one_error_line(capsys)
    assert OPTION.search(line), f"no option named: {line}"
    assert not PYTHON.search(line), f"Python in the message: {PYTHON.search(line)[0]!r} in {line}"
    assert "bug in capitation" not in line, line


def test_speak_options_rewrites_only_the_library_forms():
    from capitation.cli import speak_options

    names = {"need": "--need", "control_total": "--control-total", "--control-total": "--control-total",
             "outcome_year": "--year", "overwrite": "--overwrite", "--out": "--out",
             "Membership.from_frame": "--membership"}
    switches = frozenset({"overwrite"})

    def said(text):
        return speak_options(text, names, switches)

    # a column that shares its table's name keeps its quotes; the table becomes the option
    assert said("The 'need' table's column 'need' must hold numbers.") == \
        "The --need table's column 'need' must hold numbers."
    assert said("The 'control_total' parameter of allocate must be >= 0.") == "The --control-total option must be >= 0."
    assert said("the 'outcome_year' parameter of FeatureSpec is bad") == "the --year option is bad"
    assert said("The 'need' parameter of the run is bad") == "The --need option of the run is bad"  # English
    assert said("The '--out' parameter names 'x'.") == "The --out option names 'x'."
    assert said("Pass overwrite=True or choose a new folder.") == "Pass --overwrite or choose a new folder."
    assert said("Fix: pass outcome_year='2025/26'.") == "Fix: pass --year 2025/26."
    assert said("or allow overwriting.") == "or pass --overwrite."
    assert said("pass your own table to Membership.from_frame.") == "pass your own table to --membership."
    # names the subcommand does not have, and keywords of other functions, are left as they are
    assert said("The 'sample_weight' parameter; use method='ols' and frame.rename(columns={'a': 'b'})") == \
        "The 'sample_weight' parameter; use method='ols' and frame.rename(columns={'a': 'b'})"
    assert said("overwrite=False stays; so does the 'need' column") == \
        "overwrite=False stays; so does the 'need' column"
    assert said("a\n    multi-line\thint  ") == "a multi-line hint"


def test_an_error_about_an_option_is_prefixed_with_it_when_the_message_does_not_name_it():
    from capitation.cli import error_line
    from capitation.errors import ModelFileError

    names = {"model": "--model", "--model": "--model"}
    assert error_line(ModelFileError("The model file 'm.json' does not exist.", parameter="--model"), names) == \
        "--model: The model file 'm.json' does not exist."
    assert error_line(ModelFileError("The 'model' parameter is bad.", parameter="model"), names) == \
        "The --model option is bad."
    assert error_line(ModelFileError("Unmapped.", parameter="elsewhere"), names) == "Unmapped."


@pytest.mark.parametrize("raised, expected", [
    (KeyError("practice_code"), "bug in capitation"),
    (ZeroDivisionError("division by zero"), "bug in capitation"),
    (OSError(28, "No space left on device", "out/practice_budgets.csv"), "No space left on device"),
    (MemoryError(), "ran out of memory"),
])
def test_unexpected_errors_are_one_line_and_bugs_say_so(raised, expected, data, monkeypatch, capsys, tmp_path):
    import capitation.cli.fit as fit

    def fail(args):
        raise raised

    monkeypatch.setattr(fit, "run", fail)
    argv = ["fit", "--people", str(data / "people.csv"), "--out", str(tmp_path / "m.json")]
    assert main(argv) == 1
    line = _one_error_line(capsys)
    assert expected in line
    assert not re.search(r"\b[A-Z]\w*(?:Error|Exception)\b|Traceback", line), line
    if expected == "bug in capitation":
        assert "--debug" in line and "report" in line
        with pytest.raises(type(raised)):
            main(["--debug", *argv])


def test_usage_errors_are_one_line_with_status_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["allocate", "--need"])
    assert exit_.value.code == 2
    line = _one_error_line(capsys)
    assert "--need" in line and "capitation allocate --help" in line


def test_report_checks_matplotlib_before_any_work(monkeypatch, tmp_path, capsys):
    import sys

    import capitation.datasets.synthetic as synthetic
    from capitation.errors import MissingDependencyError

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the dependency check")

    monkeypatch.setattr(synthetic, "synthetic_england", no_work)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed: find_spec gives None
    assert main(["report", "--out", str(tmp_path / "r.html")]) == 1
    line = _one_error_line(capsys)
    assert 'pip install "capitation[report]"' in line and "matplotlib" in line
    with pytest.raises(MissingDependencyError, match=r"capitation\[report\]"):
        main(["--debug", "report", "--out", str(tmp_path / "r.html")])
    assert not (tmp_path / "r.html").exists()


def test_outputs_are_refused_if_they_exist_unless_overwrite(data, model, tmp_path, capsys):
    need = tmp_path / "need.csv"
    common = ["--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet")]
    assert main(["score", "--model", str(model), *common, "--out", str(need), "--quiet"]) == 0
    before = need.read_bytes()
    assert main(["score", "--model", str(model), *common, "--out", str(need), "--quiet"]) == 1
    assert "--overwrite" in _one_error_line(capsys) and need.read_bytes() == before
    assert main(["score", "--model", str(model), *common, "--out", str(need), "--quiet", "--overwrite"]) == 0
    alloc = ["allocate", "--need", str(need), "--membership", str(data / "membership.csv"), "--out",
             str(tmp_path / "a"), "--quiet"]
    assert main(alloc) == 0
    assert main(alloc) == 1
    line = _one_error_line(capsys)
    assert "practice_budgets.csv" in line and "--overwrite" in line
    assert main([*alloc, "--overwrite"]) == 0


def test_demo_refuses_an_earlier_runs_files_before_any_work(tmp_path, monkeypatch, capsys):
    import capitation.datasets.synthetic as synthetic

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the outputs were checked")

    monkeypatch.setattr(synthetic, "synthetic_england", no_work)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "icb_budgets.csv").write_text("an earlier run")
    assert main(["demo", "--out", str(tmp_path / "out"), "--quiet"]) == 1
    line = _one_error_line(capsys)
    assert "icb_budgets.csv" in line and "--overwrite" in line


def test_need_table_reads_thousands_separators(data, tmp_path):
    codes = sorted(pd.read_csv(data / "membership.csv")["practice_code"])[:3]
    pd.DataFrame({"practice_code": codes, "need": ["1,000.5", "2,001", "999.5"],
                  "registered": ["1,234", "2,000", "12"]}).to_csv(tmp_path / "need.csv", index=False)
    assert main(["allocate", "--need", str(tmp_path / "need.csv"), "--membership", str(data / "membership.csv"),
                 "--control-total", "4001", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    table = pd.read_csv(tmp_path / "out" / "practice_budgets.csv").set_index("practice_code").loc[codes]
    assert table["registered"].tolist() == [1234, 2000, 12]
    assert table["budget_pence"].tolist() == [100050, 200100, 99950]


# -- the library behind the commands ------------------------------------------------------------------------

def test_report_from_the_command_line_and_from_python_give_the_same_pennies(data, tmp_path, monkeypatch, capsys):
    """``capitation report`` on your tables is committee_report on them: the same allocation to the penny."""
    pytest.importorskip("matplotlib")
    import capitation.report.committee as committee
    from capitation.aggregation.membership import Membership

    people = pd.read_csv(data / "people.csv")
    people["imd_quintile"] = np.arange(len(people)) % 5 + 1
    people.to_csv(tmp_path / "people.csv", index=False)
    pd.DataFrame({"practice_code": sorted(people["practice_code"].unique()), "current": "90,000.50"}).to_csv(
        tmp_path / "baseline.csv", index=False)
    seen = {}
    real = committee.committee_report

    def spy(*args, **kwargs):
        seen["result"] = real(*args, **kwargs)
        return seen["result"]

    monkeypatch.setattr(committee, "committee_report", spy)
    out = tmp_path / "cli.html"
    assert main(["report", "--people", str(tmp_path / "people.csv"), "--membership", str(data / "membership.csv"),
                 "--baseline", str(tmp_path / "baseline.csv"), "--control-total", TOTAL, "--seed", "3",
                 "--overspend", "0.1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("capitation ") and printed[0].endswith(" report")
    assert [line.split()[0] for line in printed[1:]] == ["people", "model", "budgets", "report"]
    assert printed[-1].startswith(f"  report     {out} (") and out.exists()
    membership = Membership.from_frame(make_membership(people["practice_code"].unique()), level="ICB")
    direct = real(tmp_path / "direct.html", TOTAL, people=people, membership=membership, seed=3, overspend=0.1,
                  baseline=pd.Series(90_000.5, index=sorted(people["practice_code"].unique())))
    cli = seen["result"]
    for level in ("practice", "consortium"):
        pd.testing.assert_frame_equal(cli.allocation.to_frame(level), direct.allocation.to_frame(level))
    assert int(cli.allocation.practices["budget_pence"].sum()) == to_pence(TOTAL)
    assert cli.validation.metrics == direct.validation.metrics
    pd.testing.assert_frame_equal(cli.risk["ICB"].table, direct.risk["ICB"].table)
    assert cli.provenance_items == {**direct.provenance_items, "data": str(tmp_path / "people.csv")}


def test_need_tables_per_person_and_per_practice_are_read_by_the_library(data):
    from capitation.aggregation.aggregate import Aggregation
    from capitation.allocation import allocate, baseline_from_table, need_from_table
    from capitation.cli import allocate as cli_allocate
    from capitation.errors import InputError

    assert cli_allocate.need_from_table is need_from_table  # the command reads --need with it
    per_person = pd.DataFrame({"person_id": [1, 2, 3, 4], "practice_code": ["A2", "A1", "A2", "A2"],
                               "need": ["1,000.25", "0.1", "0.2", 3]})
    agg = need_from_table(per_person)
    assert isinstance(agg, Aggregation)
    assert agg.practices.index.tolist() == ["A1", "A2"] and agg.practices["registered"].tolist() == [1, 3]
    # each person's need on the 2⁻²⁰ £ grid, summed over the list as integers
    assert agg.need_fixed.tolist() == [round(0.1 * 2**20), sum(round(v * 2**20) for v in (1000.25, 0.2, 3.0))]
    assert agg.practices["need"].tolist() == pytest.approx([0.1, 1003.45], abs=1e-6)
    assert allocate(agg, 100).practices["budget_pence"].sum() == 10_000
    per_practice = need_from_table(pd.DataFrame({"practice_code": ["A1", "A2"], "need": [1.0, 3.0],
                                                 "registered": ["1,000", "3,000"]}))
    assert per_practice.to_dict("list") == {"need": [1.0, 3.0], "registered": [1000, 3000]}
    with pytest.raises(InputError, match=r"column 'need' must hold numbers.*12,34"):
        need_from_table(per_person.assign(need=["12,34", 1, 2, 3]))
    with pytest.raises(InputError, match="person_id"):
        need_from_table(per_person.assign(person_id=[1, 1, 2, 3]))
    baseline = baseline_from_table(pd.DataFrame({"code": ["Q1", "Q2"], "current": ["1,234.50", "10"]}))
    assert baseline.to_dict() == {"Q1": 1234.5, "Q2": 10.0}


def test_the_default_control_total_is_defined_once():
    import argparse
    import importlib

    import capitation.cli as cli

    for name in ("demo", "allocate", "report"):
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"capitation.cli.{name}").add_parser(sub)
        assert sub.choices[name].get_default("control_total") == cli.DEFAULT_CONTROL_TOTAL == "55000000000", name


def test_fit_takes_parquet_codes_as_categoricals_and_fits_the_same_model(data, tmp_path, monkeypatch):
    """Dictionary-encoded Parquet columns reach the library as Categoricals (no decoding to text and factorising
    back), and the model saved is byte for byte the one fitted from the same tables as plain text."""
    from capitation.inputs.records import DiagnosisTable

    people = pd.read_csv(data / "people.csv")
    diagnoses = pd.read_parquet(data / "diagnoses.parquet")
    categorical = people.astype({"practice_code": "category", "sex": "category", "lsoa_code": "category"})
    categorical.to_parquet(tmp_path / "people.parquet", index=False)
    diagnoses.assign(icd10=pd.Categorical(diagnoses["icd10"], categories=["Z99", *sorted(diagnoses["icd10"].unique())]),
                     fy=diagnoses["fy"].astype("category")).to_parquet(tmp_path / "diagnoses.parquet", index=False)
    received = []
    real = DiagnosisTable.from_frame.__func__

    def spy(cls, frame):
        received.append(dict(frame.dtypes))
        return real(cls, frame)

    monkeypatch.setattr(DiagnosisTable, "from_frame", classmethod(spy))
    common = ["--year", "2025/26", "--created", "2026-01-01T00:00:00Z", "--quiet"]
    parquet = ["--people", str(tmp_path / "people.parquet"), "--diagnoses", str(tmp_path / "diagnoses.parquet")]
    assert main(["fit", *parquet, "--out", str(tmp_path / "categorical" / "model.json"), *common]) == 0
    assert all(isinstance(received[0][c], pd.CategoricalDtype) for c in ("icd10", "fy"))
    assert main(["fit", "--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet"),
                 "--out", str(tmp_path / "plain" / "model.json"), *common]) == 0
    assert not isinstance(received[1]["icd10"], pd.CategoricalDtype)
    for name in ("model.json", "model.npz"):
        assert (tmp_path / "categorical" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


def test_committee_report_refuses_options_of_the_other_source_before_any_work(tmp_path, monkeypatch):
    import capitation.datasets.synthetic as synthetic
    from capitation.errors import InputError
    from capitation.report.committee import committee_report

    pytest.importorskip("matplotlib")

    def no_work(*args, **kwargs):
        raise AssertionError("the synthetic generator ran before the options were checked")

    monkeypatch.setattr(synthetic, "synthetic_england", no_work)
    with pytest.raises(InputError, match=r"\['areas', 'need'\] without 'people'"):
        committee_report(tmp_path / "r.html", 1000, areas=pd.DataFrame({"lsoa_code": ["E01000001"]}), need=["imd"])
    with pytest.raises(InputError, match="'icbs' with 'people'"):
        committee_report(tmp_path / "r.html", 1000, people=make_people(50), icbs=["QE1"])
    with pytest.raises(InputError, match="'control_total'"):
        committee_report(tmp_path / "r.html", "55,5")
    assert not (tmp_path / "r.html").exists()


def test_fit_with_a_wrong_year_warns_in_options_and_says_which_records_were_not_used(data, tmp_path, capsys):
    out = tmp_path / "model.json"
    assert main(["fit", "--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet"),
                 "--year", "2030/31", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    warning = [line for line in captured.err.splitlines() if line.startswith("capitation: warning:")]
    assert len(warning) == 1 and "No one has any diagnosis group" in warning[0]
    assert "--year 2030/31 reads diagnoses of 2028/29, 2029/30" in warning[0] and "--year 2025/26" in warning[0]
    assert "outcome_year" not in warning[0]  # the command's words, not the library's
    used = [line for line in captured.out.splitlines() if "records not used" in line]
    assert used == ["  records not used: 300 diagnosis records outside the look-back years"]


def test_report_runs_on_your_people_with_their_diagnoses_and_records_a_manifest(data, tmp_path, capsys):
    out, manifest = data / "report.html", data / "report.json"
    assert main(["report", "--people", str(data / "people.csv"), "--diagnoses", str(data / "diagnoses.parquet"),
                 "--membership", str(data / "membership.csv"), "--no-ladder", "--control-total", "1000000",
                 "--out", str(out), "--manifest", str(manifest), "--overwrite"]) == 0
    printed = capsys.readouterr().out
    assert "pence reconcile: True" in printed and out.exists()
    assert main(["reproduce", str(manifest)]) == 0
    assert "bit-identical" in capsys.readouterr().out


def test_a_report_reproduces_when_the_clock_has_moved_on(data, capsys, monkeypatch):
    # the report prints when it was written, to the minute: a reproduction a minute later must print the same
    import datetime as real

    import capitation.cli.report as cli_report
    import capitation.report.html as html

    out, manifest = data / "later.html", data / "later.json"
    assert main(["report", "--people", str(data / "people.csv"), "--membership", str(data / "membership.csv"),
                 "--no-ladder", "--control-total", "1000", "--out", str(out), "--manifest", str(manifest),
                 "--overwrite"]) == 0
    assert "report written" in out.read_text(encoding="utf-8")

    class Later(real.datetime):
        @classmethod
        def now(cls, tz=None):
            return real.datetime(2099, 1, 1, 12, 0, tzinfo=tz)

    later = type("clock", (), {"datetime": Later, "timezone": real.timezone})
    monkeypatch.setattr(cli_report, "_dt", later)
    monkeypatch.setattr(html, "_dt", later)
    capsys.readouterr()
    assert main(["reproduce", str(manifest)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("options, words", [
    (["--diagnoses", "d.parquet"], "--diagnoses describe your people, but no --people table was given"),
    (["--need-vars", "income", "--fixed-effects"], "--need-vars, --fixed-effects describe your people"),
])
def test_report_refuses_options_about_your_tables_without_people(options, words, tmp_path, capsys):
    assert main(["report", *options, "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words.split(" describe")[0] in err and "Fix:" in err


def test_report_refuses_people_without_cost_in_one_line(data, tmp_path, capsys):
    pd.read_csv(data / "people.csv").drop(columns="cost").to_csv(tmp_path / "people.csv", index=False)
    assert main(["report", "--people", str(tmp_path / "people.csv"), "--membership", str(data / "membership.csv"),
                 "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no 'cost' column" in err and "bug" not in err


def test_the_demo_and_the_readme_python_path_give_the_same_budgets_to_the_penny(tmp_path):
    import capitation as cp
    from capitation.datasets.synthetic import synthetic_england

    assert main(["demo", "--fraction", "0.002", "--seed", "3", "--out", str(tmp_path), "--quiet"]) == 0
    demo = pd.read_csv(tmp_path / "icb_budgets.csv", index_col="consortium_code")
    england = synthetic_england(fraction=0.002, seed=3)  # the README's example, at the same sample
    people = cp.Population.from_frame(england.people)
    X = cp.FeatureSpec(outcome_year="2025/26").encode(people, diagnoses=england.diagnoses)
    model = cp.CostModel(on_aliased="drop").fit(X, people.cost / people.exposure, sample_weight=people.exposure)
    icbs = cp.Membership.nhs_england("2025/26")
    budgets = cp.allocate(cp.aggregate(people, cp.score(model, X), membership=icbs), "55000000000", membership=icbs)
    assert budgets.consortia["budget_pence"].to_dict() == demo["budget_pence"].to_dict()
    per_head = budgets.consortia["budget_per_head"]
    assert per_head.between(300, 3_000).all()  # per registered person, not per person sampled
