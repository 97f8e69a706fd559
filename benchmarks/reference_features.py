"""The ten features written the usual way: per-ticker pandas groupby transforms.

It is the yardstick `compute_features` is measured and checked against: same definitions, one
rolling call per ticker and window, split factors from an as-of merge.
"""

import numpy as np
import pandas as pd

from low_assets import schema
from low_assets.feature_engine import MIN_HISTORY_ROWS


def reference_split_factors(bars: pd.DataFrame, splits: pd.DataFrame) -> np.ndarray:
    """Product of the ratios of each bar's later splits, by an as-of merge per ticker."""
    splits = schema.conform(splits, schema.SPLITS, "splits")
    if splits.empty:
        return np.ones(len(bars))
    splits = splits.assign(ratio=splits["split_to"] / splits["split_from"])
    splits = splits.sort_values(["ticker", "execution_date"], ascending=[True, False])
    splits["factor"] = splits.groupby("ticker", sort=False)["ratio"].cumprod()
    left = pd.DataFrame(
        {
            "row": np.arange(len(bars)),
            "ticker": bars["ticker"].astype(str).to_numpy(dtype=object),
            "trade_date": bars["trade_date"].to_numpy(),
        }
    ).sort_values("trade_date", kind="stable")
    right = splits[["ticker", "execution_date", "factor"]].sort_values("execution_date")
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


def reference_features(bars: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """The output of `compute_features`, computed one ticker at a time."""
    factors = reference_split_factors(bars, splits)
    frame = pd.DataFrame(
        {
            "ticker": bars["ticker"].to_numpy(),
            "trade_date": bars["trade_date"].to_numpy(),
            "close": bars["close"].to_numpy(dtype=float) / factors,
            "volume": bars["volume"].to_numpy(dtype=float) * factors,
        }
    ).sort_values(["ticker", "trade_date"], ignore_index=True)
    by_ticker = frame.groupby("ticker", sort=False)
    close, volume = frame["close"], frame["volume"]
    frame["return_lag1"] = by_ticker["close"].transform(lambda s: s / s.shift(1) - 1.0)
    returns = frame.groupby("ticker", sort=False)["return_lag1"]
    ma5 = by_ticker["close"].transform(lambda s: s.rolling(5).mean())
    ma20 = by_ticker["close"].transform(lambda s: s.rolling(20).mean())
    volume_ma20 = by_ticker["volume"].transform(lambda s: s.rolling(20).mean())

    frame["weekday"] = frame["trade_date"].dt.dayofweek.astype(float)
    frame["day_of_month"] = frame["trade_date"].dt.day.astype(float)
    frame["volatility_5d"] = returns.transform(lambda s: s.rolling(5).std())
    frame["volatility_20d"] = returns.transform(lambda s: s.rolling(20).std())
    frame["momentum_5d"] = by_ticker["close"].transform(lambda s: s / s.shift(5) - 1.0)
    frame["price_above_ma20"] = (close > ma20).astype(float)
    frame["ma5_ma20_diff"] = ma5 / ma20 - 1.0
    frame["volume_ratio_20"] = volume / np.maximum(volume_ma20, 1.0)
    frame["volume_change_1d"] = by_ticker["volume"].transform(
        lambda s: np.log1p(s) - np.log1p(s.shift(1))
    )

    enough_history = by_ticker.cumcount() >= MIN_HISTORY_ROWS - 1
    finite = np.isfinite(frame[schema.FEATURE_COLUMNS].to_numpy()).all(axis=1)
    return schema.conform(frame[enough_history & finite], schema.FEATURES, "features")
