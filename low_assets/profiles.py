"""The storage profile, chosen once from the environment (LOW_ASSETS_PROFILE).

`local` (the default) keeps tables in a DuckDB file and payloads, models and exports in files,
all under one data directory, and needs no credentials. `gcp` keeps tables in BigQuery and the
rest in a GCS bucket laid out like the data directory (`gs://<bucket>/data/payloads/...`);
.env.example lists its variables.
"""

import os
from pathlib import Path

import dagster as dg
from dagster_gcp import GCSResource

from low_assets.bigquery import BigQueryWarehouseIOManager
from low_assets.io_managers import (
    DayFilesIOManager,
    GCSDayFilesIOManager,
    GCSModelIOManager,
    ModelIOManager,
    WarehouseIOManager,
)
from low_assets.resources import (
    POLYGON_BASE_URL,
    BarsSource,
    FlatFilesBarsSource,
    PolygonBarsSource,
    SampleBarsSource,
)
from low_assets.storage import GCSExportStore, LocalExportStore

PROFILE_VARIABLE = "LOW_ASSETS_PROFILE"
DATA_DIR_VARIABLE = "LOW_ASSETS_DATA_DIR"
SOURCE_VARIABLE = "LOW_ASSETS_BARS_SOURCE"
FLAT_FILES_VARIABLE = "LOW_ASSETS_FLAT_FILES"
DEFAULT_DATA_DIR = "data"
WAREHOUSE_SCHEMA = "low_assets"

DEFAULT_BIGQUERY_DATASET = "stocks_eu"
# The bucket's counterpart of the local data directory.
DEFAULT_GCS_PREFIX = "data"
GCP_REQUIRED_VARIABLES = ("GCP_PROJECT", "GCS_BUCKET")


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_VARIABLE) or DEFAULT_DATA_DIR).resolve()


def warehouse_path() -> Path:
    return data_dir() / "warehouse.duckdb"


def bars_source() -> BarsSource:
    """Polygon when a key is set (or LOW_ASSETS_BARS_SOURCE=polygon), else the packaged sample.

    LOW_ASSETS_BARS_SOURCE=flat_files reads Polygon flat files from LOW_ASSETS_FLAT_FILES.
    """
    choice = os.environ.get(SOURCE_VARIABLE) or (
        "polygon" if os.environ.get("POLYGON_API_KEY") else "sample"
    )
    if choice == "sample":
        return SampleBarsSource()
    if choice == "polygon":
        return PolygonBarsSource(
            api_key=dg.EnvVar("POLYGON_API_KEY"),
            base_url=os.environ.get("POLYGON_BASE_URL") or POLYGON_BASE_URL,
            requests_per_minute=float(os.environ.get("POLYGON_REQUESTS_PER_MINUTE") or 5),
        )
    if choice == "flat_files":
        folder = os.environ.get(FLAT_FILES_VARIABLE)
        if not folder:
            raise ValueError(
                f"{SOURCE_VARIABLE}=flat_files needs {FLAT_FILES_VARIABLE}, the folder of "
                "day_aggs_v1 files"
            )
        return FlatFilesBarsSource(folder=folder)
    raise ValueError(f"{SOURCE_VARIABLE}={choice!r}: expected 'polygon', 'flat_files' or 'sample'")


def local_resources() -> dict:
    root = data_dir()
    return {
        "warehouse_io_manager": WarehouseIOManager(
            database=str(root / "warehouse.duckdb"), schema=WAREHOUSE_SCHEMA
        ),
        "payload_io_manager": DayFilesIOManager(base_dir=str(root / "payloads")),
        "model_io_manager": ModelIOManager(base_dir=str(root / "models")),
        "export_store": LocalExportStore(base_dir=str(root)),
        "bars_source": bars_source(),
    }


def _optional_env(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def gcp_resources() -> dict:
    """BigQuery for tables, GCS for payloads, models and exports; see .env.example."""
    missing = [name for name in GCP_REQUIRED_VARIABLES if not os.environ.get(name)]
    if missing:
        raise ValueError(
            f"{PROFILE_VARIABLE}=gcp needs {', '.join(missing)} set; .env.example describes them"
        )
    prefix = (os.environ.get("GCS_PREFIX") or DEFAULT_GCS_PREFIX).strip("/")
    gcs = GCSResource(project=dg.EnvVar("GCP_PROJECT"))
    bucket = dg.EnvVar("GCS_BUCKET")
    partition_tables = os.environ.get("BIGQUERY_PARTITION_TABLES", "true").lower()
    if partition_tables not in ("true", "false"):
        raise ValueError(f"BIGQUERY_PARTITION_TABLES={partition_tables!r}: expected true or false")
    return {
        "warehouse_io_manager": BigQueryWarehouseIOManager(
            project=dg.EnvVar("GCP_PROJECT"),
            dataset=os.environ.get("BIGQUERY_DATASET") or DEFAULT_BIGQUERY_DATASET,
            location=_optional_env("BIGQUERY_LOCATION"),
            gcp_credentials=_optional_env("GCP_CREDENTIALS"),
            partition_tables=partition_tables == "true",
        ),
        "payload_io_manager": GCSDayFilesIOManager(
            gcs=gcs, gcs_bucket=bucket, gcs_prefix=_join(prefix, "payloads")
        ),
        "model_io_manager": GCSModelIOManager(
            gcs=gcs, gcs_bucket=bucket, gcs_prefix=_join(prefix, "models")
        ),
        "export_store": GCSExportStore(gcs=gcs, gcs_bucket=bucket, gcs_prefix=prefix),
        "bars_source": bars_source(),
    }


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


PROFILES = {"local": local_resources, "gcp": gcp_resources}


def resources_for_profile() -> dict:
    profile = os.environ.get(PROFILE_VARIABLE) or "local"
    if profile not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={profile!r}: expected one of {', '.join(sorted(PROFILES))}"
        )
    return PROFILES[profile]()
