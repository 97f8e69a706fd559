import dagster as dg
import pytest

from low_assets.io_managers import ArtifactIntegrityError, ModelIOManager


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
