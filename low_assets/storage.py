"""Whole-object storage under one root: a local directory or a prefix of a GCS bucket.

Payloads, model artifacts and exports are written and read as whole objects by key
(`payloads/raw_bars/2024-01-02.parquet`), so one code path serves both places: a key is a file
below the local root, or an object below the bucket prefix.
"""

import os
import tempfile
from pathlib import Path, PurePosixPath

import dagster as dg
from dagster_gcp import GCSResource
from google.api_core.exceptions import NotFound
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY
from pydantic import Field


class ObjectStore:
    """Bytes by key. A write replaces the whole object or leaves the old one in place."""

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        raise NotImplementedError

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        raise NotImplementedError

    def uri(self, key: str) -> str:
        raise NotImplementedError


class LocalDirStore(ObjectStore):
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*PurePosixPath(key).parts)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        # A rename within one directory is atomic, so readers see the old file or the new one.
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def uri(self, key: str) -> str:
        return str(self._path(key))


class GCSBucketStore(ObjectStore):
    """Objects below `gs://<bucket>/<prefix>/`. GCS replaces an object atomically on upload."""

    def __init__(self, client: storage.Client, bucket: str, prefix: str = ""):
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        self._bucket = client.bucket(bucket)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._bucket.blob(self._name(key)).download_as_bytes()
        except NotFound as error:
            raise FileNotFoundError(f"no object {self.uri(key)}") from error

    def write_bytes(self, key: str, data: bytes, content_type: str) -> None:
        # Retrying is safe here: every upload rewrites the whole object with the same bytes.
        self._bucket.blob(self._name(key)).upload_from_string(
            data, content_type=content_type, retry=DEFAULT_RETRY
        )

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self._name(key)}"


class ExportStore(dg.ConfigurableResource):
    """Where exports for other systems (dashboards) are written."""

    def object_store(self) -> ObjectStore:
        raise NotImplementedError


class LocalExportStore(ExportStore):
    base_dir: str = Field(description="Directory that export keys are relative to.")

    def object_store(self) -> ObjectStore:
        return LocalDirStore(self.base_dir)


class GCSExportStore(ExportStore):
    gcs: dg.ResourceDependency[GCSResource]
    gcs_bucket: str = Field(description="Bucket that exports are written to.")
    gcs_prefix: str = Field(default="", description="Object name prefix of every export.")

    def object_store(self) -> ObjectStore:
        return GCSBucketStore(self.gcs.get_client(), self.gcs_bucket, self.gcs_prefix)
