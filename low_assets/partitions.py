"""Daily partitions, one per calendar day in New York; days without a session stay empty."""

import dagster as dg
import pandas as pd

from low_assets.calendar import MARKET_TZ

# The first day of the packaged sample; Polygon deployments backfill from here too.
PARTITIONS_START = "2019-11-01"

# Calendar days of stock_data a features partition reads: 45 days always hold at least 29
# sessions, more than the 21 the longest window needs.
FEATURE_LOOKBACK_DAYS = 45

# Every daily-partitioned table is partitioned on its trade_date column; the IO manager deletes
# and reloads [start, end) of this expression when a partition is rematerialised, comparing it
# with 'YYYY-MM-DD HH:MM:SS' literals of New York midnights. The bare column is right in both
# profiles: trade_date is a naive datetime64, so a TIMESTAMP in DuckDB and a DATETIME in BigQuery
# (low_assets.bigquery), and both cast the literal to the column's type. It would take
# TIMESTAMP(trade_date) only for a DATE column, which rejects such a literal; wrapping the column
# in a function would also stop BigQuery from pruning the partitions a DELETE scans.
TRADE_DATE_PARTITION = {"partition_expr": "trade_date"}

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, timezone=MARKET_TZ, fmt="%Y-%m-%d"
)

# rf_model is retrained once a month: partition M is trained on rows whose labels were all known
# before M began and makes every prediction dated in M. The current month's partition exists.
MODEL_PARTITIONS_START = "2020-02-01"
# Months of features a model partition reads: enough for 250 sessions of training rows.
MODEL_LOOKBACK_MONTHS = 13

model_partitions = dg.MonthlyPartitionsDefinition(
    start_date=MODEL_PARTITIONS_START, timezone=MARKET_TZ, end_offset=1, fmt="%Y-%m-%d"
)

# Month M reads the features of the MODEL_LOOKBACK_MONTHS months before it, never M itself.
model_training_window = dg.TimeWindowPartitionMapping(
    start_offset=-MODEL_LOOKBACK_MONTHS, end_offset=-1, allow_nonexistent_upstream_partitions=True
)

# A prediction dated D uses the model partition of D's month; days before the first model
# partition get no model and so no predictions.
model_of_the_month = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)

# prediction_outcomes of day D reads the calls of the 40 days up to D (for its rolling view) and
# features up to 5 days past D, which always hold D's next session.
SCORECARD_LOOKBACK_DAYS = 40
NEXT_SESSION_MAX_DAYS = 5
scorecard_lookback = dg.TimeWindowPartitionMapping(
    start_offset=-SCORECARD_LOOKBACK_DAYS, allow_nonexistent_upstream_partitions=True
)
through_next_session = dg.TimeWindowPartitionMapping(
    start_offset=-SCORECARD_LOOKBACK_DAYS,
    end_offset=NEXT_SESSION_MAX_DAYS,
    allow_nonexistent_upstream_partitions=True,
)

feature_lookback = dg.TimeWindowPartitionMapping(
    start_offset=-FEATURE_LOOKBACK_DAYS, allow_nonexistent_upstream_partitions=True
)


def window_bounds(context: dg.AssetExecutionContext) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The run's partition window as naive New York days: [first, end)."""
    window = context.partition_time_window
    return (
        pd.Timestamp(window.start).tz_localize(None),
        pd.Timestamp(window.end).tz_localize(None),
    )
