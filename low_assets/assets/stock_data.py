import dagster as dg
import pandas as pd
from pydantic import Field

from low_assets import calendar, checks, schema
from low_assets.bars import clean_bars
from low_assets.partitions import TRADE_DATE_PARTITION, daily_partitions


class StockDataConfig(dg.Config):
    tickers: list[str] = Field(
        default_factory=list,
        description="Keep only these tickers downstream of raw_bars; empty keeps every ticker.",
    )
    max_row_count_drop: float = Field(
        default=checks.DEFAULT_MAX_ROW_COUNT_DROP,
        ge=0,
        le=1,
        description="A session with this share fewer bars than the session before it warns.",
    )


@dg.multi_asset(
    outs={
        "stock_data": dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            metadata=TRADE_DATE_PARTITION,
            kinds={"duckdb"},
            description="One row per (ticker, trade_date): the session's bar as traded.",
        ),
        "rejected_bars": dg.AssetOut(
            io_manager_key="warehouse_io_manager",
            metadata=TRADE_DATE_PARTITION,
            kinds={"duckdb"},
            description="One row per vendor bar that could not be real, with the reason.",
        ),
    },
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=checks.STOCK_DATA_CHECKS,
    pool="stock_data_writes",
    group_name="ingestion",
)
def stock_data(context: dg.AssetExecutionContext, config: StockDataConfig, raw_bars):
    """Clean bars: New York trade dates, fixed dtypes, one bar per ticker, implausible bars out."""
    universe = set(config.tickers)
    kept, rejected, duplicates = [], [], 0
    kept_per_day: dict[str, int] = {}
    for partition_key, payload in sorted(raw_bars.items()):
        if payload.empty:
            continue
        result = clean_bars(payload, pd.Timestamp(partition_key))
        bars = result.bars
        if universe:
            bars = bars[bars["ticker"].isin(universe)]
        kept.append(bars)
        kept_per_day[partition_key] = len(bars)
        rejected.append(result.rejected)
        duplicates += result.duplicate_rows
        if len(result.rejected) or result.duplicate_rows:
            context.log.warning(
                f"{partition_key}: {len(result.rejected)} bars rejected, "
                f"{result.duplicate_rows} duplicate bars dropped"
            )

    _refuse_days_left_empty(kept_per_day, universe)
    bars = _concat(kept, schema.STOCK_DATA)
    rejected_bars = _concat(rejected, schema.REJECTED_BARS)
    days = [pd.Timestamp(key) for key in context.partition_keys]
    counts = checks.daily_row_counts(bars, days)
    for day, count in counts.items():
        context.add_asset_metadata(
            {checks.DAY_ROW_COUNT: count},
            asset_key="stock_data",
            partition_key=day.strftime("%Y-%m-%d"),
        )
    yield from checks.check_before_writing(
        context,
        checks.STOCK_DATA_CHECKS,
        _findings(context, bars, rejected_bars, counts, config.max_row_count_drop),
    )

    yield dg.Output(
        bars,
        output_name="stock_data",
        metadata={
            "row_count": len(bars),
            "ticker_count": int(bars["ticker"].nunique()),
            "rejected_rows": len(rejected_bars),
            "duplicate_rows": duplicates,
            "first_date": str(bars["trade_date"].min().date()) if len(bars) else "none",
            "last_date": str(bars["trade_date"].max().date()) if len(bars) else "none",
        },
    )
    yield dg.Output(
        rejected_bars,
        output_name="rejected_bars",
        metadata={
            "row_count": len(rejected_bars),
            "reasons": dg.MetadataValue.json(
                rejected_bars["reason"].value_counts().to_dict() if len(rejected_bars) else {}
            ),
        },
    )


def _findings(context, bars, rejected_bars, counts, max_row_count_drop) -> dict:
    """Checks of the days about to be written; the only other day consulted is the session
    before the first one, through the bar count stored with its materialisation."""
    first_previous = calendar.previous_trading_day(min(counts))
    stored = checks.stored_day_row_counts(context.instance, [first_previous])
    return {
        ("stock_data", checks.SCHEMA): checks.check_schema(bars, schema.STOCK_DATA),
        ("stock_data", checks.UNIQUE_KEYS): checks.check_unique_keys(bars),
        ("stock_data", checks.OHLC): checks.check_ohlc_consistency(bars),
        ("stock_data", checks.VOLUME): checks.check_volume_non_negative(bars),
        ("stock_data", checks.ROW_COUNT): checks.check_row_count_drop(
            counts, stored, max_row_count_drop
        ),
        ("rejected_bars", checks.SCHEMA): checks.check_schema(rejected_bars, schema.REJECTED_BARS),
    }


def _refuse_days_left_empty(kept_per_day: dict[str, int], universe: set[str]) -> None:
    """Fail before anything is written when a day the vendor sent bars for would be stored
    empty: replacing a day's bars with nothing is never what a run means to do."""
    emptied = [day for day, count in kept_per_day.items() if count == 0]
    if not emptied:
        return
    reason = (
        f"none of the configured tickers ({', '.join(sorted(universe)[:10])}) is among its bars"
        if universe
        else "every vendor bar was rejected (the reasons are in the run's log)"
    )
    raise dg.Failure(
        f"stock_data {', '.join(emptied[:10])}: {reason}; nothing was written and the day keeps "
        "its previous rows. Fix the tickers run config or the source, then rematerialise."
    )


def _concat(frames: list[pd.DataFrame], table_schema: dict[str, str]) -> pd.DataFrame:
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return schema.empty(table_schema)
    return schema.conform(pd.concat(frames, ignore_index=True), table_schema, "concatenated")
