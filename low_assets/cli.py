"""`python -m low_assets.cli run`: materialise the whole graph over the packaged sample in the
persistent Dagster instance (DAGSTER_HOME), then print what it produced.

The daily history is one run over the whole range, each month's model is one run, and the
predictions of every day are one more run."""

import argparse
import sys
import time

import dagster as dg
import duckdb
import pandas as pd
from sklearn.metrics import roc_auc_score

from low_assets.evaluation import daily_rank_ic
from low_assets.partitions import PARTITIONS_START, model_partitions
from low_assets.profiles import WAREHOUSE_SCHEMA, warehouse_path
from low_assets.resources import sample_window

# Dagster's tags for a run over a range of partitions (one run, not one run per day).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


# A model month needs min_train_days labelled sessions before it, and a ticker's features start
# on its 21st session: about 70 calendar days of history in all.
HISTORY_BEFORE_FIRST_MODEL = pd.Timedelta(days=70)


def model_months(first_day: str, last_day: str) -> list[str]:
    """The rf_model partitions that the history from first_day can train, up to last_day's."""
    earliest = (pd.Timestamp(first_day) + HISTORY_BEFORE_FIRST_MODEL - pd.Timedelta(days=1)) + (
        pd.offsets.MonthBegin(1)
    )
    first = max(pd.Timestamp(model_partitions.get_first_partition_key()), earliest)
    last = pd.Timestamp(last_day).replace(day=1)
    if first > last:
        return []
    return model_partitions.get_partition_keys_in_range(
        dg.PartitionKeyRange(first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d"))
    )


def run_pipeline(first_day: str, last_day: str) -> list[dg.ExecuteInProcessResult]:
    """History up to features in one run, one run per model month, then predictions in one run;
    stops at the first run that fails."""
    from low_assets.definitions import defs

    instance = dg.DagsterInstance.get()
    day_range = {RANGE_START_TAG: first_day, RANGE_END_TAG: last_day}

    def execute(job: str, run_config: dict, **kwargs) -> dg.ExecuteInProcessResult:
        return defs.resolve_job_def(job).execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False, **kwargs
        )

    results = [execute("ingest_and_featurize", QUIET_CONSOLE, tags=day_range)]
    months = model_months(first_day, last_day)
    for month in months:
        if not results[-1].success:
            return results
        # Every month's model is trained for the point-in-time predictions of its month; the
        # walk-forward scoring, four more fits, is run for the latest month only.
        folds = {} if month == months[-1] else {"n_folds": 0}
        config = {**QUIET_CONSOLE, "ops": {"rf_model": {"config": folds}}}
        results.append(execute("train_model", config, partition_key=month))
    if months and results[-1].success:
        # Days before the first trained month have no model to be predicted with.
        first_predicted = max(pd.Timestamp(first_day), pd.Timestamp(months[0]))
        predicted = {**day_range, RANGE_START_TAG: first_predicted.strftime("%Y-%m-%d")}
        results.append(execute("predict", QUIET_CONSOLE, tags=predicted))
    return results


def failures(results: list[dg.ExecuteInProcessResult]) -> str:
    """Which run failed and why, in the words of its failed steps."""
    lines = []
    for result in results:
        if result.success:
            continue
        lines.append(f"run {result.run_id} of job {result.dagster_run.job_name} FAILED:")
        for event in result.get_step_failure_events():
            error = event.step_failure_data.error
            cause = error.cause.message.strip() if error and error.cause else ""
            message = error.message.strip().splitlines()[0] if error else ""
            lines.append(f"  {event.step_key}: {cause or message}")
    return "\n".join(lines)


def _metric(value: dict, key: str) -> str:
    number = value.get(key)
    return "n/a" if number is None else f"{number:.4f}"


def live_record(outcomes: pd.DataFrame) -> str:
    """How every point-in-time call in the warehouse fared, beside always-up."""
    if outcomes.empty:
        return "prediction_outcomes: no scored calls yet"
    y = outcomes["actual_up"].astype(int).to_numpy()
    ic = daily_rank_ic(outcomes.rename(columns={"actual_return": "next_day_return"}))
    return "\n".join(
        [
            f"point-in-time calls scored against the next session "
            f"({outcomes['trade_date'].min().date()}..{outcomes['trade_date'].max().date()}, "
            f"{len(outcomes)} calls):",
            f"  hit rate  {outcomes['correct'].mean():.4f}   always up: {y.mean():.4f}",
            f"  ROC AUC   {roc_auc_score(y, outcomes['probability']):.4f}   "
            f"rank IC {ic.mean():.4f} (mean/std {ic.mean() / ic.std():.3f})",
        ]
    )


def summary(results: list[dg.ExecuteInProcessResult], seconds: float, last_day: str) -> str:
    if not all(result.success for result in results):
        return f"{len(results)} runs in {seconds:.0f} s\n{failures(results)}"
    with duckdb.connect(str(warehouse_path()), read_only=True) as connection:
        counts = connection.execute(
            f"select count(*), count(distinct ticker), min(trade_date), max(trade_date) "
            f"from {WAREHOUSE_SCHEMA}.stock_data"
        ).fetchone()
    loaded = (
        f"stock_data: {counts[0]} rows, {counts[1]} tickers, "
        f"{pd.Timestamp(counts[2]).date()} to {pd.Timestamp(counts[3]).date()}"
    )
    trained = [r for r in results if r.dagster_run.job_name == "train_model"]
    if not trained:
        return (
            f"{len(results)} runs in {seconds:.0f} s\n{loaded}\n"
            "no model month could be trained: the range holds too little history before any month"
        )
    model = trained[-1].asset_materializations_for_node("rf_model")[-1]
    value = {key: entry.value for key, entry in model.metadata.items()}
    with duckdb.connect(str(warehouse_path()), read_only=True) as connection:
        prediction_count = connection.execute(
            f"select count(*) from {WAREHOUSE_SCHEMA}.predictions"
        ).fetchone()[0]
        outcomes = connection.execute(
            f"select trade_date, ticker, probability, actual_return, actual_up, correct "
            f"from {WAREHOUSE_SCHEMA}.prediction_outcomes"
        ).df()
        calls = connection.execute(
            f"select ticker, probability from {WAREHOUSE_SCHEMA}.predictions "
            "where trade_date = ? order by probability desc, ticker",
            [pd.Timestamp(last_day).to_pydatetime()],
        ).df()

    def ranked(frame: pd.DataFrame) -> str:
        return "\n".join(
            f"  {row.ticker:<7} {row.probability:.3f}" for row in frame.itertuples(index=False)
        )

    live = live_record(outcomes)
    return "\n".join(
        [
            f"{len(results)} runs in {seconds:.0f} s",
            loaded,
            f"predictions: {prediction_count} rows, each from the model of its month",
            f"rf_model {model.partition}: trained on {value['train_start']}..{value['train_end']} "
            f"({value['train_rows']} rows) in {value['training_seconds']} s; "
            f"walk-forward over {value.get('folds', 0):.0f} folds "
            f"({value.get('test_start')}..{value.get('test_end')}, "
            f"{value.get('rows', 0):.0f} rows):",
            f"  ROC AUC   {_metric(value, 'roc_auc')} "
            f"[90% CI {_metric(value, 'roc_auc_low')}, {_metric(value, 'roc_auc_high')}]"
            f"   yesterday's direction: {_metric(value, 'baseline_yesterday_roc_auc')}",
            f"  accuracy  {_metric(value, 'accuracy')}   always up: "
            f"{_metric(value, 'baseline_up_accuracy')}   yesterday's direction: "
            f"{_metric(value, 'baseline_yesterday_accuracy')}",
            f"  rank IC   {_metric(value, 'rank_ic_mean')} "
            f"[90% CI {_metric(value, 'rank_ic_low')}, {_metric(value, 'rank_ic_high')}]"
            f"   yesterday's return: {_metric(value, 'baseline_yesterday_rank_ic_mean')}",
            live,
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
    results = run_pipeline(args.first_day, last_day)
    sys.stdout.write(summary(results, time.perf_counter() - started, last_day) + "\n")
    return 0 if all(result.success for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
