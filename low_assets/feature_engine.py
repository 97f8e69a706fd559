"""The ten model features, each computed per ticker over that ticker's own earlier rows.

Input: bars as traded with at least (ticker, trade_date, close, volume), and split records.
Output: one row per (ticker, trade_date) with the columns of `schema.FEATURES`, only for rows
whose ticker has the history the longest window needs. Rows are a ticker's trading days in
order, so every window is counted in trading days across weekends and holidays.

The windows run over the whole frame sorted by (ticker, trade_date) at once and are then masked
where they would reach into the previous ticker, so no Python loop runs per ticker.
"""

import numpy as np
import pandas as pd

from low_assets import schema
from low_assets.splits import adjust_for_splits

LONGEST_WINDOW = 20
# Twenty daily returns need twenty-one closes.
MIN_HISTORY_ROWS = LONGEST_WINDOW + 1


class _TickerWindows:
    """Lags and rolling statistics that never cross from one ticker into the next."""

    def __init__(self, position: np.ndarray):
        self.position = position

    def lag(self, values: np.ndarray, periods: int) -> np.ndarray:
        out = np.full(len(values), np.nan)
        out[periods:] = values[:-periods]
        out[self.position < periods] = np.nan
        return out

    def mean(self, values: np.ndarray, window: int, first_valid: int) -> np.ndarray:
        out = pd.Series(values).rolling(window).mean().to_numpy()
        out[self.position < first_valid] = np.nan
        return out

    def std(self, values: np.ndarray, window: int, first_valid: int) -> np.ndarray:
        out = pd.Series(values).rolling(window).std(ddof=1).to_numpy()
        out[self.position < first_valid] = np.nan
        return out


def compute_features(bars: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """All ten features for every row of bars that has enough history (see module docstring)."""
    frame = adjust_for_splits(bars[["ticker", "trade_date", "close", "volume"]], splits)
    frame = frame.sort_values(["ticker", "trade_date"], kind="stable").reset_index(drop=True)
    position = frame.groupby("ticker", sort=False).cumcount().to_numpy()
    w = _TickerWindows(position)
    close = frame["close_adjusted"].to_numpy(dtype=float)
    volume = frame["volume_adjusted"].to_numpy(dtype=float)
    daily_return = close / w.lag(close, 1) - 1.0
    ma5, ma20 = w.mean(close, 5, 4), w.mean(close, 20, 19)

    features = {
        # Day of the week of the session, Monday = 0.
        "weekday": frame["trade_date"].dt.dayofweek.to_numpy(dtype=float),
        # Calendar day of the month of the session.
        "day_of_month": frame["trade_date"].dt.day.to_numpy(dtype=float),
        # Return from the previous session's close to this close.
        "return_lag1": daily_return,
        # Sample standard deviation of the last 5 daily returns.
        "volatility_5d": w.std(daily_return, 5, 5),
        # Sample standard deviation of the last 20 daily returns.
        "volatility_20d": w.std(daily_return, 20, 20),
        # Return from the close 5 sessions ago to this close.
        "momentum_5d": close / w.lag(close, 5) - 1.0,
        # 1.0 when the close is above its 20-session mean, else 0.0.
        "price_above_ma20": (close > ma20).astype(float),
        # Relative gap between the 5- and 20-session mean closes.
        "ma5_ma20_diff": ma5 / ma20 - 1.0,
        # Volume over its 20-session mean (a mean below one share counts as one share).
        "volume_ratio_20": volume / np.maximum(w.mean(volume, 20, 19), 1.0),
        # Log change of volume from the previous session; finite after a zero-volume day.
        "volume_change_1d": np.log1p(volume) - np.log1p(w.lag(volume, 1)),
    }
    out = pd.DataFrame({"ticker": frame["ticker"], "trade_date": frame["trade_date"], **features})

    enough_history = position >= MIN_HISTORY_ROWS - 1
    finite = np.isfinite(out[schema.FEATURE_COLUMNS].to_numpy()).all(axis=1)
    return schema.conform(out[enough_history & finite], schema.FEATURES, "features")
