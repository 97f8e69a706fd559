import dagster as dg
import numpy as np
import pandas as pd

from low_assets import schema
from low_assets.partitions import PARTITIONS_START
from low_assets.resources import BarsSource


@dg.asset(
    io_manager_key="warehouse_io_manager",
    pool="bars_api",
    group_name="ingestion",
    kinds={"duckdb"},
)
def stock_splits(context: dg.AssetExecutionContext, bars_source: BarsSource) -> dg.Output:
    """One row per split executed since the first partition: ticker, execution_date, split_from,
    split_to. Rematerialise it to pick up newly announced splits; features read it at run time,
    so a split announced after a day was stored still adjusts that day."""
    splits = bars_source.fetch_splits(pd.Timestamp(PARTITIONS_START))
    splits = schema.conform(splits, schema.SPLITS, "stock_splits")
    splits = splits.drop_duplicates(["ticker", "execution_date"]).sort_values(
        ["execution_date", "ticker"], ignore_index=True
    )
    _refuse_impossible_records(splits)
    context.log.info(f"{len(splits)} split records from {bars_source.describe()}")
    return dg.Output(
        splits,
        metadata={"row_count": len(splits), "ticker_count": int(splits["ticker"].nunique())},
    )


def _refuse_impossible_records(splits: pd.DataFrame) -> None:
    """Fail before the write when a record has no ticker or date or a ratio that is not a
    positive number: features divide by it, and the stored records must stay usable."""
    ratios = splits[["split_from", "split_to"]].astype(float)
    bad = (
        splits["ticker"].isna()
        | splits["execution_date"].isna()
        | ~((ratios > 0) & np.isfinite(ratios)).all(axis=1)
    )
    if bad.any():
        rows = splits[bad.to_numpy()].head(5).to_dict("records")
        raise dg.Failure(
            f"stock_splits: {int(bad.sum())} split record(s) without a ticker, a date or a "
            f"positive ratio, e.g. {rows}; nothing was written and the previous records stay. "
            "Correct the source's split records and rematerialise."
        )
