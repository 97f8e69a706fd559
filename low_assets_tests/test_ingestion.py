"""raw_bars, stock_data, stock_splits and features materialised against the fake Polygon server,
through the real RESTClient, into a temp directory."""

import gzip
import logging

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from low_assets import calendar
from low_assets.assets.features import features
from low_assets.assets.raw_bars import raw_bars
from low_assets.assets.stock_data import stock_data
from low_assets.assets.stock_splits import stock_splits
from low_assets.profiles import WAREHOUSE_SCHEMA
from low_assets.resources import FlatFilesBarsSource, PolygonBarsSource
from low_assets_tests.conftest import FAKE_POLYGON_KEY
from low_assets_tests.polygon_server import FakePolygon, HttpError, grouped_bar
from low_assets_tests.support import materialize_range, read_table

OPEN_DAY = "2024-07-03"
HOLIDAY = "2024-07-04"
INGESTION = [raw_bars, stock_data]
NO_CONFIG = {"ops": {}}


def ingest(root, source, first_day, last_day=None, **kwargs) -> dg.ExecuteInProcessResult:
    kwargs.setdefault("assets", INGESTION)
    return materialize_range(
        root, first_day, last_day or first_day, bars_source=source, config=NO_CONFIG, **kwargs
    )


def stored(root, table: str) -> pd.DataFrame | None:
    """The table's rows, or None when it was never written."""
    if not (root / "warehouse.duckdb").exists():
        return None
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [WAREHOUSE_SCHEMA, table],
        ).fetchone()[0]
    return read_table(root, table) if found else None


def column_types(root, table: str) -> dict[str, str]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [WAREHOUSE_SCHEMA, table],
        ).fetchall()
    return dict(rows)


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Every step failure's message and causes, as the UI shows them."""
    return "\n".join(
        event.step_failure_data.error.to_string()
        for event in result.all_events
        if event.is_step_failure
    )


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    """The metadata of the run's last materialisation of asset."""
    (materialization,) = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey(asset)
    ][-1:]
    return {key: entry.value for key, entry in materialization.metadata.items()}


def day_bars(day: str) -> list[dict]:
    return [
        grouped_bar("AAA", day, 10.0, 11.0, 9.5, 10.5, 1000.0, vw=10.2, n=12),
        grouped_bar("BBB", day, 20.0, 21.0, 19.0, 20.5, 2000.0, vw=20.1, n=30),
    ]


def test_holiday_partition_stores_nothing_and_says_market_closed(
    tmp_path, fake_polygon, polygon_source
):
    result = ingest(
        tmp_path,
        polygon_source(),
        HOLIDAY,
        assets=[raw_bars, stock_data, stock_splits, features],
    )

    assert result.success
    raw = metadata(result, "raw_bars")
    assert (raw["market_closed_days"], raw["market_closed"], raw["row_count"]) == (1, HOLIDAY, 0)
    assert fake_polygon.grouped_requests() == []
    assert stored(tmp_path, "stock_data").empty
    assert metadata(result, "features")["row_count"] == 0
    payload = pd.read_parquet(tmp_path / "payloads" / "raw_bars" / f"{HOLIDAY}.parquet")
    assert payload.empty and list(payload.columns) == ["T", "o", "h", "l", "c", "v", "vw", "n", "t"]


def test_open_day_without_bars_fails_after_retries_and_keeps_the_stored_rows(
    tmp_path, fake_polygon, polygon_source
):
    fake_polygon.set_bars(OPEN_DAY, day_bars(OPEN_DAY))
    assert ingest(tmp_path, polygon_source(), OPEN_DAY).success
    payload_file = tmp_path / "payloads" / "raw_bars" / f"{OPEN_DAY}.parquet"
    payload_before = payload_file.read_bytes()
    rows_before = stored(tmp_path, "stock_data")

    fake_polygon.set_bars(OPEN_DAY, None)
    result = ingest(tmp_path, polygon_source(), OPEN_DAY, raise_on_error=False)

    assert not result.success
    assert f"grouped daily bars for {OPEN_DAY}: no answer after 3 attempts" in failure_text(result)
    assert len(fake_polygon.grouped_requests(OPEN_DAY)) == 1 + 3
    assert payload_file.read_bytes() == payload_before
    pd.testing.assert_frame_equal(stored(tmp_path, "stock_data"), rows_before)
    assert sorted(rows_before["ticker"]) == ["AAA", "BBB"]


def test_rate_limited_day_is_stored_once_polygon_answers(tmp_path, fake_polygon, polygon_source):
    fake_polygon.set_bars(OPEN_DAY, day_bars(OPEN_DAY), faults=[HttpError(429), HttpError(429)])

    result = ingest(tmp_path, polygon_source(), OPEN_DAY)

    assert result.success
    rows = stored(tmp_path, "stock_data").set_index("ticker")
    assert rows.loc["BBB", "close"] == 20.5 and rows.loc["BBB", "transactions"] == 30
    assert rows.loc["AAA", "trade_date"] == pd.Timestamp(OPEN_DAY)
    assert len(fake_polygon.grouped_requests(OPEN_DAY)) == 3


def test_server_errors_until_retries_run_out_fail_naming_the_day_and_store_nothing(
    tmp_path, fake_polygon, polygon_source
):
    fake_polygon.set_bars("2024-07-02", day_bars("2024-07-02"))
    fake_polygon.set_bars(OPEN_DAY, day_bars(OPEN_DAY), forever=HttpError(503))

    result = ingest(tmp_path, polygon_source(), "2024-07-02", OPEN_DAY, raise_on_error=False)

    assert not result.success
    message = failure_text(result)
    assert f"grouped daily bars for {OPEN_DAY}: no answer after 3 attempts" in message
    assert "too many 503 error responses" in message
    # One run covers both days, so the good day is not stored half-way either.
    assert list((tmp_path / "payloads").rglob("*.parquet")) == []
    assert stored(tmp_path, "stock_data") is None


def test_missing_vw_and_n_are_stored_as_nulls_in_typed_columns(
    tmp_path, fake_polygon, polygon_source
):
    fake_polygon.set_bars(
        OPEN_DAY,
        [
            grouped_bar("AAA", OPEN_DAY, 10.0, 11.0, 9.5, 10.5, 1234.5),
            grouped_bar("BBB", OPEN_DAY, 20.0, 21.0, 19.0, 20.5, 0.25),
        ],
    )

    assert ingest(tmp_path, polygon_source(), OPEN_DAY).success

    rows = stored(tmp_path, "stock_data").set_index("ticker")
    assert rows["vwap"].isna().all() and rows["transactions"].isna().all()
    assert rows.loc["AAA", "volume"] == 1234.5 and rows.loc["BBB", "volume"] == 0.25
    types = column_types(tmp_path, "stock_data")
    assert (types["vwap"], types["transactions"], types["volume"]) == ("DOUBLE", "BIGINT", "DOUBLE")


def test_duplicate_ticker_is_stored_once_and_counted(tmp_path, fake_polygon, polygon_source):
    fake_polygon.set_bars(
        OPEN_DAY,
        [
            grouped_bar("AAA", OPEN_DAY, 10.2, 11.0, 9.0, 10.5, 1000, vw=10.3, n=5),
            grouped_bar("BBB", OPEN_DAY, 20.0, 21.0, 19.0, 20.5, 2000, vw=20.1, n=30),
            grouped_bar("AAA", OPEN_DAY, 10.0, 10.9, 9.0, 10.5, 1000, vw=10.1, n=7),
        ],
    )

    result = ingest(tmp_path, polygon_source(), OPEN_DAY)

    rows = stored(tmp_path, "stock_data")
    assert sorted(rows["ticker"]) == ["AAA", "BBB"]
    aaa = rows.set_index("ticker").loc["AAA"]
    assert (aaa["open"], aaa["high"], aaa["transactions"]) == (10.0, 10.9, 7)
    assert metadata(result, "stock_data")["duplicate_rows"] == 1


def test_implausible_bars_land_in_rejected_bars_with_reasons(
    tmp_path, fake_polygon, polygon_source
):
    fake_polygon.set_bars(
        OPEN_DAY,
        [
            grouped_bar("GOOD", OPEN_DAY, 10, 11, 9, 10, 100),
            grouped_bar("bad ticker", OPEN_DAY, 10, 11, 9, 10, 100),
            grouped_bar("NEG", OPEN_DAY, -1, 11, 9, 10, 100),
            grouped_bar("FLIP", OPEN_DAY, 10, 9, 11, 10, 100),
            grouped_bar("SOLD", OPEN_DAY, 10, 11, 9, 10, -3),
        ],
    )

    result = ingest(tmp_path, polygon_source(), OPEN_DAY)

    assert list(stored(tmp_path, "stock_data")["ticker"]) == ["GOOD"]
    rejected = stored(tmp_path, "rejected_bars").set_index("ticker")
    assert rejected["reason"].to_dict() == {
        "bad ticker": "implausible ticker symbol",
        "NEG": "non-positive price",
        "FLIP": "high below low",
        "SOLD": "negative or missing volume",
    }
    assert (rejected["trade_date"] == pd.Timestamp(OPEN_DAY)).all()
    assert '"v":-3.0' in rejected.loc["SOLD", "payload"]
    assert metadata(result, "stock_data")["rejected_rows"] == 4
    assert metadata(result, "rejected_bars")["row_count"] == 4


@pytest.mark.parametrize(
    "zone",
    [
        "Asia/Tokyo",  # the 16:00 New York close is 05:00 the next day here
        "America/Los_Angeles",  # the close is 13:00 the same day here
    ],
)
def test_host_time_zone_does_not_move_the_trade_date(
    tmp_path, fake_polygon, polygon_source, host_timezone, zone
):
    host_timezone(zone)
    fake_polygon.set_bars(OPEN_DAY, day_bars(OPEN_DAY))

    assert ingest(tmp_path, polygon_source(), OPEN_DAY).success

    rows = stored(tmp_path, "stock_data")
    assert list(rows["trade_date"].unique()) == [pd.Timestamp(OPEN_DAY)]
    assert len(rows) == 2
    assert stored(tmp_path, "rejected_bars").empty


def test_a_backfill_paces_its_requests_to_requests_per_minute(
    tmp_path, fake_polygon, polygon_source
):
    days = ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05"]
    for day in days:
        fake_polygon.set_bars(day, day_bars(day))

    result = ingest(tmp_path, polygon_source(requests_per_minute=300), days[0], days[-1])

    assert result.success
    requested = fake_polygon.grouped_requests()
    assert [r.path.rsplit("/", 1)[-1] for r in requested] == days  # the holiday is not asked
    gaps = np.diff([r.at for r in requested])
    assert gaps.min() >= 0.19  # 300 a minute: one every 0.2 s
    assert len(stored(tmp_path, "stock_data")) == 2 * len(days)


def test_the_api_key_appears_in_no_log_metadata_error_or_event(
    tmp_path, fake_polygon, monkeypatch, caplog
):
    monkeypatch.setenv("POLYGON_API_KEY", FAKE_POLYGON_KEY)
    source = PolygonBarsSource(
        api_key=dg.EnvVar("POLYGON_API_KEY"),
        base_url=fake_polygon.base_url,
        requests_per_minute=600_000,
        max_attempts=2,
        backoff_seconds=0.01,
    )
    fake_polygon.set_bars("2024-07-02", day_bars("2024-07-02"))
    fake_polygon.set_bars(OPEN_DAY, None, forever=HttpError(500))
    (tmp_path / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster_home"))
    caplog.set_level(logging.DEBUG)

    good = ingest(tmp_path / "data", source, "2024-07-02", instance=instance)
    bad = ingest(tmp_path / "data", source, OPEN_DAY, instance=instance, raise_on_error=False)

    assert good.success and not bad.success
    assert all(r.authorized for r in fake_polygon.requests)  # the key was really sent
    events = [
        dg.serialize_value(record)
        for run in (good, bad)
        for record in instance.all_logs(run.run_id)
    ]
    runs = [dg.serialize_value(instance.get_run_by_id(run.run_id)) for run in (good, bad)]
    text = "\n".join([*events, *runs, caplog.text, failure_text(bad)])
    assert OPEN_DAY in text and "too many 500 error responses" in text  # the scan sees content
    assert FAKE_POLYGON_KEY not in text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert FAKE_POLYGON_KEY.encode() not in path.read_bytes(), path.name
    instance.dispose()


# Splits ------------------------------------------------------------------------------------

SPLIT_DAY = "2024-02-05"
SESSIONS = [str(day.date()) for day in calendar.trading_days("2024-01-02", "2024-02-06")]
# ticker: (split_from, split_to); on SPLIT_DAY one old share becomes split_to / split_from.
SPLITS = {
    "FWD": (1.0, 4.0),  # 4-for-1
    "REV": (3.0, 1.0),  # 1-for-3 reverse split
    "SPIN": (1.0, 1.589),  # a spin-off adjustment factor
}


def adjusted_close(ticker_number: int, session: int) -> float:
    """A close path that is never flat, so every return is distinct."""
    return 50.0 + 7.0 * ticker_number + session + 0.37 * np.sin(session + ticker_number)


def as_traded_bars(day: str, session: int) -> list[dict]:
    bars = []
    for number, ticker in enumerate(["CTRL", *SPLITS]):
        close = adjusted_close(number, session)
        if ticker in SPLITS and day < SPLIT_DAY:
            split_from, split_to = SPLITS[ticker]
            close *= split_to / split_from
        bars.append(
            grouped_bar(ticker, day, close, close * 1.01, close * 0.99, close, 1e5 + session)
        )
    return bars


def expected_return(ticker: str, day: str) -> float:
    number = ["CTRL", *SPLITS].index(ticker)
    session = SESSIONS.index(day)
    return adjusted_close(number, session) / adjusted_close(number, session - 1) - 1.0


@pytest.fixture(scope="module")
def split_scenario(tmp_path_factory):
    """Every session stored with no split known; features computed; then the splits are
    announced, stock_splits is refreshed and features for the split day are computed again."""
    root = tmp_path_factory.mktemp("splits")
    server = FakePolygon(api_key=FAKE_POLYGON_KEY).start()
    try:
        for session, day in enumerate(SESSIONS):
            server.set_bars(day, as_traded_bars(day, session))
        source = PolygonBarsSource(
            api_key=FAKE_POLYGON_KEY, base_url=server.base_url, requests_per_minute=600_000
        )
        everything = [raw_bars, stock_data, stock_splits, features]
        before = ingest(root, source, SESSIONS[0], SESSIONS[-1], assets=everything)
        features_before = read_table(root, "features")

        server.splits = [
            {"execution_date": SPLIT_DAY, "split_from": f, "split_to": t, "ticker": ticker}
            for ticker, (f, t) in SPLITS.items()
        ]
        after = ingest(
            root, source, SPLIT_DAY, assets=everything, selection=[stock_splits, features]
        )
    finally:
        server.stop()
    assert before.success and after.success
    return root, features_before, read_table(root, "features")


def feature(frame: pd.DataFrame, ticker: str, day: str, column: str) -> float:
    rows = frame[(frame["ticker"] == ticker) & (frame["trade_date"] == pd.Timestamp(day))]
    (value,) = rows[column]
    return value


@pytest.mark.parametrize("ticker", list(SPLITS))
def test_a_split_announced_after_the_earlier_day_was_stored_adjusts_the_return(
    split_scenario, ticker
):
    _, features_before, features_after = split_scenario
    split_from, split_to = SPLITS[ticker]

    naive = feature(features_before, ticker, SPLIT_DAY, "return_lag1")
    adjusted = feature(features_after, ticker, SPLIT_DAY, "return_lag1")

    expected = expected_return(ticker, SPLIT_DAY)
    assert adjusted == pytest.approx(expected, abs=1e-9)
    # Before the split was known the same bars read as a jump by the split ratio.
    assert naive == pytest.approx((1 + expected) * split_from / split_to - 1, abs=1e-9)


def test_stock_data_keeps_split_days_as_traded(split_scenario):
    root, _, features_after = split_scenario
    rows = read_table(root, "stock_data")
    day_before = SESSIONS[SESSIONS.index(SPLIT_DAY) - 1]

    close = rows.set_index(["ticker", "trade_date"])["close"]
    assert close[("FWD", pd.Timestamp(day_before))] == pytest.approx(
        4.0 * adjusted_close(1, SESSIONS.index(day_before)), abs=1e-9
    )
    assert close[("FWD", pd.Timestamp(SPLIT_DAY))] == pytest.approx(
        adjusted_close(1, SESSIONS.index(SPLIT_DAY)), abs=1e-9
    )
    ctrl = feature(features_after, "CTRL", SPLIT_DAY, "return_lag1")
    assert ctrl == pytest.approx(expected_return("CTRL", SPLIT_DAY), abs=1e-9)


def test_splits_table_holds_the_announced_records(split_scenario):
    root, _, _ = split_scenario

    splits = read_table(root, "stock_splits").set_index("ticker")

    assert sorted(splits.index) == sorted(SPLITS)
    assert splits.loc["REV", "split_from"] == 3.0 and splits.loc["REV", "split_to"] == 1.0
    assert splits.loc["SPIN", "split_to"] == 1.589
    assert (splits["execution_date"] == pd.Timestamp(SPLIT_DAY)).all()


def test_a_flat_files_backfill_stores_each_sessions_bars_and_skips_the_holiday(tmp_path):
    folder = tmp_path / "day_aggs_v1"
    for day, close in [("2024-07-03", 10.5), ("2024-07-05", 11.25)]:
        start = pd.Timestamp(day).tz_localize("America/New_York").value
        directory = folder / day[:4] / day[5:7]
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{day}.csv.gz").write_bytes(
            gzip.compress(
                b"ticker,volume,open,close,high,low,window_start,transactions\n"
                + f"AAA,1500.5,10,{close},12,9,{start},40\n".encode()
                + f"BBB,20,5,5,5,5,{start},\n".encode()
            )
        )
    source = FlatFilesBarsSource(folder=str(folder))

    result = ingest(tmp_path / "data", source, "2024-07-03", "2024-07-05")

    assert result.success
    assert metadata(result, "raw_bars")["market_closed"] == HOLIDAY
    rows = stored(tmp_path / "data", "stock_data").set_index(["ticker", "trade_date"])
    assert len(rows) == 4
    assert rows.loc[("AAA", pd.Timestamp("2024-07-05")), "close"] == 11.25
    assert rows.loc[("AAA", pd.Timestamp("2024-07-03")), "volume"] == 1500.5
    assert rows.loc[("AAA", pd.Timestamp("2024-07-03")), "transactions"] == 40
    assert pd.isna(rows.loc[("BBB", pd.Timestamp("2024-07-05")), "transactions"])
    assert rows["vwap"].isna().all()
