"""Build the packaged sample from the S&P 500 daily bars data set.

    python scripts/build_sample.py PATH/TO/sp500_daily_2018_2021.parquet

Writes low_assets/sample/bars.parquet (bars as traded, in a window) and
low_assets/sample/splits.csv (every split record of the data set, as split_from/split_to).
"""

import sys
from pathlib import Path

import pandas as pd

SAMPLE_START = "2019-11-01"
SAMPLE_END = "2021-04-21"
OUT = Path(__file__).resolve().parent.parent / "low_assets" / "sample"


def split_record(coefficient: float) -> tuple[float, float]:
    """(split_from, split_to) for a coefficient; a reverse split is written as whole shares."""
    inverse = 1.0 / coefficient
    if coefficient < 1.0 and abs(inverse - round(inverse)) < 1e-3:
        return float(round(inverse)), 1.0
    return 1.0, float(coefficient)


def main(source: str) -> None:
    data = pd.read_parquet(source)
    data["date"] = pd.to_datetime(data["date"])

    window = data[(data["date"] >= SAMPLE_START) & (data["date"] <= SAMPLE_END)]
    bars = window[["date", "ticker", "open", "high", "low", "close", "volume"]]
    bars = bars.sort_values(["date", "ticker"]).reset_index(drop=True)
    bars.to_parquet(OUT / "bars.parquet", index=False, compression="zstd")

    splits = data[data["split_coefficient"] != 1.0]
    records = [split_record(c) for c in splits["split_coefficient"]]
    pd.DataFrame(
        {
            "ticker": splits["ticker"].to_numpy(),
            "execution_date": splits["date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "split_from": [r[0] for r in records],
            "split_to": [r[1] for r in records],
        }
    ).to_csv(OUT / "splits.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1])
