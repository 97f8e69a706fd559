import dagster as dg
import pytest

from low_assets.io_managers import ArtifactIntegrityError, DayFilesIOManager, ModelIOManager
from low_assets.partitions import daily_partitions


class Artifact:
    def __init__(self, value):
        self.value = value
        self.artifact_sha256 = None


def test_a_model_artifact_changed_after_training_is_refused(tmp_path):
    manager = ModelIOManager(base_dir=str(tmp_path))
    key = dg.AssetKey("rf_model")
    manager.handle_output(dg.build_output_context(asset_key=key), Artifact(41))
    path = tmp_path / "rf_model" / "model.joblib"

    loaded = manager.load_input(dg.build_input_context(asset_key=key))
    assert loaded.value == 41
    assert len(loaded.artifact_sha256) == 64

    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ArtifactIntegrityError, match="refusing to load"):
        manager.load_input(dg.build_input_context(asset_key=key))


def test_an_artifact_swapped_together_with_its_digest_file_is_refused_by_the_event_log(tmp_path):
    @dg.asset(io_manager_key="model_io_manager")
    def model():
        return Artifact(1)

    @dg.asset
    def uses_model(model) -> None:
        assert model.value == 1

    resources = {"model_io_manager": ModelIOManager(base_dir=str(tmp_path))}
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([model], resources=resources, instance=instance)
    path = tmp_path / "model" / "model.joblib"

    forged = tmp_path / "forged"
    ModelIOManager(base_dir=str(forged)).handle_output(
        dg.build_output_context(asset_key=dg.AssetKey("model")), Artifact(2)
    )
    path.write_bytes((forged / "model" / "model.joblib").read_bytes())
    path.with_suffix(".sha256").write_bytes((forged / "model" / "model.sha256").read_bytes())

    result = dg.materialize(
        [model, uses_model],
        selection=["uses_model"],
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )

    assert not result.success
    cause = result.get_step_failure_events()[0].step_failure_data.error.cause
    assert cause.cls_name == "ArtifactIntegrityError"
    assert "refusing to load" in cause.message


def test_a_payload_file_that_is_not_parquet_is_named_with_its_partition(tmp_path):
    manager = DayFilesIOManager(base_dir=str(tmp_path))
    (tmp_path / "raw_bars").mkdir()
    (tmp_path / "raw_bars" / "2021-04-20.parquet").write_bytes(b"garbage")
    context = dg.build_input_context(
        asset_key=dg.AssetKey("raw_bars"),
        asset_partition_key_range=dg.PartitionKeyRange("2021-04-20", "2021-04-20"),
        asset_partitions_def=daily_partitions,
    )

    with pytest.raises(ValueError, match="raw_bars partition 2021-04-20: .*2021-04-20.parquet"):
        manager.load_input(context)
