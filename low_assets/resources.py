"""Where bars and split records come from, behind one resource key: `bars_source`.

Every source answers in the vendor's grouped-daily shape (`schema.RAW_BARS`: T, o, h, l, c, v,
vw, n, t with t in Unix milliseconds), so the assets downstream never know which one ran.

- `PolygonBarsSource`: the Polygon REST API through the official `RESTClient`.
- `SampleBarsSource`: real S&P 500 bars shipped in the package; needs no key and no network.
"""

import json
import threading
import time
from functools import lru_cache
from importlib import resources as package_files
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pandas as pd
import urllib3
from polygon import RESTClient
from polygon.exceptions import BadResponse
from pydantic import Field

from low_assets import calendar, schema

POLYGON_BASE_URL = "https://api.polygon.io"


class BarsUnavailableError(Exception):
    """The source could not deliver a day's bars; the message says which day and why."""


class BarsSource(dg.ConfigurableResource):
    """Base of every bars source."""

    def fetch_grouped_daily(self, day: pd.Timestamp) -> pd.DataFrame:
        """Every ticker's bar for one session, unadjusted, in `schema.RAW_BARS` shape."""
        raise NotImplementedError

    def fetch_splits(self, since: pd.Timestamp) -> pd.DataFrame:
        """Split records executed on or after `since`, in `schema.SPLITS` shape."""
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


def _close_stamp_millis(days: pd.Series) -> pd.Series:
    """Unix milliseconds of 16:00 New York time on each day, as grouped-daily bars carry."""
    closes = (days + pd.Timedelta(hours=16)).dt.tz_localize(calendar.MARKET_TZ)
    return (closes.dt.tz_convert("UTC").astype("int64") // 1_000_000).astype("Int64")


@lru_cache(maxsize=1)
def _sample_bars() -> pd.DataFrame:
    with package_files.as_file(package_files.files("low_assets") / "sample" / "bars.parquet") as p:
        bars = pd.read_parquet(p)
    return bars.assign(date=pd.to_datetime(bars["date"]))


@lru_cache(maxsize=1)
def _sample_splits() -> pd.DataFrame:
    with package_files.as_file(package_files.files("low_assets") / "sample" / "splits.csv") as p:
        splits = pd.read_csv(p, parse_dates=["execution_date"])
    return schema.conform(splits, schema.SPLITS, "sample splits")


def sample_window() -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the packaged sample."""
    dates = _sample_bars()["date"]
    return dates.min(), dates.max()


class SampleBarsSource(BarsSource):
    """Real daily bars of ~500 S&P 500 stocks (as traded), shipped with the package.

    The sample has no volume-weighted price or trade count, so `vw` and `n` are null, as Polygon
    leaves them for some bars.
    """

    def fetch_grouped_daily(self, day: pd.Timestamp) -> pd.DataFrame:
        bars = _sample_bars()
        rows = bars[bars["date"] == pd.Timestamp(day).normalize()]
        payload = pd.DataFrame(
            {
                "T": rows["ticker"].to_numpy(),
                "o": rows["open"].to_numpy(),
                "h": rows["high"].to_numpy(),
                "l": rows["low"].to_numpy(),
                "c": rows["close"].to_numpy(),
                "v": rows["volume"].to_numpy(dtype=float),
                "vw": pd.NA,
                "n": pd.NA,
                "t": _close_stamp_millis(rows["date"]).to_numpy(),
            }
        )
        return schema.conform(payload, schema.RAW_BARS, "sample bars")

    def fetch_splits(self, since: pd.Timestamp) -> pd.DataFrame:
        splits = _sample_splits()
        return splits[splits["execution_date"] >= pd.Timestamp(since)].reset_index(drop=True)


class _RequestPacer:
    """Spaces requests to one API at least `interval` seconds apart, across threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def wait(self, key: str, interval: float) -> None:
        with self._lock:
            now = time.monotonic()
            ready_at = self._last.get(key, -float("inf")) + interval
            if ready_at > now:
                time.sleep(ready_at - now)
            self._last[key] = time.monotonic()


# One pacer per process: every asset and every day of a backfill share the same budget.
_PACER = _RequestPacer()
_RETRYABLE = (urllib3.exceptions.MaxRetryError, urllib3.exceptions.HTTPError, OSError)


class PolygonBarsSource(BarsSource):
    """Polygon's grouped-daily bars and split reference, through `polygon.RESTClient`.

    Requests are paced to `requests_per_minute` (the free tier allows 5). Rate-limit answers
    (429), server errors (5xx) and timeouts are retried `max_attempts` times with a backoff that
    doubles from `backoff_seconds`; then the day fails with a message naming it.
    """

    api_key: str = Field(description="Polygon API key; set it with the POLYGON_API_KEY variable.")
    base_url: str = Field(default=POLYGON_BASE_URL, description="Polygon REST API base URL.")
    requests_per_minute: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=15.0, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    def describe(self) -> str:
        return f"Polygon REST API at {self.base_url}"

    def _client(self) -> RESTClient:
        return RESTClient(
            api_key=self.api_key,
            base=self.base_url,
            retries=0,
            connect_timeout=self.timeout_seconds,
            read_timeout=self.timeout_seconds,
        )

    def _call(self, what: str, request):
        """Run request() with pacing and retries; errors never carry the key."""
        last_error = ""
        for attempt in range(1, self.max_attempts + 1):
            _PACER.wait(self.base_url, 60.0 / self.requests_per_minute)
            try:
                return request()
            except BadResponse as error:
                # A 4xx other than 413/429: asking again will not help (bad key, bad date).
                raise BarsUnavailableError(
                    f"{what}: Polygon refused the request: {str(error)[:300]}"
                ) from None
            except _RETRYABLE as error:
                last_error = f"{type(error).__name__}: {str(error)[:300]}"
            if attempt < self.max_attempts:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise BarsUnavailableError(
            f"{what}: no answer after {self.max_attempts} attempts; last error: {last_error}"
        )

    def fetch_grouped_daily(self, day: pd.Timestamp) -> pd.DataFrame:
        day_text = pd.Timestamp(day).strftime("%Y-%m-%d")
        client = self._client()
        response = self._call(
            f"grouped daily bars for {day_text}",
            lambda: client.get_grouped_daily_aggs(day_text, adjusted=False, raw=True),
        )
        results = json.loads(response.data.decode("utf-8")).get("results") or []
        payload = pd.DataFrame.from_records(results, columns=list(schema.RAW_BARS))
        return schema.conform(payload, schema.RAW_BARS, f"Polygon bars for {day_text}")

    def fetch_splits(self, since: pd.Timestamp) -> pd.DataFrame:
        client = self._client()
        since_text = pd.Timestamp(since).strftime("%Y-%m-%d")
        records: list[dict] = []
        cursor: str | None = None
        while True:
            params = {"cursor": cursor} if cursor else None
            response = self._call(
                f"split reference since {since_text}",
                lambda p=params: client.list_splits(
                    execution_date_gte=since_text, limit=1000, params=p, raw=True
                ),
            )
            page = json.loads(response.data.decode("utf-8"))
            records.extend(page.get("results") or [])
            cursor = _cursor_of(page.get("next_url"))
            if cursor is None:
                break
        splits = pd.DataFrame.from_records(
            records, columns=["ticker", "execution_date", "split_from", "split_to"]
        )
        splits["execution_date"] = pd.to_datetime(splits["execution_date"])
        return schema.conform(splits, schema.SPLITS, "Polygon split reference")


def _cursor_of(next_url: str | None) -> str | None:
    """The pagination cursor Polygon puts in a page's next_url, if there is a next page."""
    if not next_url:
        return None
    return parse_qs(urlsplit(next_url).query).get("cursor", [None])[0]
