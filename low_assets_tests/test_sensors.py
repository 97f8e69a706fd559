import gzip

import dagster as dg
import pandas as pd
import pytest

from low_assets import sensors
from low_assets.resources import FlatFilesBarsSource
from low_assets.schedules import daily_ingest_schedule
from low_assets.sensors import new_trading_day_sensor

HEADER = b"ticker,volume,open,close,high,low,window_start,transactions\n"


def drop_day_file(folder, day: str) -> None:
    stamp = pd.Timestamp(day)
    directory = folder / f"{stamp:%Y}" / f"{stamp:%m}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{day}.csv.gz").write_bytes(gzip.compress(HEADER))


def tick(source, cursor: str | None) -> tuple[list[str], str | None]:
    """One sensor evaluation: the partitions it asks for and the cursor it leaves."""
    context = dg.build_sensor_context(cursor=cursor, resources={"bars_source": source})
    result = new_trading_day_sensor(context)
    if isinstance(result, dg.SkipReason):
        return [], context.cursor
    for request in result.run_requests:
        assert request.run_key == f"ingest-{request.partition_key}"
    return [r.partition_key for r in result.run_requests], result.cursor


@pytest.fixture
def rest_source(fake_polygon, polygon_source):
    """A Polygon source the sensor must not call: it decides from the calendar and the clock."""
    yield polygon_source()
    assert fake_polygon.requests == []


def at_new_york(stamp: str) -> pd.Timestamp:
    return pd.Timestamp(stamp, tz="America/New_York")


def test_one_new_flat_file_requests_exactly_its_day(tmp_path):
    source = FlatFilesBarsSource(folder=str(tmp_path))
    drop_day_file(tmp_path, "2024-07-01")
    _, cursor = tick(source, None)

    drop_day_file(tmp_path, "2024-07-02")
    requested, cursor = tick(source, cursor)

    assert requested == ["2024-07-02"]
    assert cursor == "2024-07-02"


def test_four_new_flat_files_request_four_runs_in_order_then_nothing(tmp_path):
    source = FlatFilesBarsSource(folder=str(tmp_path))
    drop_day_file(tmp_path, "2024-07-01")
    _, cursor = tick(source, None)

    for day in ["2024-07-09", "2024-07-02", "2024-07-03", "2024-07-05"]:
        drop_day_file(tmp_path, day)
    requested, cursor = tick(source, cursor)
    again, cursor_after = tick(source, cursor)

    assert requested == ["2024-07-02", "2024-07-03", "2024-07-05", "2024-07-09"]
    assert cursor == "2024-07-09"
    assert again == [] and cursor_after == "2024-07-09"


def test_first_flat_file_tick_requests_only_the_newest_day(tmp_path):
    source = FlatFilesBarsSource(folder=str(tmp_path))
    for day in ["2024-07-01", "2024-07-02", "2024-07-03"]:
        drop_day_file(tmp_path, day)

    requested, cursor = tick(source, None)

    assert requested == ["2024-07-03"] and cursor == "2024-07-03"


def test_the_cursor_survives_a_restart_as_a_plain_string(tmp_path):
    source = FlatFilesBarsSource(folder=str(tmp_path))
    for day in ["2024-07-01", "2024-07-02"]:
        drop_day_file(tmp_path, day)

    # A restarted daemon hands the sensor the stored cursor and nothing else.
    requested, _ = tick(source, "2024-07-01")

    assert requested == ["2024-07-02"]


@pytest.mark.parametrize(
    ("cursor", "now", "expected"),
    [
        # Wednesday after 18:00: Wednesday's bars are out.
        ("2024-07-02", "2024-07-03 18:05", ["2024-07-03"]),
        # Wednesday before 18:00: nothing new yet.
        ("2024-07-02", "2024-07-03 17:55", []),
        # Independence Day evening: no session, nothing new.
        ("2024-07-03", "2024-07-04 20:00", []),
        # Friday evening after the holiday, cursor on Tuesday: Wednesday and Friday, once each.
        ("2024-07-02", "2024-07-05 19:00", ["2024-07-03", "2024-07-05"]),
        # Four sessions missed over a weekend and a holiday-free week start.
        (
            "2024-07-05",
            "2024-07-11 18:30",
            ["2024-07-08", "2024-07-09", "2024-07-10", "2024-07-11"],
        ),
        # Saturday: the last session is Friday, already requested.
        ("2024-07-05", "2024-07-06 12:00", []),
    ],
)
def test_rest_sensor_requests_each_published_session_after_the_cursor(
    monkeypatch, rest_source, cursor, now, expected
):
    monkeypatch.setattr(sensors, "now_in_new_york", lambda: at_new_york(now))

    requested, new_cursor = tick(rest_source, cursor)

    assert requested == expected
    assert new_cursor == (expected[-1] if expected else cursor)


def test_rest_sensor_ticks_never_request_a_day_twice(monkeypatch, rest_source):
    clock = iter(["2024-07-08 18:01", "2024-07-08 18:20", "2024-07-09 10:00", "2024-07-09 18:15"])
    monkeypatch.setattr(sensors, "now_in_new_york", lambda: at_new_york(next(clock)))
    cursor, requested = "2024-07-05", []

    for _ in range(4):
        days, cursor = tick(rest_source, cursor)
        requested.extend(days)

    assert requested == ["2024-07-08", "2024-07-09"]


@pytest.mark.parametrize(
    ("scheduled", "expected"),
    [
        ("2024-07-03 18:30", "2024-07-03"),  # a half-day session is a normal trading day
        ("2024-07-04 18:30", None),  # Independence Day: skipped
        ("2024-07-05 18:30", "2024-07-05"),
    ],
)
def test_daily_schedule_requests_the_session_of_its_day_and_skips_holidays(scheduled, expected):
    context = dg.build_schedule_context(scheduled_execution_time=at_new_york(scheduled))

    result = daily_ingest_schedule(context)

    if expected is None:
        assert isinstance(result, dg.SkipReason)
        assert "market closed on 2024-07-04" in result.skip_message
    else:
        assert result.partition_key == expected
        assert result.run_key == f"ingest-{expected}"


def test_the_code_location_runs_the_sensor_and_the_schedule_on_the_ingest_job():
    from low_assets.definitions import defs

    repository = defs.get_repository_def()

    assert repository.get_sensor_def("new_trading_day_sensor").job_name == "ingest"
    assert repository.get_schedule_def("daily_ingest_schedule").job_name == "ingest"
    assert set(repository.get_job("ingest").asset_layer.executable_asset_keys) == {
        dg.AssetKey("raw_bars"),
        dg.AssetKey("stock_data"),
        dg.AssetKey("rejected_bars"),
    }
