"""BigQuery tables of the gcp profile: dagster-gcp-pandas' IO manager with our table names,
explicit column types, and daily-partitioned, ticker-clustered tables.

Rematerialising a partition runs the upstream client's `DELETE ... WHERE <partition_expr> >=
'<start>' AND <partition_expr> < '<end>'` and then a load job appending the new rows, so a
rerun replaces the day instead of adding to it.
"""

from collections.abc import Sequence

import dagster as dg
import pandas as pd

# Like io_managers.py, this reaches into the DbIOManager that dagster does not export: the table
# name is fixed to the asset key's last part inside it, and a production table can be named
# otherwise (predictions lands in `prediction`). test_gcp_bigquery pins the behaviour, and
# requirements.lock pins the version it was written against.
from dagster._core.storage.db_io_manager import DbIOManager, DbTypeHandler, TableSlice
from dagster_gcp.bigquery.io_manager import BigQueryClient
from dagster_gcp_pandas import BigQueryPandasIOManager, BigQueryPandasTypeHandler
from google.cloud import bigquery
from pydantic import Field

# Tables whose name differs from their asset's: the production dataset's own names.
DEFAULT_TABLE_NAMES = {"predictions": "prediction"}

# The column a daily table is clustered on after its partitioning date, when it has one.
CLUSTER_COLUMN = "ticker"


def bigquery_type(dtype) -> str:
    """The BigQuery column type for a pandas dtype of our schemas.

    Naive datetimes become DATETIME, the type BigQuery's own pandas loader gives them, so a
    `trade_date` compares directly with the IO manager's 'YYYY-MM-DD HH:MM:SS' literals.
    """
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOL"
    if pd.api.types.is_integer_dtype(dtype):
        return "INT64"
    if pd.api.types.is_float_dtype(dtype):
        return "FLOAT64"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "DATETIME"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "TIMESTAMP"
    if pd.api.types.is_string_dtype(dtype):
        return "STRING"
    raise TypeError(f"no BigQuery type for pandas dtype {dtype}")


def table_schema(frame: pd.DataFrame) -> list[bigquery.SchemaField]:
    fields = []
    for column, dtype in frame.dtypes.items():
        try:
            fields.append(bigquery.SchemaField(str(column), bigquery_type(dtype)))
        except TypeError as error:
            raise TypeError(f"column {column!r}: {error}; conform the frame first") from error
    return fields


def load_job_config(
    frame: pd.DataFrame, table_slice: TableSlice, partition_tables: bool
) -> bigquery.LoadJobConfig:
    """Append with explicit column types; a table the load creates is partitioned by day on the
    partition column and clustered by ticker. An existing table keeps its own layout."""
    config = bigquery.LoadJobConfig(
        schema=table_schema(frame),
        write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
    )
    partition_column = _plain_partition_column(table_slice)
    if partition_tables and partition_column in frame.columns:
        config.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=partition_column
        )
        if CLUSTER_COLUMN in frame.columns:
            config.clustering_fields = [CLUSTER_COLUMN]
    return config


def _plain_partition_column(table_slice: TableSlice) -> str | None:
    """The partition expression when it is a bare column, the only kind a table can be
    partitioned on."""
    dimensions = table_slice.partition_dimensions or []
    if len(dimensions) != 1:
        return None
    expression = dimensions[0].partition_expr
    return expression if expression.isidentifier() else None


class WarehouseTypeHandler(BigQueryPandasTypeHandler):
    """Loads frames with their own lower-case column names and explicit types.

    The upstream handler upper-cases column names on the way in and lower-cases them on the way
    out; BigQuery matches names without regard to case, so reading is unchanged, and the tables
    keep the names analysts type (`trade_date`, not `TRADE_DATE`).
    """

    def handle_output(
        self, context: dg.OutputContext, table_slice: TableSlice, obj: pd.DataFrame, connection
    ):
        destination = f"{table_slice.schema}.{table_slice.table}"
        if obj.empty:
            context.log.info(
                f"no rows for {destination} in this run: the slice stays deleted and, when the "
                "table does not exist yet, nothing creates it"
            )
            return {"loaded_rows": 0}

        config = context.resource_config or {}
        job = connection.load_table_from_dataframe(
            dataframe=obj,
            destination=destination,
            project=table_slice.database,
            job_config=load_job_config(obj, table_slice, config.get("partition_tables", True)),
            location=config.get("location"),
            timeout=config.get("timeout"),
        )
        job.result()
        return {"loaded_rows": len(obj)}


class _NamedTablesDbIOManager(DbIOManager):
    def __init__(self, *, table_names: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self._table_names = table_names

    def _get_table_slice(self, context, output_context) -> TableSlice:
        table_slice = super()._get_table_slice(context, output_context)
        return table_slice._replace(
            table=self._table_names.get(table_slice.table, table_slice.table)
        )


class BigQueryWarehouseIOManager(BigQueryPandasIOManager):
    """dagster-gcp-pandas' BigQuery IO manager, with table names that can differ from the
    asset names and new daily tables partitioned by their partition column."""

    table_names: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TABLE_NAMES),
        description="Asset name to table name, for tables not named after their asset.",
    )
    partition_tables: bool = Field(
        default=True,
        description="Create daily tables partitioned by day and clustered by ticker. Turn off "
        "to load into existing unpartitioned tables, which BigQuery refuses otherwise.",
    )

    @staticmethod
    def type_handlers() -> Sequence[DbTypeHandler]:
        return [WarehouseTypeHandler()]

    def create_io_manager(self, context) -> DbIOManager:
        return _NamedTablesDbIOManager(
            table_names=self.table_names,
            db_client=BigQueryClient(
                write_mode=self.write_mode, gcp_credentials=self.gcp_credentials
            ),
            io_manager_name="BigQueryWarehouseIOManager",
            database=self.project,
            schema=self.dataset,
            type_handlers=self.type_handlers(),
            default_load_type=self.default_load_type(),
        )
