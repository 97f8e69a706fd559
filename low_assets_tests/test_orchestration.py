from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

import low_assets
from low_assets import checks
from low_assets.assets.features import features
from low_assets.assets.raw_bars import raw_bars
from low_assets.assets.stock_data import stock_data
from low_assets.assets.stock_splits import stock_splits
from low_assets.profiles import WAREHOUSE_SCHEMA, local_resources

SAMPLE_BARS = Path(low_assets.__file__).parent / "sample" / "bars.parquet"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
NEW_DAYS = ["2020-03-02", "2020-03-03", "2020-03-04"]
# The morning after the last new day, when its partition is the latest one.
THURSDAY_MORNING = pd.Timestamp("2020-03-05 07:00", tz="UTC").to_pydatetime()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LOW_ASSETS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOW_ASSETS_BARS_SOURCE", "sample")
    monkeypatch.delenv("LOW_ASSETS_PROFILE", raising=False)
    return tmp_path


def ingestion_defs() -> dg.Definitions:
    """The daily chain up to features on the packaged sample, in the test's data directory."""
    return dg.Definitions(
        assets=[raw_bars, stock_data, stock_splits, features],
        asset_checks=[checks.stock_splits_valid],
        jobs=[
            dg.define_asset_job(
                "ingest",
                selection=dg.AssetSelection.assets("raw_bars", "stock_data", "rejected_bars"),
            ),
            dg.define_asset_job("splits", selection=dg.AssetSelection.assets("stock_splits")),
            dg.define_asset_job("features", selection=dg.AssetSelection.assets("features")),
            dg.define_asset_job("chain", selection=dg.AssetSelection.all()),
        ],
        resources=local_resources(),
    )


def daily_chain_defs() -> dg.Definitions:
    """Ingestion, features, the monthly model and predictions, as the code location holds them."""
    from low_assets.assets.predictions import predictions
    from low_assets.assets.rf_model import rf_model

    return dg.Definitions(
        assets=[raw_bars, stock_data, stock_splits, features, rf_model, predictions],
        asset_checks=[checks.stock_splits_valid],
        jobs=[
            dg.define_asset_job(
                "ingest",
                selection=dg.AssetSelection.assets("raw_bars", "stock_data", "rejected_bars"),
            ),
            dg.define_asset_job("splits", selection=dg.AssetSelection.assets("stock_splits")),
            dg.define_asset_job("features", selection=dg.AssetSelection.assets("features")),
        ],
        resources=local_resources(),
    )


def warehouse_rows(data_dir, table: str) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        frame = connection.execute(
            f"select trade_date, count(*) as n from {WAREHOUSE_SCHEMA}.{table} group by 1"
        ).df()
    return {pd.Timestamp(d).strftime("%Y-%m-%d"): int(n) for d, n in frame.itertuples(index=False)}


def sample_rows_per_day(first: str, last: str) -> dict[str, int]:
    bars = pd.read_parquet(SAMPLE_BARS, columns=["date"])
    days = pd.to_datetime(bars["date"])
    counts = days[(days >= first) & (days <= last)].dt.strftime("%Y-%m-%d").value_counts()
    return counts.to_dict()


def test_features_then_predictions_are_requested_for_each_of_several_new_partitions(data_dir):
    defs = daily_chain_defs()

    def evaluate(cursor):
        return dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=THURSDAY_MORNING
        )

    with dg.instance_for_test() as instance:
        defs.resolve_job_def("splits").execute_in_process(instance=instance)
        start = evaluate(None)
        for day in NEW_DAYS:
            defs.resolve_job_def("ingest").execute_in_process(instance=instance, partition_key=day)
        bars_landed = evaluate(start.cursor)
        for day in sorted(bars_landed.get_requested_partitions(dg.AssetKey("features"))):
            defs.resolve_job_def("features").execute_in_process(
                instance=instance, partition_key=day
            )
        features_landed = evaluate(bars_landed.cursor)
        # March's model arrives; training it for real is test_pipeline's business.
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key="rf_model", partition="2020-03-01")
        )
        model_landed = evaluate(features_landed.cursor)
        settled = evaluate(model_landed.cursor)

    def requested(result, asset):
        return result.get_requested_partitions(dg.AssetKey(asset))

    assert start.total_requested == 0
    assert requested(bars_landed, "features") == set(NEW_DAYS)
    assert requested(bars_landed, "predictions") == set()
    # The days' features are in, but predictions wait for their month's model...
    assert requested(features_landed, "predictions") == set()
    # ...and follow as soon as it exists, each day once.
    assert requested(model_landed, "predictions") == set(NEW_DAYS)
    assert settled.total_requested == 0


def repeat_a_bar_on(day: str, clean):
    """clean_bars that repeats one bar on day, as a broken cleaning step would."""

    def clean_bars(payload, trade_date):
        result = clean(payload, trade_date)
        if pd.Timestamp(trade_date) != pd.Timestamp(day):
            return result
        repeated = pd.concat([result.bars, result.bars.iloc[[0]]], ignore_index=True)
        return type(result)(repeated, result.rejected, result.duplicate_rows)

    return clean_bars


def test_a_failed_blocking_check_writes_nothing_and_stops_features_in_the_same_run(
    data_dir, monkeypatch
):
    from low_assets.assets import stock_data as stock_data_module

    defs = ingestion_defs()
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("ingest").execute_in_process(
            instance=instance, partition_key="2020-03-03"
        )
        rows_before = warehouse_rows(data_dir, "stock_data")
        monkeypatch.setattr(
            stock_data_module,
            "clean_bars",
            repeat_a_bar_on("2020-03-03", stock_data_module.clean_bars),
        )
        result = defs.resolve_job_def("chain").execute_in_process(
            instance=instance, partition_key="2020-03-03", raise_on_error=False
        )
        stored = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("stock_data")), limit=10
        ).records

    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in (event.event_specific_data for event in result.all_events)
        if isinstance(e, dg.AssetCheckEvaluation)
    }
    unique = evaluations[("stock_data", checks.UNIQUE_KEYS)]
    assert not result.success
    assert not unique.passed
    assert unique.severity == dg.AssetCheckSeverity.ERROR
    assert unique.metadata["duplicate_keys"].value == 1
    assert unique.metadata["partitions"].value == "2020-03-03"
    assert unique.metadata["first_offending_rows"].value[0]["ticker"] == "A"
    assert evaluations[("stock_data", checks.OHLC)].passed
    assert [e.step_key for e in result.all_events if e.is_step_failure] == ["stock_data"]
    assert "features" not in {e.step_key for e in result.all_events if e.is_step_start}
    # The day keeps the rows and the single materialisation of the good run.
    assert rows_before == {"2020-03-03": 501}
    assert warehouse_rows(data_dir, "stock_data") == rows_before
    assert len(stored) == 1


def test_a_single_run_backfill_of_twenty_two_days_is_one_run_with_every_day_stored(data_dir):
    defs = ingestion_defs()
    first, last = "2020-02-03", "2020-02-24"
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("chain").execute_in_process(
            instance=instance, tags={RANGE_START_TAG: first, RANGE_END_TAG: last}
        )
        runs = instance.get_runs()
        stored = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("stock_data")), limit=100
        ).records

    expected = sample_rows_per_day(first, last)
    partitions = [r.asset_materialization.partition for r in stored]
    assert result.success
    assert len(runs) == 1
    assert len(pd.date_range(first, last)) == 22
    assert sorted(partitions) == [d.strftime("%Y-%m-%d") for d in pd.date_range(first, last)]
    assert warehouse_rows(data_dir, "stock_data") == expected
    assert len(expected) == 15
    # Every stored day's bar count is in its own partition's metadata for the next day's check.
    day_counts = {
        r.asset_materialization.partition: r.asset_materialization.metadata[
            checks.DAY_ROW_COUNT
        ].value
        for r in stored
    }
    assert day_counts["2020-02-21"] == expected["2020-02-21"]
    assert day_counts["2020-02-22"] == 0


def test_features_are_never_stored_for_a_day_whose_stock_data_failed_a_blocking_check(
    data_dir, monkeypatch
):
    from low_assets.assets import stock_data as stock_data_module

    monkeypatch.setattr(
        stock_data_module, "clean_bars", repeat_a_bar_on("2020-03-03", stock_data_module.clean_bars)
    )
    defs = ingestion_defs()
    with dg.instance_for_test() as instance:
        defs.resolve_job_def("splits").execute_in_process(instance=instance)
        before = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=THURSDAY_MORNING
        )
        outcomes = [
            defs.resolve_job_def("ingest")
            .execute_in_process(instance=instance, partition_key=day, raise_on_error=False)
            .success
            for day in NEW_DAYS
        ]
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=before.cursor, evaluation_time=THURSDAY_MORNING
        )
        features_job = defs.resolve_job_def("features")
        for day in sorted(after.get_requested_partitions(dg.AssetKey("features"))):
            run = features_job.execute_in_process(
                instance=instance, partition_key=day, raise_on_error=False
            )
            if day == "2020-03-03":
                features_run = run
        missing = next(
            e.event_specific_data
            for e in features_run.all_events
            if isinstance(e.event_specific_data, dg.AssetCheckEvaluation)
            and e.event_specific_data.check_name == checks.BARS_PRESENT
        )
        stored_features = {
            r.asset_materialization.partition
            for r in instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("features")), limit=10
            ).records
        }

    assert outcomes == [True, False, True]
    # Tuesday's features read Monday's bars too, so Tuesday is requested; its run then refuses
    # to write (see the test below). Nothing but these days is requested.
    assert after.get_requested_partitions(dg.AssetKey("features")) == set(NEW_DAYS)
    assert features_run.success is False
    assert missing.metadata["days_without_bars"].value == ["2020-03-03"]
    assert stored_features == {"2020-03-02", "2020-03-04"}


def test_features_and_predictions_follow_each_partition_and_their_sensor_runs_by_default():
    from low_assets.assets.predictions import predictions
    from low_assets.sensors import daily_chain_automation_sensor

    labels = {
        asset.key.to_user_string(): asset.automation_conditions_by_key[asset.key].label
        for asset in [features, predictions]
    }

    assert labels == {
        "features": "follow_each_partition",
        "predictions": "follow_each_partition",
    }
    assert daily_chain_automation_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_the_retrain_schedule_trains_the_model_of_the_month_it_fires_in():
    from low_assets.schedules import retrain_rf_model_schedule

    context = dg.build_schedule_context(
        scheduled_execution_time=pd.Timestamp("2020-03-01 07:00", tz="UTC").to_pydatetime()
    )

    request = retrain_rf_model_schedule(context)

    assert retrain_rf_model_schedule.cron_schedule == "0 7 1 * *"
    assert retrain_rf_model_schedule.job_name == "train_model"
    assert request.partition_key == "2020-03-01"


def test_a_bad_row_already_stored_for_another_day_does_not_fail_todays_checks(data_dir):
    defs = ingestion_defs()
    with dg.instance_for_test() as instance:
        ingest = defs.resolve_job_def("ingest")
        ingest.execute_in_process(instance=instance, partition_key="2020-03-03")
        with duckdb.connect(str(data_dir / "warehouse.duckdb")) as connection:
            connection.execute(
                f"insert into {WAREHOUSE_SCHEMA}.stock_data "
                f"select * from {WAREHOUSE_SCHEMA}.stock_data limit 1"
            )
        result = ingest.execute_in_process(instance=instance, partition_key="2020-03-04")

    unique = next(
        e for e in result.get_asset_check_evaluations() if e.check_name == checks.UNIQUE_KEYS
    )
    assert result.success
    assert unique.passed
    assert (
        unique.metadata["row_count"].value
        == sample_rows_per_day("2020-03-04", "2020-03-04")["2020-03-04"]
    )
    assert warehouse_rows(data_dir, "stock_data")["2020-03-03"] == 502
