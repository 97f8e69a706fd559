"""Start ingestion when a new trading day's bars become available.

The sensor's cursor is the last day it requested a run for (YYYY-MM-DD). Each tick requests one
`ingest` run per newer day that is ready, oldest first, and moves the cursor to the newest; the
run key is the day, so a day is never run twice even if the cursor were lost. Dagster keeps the
cursor, so it survives restarts of the daemon.

- Flat files: a day is ready when its file is in the watched folder.
- REST (and the sample): a day is ready once it is a session and it is past
  PUBLISHED_AFTER_HOUR in New York that day, when Polygon has published the grouped bars.
"""

import dagster as dg
import pandas as pd

from low_assets import calendar
from low_assets.freshness import build_freshness_sensor
from low_assets.jobs import ingest_job
from low_assets.partitions import PARTITIONS_START
from low_assets.resources import BarsSource, FlatFilesBarsSource

# Polygon publishes a session's grouped-daily bars within about two hours of the 16:00 close.
PUBLISHED_AFTER_HOUR = 18


def now_in_new_york() -> pd.Timestamp:
    return pd.Timestamp.now(tz=calendar.MARKET_TZ)


def latest_published_session(now: pd.Timestamp) -> pd.Timestamp:
    """The newest session whose grouped-daily bars Polygon has published by `now`."""
    now = now.tz_convert(calendar.MARKET_TZ)
    today = calendar.as_day(now.tz_localize(None))
    if calendar.is_trading_day(today) and now.hour >= PUBLISHED_AFTER_HOUR:
        return today
    return calendar.previous_trading_day(today)


def ready_days(source: BarsSource, now: pd.Timestamp) -> list[pd.Timestamp]:
    """Sessions whose bars the source can deliver now, oldest first (the REST source: only the
    latest, since every earlier one is published too)."""
    if isinstance(source, FlatFilesBarsSource):
        first = pd.Timestamp(PARTITIONS_START)
        return [d for d in source.available_days() if d >= first and calendar.is_trading_day(d)]
    return [latest_published_session(now)]


def days_to_request(
    source: BarsSource, cursor: str | None, now: pd.Timestamp
) -> list[pd.Timestamp]:
    """Every ready session after the cursor, oldest first. Without a cursor only the newest
    ready session: older days are a backfill, not news."""
    ready = ready_days(source, now)
    if not ready:
        return []
    newest = ready[-1]
    if cursor is None:
        return [newest]
    last = pd.Timestamp(cursor)
    if isinstance(source, FlatFilesBarsSource):
        return [day for day in ready if day > last]
    if newest <= last:
        return []
    return list(calendar.trading_days(calendar.next_trading_day(last), newest))


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=15 * 60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="One ingest run per newly available trading day (a new flat file, or a session "
    "past 18:00 New York time for the REST source); the cursor is the last day requested.",
)
def new_trading_day_sensor(
    context: dg.SensorEvaluationContext, bars_source: BarsSource
) -> dg.SensorResult | dg.SkipReason:
    days = days_to_request(bars_source, context.cursor or None, now_in_new_york())
    if not days:
        return dg.SkipReason(
            f"no trading day after {context.cursor or 'the start'} is available yet "
            f"from {bars_source.describe()}"
        )

    keys = [day.strftime("%Y-%m-%d") for day in days]
    context.log.info(f"requesting ingest for {len(keys)} new day(s): {', '.join(keys)}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"ingest-{key}", partition_key=key) for key in keys],
        cursor=keys[-1],
    )


# features and predictions follow each new stock_data partition by their automation conditions
# (low_assets.automation); this sensor evaluates them. Runs it starts are tagged for the UI.
daily_chain_automation_sensor = dg.AutomationConditionSensorDefinition(
    "daily_chain_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    run_tags={"low_assets/started_by": "automation"},
    description="Requests features, then predictions, for every partition whose inputs were "
    "updated and passed their blocking checks.",
)

trading_day_freshness_sensor = build_freshness_sensor()
