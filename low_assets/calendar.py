"""The NYSE trading calendar: which days have a regular session, in New York time."""

from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

EXCHANGE = "XNYS"
MARKET_TZ = "America/New_York"


@lru_cache(maxsize=1)
def _calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar(EXCHANGE)


def as_day(day) -> pd.Timestamp:
    """A date, string or timestamp as a naive midnight timestamp."""
    stamp = pd.Timestamp(day)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    return stamp.normalize()


def trading_days(start, end) -> pd.DatetimeIndex:
    """Sessions from start to end, both inclusive, as naive midnight timestamps."""
    start, end = as_day(start), as_day(end)
    if end < start:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(_calendar().sessions_in_range(start, end))


def is_trading_day(day) -> bool:
    """True when the exchange holds a session that day (half days included)."""
    return bool(_calendar().is_session(as_day(day)))


def next_trading_day(day) -> pd.Timestamp:
    """The first session strictly after day."""
    day = as_day(day)
    if is_trading_day(day):
        return pd.Timestamp(_calendar().next_session(day))
    return pd.Timestamp(_calendar().date_to_session(day, direction="next"))


def previous_trading_day(day) -> pd.Timestamp:
    """The last session strictly before day."""
    day = as_day(day)
    if is_trading_day(day):
        return pd.Timestamp(_calendar().previous_session(day))
    return pd.Timestamp(_calendar().date_to_session(day, direction="previous"))


# No NYSE closure since 1900 has lasted this long, so the next session is always inside it.
_LONGEST_CLOSURE = pd.Timedelta(days=10)


def next_sessions(days) -> pd.Series:
    """For each distinct day, the first session strictly after it, indexed by the day."""
    days = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(days))).sort_values()
    if days.empty:
        return pd.Series(dtype="datetime64[ns]")
    sessions = trading_days(days[0], days[-1] + _LONGEST_CLOSURE)
    return pd.Series(sessions[np.searchsorted(sessions, days, side="right")], index=days)
