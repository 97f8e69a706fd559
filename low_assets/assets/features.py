import dagster as dg
import pandas as pd
from pydantic import Field

from low_assets import calendar, checks, schema
from low_assets.automation import follow_each_partition
from low_assets.feature_engine import compute_features
from low_assets.partitions import (
    FEATURE_LOOKBACK_DAYS,
    PARTITIONS_START,
    TRADE_DATE_PARTITION,
    daily_partitions,
    feature_lookback,
    window_bounds,
)


class FeaturesConfig(dg.Config):
    max_daily_move: float = Field(
        default=checks.DEFAULT_MAX_DAILY_MOVE,
        gt=0,
        description="A close-to-close move beyond this share that no split explains warns.",
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="warehouse_io_manager",
    metadata=TRADE_DATE_PARTITION,
    ins={"stock_data": dg.AssetIn(partition_mapping=feature_lookback)},
    check_specs=checks.FEATURES_CHECKS,
    automation_condition=follow_each_partition(ignoring=["stock_splits"]),
    pool="features_writes",
    group_name="modeling",
    kinds={"pandas", "duckdb"},
)
def features(
    context: dg.AssetExecutionContext,
    config: FeaturesConfig,
    stock_data: pd.DataFrame,
    stock_splits: pd.DataFrame,
):
    """One row per (ticker, trade_date) with the ten model features, split-adjusted.

    Reads the partition's days plus a lookback of earlier stock_data partitions; rows of tickers
    with less history than the longest window are left out.
    """
    first_day, end = window_bounds(context)
    bars = schema.conform(stock_data, schema.STOCK_DATA, "stock_data")
    splits = schema.conform(stock_splits, schema.SPLITS, "stock_splits")

    computed = compute_features(bars, splits)
    in_window = computed[(computed["trade_date"] >= first_day) & (computed["trade_date"] < end)]
    in_window = in_window.reset_index(drop=True)

    bars_in_window = int(((bars["trade_date"] >= first_day) & (bars["trade_date"] < end)).sum())
    context.log.info(
        f"{len(in_window)} feature rows from {bars_in_window} bars "
        f"({len(bars)} read with the lookback)"
    )

    days = list(calendar.trading_days(first_day, end - pd.Timedelta(days=1)))
    # Windows count a ticker's rows, so a session missing from the lookback makes a two-day
    # return look like a one-day one and leaves tickers without enough history (a window with
    # no session computes nothing and needs no lookback).
    lookback_start = max(
        pd.Timestamp(PARTITIONS_START), first_day - pd.Timedelta(days=FEATURE_LOOKBACK_DAYS)
    )
    lookback_days = (
        list(calendar.trading_days(lookback_start, end - pd.Timedelta(days=1))) if days else []
    )
    moves = checks.find_daily_moves(bars, splits, days, config.max_daily_move)
    yield from checks.check_before_writing(
        context,
        checks.FEATURES_CHECKS,
        {
            ("features", checks.SCHEMA): checks.check_schema(in_window, schema.FEATURES),
            ("features", checks.FINITE): checks.check_features_finite(in_window),
            ("features", checks.HISTORY): checks.check_feature_history(in_window, bars),
            ("features", checks.BARS_PRESENT): checks.check_sessions_have_bars(bars, days),
            ("features", checks.LOOKBACK): checks.check_lookback_complete(bars, lookback_days),
            ("features", checks.MOVES): checks.check_unexplained_moves(
                moves, config.max_daily_move
            ),
        },
    )

    yield dg.Output(
        in_window,
        metadata={
            "row_count": len(in_window),
            "ticker_count": int(in_window["ticker"].nunique()),
            "rows_without_enough_history": bars_in_window - len(in_window),
            "lookback_rows_read": len(bars),
        },
    )
