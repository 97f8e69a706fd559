"""IO managers of the local profile: DuckDB tables, payload files and the model artifact."""

import hashlib
import io
import os
import tempfile
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
from dagster_duckdb_pandas import DuckDBPandasIOManager


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


class WarehouseIOManager(DuckDBPandasIOManager):
    """DuckDB tables whose partitions are replaced atomically: delete and insert commit together."""

    def create_io_manager(self, context) -> DbIOManager:
        return DbIOManager(
            db_client=_TransactionalDuckDbClient(),
            database=self.database,
            schema=self.schema_,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
            io_manager_name="WarehouseIOManager",
        )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class DayFilesIOManager(dg.ConfigurableIOManager):
    """One Parquet file per daily partition: `<base_dir>/<asset>/<YYYY-MM-DD>.parquet`.

    The asset returns a dict from partition key to frame, so a single run over many days writes
    each day's file on its own; a day is replaced whole or not at all.
    """

    base_dir: str

    def _path(self, context, partition_key: str) -> Path:
        return Path(self.base_dir).joinpath(*context.asset_key.path, f"{partition_key}.parquet")

    def handle_output(self, context: dg.OutputContext, obj: dict[str, pd.DataFrame]) -> None:
        expected = set(context.asset_partition_keys)
        if set(obj) != expected:
            raise ValueError(
                f"{context.asset_key.to_user_string()} returned partitions {sorted(obj)} "
                f"but the run is for {sorted(expected)}"
            )
        for partition_key, frame in obj.items():
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            _write_atomically(self._path(context, partition_key), buffer.getvalue())
        context.add_output_metadata(
            {"path": str(Path(self.base_dir).joinpath(*context.asset_key.path))}
        )

    def load_input(self, context: dg.InputContext) -> dict[str, pd.DataFrame]:
        frames = {}
        for partition_key in context.asset_partition_keys:
            path = self._path(context, partition_key)
            if not path.exists():
                raise FileNotFoundError(
                    f"{context.asset_key.to_user_string()} has no file for partition "
                    f"{partition_key} ({path}); materialise that partition first"
                )
            frames[partition_key] = pd.read_parquet(path)
        return frames


class ArtifactIntegrityError(Exception):
    """A stored model artifact is not the one recorded when it was written."""


class ModelIOManager(dg.ConfigurableIOManager):
    """Model artifacts as joblib files beside their SHA-256: `<base_dir>/<asset>/model.joblib`.

    A joblib file is code when loaded, so the digest is checked before anything is unpickled.
    """

    base_dir: str

    def _path(self, context) -> Path:
        return Path(self.base_dir).joinpath(*context.asset_key.path, "model.joblib")

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        buffer = io.BytesIO()
        joblib.dump(obj, buffer)
        data = buffer.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(context)
        _write_atomically(path, data)
        _write_atomically(path.with_suffix(".sha256"), digest.encode())
        context.add_output_metadata(
            {"artifact_sha256": digest, "artifact_bytes": len(data), "path": str(path)}
        )

    def load_input(self, context: dg.InputContext):
        path = self._path(context)
        if not path.exists():
            raise FileNotFoundError(f"no model artifact at {path}; materialise rf_model first")
        data = path.read_bytes()
        recorded = path.with_suffix(".sha256").read_text().strip()
        digest = hashlib.sha256(data).hexdigest()
        if digest != recorded:
            raise ArtifactIntegrityError(
                f"model artifact {path} has SHA-256 {digest}, but {recorded} was recorded when it "
                "was trained; refusing to load it. Rematerialise rf_model."
            )
        model = joblib.load(io.BytesIO(data))
        model.artifact_sha256 = digest
        return model
