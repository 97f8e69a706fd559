"""The gcp profile's object IO against a GCS emulator on 127.0.0.1: every byte crosses HTTP."""

import io
import types

import dagster as dg
import pandas as pd
import pytest
from dagster_gcp import GCSResource
from google.cloud import storage

from low_assets import schema
from low_assets.assets.predictions_export import predictions_export
from low_assets.io_managers import ArtifactIntegrityError, GCSDayFilesIOManager, GCSModelIOManager
from low_assets.partitions import daily_partitions
from low_assets.storage import GCSExportStore, LocalExportStore
from low_assets_tests.conftest import GCS_BUCKET, GCS_PROJECT

BUCKET = GCS_BUCKET
PROJECT = GCS_PROJECT


def object_names(client: storage.Client) -> list[str]:
    return sorted(blob.name for blob in client.list_blobs(BUCKET))


def payload(close: float) -> pd.DataFrame:
    return schema.conform(
        pd.DataFrame(
            {"T": ["AAPL", "MSFT"], "o": 1.0, "h": 2.0, "l": 0.5, "c": close, "v": 10.0}
            | {"vw": [None, 1.5], "n": [3, None], "t": [1, 2]}
        ),
        schema.RAW_BARS,
        "payload",
    )


def payload_assets(closes: dict[str, float], seen: dict):
    @dg.asset(
        name="raw_bars",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="payload_io_manager",
    )
    def raw_bars(context: dg.AssetExecutionContext):
        return {key: payload(closes[key]) for key in context.partition_keys}

    @dg.asset(
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="mem_io_manager",
    )
    def payload_reader(raw_bars: dict[str, pd.DataFrame]) -> None:
        seen.update(raw_bars)

    return raw_bars, payload_reader


def materialize_days(assets, first: str, last: str, resources: dict, selection=None):
    return dg.materialize(
        assets,
        selection=selection,
        resources=resources,
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


def gcs_payload_resources() -> dict:
    return {
        "payload_io_manager": GCSDayFilesIOManager(
            gcs=GCSResource(project=PROJECT), gcs_bucket=BUCKET, gcs_prefix="data/payloads"
        ),
        "mem_io_manager": dg.InMemoryIOManager(),
    }


def test_raw_payloads_are_one_object_per_day_and_read_back_equal(gcs):
    seen: dict = {}
    assets = payload_assets({"2020-01-02": 10.0, "2020-01-03": 11.0}, seen)

    materialize_days(assets, "2020-01-02", "2020-01-03", gcs_payload_resources())

    assert object_names(gcs) == [
        "data/payloads/raw_bars/2020-01-02.parquet",
        "data/payloads/raw_bars/2020-01-03.parquet",
    ]
    assert sorted(seen) == ["2020-01-02", "2020-01-03"]
    pd.testing.assert_frame_equal(seen["2020-01-03"], payload(11.0))
    assert seen["2020-01-02"]["vw"].isna().tolist() == [True, False]
    assert str(seen["2020-01-02"]["n"].dtype) == "Int64"


def test_rewriting_one_day_replaces_its_object_and_leaves_the_other_day(gcs):
    seen: dict = {}
    materialize_days(
        payload_assets({"2020-01-02": 10.0, "2020-01-03": 11.0}, {}),
        "2020-01-02",
        "2020-01-03",
        gcs_payload_resources(),
    )

    rewrite = payload_assets({"2020-01-03": 99.0}, {})
    materialize_days(rewrite, "2020-01-03", "2020-01-03", gcs_payload_resources(), ["raw_bars"])
    reader = payload_assets({}, seen)
    materialize_days(
        reader, "2020-01-02", "2020-01-03", gcs_payload_resources(), ["payload_reader"]
    )

    assert len(object_names(gcs)) == 2
    assert seen["2020-01-03"]["c"].tolist() == [99.0, 99.0]
    assert seen["2020-01-02"]["c"].tolist() == [10.0, 10.0]


def test_reading_a_day_never_written_names_the_partition_and_the_object(gcs):
    materialize_days(
        payload_assets({"2020-01-02": 10.0}, {}),
        "2020-01-02",
        "2020-01-02",
        gcs_payload_resources(),
    )
    reader = payload_assets({}, {})

    with pytest.raises(FileNotFoundError) as raised:
        materialize_days(
            reader, "2020-01-02", "2020-01-03", gcs_payload_resources(), ["payload_reader"]
        )

    message = str(raised.value)
    assert "partition 2020-01-03" in message
    assert f"gs://{BUCKET}/data/payloads/raw_bars/2020-01-03.parquet" in message


def model_assets(version: str, seen: dict):
    @dg.asset(name="rf_model", io_manager_key="model_io_manager")
    def rf_model():
        return types.SimpleNamespace(version=version, weights=[0.25, 0.75])

    @dg.asset(io_manager_key="mem_io_manager")
    def model_reader(rf_model) -> None:
        seen["model"] = rf_model

    return rf_model, model_reader


def gcs_model_resources() -> dict:
    return {
        "model_io_manager": GCSModelIOManager(
            gcs=GCSResource(project=PROJECT), gcs_bucket=BUCKET, gcs_prefix="data/models"
        ),
        "mem_io_manager": dg.InMemoryIOManager(),
    }


def test_model_round_trips_through_the_bucket_with_its_digest(gcs):
    seen: dict = {}

    result = dg.materialize(model_assets("v1", seen), resources=gcs_model_resources())

    assert object_names(gcs) == [
        "data/models/rf_model/model.joblib",
        "data/models/rf_model/model.sha256",
    ]
    recorded = gcs.bucket(BUCKET).blob("data/models/rf_model/model.sha256").download_as_text()
    metadata = result.asset_materializations_for_node("rf_model")[0].metadata
    assert metadata["artifact_sha256"].value == recorded
    assert metadata["path"].value == f"gs://{BUCKET}/data/models/rf_model/model.joblib"
    assert seen["model"].version == "v1"
    assert seen["model"].weights == [0.25, 0.75]
    assert seen["model"].artifact_sha256 == recorded


def test_retraining_replaces_the_model_and_its_digest(gcs):
    seen: dict = {}
    dg.materialize(model_assets("v1", {}), resources=gcs_model_resources())
    first = gcs.bucket(BUCKET).blob("data/models/rf_model/model.sha256").download_as_text()

    dg.materialize(model_assets("v2", seen), resources=gcs_model_resources())

    second = gcs.bucket(BUCKET).blob("data/models/rf_model/model.sha256").download_as_text()
    assert second != first
    assert seen["model"].version == "v2"
    assert seen["model"].artifact_sha256 == second


def test_a_model_object_changed_in_the_bucket_is_refused_before_unpickling(gcs):
    dg.materialize(model_assets("v1", {}), resources=gcs_model_resources())
    gcs.bucket(BUCKET).blob("data/models/rf_model/model.joblib").upload_from_string(b"not it")
    reader = model_assets("unused", {})

    with pytest.raises(ArtifactIntegrityError, match="refusing to load it"):
        dg.materialize(reader, resources=gcs_model_resources(), selection=["model_reader"])


def predictions_for(day: str, probabilities: dict[str, float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "trade_date": pd.Timestamp(day),
            "ticker": list(probabilities),
            "prediction": [int(p >= 0.5) for p in probabilities.values()],
            "probability": list(probabilities.values()),
            "model_version": "v1",
            "in_sample": False,
            "load_date": pd.Timestamp("2020-01-10 12:00"),
        }
    )
    return schema.conform(frame, schema.PREDICTIONS, "predictions")


def export(store, first: str, last: str, frame: pd.DataFrame) -> dg.MaterializeResult:
    context = dg.build_asset_context(partition_key_range=dg.PartitionKeyRange(first, last))
    return predictions_export(context=context, export_store=store, predictions=frame)


def test_export_writes_each_session_and_the_newest_to_predictions_csv_in_the_bucket(gcs):
    store = GCSExportStore(gcs=GCSResource(project=PROJECT), gcs_bucket=BUCKET, gcs_prefix="data")
    calls = pd.concat(
        [
            predictions_for("2020-01-02", {"AAPL": 0.4, "MSFT": 0.7}),
            predictions_for("2020-01-03", {"AAPL": 0.6, "MSFT": 0.55, "XOM": 0.9}),
        ]
    )

    result = export(store, "2020-01-02", "2020-01-03", calls)

    assert object_names(gcs) == [
        "data/outputs/predictions.csv",
        "data/outputs/predictions/2020-01-02.csv",
        "data/outputs/predictions/2020-01-03.csv",
    ]
    latest = pd.read_csv(
        io.BytesIO(gcs.bucket(BUCKET).blob("data/outputs/predictions.csv").download_as_bytes())
    )
    assert latest["ticker"].tolist() == ["XOM", "AAPL", "MSFT"]
    assert set(latest["trade_date"]) == {"2020-01-03"}
    assert result.metadata["path"] == f"gs://{BUCKET}/data/outputs/predictions.csv"
    assert result.metadata["session_count"] == 2


def test_exporting_an_older_day_keeps_the_newest_day_in_predictions_csv(tmp_path):
    store = LocalExportStore(base_dir=str(tmp_path))
    export(store, "2020-01-03", "2020-01-03", predictions_for("2020-01-03", {"AAPL": 0.6}))

    export(store, "2020-01-02", "2020-01-02", predictions_for("2020-01-02", {"MSFT": 0.7}))

    latest = pd.read_csv(tmp_path / "outputs" / "predictions.csv")
    assert latest["trade_date"].tolist() == ["2020-01-03"]
    assert latest["ticker"].tolist() == ["AAPL"]
    older = pd.read_csv(tmp_path / "outputs" / "predictions" / "2020-01-02.csv")
    assert older["ticker"].tolist() == ["MSFT"]
