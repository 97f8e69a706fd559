"""IO managers for DuckDB tables, daily payloads and the model artifact.

Payloads and models go through an ObjectStore, so the local files and the GCS objects of the gcp
profile share one code path; only where the bytes live differs.
"""

import hashlib
import io
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import joblib
import pandas as pd

# dagster-duckdb deletes a partition and inserts its replacement on an autocommit connection, so
# an insert that fails would leave the partition empty. The only place to run both in one
# transaction is the DbIOManager's client, which dagster does not export; pinned versions in
# requirements.lock keep this import working, and test_io_managers proves the behaviour.
from dagster._core.storage.db_io_manager import DbIOManager
from dagster_duckdb.io_manager import DuckDbClient
from dagster_duckdb_pandas import DuckDBPandasIOManager, DuckDBPandasTypeHandler
from dagster_gcp import GCSResource

from low_assets.storage import GCSBucketStore, LocalDirStore, ObjectStore

PARQUET_TYPE = "application/vnd.apache.parquet"
BINARY_TYPE = "application/octet-stream"
TEXT_TYPE = "text/plain"


class _TransactionalDuckDbClient(DuckDbClient):
    @staticmethod
    def delete_table_slice(context, table_slice, connection) -> None:
        # A failed statement aborts the whole transaction, so look before deleting instead of
        # catching the error a missing table raises.
        exists = connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [table_slice.schema, table_slice.table],
        ).fetchone()[0]
        if exists:
            DuckDbClient.delete_table_slice(context, table_slice, connection)

    @staticmethod
    @contextmanager
    def connect(context, table_slice):
        with DuckDbClient.connect(context, table_slice) as connection:
            connection.execute("BEGIN TRANSACTION")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")


class _PandasTypeHandler(DuckDBPandasTypeHandler):
    """dagster-duckdb skips an empty frame without creating its table, so a first partition with
    no rows (a market holiday) left downstream assets nothing to read. An empty frame creates the
    table with the frame's column types instead."""

    def handle_output(self, context, table_slice, obj: pd.DataFrame, connection):
        if not obj.empty:
            return super().handle_output(context, table_slice, obj, connection)
        connection.execute(
            f"create table if not exists {table_slice.schema}.{table_slice.table} "
            "as select * from obj"
        )
        row_count_key = (
            "dagster/partition_row_count" if context.has_partition_key else "dagster/row_count"
        )
        context.add_output_metadata({row_count_key: 0})


class WarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB tables whose partitions are replaced atomically: delete and insert commit together."""

    @staticmethod
    def type_handlers():
        return [_PandasTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        # DuckDB creates the file but not its folder; without this a new data directory fails
        # only after the client's connection retries run out.
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        return DbIOManager(
            db_client=_TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="WarehouseIOManager",
        )


class _DayFilesIOManagerBase(dg.ConfigurableIOManager):
    """One Parquet object per daily partition: `<root>/<asset>/<YYYY-MM-DD>.parquet`.

    The asset returns a dict from partition key to frame, so a single run over many days writes
    each day's object on its own; a day is replaced whole or not at all.
    """

    def object_store(self) -> ObjectStore:
        raise NotImplementedError

    @staticmethod
    def _key(context, partition_key: str) -> str:
        return "/".join([*context.asset_key.path, f"{partition_key}.parquet"])

    def handle_output(self, context: dg.OutputContext, obj: dict[str, pd.DataFrame]) -> None:
        expected = set(context.asset_partition_keys)
        if set(obj) != expected:
            raise ValueError(
                f"{context.asset_key.to_user_string()} returned partitions {sorted(obj)} "
                f"but the run is for {sorted(expected)}"
            )
        store = self.object_store()
        for partition_key, frame in obj.items():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            store.write_bytes(self._key(context, partition_key), buffer.getvalue(), PARQUET_TYPE)
        context.add_output_metadata({"path": store.uri("/".join(context.asset_key.path))})

    def load_input(self, context: dg.InputContext) -> dict[str, pd.DataFrame]:
        store = self.object_store()
        frames = {}
        for partition_key in context.asset_partition_keys:
            key = self._key(context, partition_key)
            try:
                data = store.read_bytes(key)
            except FileNotFoundError as error:
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()} has no payload for partition "
                    f"{partition_key} ({store.uri(key)}); materialise that partition first"
                ) from error
            try:
                frames[partition_key] = pd.read_parquet(io.BytesIO(data))
            except Exception as error:
                raise ValueError(
                    f"{context.asset_key.to_user_string()} partition {partition_key}: "
                    f"{store.uri(key)} is not a readable Parquet file ({error}); "
                    "rematerialise that partition"
                ) from error
        return frames


class DayFilesIOManager(_DayFilesIOManagerBase):
    """Daily payloads as files below a local directory."""

    base_dir: str

    def object_store(self) -> ObjectStore:
        return LocalDirStore(self.base_dir)


class GCSDayFilesIOManager(_DayFilesIOManagerBase):
    """Daily payloads as objects below `gs://<gcs_bucket>/<gcs_prefix>/`."""

    gcs: dg.ResourceDependency[GCSResource]
    gcs_bucket: str
    gcs_prefix: str = ""

    def object_store(self) -> ObjectStore:
        return GCSBucketStore(self.gcs.get_client(), self.gcs_bucket, self.gcs_prefix)


class ArtifactIntegrityError(Exception):
    """A stored model artifact is not the one recorded when it was written."""


class _ModelIOManagerBase(dg.ConfigurableIOManager):
    """Model artifacts as joblib objects beside their SHA-256:
    `<root>/<asset>/<partition>/model.joblib` (or `<root>/<asset>/model.joblib` unpartitioned).

    A joblib file is code when loaded, so its digest is checked before anything is unpickled,
    against the digest recorded in the Dagster event log when the model was stored (the
    `.sha256` object beside the artifact stands in where there is no event log).
    A partitioned input loads as a dict from partition key to model.
    """

    def object_store(self) -> ObjectStore:
        raise NotImplementedError

    @staticmethod
    def _key(context, partition_key: str | None) -> str:
        parts = [*context.asset_key.path, *([partition_key] if partition_key else [])]
        return "/".join([*parts, "model.joblib"])

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        partition_key = context.asset_partition_key if context.has_asset_partitions else None
        buffer = io.BytesIO()
        joblib.dump(obj, buffer)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        store = self.object_store()
        key = self._key(context, partition_key)
        # The digest goes second: a failure in between leaves a mismatch that refuses to load,
        # never a new digest beside an old artifact.
        store.write_bytes(key, data, BINARY_TYPE)
        store.write_bytes(_digest_key(key), digest.encode(), TEXT_TYPE)
        context.add_output_metadata(
            {"artifact_sha256": digest, "artifact_bytes": len(data), "path": store.uri(key)}
        )

    def load_input(self, context: dg.InputContext):
        if context.has_asset_partitions:
            return {key: self._load(context, key) for key in context.asset_partition_keys}
        return self._load(context, None)

    def _load(self, context: dg.InputContext, partition_key: str | None):
        store = self.object_store()
        key = self._key(context, partition_key)
        try:
            data = store.read_bytes(key)
            recorded = _recorded_digest(context, partition_key) or (
                store.read_bytes(_digest_key(key)).decode().strip()
            )
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"no complete model artifact at {store.uri(key)} (artifact and .sha256); "
                f"materialise {context.asset_key.to_user_string()} {partition_key or ''} first"
            ) from error
        digest = hashlib.sha256(data).hexdigest()
        if digest != recorded:
            raise ArtifactIntegrityError(
                f"model artifact {store.uri(key)} has SHA-256 {digest}, but {recorded} was "
                "recorded when it was trained; refusing to load it. Rematerialise "
                f"{context.asset_key.to_user_string()} {partition_key or ''}."
            )
        model = joblib.load(io.BytesIO(data))
        model.artifact_sha256 = digest
        return model


def _recorded_digest(context: dg.InputContext, partition_key: str | None) -> str | None:
    """The artifact_sha256 of the latest materialisation in the event log, if there is one."""
    try:
        instance = context.instance
    except Exception:  # an input context built outside a run has no instance
        return None
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=context.asset_key,
            asset_partitions=[partition_key] if partition_key else None,
        ),
        limit=1,
    ).records
    if not records:
        return None
    entry = records[0].asset_materialization.metadata.get("artifact_sha256")
    return str(entry.value) if entry is not None else None


def _digest_key(key: str) -> str:
    return key.removesuffix(".joblib") + ".sha256"


class ModelIOManager(_ModelIOManagerBase):
    """Model artifacts as files below a local directory."""

    base_dir: str

    def object_store(self) -> ObjectStore:
        return LocalDirStore(self.base_dir)


class GCSModelIOManager(_ModelIOManagerBase):
    """Model artifacts as objects below `gs://<gcs_bucket>/<gcs_prefix>/`."""

    gcs: dg.ResourceDependency[GCSResource]
    gcs_bucket: str
    gcs_prefix: str = ""

    def object_store(self) -> ObjectStore:
        return GCSBucketStore(self.gcs.get_client(), self.gcs_bucket, self.gcs_prefix)
