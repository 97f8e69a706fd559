"""A synthetic full US market built from the packaged sample's real bars.

The ~500 real series are replicated under new symbols until a day holds ~11,000 tickers. Each
copy gets, from a seed of its own, a price scale factor (so copies trade between a few dollars
and a few thousand), a small multiplicative noise per bar applied to open, high, low and close
alike (so high stays the highest and low the lowest), and a volume scale with its own per-bar
noise. Copy 0 is the sample itself. Split records are copied with their tickers, so split
adjustment works on the copies exactly as on the originals.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from low_assets import schema
from low_assets.resources import _sample_bars, _sample_splits

SEED = 20_240_601
FULL_MARKET_COPIES = 22
PRICE_NOISE = 0.002
VOLUME_NOISE = 0.15


def copy_symbol(ticker: str, copy: int) -> str:
    """The ticker of copy `copy` of a real series (copy 0 keeps the real ticker)."""
    return ticker if copy == 0 else f"{ticker}.S{copy:02d}"


def sample_bars() -> pd.DataFrame:
    """The packaged sample as stock_data rows (ticker, trade_date, OHLC, volume)."""
    bars = _sample_bars()
    return pd.DataFrame(
        {
            "ticker": bars["ticker"].astype("string"),
            "trade_date": bars["date"].astype("datetime64[ns]"),
            "open": bars["open"].astype(float),
            "high": bars["high"].astype(float),
            "low": bars["low"].astype(float),
            "close": bars["close"].astype(float),
            "volume": bars["volume"].astype(float),
        }
    )


def _perturbed_copy(bars: pd.DataFrame, copy: int) -> pd.DataFrame:
    if copy == 0:
        return bars
    rng = np.random.default_rng([SEED, copy])
    tickers, codes = np.unique(bars["ticker"].to_numpy(dtype=object), return_inverse=True)
    price_scale = np.exp(rng.uniform(np.log(0.2), np.log(5.0), len(tickers)))[codes]
    volume_scale = np.exp(rng.uniform(np.log(0.05), np.log(3.0), len(tickers)))[codes]
    price_factor = price_scale * (1.0 + PRICE_NOISE * rng.standard_normal(len(bars)))
    volume_factor = volume_scale * np.exp(VOLUME_NOISE * rng.standard_normal(len(bars)))
    out = bars.assign(
        ticker=pd.array([copy_symbol(t, copy) for t in tickers], dtype="string")[codes],
        volume=np.round(bars["volume"].to_numpy() * volume_factor),
    )
    for column in ["open", "high", "low", "close"]:
        out[column] = np.round(bars[column].to_numpy() * price_factor, 4)
    # Rounding can break a tie between close and high (or low) the wrong way by a hair.
    prices = out[["open", "high", "low", "close"]].to_numpy()
    out["high"], out["low"] = prices.max(axis=1), prices.min(axis=1)
    return out


def full_market_bars(copies: int = FULL_MARKET_COPIES) -> pd.DataFrame:
    """stock_data rows of `copies` copies of the whole sample.

    Always built over the whole sample, so a day's bars do not depend on which range is read.
    """
    bars = sample_bars()
    frames = [_perturbed_copy(bars, copy) for copy in range(copies)]
    return pd.concat(frames, ignore_index=True)


def full_market_splits(copies: int = FULL_MARKET_COPIES) -> pd.DataFrame:
    """The sample's split records, repeated for every copy's ticker."""
    splits = _sample_splits()
    frames = [
        splits.assign(ticker=[copy_symbol(t, copy) for t in splits["ticker"]])
        for copy in range(copies)
    ]
    return schema.conform(pd.concat(frames, ignore_index=True), schema.SPLITS, "splits")


def read_full_market(cache_dir: Path, first_day: str, last_day: str) -> pd.DataFrame:
    """The full market's bars on [first_day, last_day] as stock_data rows (schema.STOCK_DATA).

    Built once into cache_dir as Parquet sorted by date; later calls read only the row groups
    of the days asked for, and convert them to pandas without holding a second copy.
    """
    path = cache_dir / f"full_market_{SEED}_{FULL_MARKET_COPIES}.parquet"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        bars = full_market_bars().sort_values(["trade_date", "ticker"], ignore_index=True)
        bars.to_parquet(partial, index=False, row_group_size=100_000)
        partial.rename(path)
    table = pq.read_table(
        path,
        filters=[
            ("trade_date", ">=", pd.Timestamp(first_day)),
            ("trade_date", "<=", pd.Timestamp(last_day)),
        ],
    )
    bars = table.to_pandas(
        types_mapper={pa.string(): pd.StringDtype("python")}.get, self_destruct=True
    )
    del table
    # The sample has no vwap or trade count: null, as Polygon leaves them for some bars.
    missing = np.ones(len(bars), dtype=bool)
    bars["vwap"] = pd.arrays.FloatingArray(np.zeros(len(bars)), missing)
    bars["transactions"] = pd.arrays.IntegerArray(np.zeros(len(bars), dtype=np.int64), missing)
    return bars[list(schema.STOCK_DATA)]
