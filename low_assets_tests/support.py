"""Helpers shared by tests: resources in a temp directory and range runs."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from low_assets.assets.features import features
from low_assets.assets.prediction_outcomes import prediction_outcomes
from low_assets.assets.predictions import predictions
from low_assets.assets.raw_bars import raw_bars
from low_assets.assets.rf_model import rf_model
from low_assets.assets.stock_data import stock_data
from low_assets.assets.stock_splits import stock_splits
from low_assets.io_managers import DayFilesIOManager, ModelIOManager, WarehouseIOManager
from low_assets.profiles import WAREHOUSE_SCHEMA
from low_assets.resources import BarsSource, SampleBarsSource

HISTORY_ASSETS = [raw_bars, stock_data, stock_splits, features]
ALL_ASSETS = [*HISTORY_ASSETS, rf_model, predictions, prediction_outcomes]
# A forest small enough to train in a second on a few weeks of a few dozen tickers, scored on
# two walk-forward folds of ten sessions.
SMALL_FOREST = {
    "n_estimators": 20,
    "max_depth": 4,
    "min_samples_leaf": 5,
    "max_samples": None,
    "train_window_days": 60,
    "n_jobs": 1,
    "n_folds": 2,
    "fold_days": 10,
    "min_train_days": 10,
}


def local_resources(root: Path, bars_source: BarsSource | None = None) -> dict:
    return {
        "warehouse_io_manager": WarehouseIOManager(
            database=str(root / "warehouse.duckdb"), schema=WAREHOUSE_SCHEMA
        ),
        "payload_io_manager": DayFilesIOManager(base_dir=str(root / "payloads")),
        "model_io_manager": ModelIOManager(base_dir=str(root / "models")),
        "bars_source": bars_source or SampleBarsSource(),
    }


def run_config(tickers: list[str] | None = None) -> dict:
    return {"ops": {"stock_data": {"config": {"tickers": tickers}}} if tickers else {}}


def materialize_range(
    root: Path,
    first_day: str,
    last_day: str,
    *,
    assets=None,
    selection=None,
    config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    bars_source: BarsSource | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """One run over [first_day, last_day], as a single-run backfill does it."""
    return dg.materialize(
        assets or HISTORY_ASSETS,
        selection=selection,
        resources=local_resources(root, bars_source),
        run_config=config or run_config(),
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": first_day,
            "dagster/asset_partition_range_end": last_day,
        },
        raise_on_error=raise_on_error,
    )


def read_table(root: Path, table: str) -> pd.DataFrame:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(f"select * from {WAREHOUSE_SCHEMA}.{table}").df()


def train_months(
    root: Path,
    months: list[str],
    *,
    forest: dict | None = None,
    instance: dg.DagsterInstance | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """One run per rf_model partition, as the train_model job's backfill does it."""
    return [
        dg.materialize(
            ALL_ASSETS,
            selection=["rf_model"],
            partition_key=month,
            resources=local_resources(root),
            run_config={"ops": {"rf_model": {"config": forest or SMALL_FOREST}}},
            instance=instance,
        )
        for month in months
    ]


def predict_range(
    root: Path, first_day: str, last_day: str, *, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    return materialize_range(
        root,
        first_day,
        last_day,
        assets=ALL_ASSETS,
        selection=["predictions", "prediction_outcomes"],
        config={},
        instance=instance,
    )
