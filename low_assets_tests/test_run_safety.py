import gc
import multiprocessing
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml

from low_assets.assets.features import features
from low_assets.assets.predictions import predictions
from low_assets.assets.stock_data import stock_data
from low_assets.io_managers import WarehouseIOManager
from low_assets.partitions import TRADE_DATE_PARTITION, daily_partitions
from low_assets_tests.test_orchestration import ingestion_defs

LOCAL_INSTANCE = Path(__file__).parents[1] / "deploy" / "dagster.local.yaml"
DAY = "2020-03-03"


def test_every_warehouse_writer_has_its_own_pool_and_the_local_instance_allows_one_step_each():
    local = yaml.safe_load(LOCAL_INSTANCE.read_text())
    with dg.instance_for_test(overrides={"concurrency": local["concurrency"]}) as instance:
        limit = instance.get_concurrency_config().pool_config.default_pool_limit

    pools = {
        "stock_data": stock_data.op.pool,
        "features": features.op.pool,
        "predictions": predictions.op.pool,
    }
    assert limit == 1
    assert pools == {
        "stock_data": "stock_data_writes",
        "features": "features_writes",
        "predictions": "predictions_writes",
    }


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOW_ASSETS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOW_ASSETS_BARS_SOURCE", "sample")
    monkeypatch.delenv("LOW_ASSETS_PROFILE", raising=False)
    return tmp_path


def ingest_slowly(instance_ref, outbox) -> None:
    """Run the ingest job for DAY in this process, cleaning slowly, and send back the stock_data
    step's start and end times."""
    from low_assets.assets import stock_data as stock_data_module

    clean = stock_data_module.clean_bars

    def slow_clean_bars(payload, trade_date):
        time.sleep(1.0)
        return clean(payload, trade_date)

    stock_data_module.clean_bars = slow_clean_bars
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        result = (
            ingestion_defs()
            .resolve_job_def("ingest")
            .execute_in_process(instance=instance, partition_key=DAY)
        )
        stamps = {
            entry.dagster_event.event_type_value: entry.timestamp
            for entry in instance.all_logs(result.run_id)
            if entry.step_key == "stock_data"
            and entry.is_dagster_event
            and entry.dagster_event.event_type_value in ("STEP_START", "STEP_SUCCESS")
        }
    outbox.put((result.success, stamps["STEP_START"], stamps["STEP_SUCCESS"]))


def test_two_runs_of_the_same_partition_write_stock_data_one_after_the_other(data_dir):
    local = yaml.safe_load(LOCAL_INSTANCE.read_text())
    spawn = multiprocessing.get_context("spawn")
    outbox = spawn.Queue()
    with dg.instance_for_test(overrides={"concurrency": local["concurrency"]}) as instance:
        runs = [
            spawn.Process(target=ingest_slowly, args=(instance.get_ref(), outbox)) for _ in range(2)
        ]
        for run in runs:
            run.start()
        results = sorted(outbox.get(timeout=90) for _ in runs)
        for run in runs:
            run.join(timeout=30)

    (first_ok, _, first_end), (second_ok, second_start, _) = results
    assert (first_ok, second_ok) == (True, True)
    assert second_start >= first_end


@dg.asset(
    partitions_def=daily_partitions,
    io_manager_key="warehouse_io_manager",
    metadata=TRADE_DATE_PARTITION,
)
def prices(context: dg.AssetExecutionContext, config: dg.PermissiveConfig) -> pd.DataFrame:
    day = pd.Timestamp(context.partition_key)
    return pd.DataFrame({"trade_date": [day, day], "close": config.close})


def test_a_failed_write_leaves_the_partitions_previous_rows(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    resources = {"warehouse_io_manager": WarehouseIOManager(database=str(database), schema="s")}

    def write(close) -> bool:
        return dg.materialize(
            [prices],
            partition_key=DAY,
            resources=resources,
            run_config={"ops": {"prices": {"config": {"close": close}}}},
            raise_on_error=False,
        ).success

    first = write([10.0, 11.0])
    # A text close cannot go into the DOUBLE column: the insert fails after the delete ran.
    second = write(["ten", "eleven"])
    # dagster-duckdb closes its connection only when the write succeeds; collect the one the
    # failed write left behind so that a read-only connection can open the file.
    gc.collect()
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute("select close from s.prices order by close").fetchall()

    assert (first, second) == (True, False)
    assert rows == [(10.0,), (11.0,)]
