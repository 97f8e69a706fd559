"""Schedules: a daily ingest for deployments that run no sensor, and the monthly model retrain."""

import dagster as dg
import pandas as pd

from low_assets import calendar
from low_assets.jobs import ingest_job, train_model_job


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


# Month M's model is trained on the sessions before M, so it can be trained once M has begun and
# the last session of the month before has its features (due 06:30 UTC the next morning).
RETRAIN_CRON = "0 7 1 * *"


def build_retrain_schedule(cron_schedule: str = RETRAIN_CRON) -> dg.ScheduleDefinition:
    """Train the rf_model partition of the month the schedule fires in, on cron_schedule (UTC).

    Firing more often than monthly retrains the same month on the same sessions."""

    @dg.schedule(
        name="retrain_rf_model_schedule",
        job=train_model_job,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"At {cron_schedule} (UTC), train the rf_model partition of the current month "
        "on the sessions before it; launch train_model by hand to retrain on demand.",
    )
    def retrain_rf_model_schedule(context: dg.ScheduleEvaluationContext):
        moment = pd.Timestamp(context.scheduled_execution_time).tz_convert(calendar.MARKET_TZ)
        month = moment.strftime("%Y-%m-01")
        return dg.RunRequest(run_key=f"rf_model-{month}-{moment:%Y%m%d%H%M}", partition_key=month)

    return retrain_rf_model_schedule


retrain_rf_model_schedule = build_retrain_schedule()
