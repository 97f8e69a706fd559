"""The storage profile, chosen once from the environment.

`local` (the default) keeps tables in a DuckDB file and payloads and models in files, all under
one data directory, and needs no credentials.
"""

import os
from pathlib import Path

import dagster as dg

from low_assets.io_managers import DayFilesIOManager, ModelIOManager, WarehouseIOManager
from low_assets.resources import (
    POLYGON_BASE_URL,
    BarsSource,
    FlatFilesBarsSource,
    PolygonBarsSource,
    SampleBarsSource,
)

PROFILE_VARIABLE = "LOW_ASSETS_PROFILE"
DATA_DIR_VARIABLE = "LOW_ASSETS_DATA_DIR"
SOURCE_VARIABLE = "LOW_ASSETS_BARS_SOURCE"
FLAT_FILES_VARIABLE = "LOW_ASSETS_FLAT_FILES"
DEFAULT_DATA_DIR = "data"
WAREHOUSE_SCHEMA = "low_assets"


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
        "bars_source": bars_source(),
    }


def resources_for_profile() -> dict:
    profile = os.environ.get(PROFILE_VARIABLE) or "local"
    if profile == "local":
        return local_resources()
    raise ValueError(f"{PROFILE_VARIABLE}={profile!r}: expected 'local'")
