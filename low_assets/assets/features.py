import dagster as dg
import pandas as pd

from low_assets import schema
from low_assets.feature_engine import compute_features
from low_assets.partitions import (
    TRADE_DATE_PARTITION,
    daily_partitions,
    feature_lookback,
    window_bounds,
)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="warehouse_io_manager",
    metadata=TRADE_DATE_PARTITION,
    ins={"stock_data": dg.AssetIn(partition_mapping=feature_lookback)},
    group_name="modeling",
    kinds={"pandas", "duckdb"},
)
def features(
    context: dg.AssetExecutionContext, stock_data: pd.DataFrame, stock_splits: pd.DataFrame
) -> dg.Output:
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
    return dg.Output(
        in_window,
        metadata={
            "row_count": len(in_window),
            "ticker_count": int(in_window["ticker"].nunique()),
            "rows_without_enough_history": bars_in_window - len(in_window),
            "lookback_rows_read": len(bars),
        },
    )
