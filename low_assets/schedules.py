"""A daily schedule for deployments that run no sensor: ingest each session after the close."""

import dagster as dg
import pandas as pd

from low_assets import calendar
from low_assets.jobs import ingest_job


@dg.schedule(
    job=ingest_job,
    cron_schedule="30 18 * * 1-5",
    execution_timezone=calendar.MARKET_TZ,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Weekdays at 18:30 New York time, ingest that day's session; market holidays "
    "are skipped.",
)
def daily_ingest_schedule(context: dg.ScheduleEvaluationContext):
    day = pd.Timestamp(context.scheduled_execution_time).tz_convert(calendar.MARKET_TZ)
    key = day.strftime("%Y-%m-%d")
    if not calendar.is_trading_day(key):
        return dg.SkipReason(f"market closed on {key}: no bars expected")
    return dg.RunRequest(run_key=f"ingest-{key}", partition_key=key)
