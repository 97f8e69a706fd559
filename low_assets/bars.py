"""Turn the vendor's day bars into clean bars: one row per (ticker, trade_date), as traded.

Nothing here knows about Dagster, so it runs the same in a test, a notebook or an asset.
"""

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from low_assets import schema
from low_assets.calendar import MARKET_TZ

# Upper-case letters first, then letters, digits, dots or hyphens (BRK.B, BF-B, ABRpD).
TICKER_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9.\-]{0,11}$")
# No listed US share has traded above this; Berkshire's A share is the record at under 1e6.
MAX_PLAUSIBLE_PRICE = 5_000_000.0
PRICE_COLUMNS = ["open", "high", "low", "close"]

_VENDOR_TO_CLEAN = {
    "T": "ticker",
    "o": "open",
    "h": "high",
    "l": "low",
    "c": "close",
    "v": "volume",
    "vw": "vwap",
    "n": "transactions",
}

_DUPLICATE_ORDER = ["ticker", "volume", "t", "close", "open", "high", "low", "vwap", "transactions"]
_DUPLICATE_ASCENDING = [True, False, False, True, True, True, True, True, True]


@dataclass(frozen=True)
class CleanResult:
    bars: pd.DataFrame
    rejected: pd.DataFrame
    duplicate_rows: int


def trade_dates_from_millis(millis: pd.Series) -> pd.Series:
    """The New York calendar day of Unix-millisecond bar stamps, whatever the host's time zone.

    Grouped-daily bars are stamped at the 16:00 close and range bars at 00:00; both fall on the
    same New York day.
    """
    stamps = pd.to_datetime(millis.astype("Int64"), unit="ms", utc=True)
    return (
        stamps.dt.tz_convert(MARKET_TZ).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
    )


def reject_reasons(bars: pd.DataFrame) -> pd.Series:
    """Why each bar cannot be real, or <NA> when it can. Checked in order; the first reason wins."""
    prices = bars[PRICE_COLUMNS]
    tickers = bars["ticker"].astype("string")
    conditions = [
        (
            ~tickers.fillna("").map(lambda t: bool(TICKER_PATTERN.match(t))).astype(bool),
            "implausible ticker symbol",
        ),
        (prices.isna().any(axis=1) | ~np.isfinite(prices.fillna(0.0)).all(axis=1), "missing price"),
        ((prices <= 0).any(axis=1), "non-positive price"),
        ((prices > MAX_PLAUSIBLE_PRICE).any(axis=1), "absurd price"),
        (bars["high"] < bars["low"], "high below low"),
        ((bars["open"] < bars["low"]) | (bars["open"] > bars["high"]), "open outside [low, high]"),
        (
            (bars["close"] < bars["low"]) | (bars["close"] > bars["high"]),
            "close outside [low, high]",
        ),
        (
            bars["volume"].isna() | (bars["volume"] < 0) | np.isinf(bars["volume"]),
            "negative or missing volume",
        ),
    ]
    reasons = pd.Series(pd.NA, index=bars.index, dtype="string")
    for mask, reason in reversed(conditions):
        reasons = reasons.mask(mask.to_numpy(dtype=bool), reason)
    return reasons


def clean_bars(raw: pd.DataFrame, trade_date) -> CleanResult:
    """Clean one trading day's vendor bars.

    raw has the vendor's columns (T, o, h, l, c, v, vw, n, t). Bars that cannot be real, or are
    stamped on another day, go to `rejected` with the reason. A ticker sent twice is kept once:
    the bar with the largest volume, then the latest stamp, then the lowest close (then open,
    high, low, vwap, transactions), so the choice does not depend on the order the vendor sent
    them in.
    """
    trade_date = pd.Timestamp(trade_date).normalize()
    raw = schema.conform(raw, schema.RAW_BARS, "raw_bars")
    bars = raw.rename(columns=_VENDOR_TO_CLEAN)
    bars["trade_date"] = trade_dates_from_millis(raw["t"])

    reasons = reject_reasons(bars)
    wrong_day = bars["trade_date"].isna() | (bars["trade_date"] != trade_date)
    reasons = reasons.mask(
        reasons.isna() & wrong_day.to_numpy(dtype=bool), f"stamped outside {trade_date.date()}"
    )
    bad = reasons.notna().to_numpy(dtype=bool)
    rejected = pd.DataFrame(
        {
            "trade_date": trade_date,
            "ticker": raw.loc[bad, "T"],
            "reason": reasons[bad],
            "payload": raw.loc[bad].apply(lambda row: row.to_json(), axis=1)
            if bad.any()
            else pd.Series(dtype="string"),
        }
    )

    # Every column takes part in the order, so two bars that tie on volume, stamp and close
    # still resolve the same way whichever the vendor sent first.
    good = bars.loc[~bad].sort_values(
        _DUPLICATE_ORDER, ascending=_DUPLICATE_ASCENDING, kind="stable", na_position="last"
    )
    kept = good.drop_duplicates("ticker", keep="first")
    return CleanResult(
        bars=schema.conform(kept, schema.STOCK_DATA, "stock_data"),
        rejected=schema.conform(rejected, schema.REJECTED_BARS, "rejected_bars"),
        duplicate_rows=len(good) - len(kept),
    )
