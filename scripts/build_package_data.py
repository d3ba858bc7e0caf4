"""Build the compact reference tables shipped inside the package from ``../shared/reference``.

Run from the repository root::

    python scripts/build_package_data.py [--reference ../shared/reference]

The package never reads ``../shared`` at run time; it reads only what this script writes into
``src/capitation/datasets/data/``. Each output carries the Open Government Licence attribution (in
``datasets/data/ATTRIBUTION.txt`` and in the Parquet metadata).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
OUT = Path(__file__).resolve().parents[1] / "src" / "capitation" / "datasets" / "data"

WP_COLUMNS = {
    "G&A WP": "wp_general_acute",
    "CS WP": "wp_community",
    "MH WP": "wp_mental_health",
    "Mat WP": "wp_maternity",
    "Health Ineq WP": "wp_health_inequalities",
    "Prescr WP": "wp_prescribing",
    "Final WP": "wp_core_final",
    "Primary Medical Care WP": "wp_primary_medical_care",
    "Final PMC WP": "wp_primary_medical_care_final",
}

# The three files name the same fields differently; map each to one schema.
YEAR_FILES = {
    "2023/24": ("nhse_practice_weighted_populations_2023_24.csv", "ICS22", "ICS22name", "Region22", "pop 2022/23"),
    "2024/25": ("nhse_practice_weighted_populations_2024_25.csv", "ICS22", "ICS22name", "Region22", "pop 2022/23"),
    "2025/26": ("nhse_practice_weighted_populations_2025_26.csv", "ICB", "ICBname", "Region", "Population"),
}


def write_parquet(frame: pd.DataFrame, name: str, source: str) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.update({b"attribution": ATTRIBUTION.encode(), b"source": source.encode()})
    pq.write_table(table.replace_schema_metadata(meta), OUT / name, compression="zstd", compression_level=19)
    print(f"wrote {name}: {len(frame):,} rows, {(OUT / name).stat().st_size / 1e3:.0f} kB")


def build_practices(reference: Path) -> None:
    frames = []
    for year, (file, icb, icb_name, region, population) in YEAR_FILES.items():
        raw = pd.read_csv(reference / file, encoding="utf-8-sig")
        frame = pd.DataFrame(
            {
                "year": year,
                "practice_code": raw["Practice_Code"].str.strip(),
                "practice_name": raw["GP_Practice_Name"].str.strip().str.upper(),
                "postcode": raw["Practice_Postcode"].str.strip(),
                "icb_code": raw[icb].str.strip(),
                "icb_name": raw[icb_name].str.strip(),
                "region": raw[region].str.strip(),
                "population": raw[population].astype("float64"),
            }
        )
        for source_column, column in WP_COLUMNS.items():
            frame[column] = raw[source_column].astype("float64")
        frames.append(frame)
    practices = pd.concat(frames, ignore_index=True)
    write_parquet(practices, "practices.parquet", "NHS England practice weighted populations 2023/24-2025/26")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "reference")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ATTRIBUTION.txt").write_text(ATTRIBUTION + "\n")
    build_practices(args.reference)


if __name__ == "__main__":
    main()
