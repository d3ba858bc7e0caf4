"""Each ``capitation`` subcommand on small data, through ``capitation.cli.main`` in a temporary folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from capitation.allocation import to_pence
from capitation.cli import SUBCOMMANDS, main
from capitation.persist import load_model, read_table
from conftest import make_membership, make_people

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


@pytest.mark.parametrize("name", [n for n in SUBCOMMANDS if n != "report"])
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


def test_synth_writes_tables_that_fit_and_allocate_read(fake_generator, tmp_path):
    args = ["--fraction", "0.05", "--practices", "A81001,A81002", "--seed", "3", "--quiet"]
    assert main(["synth", *args, "--format", "csv", "--out", str(tmp_path / "csv")]) == 0
    assert main(["synth", *args, "--out", str(tmp_path / "pq")]) == 0
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["areas.csv", "conditions.csv", "diagnoses.csv",
                                                                     "people.csv", "practices.csv"]
    from_csv = read_table(tmp_path / "csv" / "people.csv", "people")
    from_parquet = read_table(tmp_path / "pq" / "people", "people")
    assert from_csv.equals(from_parquet) and sorted(from_csv["practice_code"].unique()) == ["A81001", "A81002"]
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
    assert icbs["budget_000"].sum() == pytest.approx(to_pence(TOTAL) / 100_000, abs=len(icbs))
    assert [f"{p // 100}.{p % 100:02d}" for p in practices["budget_pence"]] == \
        practices["budget"].map("{:.2f}".format).tolist()


def test_allocate_from_need_per_practice_in_parquet(data, tmp_path):
    need = pd.DataFrame({"practice_code": ["A81001", "A81002", "A81003"], "need": [1.0, 2.0, 1.0],
                         "registered": [10, 10, 10]})
    need.to_csv(tmp_path / "need.csv", index=False)
    assert main(["allocate", "--need", str(tmp_path / "need.csv"), "--membership", str(data / "membership.csv"),
                 "--control-total", "100", "--format", "parquet", "--out", str(tmp_path / "out"), "--quiet"]) == 0
    table = pd.read_parquet(tmp_path / "out" / "practice_budgets.parquet")
    assert table["budget_pence"].tolist() == [2500, 5000, 2500]


def test_errors_are_one_line_with_status_1_and_tracebacks_only_with_debug(data, tmp_path, capsys):
    argv = ["fit", "--people", str(tmp_path / "absent.parquet"), "--out", str(tmp_path / "m.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("capitation: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "absent.parquet" in err
    with pytest.raises(Exception, match=r"absent\.parquet"):
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
