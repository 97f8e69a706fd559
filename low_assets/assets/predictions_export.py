import io

import dagster as dg
import pandas as pd

from low_assets import schema
from low_assets.partitions import daily_partitions
from low_assets.storage import ExportStore

# The dashboards read this key: `<data dir>/outputs/predictions.csv` locally,
# `gs://<bucket>/data/outputs/predictions.csv` in the gcp profile.
LATEST_KEY = "outputs/predictions.csv"
DAY_KEY = "outputs/predictions/{day}.csv"
CSV_TYPE = "text/csv"


def predictions_csv(calls: pd.DataFrame) -> bytes:
    """One day's calls as CSV, most likely winners first, dates as YYYY-MM-DD."""
    frame = calls.sort_values(["probability", "ticker"], ascending=[False, True])
    frame = frame.assign(trade_date=frame["trade_date"].dt.strftime("%Y-%m-%d"))
    return frame.to_csv(index=False).encode()


def latest_day_in(store_bytes: bytes) -> pd.Timestamp | None:
    """The trade_date of an exported predictions.csv, None for an empty one."""
    dates = pd.read_csv(io.BytesIO(store_bytes), usecols=["trade_date"])["trade_date"]
    return pd.Timestamp(dates.max()) if len(dates) else None


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="exports",
    kinds={"csv"},
)
def predictions_export(
    context: dg.AssetExecutionContext, export_store: ExportStore, predictions: pd.DataFrame
) -> dg.MaterializeResult:
    """One CSV row per (ticker, trade_date) call, one file per session, for dashboards.

    Each session with predictions is written to outputs/predictions/<day>.csv, and the latest
    of them to outputs/predictions.csv, unless that file already holds a later session (a
    backfill of old days leaves the dashboards on the newest one).
    """
    if predictions.empty:
        context.log.info(f"no predictions in {context.partition_key_range}: nothing exported")
        return dg.MaterializeResult(metadata={"row_count": 0, "session_count": 0})
    store = export_store.object_store()
    calls = schema.conform(predictions, schema.PREDICTIONS, "predictions")

    days = sorted(calls["trade_date"].unique())
    for day in days:
        key = DAY_KEY.format(day=pd.Timestamp(day).strftime("%Y-%m-%d"))
        store.write_bytes(key, predictions_csv(calls[calls["trade_date"] == day]), CSV_TYPE)

    newest = pd.Timestamp(days[-1])
    exported = _exported_day(store)
    if exported is not None and exported > newest:
        context.log.info(
            f"kept {store.uri(LATEST_KEY)} on {exported.date()}: this run's newest session "
            f"{newest.date()} is older"
        )
    else:
        latest = calls[calls["trade_date"] == newest]
        store.write_bytes(LATEST_KEY, predictions_csv(latest), CSV_TYPE)
        context.log.info(
            f"{store.uri(LATEST_KEY)} now holds {len(latest)} calls of {newest.date()}"
        )

    return dg.MaterializeResult(
        metadata={
            "row_count": len(calls),
            "session_count": len(days),
            "last_date": str(newest.date()),
            "path": store.uri(LATEST_KEY),
        }
    )


def _exported_day(store) -> pd.Timestamp | None:
    try:
        return latest_day_in(store.read_bytes(LATEST_KEY))
    except FileNotFoundError:
        return None
