"""The gcp profile's Definitions, and the image that serves them."""

import re
import runpy
import tomllib
from pathlib import Path

import dagster as dg
import pytest

from low_assets.bigquery import BigQueryWarehouseIOManager
from low_assets.io_managers import GCSDayFilesIOManager, GCSModelIOManager
from low_assets.storage import GCSExportStore

ROOT = Path(__file__).resolve().parent.parent
GCP_ENVIRONMENT = {
    "LOW_ASSETS_PROFILE": "gcp",
    "GCP_PROJECT": "low-assets-test-project",
    "GCS_BUCKET": "low-assets-test",
    "BIGQUERY_LOCATION": "EU",
    "LOW_ASSETS_BARS_SOURCE": "sample",
}


@pytest.fixture
def gcp_environment(monkeypatch):
    for name in ["BIGQUERY_DATASET", "GCS_PREFIX", "GCP_CREDENTIALS", "BIGQUERY_PARTITION_TABLES"]:
        monkeypatch.delenv(name, raising=False)
    for name, value in GCP_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


def load_definitions() -> dg.Definitions:
    return runpy.run_module("low_assets.definitions")["defs"]


def test_gcp_profile_definitions_load_with_every_resource_configured(gcp_environment):
    defs = load_definitions()

    dg.Definitions.validate_loadable(defs)
    resources = defs.resources
    assert isinstance(resources["warehouse_io_manager"], BigQueryWarehouseIOManager)
    assert isinstance(resources["payload_io_manager"], GCSDayFilesIOManager)
    assert isinstance(resources["model_io_manager"], GCSModelIOManager)
    assert isinstance(resources["export_store"], GCSExportStore)
    assets = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_bars", "stock_data", "predictions", "predictions_export"} <= assets


def test_gcp_profile_reads_project_bucket_and_location_from_the_environment(gcp_environment):
    resources = load_definitions().resources

    warehouse = resources["warehouse_io_manager"]
    payloads = resources["payload_io_manager"]
    assert warehouse.project == dg.EnvVar("GCP_PROJECT")
    assert warehouse.location == dg.EnvVar("BIGQUERY_LOCATION")
    assert warehouse.gcp_credentials is None
    assert warehouse.dataset == "stocks_eu"
    assert warehouse.table_names == {"predictions": "prediction"}
    assert payloads.gcs_bucket == dg.EnvVar("GCS_BUCKET")
    assert payloads.gcs_prefix == "data/payloads"
    assert resources["model_io_manager"].gcs_prefix == "data/models"
    assert resources["export_store"].gcs_prefix == "data"


def test_gcp_profile_takes_dataset_prefix_and_credentials_when_set(gcp_environment, monkeypatch):
    monkeypatch.setenv("BIGQUERY_DATASET", "stocks_test")
    monkeypatch.setenv("GCS_PREFIX", "/staging/")
    monkeypatch.setenv("GCP_CREDENTIALS", "c2VjcmV0")

    resources = load_definitions().resources

    assert resources["warehouse_io_manager"].dataset == "stocks_test"
    assert resources["warehouse_io_manager"].gcp_credentials == dg.EnvVar("GCP_CREDENTIALS")
    assert resources["payload_io_manager"].gcs_prefix == "staging/payloads"
    assert "c2VjcmV0" not in repr(resources)


def test_gcp_profile_without_a_bucket_says_which_variable_is_missing(gcp_environment, monkeypatch):
    monkeypatch.delenv("GCS_BUCKET")

    with pytest.raises(ValueError, match="LOW_ASSETS_PROFILE=gcp needs GCS_BUCKET set"):
        load_definitions()


def test_an_unknown_profile_lists_the_known_ones(monkeypatch):
    monkeypatch.setenv("LOW_ASSETS_PROFILE", "aws")

    with pytest.raises(ValueError, match="expected one of gcp, local"):
        load_definitions()


def test_env_example_documents_every_variable_the_gcp_profile_reads():
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    read = set(re.findall(r'"([A-Z][A-Z_]+)"', (ROOT / "low_assets" / "profiles.py").read_text()))

    assert read - documented == set()
    assert {"GCP_PROJECT", "GCS_BUCKET", "BIGQUERY_DATASET", "GCP_CREDENTIALS"} <= read


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_image_is_python_3_11_slim_serving_the_package_module_on_the_documented_port():
    instructions = dockerfile_instructions()
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]

    assert instructions[0] == ("FROM", "python:3.11-slim")
    (command,) = [value for name, value in instructions if name == "CMD"]
    argv = command.strip("[]").replace('"', "").split(", ")
    assert argv[:3] == ["dagster", "code-server", "start"]
    assert argv[argv.index("-m") + 1] == module == "low_assets.definitions"
    port = argv[argv.index("-p") + 1]
    assert ("EXPOSE", port) in instructions
    assert f"port **{port}**" in (ROOT / "deploy" / "README.md").read_text()


def test_image_installs_the_runtime_lock_before_the_package_and_runs_as_a_non_root_user():
    instructions = dockerfile_instructions()
    names = [name for name, _ in instructions]

    lock_copy = instructions.index(("COPY", "requirements.lock ./"))
    lock_install = instructions.index(("RUN", "pip install -r requirements.lock"))
    package_copy = instructions.index(("COPY", "low_assets ./low_assets"))
    assert lock_copy < lock_install < package_copy
    users = [value for name, value in instructions if name == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert names.index("USER") < names.index("CMD")
    dev_only = {"pytest", "ruff", "gcp-storage-emulator", "sqlglot"}
    runtime = (ROOT / "requirements.lock").read_text()
    assert not [name for name in dev_only if f"\n{name}==" in runtime]
