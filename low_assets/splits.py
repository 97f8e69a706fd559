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
    codes, tickers = pd.factorize(bars["ticker"])
    date_codes, dates = pd.factorize(bars["trade_date"].to_numpy(dtype="datetime64[ns]"))
    return coded_split_factors(codes, tickers, date_codes, dates, splits)


def coded_split_factors(
    codes: np.ndarray,
    tickers,
    date_codes: np.ndarray,
    dates: np.ndarray,
    splits: pd.DataFrame,
) -> np.ndarray:
    """split_factors for bars given as codes: ticker `tickers[codes[i]]` on `dates[date_codes[i]]`.

    Each bar finds, among its ticker's splits sorted by date, the first one executed after its
    day; the factor is the product of that split's ratio and every later one. Only the bars of
    tickers that have splits are looked at.
    """
    factors = np.ones(len(codes))
    splits = schema.conform(splits, schema.SPLITS, "splits")
    split_codes = pd.Index(tickers).get_indexer(splits["ticker"])
    splits = splits[split_codes >= 0].assign(code=split_codes[split_codes >= 0])
    if splits.empty or len(codes) == 0:
        return factors

    splits = splits.assign(ratio=splits["split_to"] / splits["split_from"])
    splits = splits.sort_values(["code", "execution_date"], ascending=[True, False])
    # The factor that applies before a split is that split's ratio times every later one.
    splits["factor"] = splits.groupby("code", sort=False)["ratio"].cumprod()
    splits = splits.sort_values(["code", "execution_date"], kind="stable")

    has_splits = np.zeros(len(tickers), dtype=bool)
    has_splits[splits["code"].to_numpy()] = True
    rows = np.flatnonzero(has_splits[codes])
    bar_codes = codes[rows].astype(np.int64)
    bar_dates = np.asarray(dates, dtype="datetime64[ns]")[date_codes[rows]].astype(np.int64)
    split_dates = splits["execution_date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    # A search on (ticker, date) pairs as one sorted search: dates become their ranks.
    ranks = np.unique(np.concatenate([bar_dates, split_dates]))
    split_code_array = splits["code"].to_numpy(dtype=np.int64)
    split_keys = split_code_array * len(ranks) + np.searchsorted(ranks, split_dates)
    bar_keys = bar_codes * len(ranks) + np.searchsorted(ranks, bar_dates)
    later = np.searchsorted(split_keys, bar_keys, side="right")
    found = np.minimum(later, len(split_keys) - 1)
    same_ticker = (later < len(split_keys)) & (split_code_array[found] == bar_codes)
    factors[rows] = np.where(same_ticker, splits["factor"].to_numpy()[found], 1.0)
    return factors


def adjust_for_splits(bars: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """bars with `close_adjusted` and `volume_adjusted` added, as of the splits given."""
    factors = split_factors(bars, splits)
    return bars.assign(
        close_adjusted=bars["close"].to_numpy(dtype=float) / factors,
        volume_adjusted=bars["volume"].to_numpy(dtype=float) * factors,
    )
