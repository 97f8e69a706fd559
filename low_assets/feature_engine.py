"""The ten model features, each computed per ticker over that ticker's own earlier rows.

Input: bars as traded with at least (ticker, trade_date, close, volume), and split records.
Output: one row per (ticker, trade_date) with the columns of `schema.FEATURES`, only for rows
whose ticker has the history the longest window needs, sorted by ticker then date. Rows are a
ticker's trading days in order, so every window is counted in trading days across weekends and
holidays.

The bars are laid out as a matrix with one line per ticker and its sessions in order along the
line, padded at the end. Lags are column shifts and rolling sums are differences of cumulative
sums along a line, so windows never reach into another ticker, no Python loop runs per ticker,
and a sum never grows beyond one ticker's history (which keeps it as exact as a rolling sum).
"""

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import pandas as pd

from low_assets import schema
from low_assets.splits import coded_split_factors

LONGEST_WINDOW = 20
# Twenty daily returns need twenty-one closes.
MIN_HISTORY_ROWS = LONGEST_WINDOW + 1
# A close that equals its 20-session mean (prices on a cent grid often do) must not count as
# above it because the window sum was rounded a hair low; real gaps are far wider than this.
_TIE_TOLERANCE = 1e-12
_LINES_PER_BLOCK = 256


class _TickerLines:
    """Bars as a (ticker, session) matrix: line i holds ticker i's sessions in date order."""

    def __init__(self, ticker_codes: np.ndarray, date_codes: np.ndarray, tickers, dates):
        """Bar i is ticker tickers[ticker_codes[i]] on dates[date_codes[i]]; dates are in order."""
        shape = (len(tickers), len(dates))
        # A bar's place on its line is how many sessions its ticker has up to its date, counted
        # on the (ticker, date) grid, so no sort is needed.
        grid_cells = ticker_codes.astype(np.int64) * shape[1] + date_codes
        on_grid = np.bincount(grid_cells, minlength=shape[0] * shape[1]).reshape(shape)
        if len(grid_cells) and on_grid.max() > 1:
            ticker, day = np.unravel_index(np.argmax(on_grid), shape)
            raise ValueError(
                f"bars hold {on_grid.max()} rows for one (ticker, trade_date): {tickers[ticker]} "
                f"on {pd.Timestamp(dates[day]).date()}; stock_data has one row per pair"
            )
        sessions_so_far = np.cumsum(on_grid, axis=1, dtype=np.int32)
        self.lengths = sessions_so_far[:, -1] if shape[1] else np.zeros(shape[0], dtype=np.int32)
        self.width = max(int(self.lengths.max(initial=0)), MIN_HISTORY_ROWS)
        self.shape = (shape[0], self.width)
        # The flat matrix cell of each bar, in the bars' original order.
        position = sessions_so_far.ravel()[grid_cells] - 1
        self.cells = ticker_codes.astype(np.int64) * self.width + position

    def matrix(self, values: np.ndarray, fill=np.nan) -> np.ndarray:
        """values (in the bars' original order) placed in the matrix; padding is `fill`."""
        out = np.full(self.shape, fill, dtype=values.dtype)
        out.ravel()[self.cells] = values
        return out

    def with_history(self) -> np.ndarray:
        """True at the sessions that have MIN_HISTORY_ROWS - 1 sessions before them."""
        columns = np.arange(self.width)
        return (columns >= MIN_HISTORY_ROWS - 1) & (columns < self.lengths[:, None])


def _lag(values: np.ndarray, periods: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    out[:, periods:] = values[:, :-periods]
    return out


class _Rolling:
    """Rolling means and deviations along each line of a matrix.

    Window sums are differences of cumulative sums along a line, exact to rounding only: a
    mean is off by a few units in the last place at most, but the square root would turn the
    same rounding of a flat window's variance (a halted stock) into a visible deviation, so
    flat windows get a deviation of exactly zero, as pandas' rolling windows give it. Values
    after a line's last session may be NaN; nothing before them is affected.
    """

    def __init__(self, values: np.ndarray):
        self.values = values
        self._sums = self._running(values)

    @staticmethod
    def _running(values: np.ndarray) -> np.ndarray:
        running = np.zeros((values.shape[0], values.shape[1] + 1))
        np.cumsum(values, axis=1, out=running[:, 1:])
        return running

    @staticmethod
    def _window_sum(running: np.ndarray, window: int) -> np.ndarray:
        out = np.full((running.shape[0], running.shape[1] - 1), np.nan)
        out[:, window - 1 :] = running[:, window:] - running[:, :-window]
        return out

    @cached_property
    def _square_sums(self) -> np.ndarray:
        return self._running(self.values * self.values)

    @cached_property
    def _equal_run(self) -> np.ndarray:
        """How many values up to and including each column equal it without a break."""
        columns = np.arange(self.values.shape[1])
        changed = np.ones(self.values.shape, dtype=bool)
        changed[:, 1:] = self.values[:, 1:] != self.values[:, :-1]
        last_change = np.maximum.accumulate(np.where(changed, columns, 0), axis=1)
        return columns - last_change + 1

    def mean(self, window: int) -> np.ndarray:
        return self._window_sum(self._sums, window) / window

    def std(self, window: int) -> np.ndarray:
        """Sample standard deviation (ddof=1) of the window."""
        total = self._window_sum(self._sums, window)
        squares = self._window_sum(self._square_sums, window)
        variance = np.maximum((squares - total * total / window) / (window - 1), 0.0)
        return np.where(self._equal_run >= window, 0.0, np.sqrt(variance))


def _line_features(close: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    """The eight features that need a ticker's history, for a block of whole ticker lines."""
    daily_return = close / _lag(close, 1) - 1.0
    # The first session has no return; a zero there is never inside a window that is kept.
    returns = _Rolling(np.where(np.isnan(daily_return), 0.0, daily_return))
    closes = _Rolling(close)
    ma5, ma20 = closes.mean(5), closes.mean(20)
    return {
        # Return from the previous session's close to this close.
        "return_lag1": daily_return,
        # Sample standard deviation of the last 5 daily returns.
        "volatility_5d": returns.std(5),
        # Sample standard deviation of the last 20 daily returns.
        "volatility_20d": returns.std(20),
        # Return from the close 5 sessions ago to this close.
        "momentum_5d": close / _lag(close, 5) - 1.0,
        # 1.0 when the close is above its 20-session mean, else 0.0.
        "price_above_ma20": (close > ma20 * (1.0 + _TIE_TOLERANCE)).astype(float),
        # Relative gap between the 5- and 20-session mean closes.
        "ma5_ma20_diff": ma5 / ma20 - 1.0,
        # Volume over its 20-session mean (a mean below one share counts as one share).
        "volume_ratio_20": volume / np.maximum(_Rolling(volume).mean(20), 1.0),
        # Log change of volume from the previous session; finite after a zero-volume day.
        "volume_change_1d": np.log1p(volume) - np.log1p(_lag(volume, 1)),
    }


def _block_columns(close: np.ndarray, volume: np.ndarray, kept: np.ndarray):
    """Flat cells of the block's kept sessions and the (feature, row) array of their values, in
    FEATURE_COLUMNS order after the calendar two. A value that is not finite is kept, not
    dropped, so that the features_finite check sees it and stops the day."""
    features = _line_features(close, volume)
    cells = np.flatnonzero(kept)
    columns = np.empty((len(features), len(cells)))
    for row, name in enumerate(schema.FEATURE_COLUMNS[2:]):
        columns[row] = features[name].ravel()[cells]
    return cells, columns


def compute_features(bars: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """All ten features for every row of bars that has enough history (see module docstring)."""
    codes, tickers = pd.factorize(bars["ticker"], sort=True)
    date_codes, dates = pd.factorize(bars["trade_date"].to_numpy(dtype="datetime64[ns]"), sort=True)
    lines = _TickerLines(codes, date_codes, tickers, dates)
    factors = coded_split_factors(codes, tickers, date_codes, dates, splits)
    close = lines.matrix(bars["close"].to_numpy(dtype=float) / factors)
    volume = lines.matrix(bars["volume"].to_numpy(dtype=float) * factors)
    kept = lines.with_history()

    # Blocks of lines small enough for the CPU cache, spread over the cores (NumPy releases
    # the GIL while it computes).
    blocks = [
        slice(first, first + _LINES_PER_BLOCK) for first in range(0, len(tickers), _LINES_PER_BLOCK)
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
        parts = list(pool.map(lambda b: _block_columns(close[b], volume[b], kept[b]), blocks))
    cells = np.concatenate(
        [
            part_cells + block.start * lines.width
            for block, (part_cells, _) in zip(blocks, parts, strict=True)
        ]
        or [np.empty(0, dtype=np.int64)]
    )
    columns = np.empty((len(schema.FEATURE_COLUMNS), len(cells)))
    if parts:
        np.concatenate([part_columns for _, part_columns in parts], axis=1, out=columns[2:])

    cell_dates = lines.matrix(date_codes, fill=0).ravel()[cells]
    calendar = pd.DatetimeIndex(dates)
    # Day of the week of the session, Monday = 0.
    columns[0] = calendar.dayofweek.to_numpy(dtype=float)[cell_dates]
    # Calendar day of the month of the session.
    columns[1] = calendar.day.to_numpy(dtype=float)[cell_dates]
    out = pd.DataFrame(columns.T, columns=schema.FEATURE_COLUMNS, copy=False)
    out.insert(0, "ticker", pd.array(tickers, dtype="string").take(cells // lines.width))
    out.insert(1, "trade_date", dates[cell_dates])
    return out
