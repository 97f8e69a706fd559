"""Where bars and split records come from, behind one resource key: `bars_source`.

Every source answers in the vendor's grouped-daily shape (`schema.RAW_BARS`: T, o, h, l, c, v,
vw, n, t with t in Unix milliseconds), so the assets downstream never know which one ran.

- `PolygonBarsSource`: the Polygon REST API through the official `RESTClient`.
- `FlatFilesBarsSource`: Polygon's day-aggregate flat files in a folder, for bulk backfills.
- `SampleBarsSource`: real S&P 500 bars shipped in the package; needs no key and no network.
"""

import gzip
import io
import json
import re
import threading
import time
from functools import lru_cache
from importlib import resources as package_files
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

import certifi
import dagster as dg
import pandas as pd
import urllib3
from google.cloud import storage
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
        if rows.empty and calendar.is_trading_day(day):
            first, last = sample_window()
            raise BarsUnavailableError(
                f"{pd.Timestamp(day).date()} is outside the packaged sample "
                f"({first.date()} to {last.date()}); set POLYGON_API_KEY, or "
                "LOW_ASSETS_BARS_SOURCE=flat_files, to fetch real bars for it"
            )
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
        """Block until `interval` seconds have passed since the last request to key ended."""
        with self._lock:
            now = time.monotonic()
            ready_at = self._last.get(key, -float("inf")) + interval
            if ready_at > now:
                time.sleep(ready_at - now)
            self._last[key] = time.monotonic()

    def finished(self, key: str) -> None:
        """Count the interval from the end of a request, so that however long the request took
        to reach the API, the next one arrives at least the interval after it."""
        with self._lock:
            self._last[key] = time.monotonic()


class _NoBarsYet(Exception):
    """Polygon answered for an open day but sent no bars: not published yet, or an outage."""


# One pacer per process: every asset and every day of a backfill share the same budget.
_PACER = _RequestPacer()
_RETRYABLE = (
    urllib3.exceptions.MaxRetryError,
    urllib3.exceptions.HTTPError,
    OSError,
    json.JSONDecodeError,
    _NoBarsYet,
)
# Rate limits, a gateway that gave up, and every server-side error are worth asking again.
RETRYABLE_STATUSES = frozenset([413, 429, 499, *range(500, 600)])


class PolygonBarsSource(BarsSource):
    """Polygon's grouped-daily bars and split reference, through `polygon.RESTClient`.

    Requests are paced to `requests_per_minute` (the free tier allows 5). Rate-limit answers
    (429), server errors (5xx), timeouts and an open day answered without bars (not published
    yet) are retried `max_attempts` times with a backoff that doubles from `backoff_seconds`;
    then the day fails with a message naming it. A closed day without bars is asked once.
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
        client = RESTClient(api_key=self.api_key, base=self.base_url, retries=0)
        # RESTClient stores its connect/read timeouts but never passes them to a request, so a
        # stalled server would hang the run forever; and it turns 5xx statuses outside
        # 500/502/503/504 into a BadResponse that hides the status. Its connection pool is a
        # public attribute: replace it with one that times out and flags every retryable status.
        client.client = urllib3.PoolManager(
            headers=client.headers,
            ca_certs=certifi.where(),
            cert_reqs="CERT_REQUIRED",
            timeout=urllib3.Timeout(connect=self.timeout_seconds, read=self.timeout_seconds),
            retries=urllib3.Retry(
                total=0, redirect=0, status_forcelist=RETRYABLE_STATUSES, raise_on_status=True
            ),
        )
        return client

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
                last_error = _describe_error(error)
            finally:
                _PACER.finished(self.base_url)
            if attempt < self.max_attempts:
                time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
        raise BarsUnavailableError(
            f"{what}: no answer after {self.max_attempts} attempts; last error: {last_error}"
        )

    def fetch_grouped_daily(self, day: pd.Timestamp) -> pd.DataFrame:
        day_text = pd.Timestamp(day).strftime("%Y-%m-%d")
        open_day = calendar.is_trading_day(day)
        client = self._client()

        def request() -> list[dict]:
            response = client.get_grouped_daily_aggs(day_text, adjusted=False, raw=True)
            results = json.loads(response.data.decode("utf-8")).get("results") or []
            if open_day and not results:
                raise _NoBarsYet("no bars in the answer for a day the NYSE was open")
            return results

        results = self._call(f"grouped daily bars for {day_text}", request)
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


def _describe_error(error: Exception) -> str:
    """A short reason for a failed attempt: the status or timeout, without the whole URL."""
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    return f"{type(error).__name__}: {str(error)[:300]}"


def _cursor_of(next_url: str | None) -> str | None:
    """The pagination cursor Polygon puts in a page's next_url, if there is a next page."""
    if not next_url:
        return None
    return parse_qs(urlsplit(next_url).query).get("cursor", [None])[0]


FLAT_FILE_COLUMNS = [
    "ticker",
    "volume",
    "open",
    "close",
    "high",
    "low",
    "window_start",
    "transactions",
]
FLAT_FILE_NAME = re.compile(r"(?:^|/)(\d{4}-\d{2}-\d{2})\.csv(?:\.gz)?$")
FLAT_FILE_SPLITS = "splits.csv"


class LocalFolder:
    """Files under a local directory, named by their path relative to it.

    Flat-file sources read through `names()` and `open(name)` only, so another store (a bucket)
    can stand in by offering the same two methods.
    """

    def __init__(self, root: str):
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*.csv*"))

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def open(self, name: str) -> IO[bytes]:
        return (self.root / name).open("rb")


class BucketFolder:
    """Objects below `gs://<bucket>/<prefix>/`, named by their path below the prefix, with the
    same three methods as LocalFolder. Credentials are the environment's (ADC)."""

    def __init__(self, location: str, client: "storage.Client | None" = None):
        bucket, _, prefix = location.removeprefix("gs://").partition("/")
        self.client = client or storage.Client()
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")

    def _object(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def names(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        blobs = self.client.list_blobs(self.bucket_name, prefix=start)
        return sorted(blob.name[len(start) :] for blob in blobs if ".csv" in blob.name)

    def exists(self, name: str) -> bool:
        return self.client.bucket(self.bucket_name).blob(self._object(name)).exists()

    def open(self, name: str) -> IO[bytes]:
        blob = self.client.bucket(self.bucket_name).blob(self._object(name))
        return io.BytesIO(blob.download_as_bytes())


def open_folder(location: str) -> "LocalFolder | BucketFolder":
    """The file store behind a flat-files location: a local folder or a `gs://` prefix."""
    if location.startswith("gs://"):
        return BucketFolder(location)
    return LocalFolder(location)


class FlatFilesBarsSource(BarsSource):
    """Polygon day-aggregate flat files (`day_aggs_v1`) in a folder, one CSV or CSV.gz per day.

    Files are found as `YYYY/MM/YYYY-MM-DD.csv[.gz]` (Polygon's layout) or `YYYY-MM-DD.csv[.gz]`
    directly in the folder. Prices are as traded; `window_start` (Unix nanoseconds) becomes `t`
    in milliseconds, `transactions` becomes `n`, and `vw` is null because the files have none.
    Split records come from an optional `splits.csv` (ticker, execution_date, split_from,
    split_to) in the same folder.
    """

    folder: str = Field(
        description="Folder or gs://bucket/prefix holding the day files (LOW_ASSETS_FLAT_FILES)."
    )

    def describe(self) -> str:
        return f"Polygon flat files in {self.folder}"

    def _store(self) -> "LocalFolder | BucketFolder":
        return open_folder(self.folder)

    def available_days(self) -> list[pd.Timestamp]:
        """Every day that has a file, in order."""
        days = {m.group(1) for m in map(FLAT_FILE_NAME.search, self._store().names()) if m}
        return [pd.Timestamp(day) for day in sorted(days)]

    def day_file(self, day: pd.Timestamp) -> str | None:
        """The name of day's file in the store, or None when there is none."""
        store, stamp = self._store(), pd.Timestamp(day)
        day_text = stamp.strftime("%Y-%m-%d")
        for directory in (stamp.strftime("%Y/%m/"), ""):
            for suffix in (".csv.gz", ".csv"):
                if store.exists(f"{directory}{day_text}{suffix}"):
                    return f"{directory}{day_text}{suffix}"
        return None

    def fetch_grouped_daily(self, day: pd.Timestamp) -> pd.DataFrame:
        day_text = pd.Timestamp(day).strftime("%Y-%m-%d")
        name = self.day_file(day)
        if name is None:
            if not calendar.is_trading_day(day):
                return schema.empty(schema.RAW_BARS)
            raise BarsUnavailableError(
                f"flat file for {day_text}: none in {self.folder} (looked for "
                f"{pd.Timestamp(day):%Y/%m}/{day_text}.csv.gz and {day_text}.csv[.gz]); "
                "download that day's day_aggs_v1 file first"
            )
        with self._store().open(name) as file:
            try:
                return _day_payload(
                    _read_day_aggregates(file, compressed=name.endswith(".gz"), name=name), name
                )
            except BarsUnavailableError:
                raise
            except (ValueError, TypeError, OSError, EOFError) as error:
                raise BarsUnavailableError(
                    f"flat file {name} in {self.folder} for {day_text} cannot be read as "
                    f"day_aggs_v1 CSV: {type(error).__name__}: {error}"
                ) from error

    def fetch_splits(self, since: pd.Timestamp) -> pd.DataFrame:
        store = self._store()
        if not store.exists(FLAT_FILE_SPLITS):
            return schema.empty(schema.SPLITS)
        with store.open(FLAT_FILE_SPLITS) as file:
            splits = pd.read_csv(file, dtype={"ticker": "string"}, keep_default_na=False)
        splits["execution_date"] = pd.to_datetime(splits["execution_date"])
        splits = schema.conform(splits, schema.SPLITS, f"{self.folder}/{FLAT_FILE_SPLITS}")
        return splits[splits["execution_date"] >= pd.Timestamp(since)].reset_index(drop=True)


def _day_payload(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """One day_aggs_v1 frame in the vendor's grouped-daily shape."""
    payload = pd.DataFrame(
        {
            "T": rows["ticker"],
            "o": rows["open"],
            "h": rows["high"],
            "l": rows["low"],
            "c": rows["close"],
            "v": rows["volume"],
            "vw": pd.Series(pd.NA, index=rows.index, dtype="Float64"),
            "n": rows["transactions"],
            "t": rows["window_start"] // 1_000_000,
        }
    )
    return schema.conform(payload, schema.RAW_BARS, f"flat file {name}")


def _read_day_aggregates(file: IO[bytes], compressed: bool, name: str) -> pd.DataFrame:
    """One day_aggs_v1 CSV as a frame; a ticker such as NA stays a ticker, not a missing value."""
    numeric = [column for column in FLAT_FILE_COLUMNS if column != "ticker"]
    frame = pd.read_csv(
        gzip.GzipFile(fileobj=file) if compressed else file,
        dtype={"ticker": "string"},
        keep_default_na=False,
        na_values={column: [""] for column in numeric},
    )
    missing = [column for column in FLAT_FILE_COLUMNS if column not in frame.columns]
    if missing:
        raise BarsUnavailableError(
            f"flat file {name}: missing column(s) {', '.join(missing)}; expected day_aggs_v1 "
            f"columns {','.join(FLAT_FILE_COLUMNS)}"
        )
    frame["window_start"] = frame["window_start"].astype("Int64")
    return frame
