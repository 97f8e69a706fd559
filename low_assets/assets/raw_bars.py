import dagster as dg
import pandas as pd

from low_assets import calendar, schema
from low_assets.partitions import daily_partitions
from low_assets.resources import BarsSource


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="payload_io_manager",
    pool="bars_api",
    group_name="ingestion",
    kinds={"polygon", "parquet"},
)
def raw_bars(context: dg.AssetExecutionContext, bars_source: BarsSource) -> dg.Output:
    """One row per ticker as the vendor sent it for the partition's session.

    Columns are the vendor's own: T, o, h, l, c, v, vw, n, t (Unix ms). A day without a session
    is stored as an empty payload and fetches nothing.
    """
    payloads: dict[str, pd.DataFrame] = {}
    closed_days: list[str] = []
    for partition_key in context.partition_keys:
        if not calendar.is_trading_day(partition_key):
            context.log.info(f"market closed on {partition_key}: no bars expected")
            closed_days.append(partition_key)
            payloads[partition_key] = schema.empty(schema.RAW_BARS)
            continue
        payload = bars_source.fetch_grouped_daily(pd.Timestamp(partition_key))
        if payload.empty:
            raise dg.Failure(
                f"raw_bars {partition_key}: {bars_source.describe()} returned no bars for a day "
                "the NYSE was open; nothing was stored. Retry once the vendor has published it."
            )
        context.log.info(f"{partition_key}: {len(payload)} bars from {bars_source.describe()}")
        payloads[partition_key] = payload

    rows = sum(len(frame) for frame in payloads.values())
    return dg.Output(
        payloads,
        metadata={
            "row_count": rows,
            "trading_days": len(payloads) - len(closed_days),
            "market_closed_days": len(closed_days),
            "market_closed": ", ".join(closed_days[:20]) or "none",
            "source": bars_source.describe(),
        },
    )
