"""`python -m low_assets.cli run`: materialise the whole graph over the packaged sample in one run
of the persistent Dagster instance (DAGSTER_HOME), then print what it produced."""

import argparse
import sys
import time

import dagster as dg
import duckdb
import pandas as pd

from low_assets.partitions import PARTITIONS_START
from low_assets.profiles import WAREHOUSE_SCHEMA, warehouse_path
from low_assets.resources import sample_window

# Dagster's tags for a run over a range of partitions (one run, not one run per day).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_pipeline(first_day: str, last_day: str) -> dg.ExecuteInProcessResult:
    from low_assets.definitions import defs

    job = defs.get_job_def("full_pipeline")
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        tags={RANGE_START_TAG: first_day, RANGE_END_TAG: last_day},
    )


def summary(result: dg.ExecuteInProcessResult, seconds: float, last_day: str) -> str:
    model = result.asset_materializations_for_node("rf_model")[-1].metadata
    value = {key: entry.value for key, entry in model.items()}
    with duckdb.connect(str(warehouse_path()), read_only=True) as connection:
        counts = connection.execute(
            f"select count(*), count(distinct ticker), min(trade_date), max(trade_date) "
            f"from {WAREHOUSE_SCHEMA}.stock_data"
        ).fetchone()
        calls = connection.execute(
            f"select ticker, probability from {WAREHOUSE_SCHEMA}.predictions "
            "where trade_date = ? order by probability desc, ticker",
            [pd.Timestamp(last_day).to_pydatetime()],
        ).df()

    def ranked(frame: pd.DataFrame) -> str:
        return "\n".join(
            f"  {row.ticker:<7} {row.probability:.3f}" for row in frame.itertuples(index=False)
        )

    return "\n".join(
        [
            f"full_pipeline finished in {seconds:.0f} s (run {result.run_id})",
            f"stock_data: {counts[0]} rows, {counts[1]} tickers, "
            f"{pd.Timestamp(counts[2]).date()} to {pd.Timestamp(counts[3]).date()}",
            f"rf_model holdout {value['test_start']}..{value['test_end']} "
            f"({value['test_rows']} rows; trained on "
            f"{value['train_start']}..{value['train_end']}):",
            f"  ROC AUC   {value['roc_auc']:.4f}",
            f"  accuracy  {value['accuracy']:.4f}   always up: {value['baseline_up_accuracy']:.4f}",
            f"Most likely winners on {last_day} (probability of a higher next close):",
            ranked(calls.head(10)),
            f"Most likely losers on {last_day}:",
            ranked(calls.tail(10).iloc[::-1]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m low_assets.cli")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--first-day", default=PARTITIONS_START)
    parser.add_argument("--last-day", default=None, help="default: the sample's last day")
    args = parser.parse_args(argv)

    last_day = args.last_day or str(sample_window()[1].date())
    started = time.perf_counter()
    result = run_pipeline(args.first_day, last_day)
    sys.stdout.write(summary(result, time.perf_counter() - started, last_day) + "\n")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
