"""Build the reference tables of the Synthetic England generator from ``../shared/reference``.

Run from the repository root::

    python scripts/build_synthetic_data.py [--reference ../shared/reference]

Writes into ``src/capitation/datasets/data/`` (the package never reads ``../shared`` at run time):

* ``registrations_2022_07.parquet`` -- patients registered at each practice by 2011 LSOA, July 2022 (English
  LSOAs only; the Welsh and unknown-LSOA patients dropped are counted in the file metadata).
* ``lsoa_areas.parquet`` -- IMD 2019 score and domains, mid-2015 broad-age populations, the LSOA's modal ICB
  (2025/26 practice frame) and two *synthetic* supply variables: ``distance_acute_km`` (derived from the
  IMD geographical-barriers sub-domain plus noise; no hospital locations are used) and
  ``acute_beds_per_1000`` (one random value per ICB). They are labelled synthetic in the metadata.
* ``qof_prevalence_2021_22.parquet`` -- QOF 2021/22 recorded prevalence by practice, 21 registers.

Each file carries the Open Government Licence attribution in its Parquet metadata.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
OUT = Path(__file__).resolve().parents[1] / "src" / "capitation" / "datasets" / "data"
REGISTERS = ("DM", "CAN", "CKD", "NDH", "PC", "AF", "CHD", "HF", "HYP", "LVSD", "PAD", "STIA", "AST", "COPD",
             "OB", "SMOK", "DEM", "DEP", "EP", "LD", "MH")
IMD_COLUMNS = {"IMD": "imd_score", "Income": "income", "Employment": "employment", "Education": "education",
               "Health": "health", "Crime": "crime", "Barriers (H&S)": "barriers", "Environment": "environment",
               "IDACI": "idaci", "IDAOPI": "idaopi"}
SUPPLY_SEED = 20250401


def write_parquet(table: pa.Table, name: str, source: str, **extra: str) -> None:
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta.update({b"attribution": ATTRIBUTION.encode(), b"source": source.encode()})
    meta.update({k.encode(): v.encode() for k, v in extra.items()})
    pq.write_table(table.replace_schema_metadata(meta), OUT / name, compression="zstd", compression_level=19)
    print(f"wrote {name}: {table.num_rows:,} rows, {(OUT / name).stat().st_size / 1e3:.0f} kB")


def build(reference: Path) -> None:
    reg = pd.read_parquet(reference / "gp_registrations_by_lsoa_2022_07.parquet")
    imd = pd.read_parquet(reference / "imd2019_by_lsoa11.parquet")
    qof = pd.read_parquet(reference / "qof_2021_22_by_practice.parquet")
    frame = pd.read_csv(reference / "nhse_practice_weighted_populations_2025_26.csv", encoding="utf-8-sig")

    # --- registrations: English LSOAs only
    english = reg["lsoa11_code"].isin(imd["LSOA11CD"])
    dropped = reg.loc[~english, "patients"].sum()
    reg = reg[english & (reg["patients"] > 0)].sort_values(["practice_code", "lsoa11_code"])
    table = pa.table({
        "practice_code": pa.array(reg["practice_code"].to_numpy(str)).dictionary_encode(),
        "lsoa_code": pa.array(reg["lsoa11_code"].to_numpy(str)).dictionary_encode(),
        "patients": pa.array(reg["patients"].to_numpy(np.int32)),
    })
    write_parquet(table, "registrations_2022_07.parquet",
                  "NHS Digital, Patients registered at a GP practice by LSOA, July 2022",
                  dropped_patients_non_english_lsoa=str(int(dropped)))

    # --- areas
    areas = pd.DataFrame({"lsoa_code": imd["LSOA11CD"].to_numpy(str)})
    for src, dst in IMD_COLUMNS.items():
        areas[dst] = imd[src].to_numpy(np.float64)
    areas["pop_0_15"] = imd["Population (0-15)"].to_numpy(np.int32)
    areas["pop_16_59"] = imd["Population (16-59)"].to_numpy(np.int32)
    areas["pop_60_plus"] = imd["Population (60+)"].to_numpy(np.int32)
    # modal ICB of each LSOA's registered residents (2025/26 practice frame)
    icb_of = dict(zip(frame["Practice_Code"].str.strip(), frame["ICB"].str.strip(), strict=True))
    r = reg.assign(icb=reg["practice_code"].map(icb_of)).dropna(subset=["icb"])
    by = r.groupby(["lsoa11_code", "icb"], observed=True)["patients"].sum().reset_index()
    modal = by.sort_values(["lsoa11_code", "patients"], ascending=[True, False]).drop_duplicates("lsoa11_code")
    areas["icb_code"] = areas["lsoa_code"].map(dict(zip(modal["lsoa11_code"], modal["icb"], strict=True)))
    # LSOAs with no registrations in a 2025/26 practice: nearest LSOA code (same local authority block)
    areas["icb_code"] = areas["icb_code"].ffill().bfill()
    # synthetic supply
    rng = np.random.default_rng(SUPPLY_SEED)
    geo = imd["Barriers (Geo)"].to_numpy(np.float64)
    z = (geo - geo.mean()) / geo.std()
    areas["distance_acute_km"] = np.round(np.clip(np.exp(1.45 + 0.6 * z + 0.3 * rng.standard_normal(len(z))),
                                                  0.5, 40.0), 2)
    # beds per 1,000 of the local acute trust: an ICB level plus a local-authority deviation (LSOA names start
    # with the local authority's name)
    icbs = np.sort(areas["icb_code"].unique())
    icb_beds = dict(zip(icbs, rng.normal(2.2, 0.3, len(icbs)), strict=True))
    la = imd["LSOA11NM"].str.replace(r" \d{3}[A-Z]$", "", regex=True).to_numpy(str)
    las = np.unique(la)
    la_dev = dict(zip(las, rng.normal(0.0, 0.3, len(las)), strict=True))
    beds = areas["icb_code"].map(icb_beds).to_numpy(np.float64) + np.array([la_dev[x] for x in la])
    areas["acute_beds_per_1000"] = np.round(np.clip(beds, 1.2, 3.6), 2)
    table = pa.Table.from_pandas(areas, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("icb_code"), "icb_code",
                             table["icb_code"].dictionary_encode())
    write_parquet(table, "lsoa_areas.parquet",
                  "MHCLG English Indices of Deprivation 2019 (LSOA 2011); NHS Digital registrations July 2022",
                  synthetic_columns="distance_acute_km,acute_beds_per_1000",
                  synthetic_note="distance from the IMD geographical barriers sub-domain plus noise; beds an ICB "
                                 f"level plus a local-authority deviation; numpy seed {SUPPLY_SEED}")

    # --- QOF
    q = pd.DataFrame({"practice_code": qof["practice_code"].to_numpy(str)})
    for reg_name in REGISTERS:
        q[reg_name] = qof[f"{reg_name}-prevalance"].to_numpy(np.float32)
    q = q.sort_values("practice_code")
    write_parquet(pa.Table.from_pandas(q, preserve_index=False), "qof_prevalence_2021_22.parquet",
                  "NHS Digital Quality and Outcomes Framework 2021/22, recorded prevalence (fractions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "reference")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    build(args.reference)


if __name__ == "__main__":
    main()
