"""The BigQuery side of the gcp profile, offline: the SQL the IO manager generates for our
partition expression, the types we hand the load job, and the whole IO manager with the Google
client replaced by a recorder that opens no socket. The live test at the end needs a project."""

import os
import uuid
from datetime import datetime

import dagster as dg
import pandas as pd
import pytest
import sqlglot

# Table slices are what the IO manager hands its client; dagster keeps them in a private module.
from dagster._core.storage.db_io_manager import TablePartitionDimension, TableSlice
from dagster_gcp.bigquery import io_manager as bigquery_io_manager
from dagster_gcp.bigquery.io_manager import BigQueryClient
from google.cloud import bigquery
from sqlglot import exp

from low_assets import schema
from low_assets.bigquery import BigQueryWarehouseIOManager, load_job_config, table_schema
from low_assets.partitions import TRADE_DATE_PARTITION, daily_partitions

PROJECT = "low-assets-test-project"
EXPRESSION = TRADE_DATE_PARTITION["partition_expr"]


def day_window(first: str, last: str) -> dg.TimeWindow:
    return dg.TimeWindow(
        daily_partitions.time_window_for_partition_key(first).start,
        daily_partitions.time_window_for_partition_key(last).end,
    )


def partitioned_slice(first: str, last: str, table: str = "stock_data") -> TableSlice:
    return TableSlice(
        table=table,
        schema="stocks_eu",
        database=PROJECT,
        partition_dimensions=[
            TablePartitionDimension(partition_expr=EXPRESSION, partitions=day_window(first, last))
        ],
    )


class RecordingConnection:
    """Stands where google.cloud.bigquery.Client stands; records instead of calling out."""

    def __init__(self, *_, **__):
        self.queries: list[str] = []
        self.loads: list[dict] = []

    def query(self, query, **_):
        self.queries.append(query)
        return self

    def result(self):
        return self

    def to_dataframe(self):
        return pd.DataFrame()

    def load_table_from_dataframe(self, **kwargs):
        self.loads.append(kwargs)
        return self


def delete_statement(table_slice: TableSlice) -> str:
    connection = RecordingConnection()
    BigQueryClient.delete_table_slice(dg.build_output_context(), table_slice, connection)
    (statement,) = connection.queries
    return statement


def bounds(statement: str) -> list[tuple[str, str, str]]:
    """(operator, column, literal) of every comparison in the statement's WHERE."""
    where = sqlglot.parse_one(statement, read="bigquery").args["where"]
    return [
        (type(node).__name__, node.this.sql(dialect="bigquery"), node.expression.this)
        for node in where.find_all(exp.GTE, exp.LT)
    ]


@pytest.mark.parametrize(
    ("first", "last", "start", "end"),
    [
        # One session.
        ("2024-01-02", "2024-01-02", "2024-01-02 00:00:00", "2024-01-03 00:00:00"),
        # A range over a weekend: one statement covers every day of it.
        ("2024-01-05", "2024-01-08", "2024-01-05 00:00:00", "2024-01-09 00:00:00"),
        # New York leaves daylight saving time: the bounds stay local midnights.
        ("2024-11-02", "2024-11-04", "2024-11-02 00:00:00", "2024-11-05 00:00:00"),
    ],
)
def test_delete_removes_exactly_the_new_york_days_of_the_run(first, last, start, end):
    statement = delete_statement(partitioned_slice(first, last))

    assert statement == (
        f"DELETE FROM `{PROJECT}.stocks_eu.stock_data` WHERE\n"
        f"trade_date >= '{start}' AND trade_date < '{end}'"
    )
    parsed = sqlglot.parse_one(statement, read="bigquery")
    assert isinstance(parsed, exp.Delete)
    table = parsed.find(exp.Table)
    assert (table.catalog, table.db, table.name) == (PROJECT, "stocks_eu", "stock_data")
    assert bounds(statement) == [("GTE", "trade_date", start), ("LT", "trade_date", end)]


@pytest.mark.parametrize(
    ("first", "last", "start", "end"),
    [
        ("2024-01-02", "2024-01-02", "2024-01-02 00:00:00", "2024-01-03 00:00:00"),
        # The 45-day lookback features read: a range that crosses a year.
        ("2023-11-18", "2024-01-02", "2023-11-18 00:00:00", "2024-01-03 00:00:00"),
    ],
)
def test_select_reads_the_same_half_open_window_it_would_delete(first, last, start, end):
    table_slice = partitioned_slice(first, last)

    statement = BigQueryClient.get_select_statement(table_slice)

    parsed = sqlglot.parse_one(statement, read="bigquery")
    assert isinstance(parsed, exp.Select)
    assert [column.sql() for column in parsed.expressions] == ["*"]
    assert bounds(statement) == bounds(delete_statement(table_slice))
    assert bounds(statement) == [("GTE", "trade_date", start), ("LT", "trade_date", end)]


def test_sql_check_rejects_a_statement_bigquery_would_reject():
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(
            "DELETE FROM `p.d.t` WHERE trade_date >= '2024-01-02' AND", read="bigquery"
        )


def stock_data_frame() -> pd.DataFrame:
    return schema.conform(
        pd.DataFrame(
            {
                "ticker": ["AAPL", "MSFT"],
                "trade_date": pd.Timestamp("2024-01-02"),
                "open": 1.0,
                "high": 2.0,
                "low": 0.5,
                "close": 1.5,
                "volume": 100.0,
                "vwap": [1.4, None],
                "transactions": [10, None],
            }
        ),
        schema.STOCK_DATA,
        "stock_data",
    )


def test_our_schemas_become_these_bigquery_column_types():
    frame = stock_data_frame()

    fields = table_schema(frame)

    assert [(field.name, field.field_type) for field in fields] == [
        ("ticker", "STRING"),
        ("trade_date", "DATETIME"),
        ("open", "FLOAT64"),
        ("high", "FLOAT64"),
        ("low", "FLOAT64"),
        ("close", "FLOAT64"),
        ("volume", "FLOAT64"),
        ("vwap", "FLOAT64"),
        ("transactions", "INT64"),
    ]
    predictions = table_schema(schema.empty(schema.PREDICTIONS))
    assert {field.name: field.field_type for field in predictions} == {
        "trade_date": "DATETIME",
        "ticker": "STRING",
        "prediction": "INT64",
        "probability": "FLOAT64",
        "model_version": "STRING",
        "in_sample": "BOOL",
        "load_date": "DATETIME",
    }


def test_trade_date_is_a_datetime_in_bigquerys_own_inference_too():
    # google-cloud-bigquery's private helpers are the only offline view of what its loader
    # does with a frame; they are what load_table_from_dataframe calls.
    from google.cloud.bigquery import _pandas_helpers

    frame = stock_data_frame()

    inferred = _pandas_helpers.dataframe_to_bq_schema(frame, [])
    arrow = _pandas_helpers.dataframe_to_arrow(frame, table_schema(frame))

    assert {field.name: field.field_type for field in inferred}["trade_date"] == "DATETIME"
    assert str(arrow.schema.field("trade_date").type) == "timestamp[us]"
    assert arrow.column("trade_date").to_pylist()[0] == datetime(2024, 1, 2)
    assert arrow.column("transactions").to_pylist() == [10, None]


def test_a_dtype_without_a_bigquery_type_is_named_in_the_error():
    frame = pd.DataFrame({"ticker": ["AAPL"], "window": [pd.Interval(0, 1)]})

    with pytest.raises(TypeError, match="column 'window'"):
        table_schema(frame)


def test_new_daily_tables_are_partitioned_by_trade_date_and_clustered_by_ticker():
    config = load_job_config(
        stock_data_frame(), partitioned_slice("2024-01-02", "2024-01-02"), True
    )

    assert config.write_disposition == bigquery.WriteDisposition.WRITE_APPEND
    assert config.time_partitioning.field == "trade_date"
    assert config.time_partitioning.type_ == bigquery.TimePartitioningType.DAY
    assert config.clustering_fields == ["ticker"]


def test_unpartitioned_tables_and_the_opt_out_get_no_partitioning():
    whole_table = TableSlice(table="stock_splits", schema="stocks_eu", database=PROJECT)

    unpartitioned = load_job_config(stock_data_frame(), whole_table, True)
    opted_out = load_job_config(
        stock_data_frame(), partitioned_slice("2024-01-02", "2024-01-02"), False
    )

    assert unpartitioned.time_partitioning is None
    assert unpartitioned.clustering_fields is None
    assert opted_out.time_partitioning is None


@pytest.fixture
def recorded_bigquery(monkeypatch):
    """Every bigquery.Client the IO manager opens, replaced by one recorder."""
    connection = RecordingConnection()
    monkeypatch.setattr(bigquery_io_manager.bigquery, "Client", lambda *_, **__: connection)
    return connection


def test_rematerialising_predictions_deletes_then_loads_the_same_days_into_prediction(
    recorded_bigquery,
):
    @dg.asset(
        name="predictions",
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="warehouse_io_manager",
        metadata=TRADE_DATE_PARTITION,
    )
    def predictions_stand_in() -> pd.DataFrame:
        frame = schema.empty(schema.PREDICTIONS)
        frame.loc[0] = [pd.Timestamp("2024-01-02"), "AAPL", 1, 0.6, "v1", False, pd.Timestamp(0)]
        return schema.conform(frame, schema.PREDICTIONS, "predictions")

    resources = {
        "warehouse_io_manager": BigQueryWarehouseIOManager(project=PROJECT, dataset="stocks_eu")
    }
    tags = {
        "dagster/asset_partition_range_start": "2024-01-02",
        "dagster/asset_partition_range_end": "2024-01-03",
    }
    for _ in range(2):
        dg.materialize([predictions_stand_in], resources=resources, tags=tags)

    deletes = [query for query in recorded_bigquery.queries if query.startswith("DELETE")]
    assert deletes == 2 * [
        f"DELETE FROM `{PROJECT}.stocks_eu.prediction` WHERE\n"
        "trade_date >= '2024-01-02 00:00:00' AND trade_date < '2024-01-04 00:00:00'"
    ]
    assert len(recorded_bigquery.loads) == 2
    load = recorded_bigquery.loads[-1]
    assert load["destination"] == "stocks_eu.prediction"
    assert load["project"] == PROJECT
    assert list(load["dataframe"].columns) == list(schema.PREDICTIONS)
    assert load["job_config"].time_partitioning.field == "trade_date"


live = pytest.mark.skipif(
    not (
        os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        and os.environ.get("LOW_ASSETS_LIVE_GCP_PROJECT")
    ),
    reason="live BigQuery test: set GOOGLE_APPLICATION_CREDENTIALS and "
    "LOW_ASSETS_LIVE_GCP_PROJECT (and optionally LOW_ASSETS_LIVE_BIGQUERY_DATASET) to run it",
)


@live
def test_live_rematerialising_a_day_in_bigquery_leaves_one_copy_of_it():
    project = os.environ["LOW_ASSETS_LIVE_GCP_PROJECT"]
    dataset = os.environ.get("LOW_ASSETS_LIVE_BIGQUERY_DATASET") or "low_assets_live_test"
    table = f"stock_data_{uuid.uuid4().hex[:8]}"
    closes = {"2024-01-02": 1.5, "2024-01-03": 2.5}

    @dg.asset(
        name=table,
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        io_manager_key="warehouse_io_manager",
        metadata=TRADE_DATE_PARTITION,
    )
    def live_table(context: dg.AssetExecutionContext) -> pd.DataFrame:
        frames = []
        for key in context.partition_keys:
            frame = stock_data_frame().assign(trade_date=pd.Timestamp(key), close=closes[key])
            frames.append(frame)
        return schema.conform(pd.concat(frames), schema.STOCK_DATA, table)

    resources = {
        "warehouse_io_manager": BigQueryWarehouseIOManager(project=project, dataset=dataset)
    }
    client = bigquery.Client(project=project)
    try:
        for first, last in [("2024-01-02", "2024-01-03"), ("2024-01-03", "2024-01-03")]:
            closes["2024-01-03"] += 1.0
            dg.materialize(
                [live_table],
                resources=resources,
                tags={
                    "dagster/asset_partition_range_start": first,
                    "dagster/asset_partition_range_end": last,
                },
            )
        rows = client.query(
            f"SELECT trade_date, COUNT(*) AS n, MAX(close) AS close "
            f"FROM `{project}.{dataset}.{table}` GROUP BY trade_date ORDER BY trade_date"
        ).to_dataframe()
        stored = client.get_table(f"{project}.{dataset}.{table}")
    finally:
        client.delete_table(f"{project}.{dataset}.{table}", not_found_ok=True)

    assert rows["n"].tolist() == [2, 2]
    assert rows["close"].tolist() == [1.5, 4.5]
    assert stored.time_partitioning.field == "trade_date"
    assert stored.clustering_fields == ["ticker"]
