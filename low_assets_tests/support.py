"""Helpers shared by tests: resources in a temp directory and range runs."""

from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from low_assets.assets.features import features
from low_assets.assets.predictions import predictions
from low_assets.assets.raw_bars import raw_bars
from low_assets.assets.rf_model import rf_model
from low_assets.assets.stock_data import stock_data
from low_assets.assets.stock_splits import stock_splits
from low_assets.io_managers import DayFilesIOManager, ModelIOManager, WarehouseIOManager
from low_assets.profiles import WAREHOUSE_SCHEMA
from low_assets.resources import BarsSource, SampleBarsSource

ALL_ASSETS = [raw_bars, stock_data, stock_splits, features, rf_model, predictions]
# A forest small enough to train in a second on a few weeks of a few dozen tickers.
SMALL_FOREST = {"n_estimators": 20, "max_depth": 4, "train_window_days": 30, "n_jobs": 1}


def local_resources(root: Path, bars_source: BarsSource | None = None) -> dict:
    return {
        "warehouse_io_manager": WarehouseIOManager(
            database=str(root / "warehouse.duckdb"), schema=WAREHOUSE_SCHEMA
        ),
        "payload_io_manager": DayFilesIOManager(base_dir=str(root / "payloads")),
        "model_io_manager": ModelIOManager(base_dir=str(root / "models")),
        "bars_source": bars_source or SampleBarsSource(),
    }


def run_config(tickers: list[str] | None = None, forest: dict | None = None) -> dict:
    ops: dict = {"rf_model": {"config": forest or SMALL_FOREST}}
    if tickers:
        ops["stock_data"] = {"config": {"tickers": tickers}}
    return {"ops": ops}


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
        assets or ALL_ASSETS,
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
