import datetime as dt
import json

import dagster as dg
import pandas as pd
import pytest

from low_assets import freshness

BARS_DEADLINE = freshness.DEFAULT_DEADLINES_UTC["stock_data"]
PREDICTIONS_DEADLINE = freshness.DEFAULT_DEADLINES_UTC["predictions"]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_default_deadlines_are_half_past_six_for_bars_and_six_thirty_five_for_predictions():
    assert {
        "stock_data": dt.time(6, 30),
        "predictions": dt.time(6, 35),
    } == freshness.DEFAULT_DEADLINES_UTC


@pytest.mark.parametrize(
    "now, due",
    [
        # Wednesday after the deadline: Tuesday's session is due.
        ("2020-03-04 06:30", "2020-03-03"),
        # Wednesday a minute before it: still only Monday's.
        ("2020-03-04 06:29", "2020-03-02"),
        # Friday's session is due on Saturday morning...
        ("2020-03-07 10:00", "2020-03-06"),
        # ...and nothing new is due over the weekend or on Monday before Tuesday's deadline.
        ("2020-03-08 23:00", "2020-03-06"),
        ("2020-03-09 20:00", "2020-03-06"),
        # 2020-07-03 was a market holiday (a Friday): Thursday's session stays the latest due
        # through the long weekend.
        ("2020-07-04 12:00", "2020-07-02"),
        ("2020-07-06 12:00", "2020-07-02"),
        ("2020-07-07 06:31", "2020-07-06"),
    ],
)
def test_the_latest_due_session_follows_the_trading_calendar(now, due):
    assert freshness.latest_due_trading_day(utc(now), BARS_DEADLINE) == pd.Timestamp(due)


def test_predictions_fall_due_five_minutes_after_bars():
    now = utc("2020-03-04 06:32")

    assert freshness.latest_due_trading_day(now, BARS_DEADLINE) == pd.Timestamp("2020-03-03")
    assert freshness.latest_due_trading_day(now, PREDICTIONS_DEADLINE) == pd.Timestamp("2020-03-02")


def test_a_friday_session_stored_overnight_is_fresh_on_saturday():
    stored = {pd.Timestamp("2020-03-06"): utc("2020-03-07 01:10")}

    result = freshness.evaluate_freshness(
        "stock_data", utc("2020-03-07 09:00"), BARS_DEADLINE, stored.get
    )

    assert result.passed
    assert result.deadline == utc("2020-03-07 06:30")
    assert result.metadata()["minutes_late"] == 0.0


def test_a_missing_trading_day_fails_and_says_which_day_and_deadline():
    result = freshness.evaluate_freshness(
        "stock_data", utc("2020-03-04 07:00"), BARS_DEADLINE, {}.get
    )

    assert not result.passed
    assert (
        result.description == "stock_data 2020-03-03 was due by 2020-03-04 06:30 UTC and is missing"
    )
    assert result.metadata()["due_partition"] == "2020-03-03"


def test_a_holiday_with_no_partition_raises_no_alarm():
    # Nothing stored for Friday 2020-07-03 (the market was closed); Thursday is stored.
    stored = {pd.Timestamp("2020-07-02"): utc("2020-07-03 05:00")}

    result = freshness.evaluate_freshness(
        "predictions", utc("2020-07-04 12:00"), PREDICTIONS_DEADLINE, stored.get
    )

    assert result.passed
    assert result.due_day == pd.Timestamp("2020-07-02")


def test_a_late_partition_passes_once_stored_and_reports_how_late():
    stored = {pd.Timestamp("2020-03-03"): utc("2020-03-04 08:00")}

    result = freshness.evaluate_freshness(
        "stock_data", utc("2020-03-04 09:00"), BARS_DEADLINE, stored.get
    )

    assert result.passed
    assert result.metadata()["minutes_late"] == 90.0


def store_partition(instance: dg.DagsterInstance, asset: str, day: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=day))


def run_sensor(sensor, instance, cursor=None):
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_the_sensor_records_a_result_per_asset_then_only_when_one_changes():
    sensor = freshness.build_freshness_sensor(clock=lambda: utc("2020-03-07 09:00"))
    with dg.instance_for_test() as instance:
        store_partition(instance, "stock_data", "2020-03-06")

        first = run_sensor(sensor, instance)
        second = run_sensor(sensor, instance, cursor=first.cursor)
        store_partition(instance, "predictions", "2020-03-06")
        third = run_sensor(sensor, instance, cursor=first.cursor)

    assert {(e.asset_key.to_user_string(), e.passed) for e in first.asset_events} == {
        ("stock_data", True),
        ("predictions", False),
    }
    assert all(e.check_name == "fresh_by_deadline" for e in first.asset_events)
    assert json.loads(first.cursor) == {
        "stock_data": "2020-03-06:fresh",
        "predictions": "2020-03-06:missing",
    }
    assert isinstance(second, dg.SkipReason)
    assert [(e.asset_key.to_user_string(), e.passed) for e in third.asset_events] == [
        ("predictions", True)
    ]


def test_the_sensor_stays_quiet_over_a_holiday_weekend():
    with dg.instance_for_test() as instance:
        store_partition(instance, "stock_data", "2020-07-02")
        store_partition(instance, "predictions", "2020-07-02")
        friday = freshness.build_freshness_sensor(clock=lambda: utc("2020-07-03 12:00"))
        sunday = freshness.build_freshness_sensor(clock=lambda: utc("2020-07-05 12:00"))

        on_friday = run_sensor(friday, instance)
        on_sunday = run_sensor(sunday, instance, cursor=on_friday.cursor)

    assert all(event.passed for event in on_friday.asset_events)
    assert isinstance(on_sunday, dg.SkipReason)
