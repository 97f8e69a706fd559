"""Split adjustment: put prices from before a split on the same footing as prices after it.

A split record says that on `execution_date` one old share became `split_to / split_from` new
shares (4-for-1: 1 -> 4; a 1-for-3 reverse split: 3 -> 1; a spin-off adjustment factor such as
1.589 is written the same way). Prices on days before execution_date are divided by the product
of every later ratio and volumes multiplied by it, so a 4-for-1 split is not a 75% crash.
"""

import numpy as np
import pandas as pd

from low_assets import schema


def split_factors(bars: pd.DataFrame, splits: pd.DataFrame) -> np.ndarray:
    """For each bar, the product of the ratios of its ticker's splits executed after its day."""
    splits = schema.conform(splits, schema.SPLITS, "splits")
    if splits.empty or bars.empty:
        return np.ones(len(bars))

    splits = splits.assign(ratio=splits["split_to"] / splits["split_from"])
    splits = splits.sort_values(["ticker", "execution_date"], ascending=[True, False])
    # The factor that applies before a split is that split's ratio times every later one.
    splits["factor"] = splits.groupby("ticker", sort=False)["ratio"].cumprod()

    left = pd.DataFrame(
        {
            "row": np.arange(len(bars)),
            "ticker": bars["ticker"].astype(str).to_numpy(dtype=object),
            "trade_date": bars["trade_date"].astype("datetime64[ns]").to_numpy(),
        }
    ).sort_values("trade_date", kind="stable")
    right = splits[["ticker", "execution_date", "factor"]].sort_values(
        "execution_date", kind="stable"
    )
    right["ticker"] = right["ticker"].astype(str).to_numpy(dtype=object)
    matched = pd.merge_asof(
        left,
        right,
        left_on="trade_date",
        right_on="execution_date",
        by="ticker",
        direction="forward",
        allow_exact_matches=False,
    )
    factors = np.ones(len(bars))
    factors[matched["row"].to_numpy()] = matched["factor"].fillna(1.0).to_numpy()
    return factors


def adjust_for_splits(bars: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """bars with `close_adjusted` and `volume_adjusted` added, as of the splits given."""
    factors = split_factors(bars, splits)
    return bars.assign(
        close_adjusted=bars["close"].to_numpy(dtype=float) / factors,
        volume_adjusted=bars["volume"].to_numpy(dtype=float) * factors,
    )
