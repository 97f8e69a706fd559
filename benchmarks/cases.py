"""The benchmark cases. Each group runs in its own process (see benchmarks.run), so that its
peak resident memory is its own: `python -m benchmarks.cases <group> <cache_dir> <work_dir>
<out.json>` writes the group's measurements and target verdicts as JSON.

Every measurement is the wall time of REPEATS runs after WARMUPS discarded ones; ratios are
between medians measured in the same process, one run after the other.
"""

import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from benchmarks.reference_features import reference_features
from benchmarks.synthetic import (
    FULL_MARKET_COPIES,
    full_market_splits,
    read_full_market,
    sample_bars,
)
from low_assets import schema
from low_assets.feature_engine import compute_features
from low_assets.partitions import FEATURE_LOOKBACK_DAYS
from low_assets.profiles import WAREHOUSE_SCHEMA
from low_assets.resources import PolygonBarsSource
from low_assets_tests.polygon_server import FakePolygon, grouped_bar
from low_assets_tests.support import ALL_ASSETS, local_resources, materialize_range

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
WARMUPS = 1

# One year of the sample: twelve whole model months.
YEAR_START, YEAR_END = "2020-04-01", "2021-03-31"
# The sample's last session, and the model month it falls in.
DAILY_DAY, DAILY_MONTH = "2021-04-21", "2021-04-01"
# The per-partition backfill is timed on two weeks (weekends included) and scaled to the year.
PER_PARTITION_START, PER_PARTITION_END = "2020-06-01", "2020-06-14"
# Not a real key: the fake server on 127.0.0.1 accepts only this one.
BENCH_KEY = "bench-key-not-secret"
TRAIN_WINDOWS = [62, 125, 250]
DAILY_SELECTION = ["raw_bars", "stock_data", "rejected_bars", "features", "predictions"]
BACKFILL_SELECTION = ["stock_data", "rejected_bars", "features", "predictions"]
# Production forests (300 trees of depth 8, so predicting costs what it costs in production),
# fitted on fewer sessions and without walk-forward scoring: these models exist only so that
# predictions have one to load, and training is measured on its own.
PREDICTION_MODEL = {"ops": {"rf_model": {"config": {"n_folds": 0, "train_window_days": 60}}}}
GIB = 1024**3


def peak_rss_bytes() -> int:
    """The largest resident set this process has had so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def timed(run, repeats: int = REPEATS, warmups: int = WARMUPS) -> tuple[list[float], object]:
    """Wall seconds of `repeats` calls of run() after `warmups` untimed ones, and the last
    call's result."""
    result = None
    for _ in range(warmups):
        result = run()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def measurement(case: str, seconds: list[float], rows: int, note: str = "") -> dict:
    median = statistics.median(seconds)
    return {
        "case": case,
        "runs": len(seconds),
        "median_s": median,
        "min_s": min(seconds),
        "max_s": max(seconds),
        "spread_pct": 100.0 * (max(seconds) - min(seconds)) / median,
        "rows": rows,
        "rows_per_s": rows / median,
        "peak_rss_mib": peak_rss_bytes() / 2**20,
        "note": note,
        "seconds": seconds,
    }


def target(name: str, value: float, limit: float, unit: str, higher_is_better: bool) -> dict:
    met = value >= limit if higher_is_better else value <= limit
    return {
        "target": name,
        "value": value,
        "limit": limit,
        "unit": unit,
        "met": bool(met),
        "margin_pct": 100.0 * (value / limit - 1.0),
    }


def features_input(cache_dir: Path, first_day: str, last_day: str) -> pd.DataFrame:
    """Full-market stock_data rows as the features asset receives them."""
    return read_full_market(cache_dir, first_day, last_day)


def group_features(cache_dir: Path, work_dir: Path) -> dict:
    """The feature engine on one year of the full market, and on its first quarter and half.

    The three sizes are timed in turn, round after round, so that a change in what else the
    machine runs shifts all three alike and the scaling ratio stays fair.
    """
    splits = full_market_splits()
    year = features_input(cache_dir, YEAR_START, YEAR_END)
    # Rows come sorted by date, so each share of the sessions is a prefix: a view, not a copy.
    sessions = np.sort(year["trade_date"].unique())
    prefixes = {}
    for scale, share in [(1, 4), (2, 2), (4, 1)]:
        last = sessions[len(sessions) // share - 1]
        prefixes[scale] = year.iloc[: int(np.searchsorted(year["trade_date"], last, "right"))]
    outputs = {scale: len(compute_features(bars, splits)) for scale, bars in prefixes.items()}
    seconds = {scale: [] for scale in prefixes}
    for _ in range(REPEATS):
        for scale, bars in prefixes.items():
            started = time.perf_counter()
            compute_features(bars, splits)
            seconds[scale].append(time.perf_counter() - started)

    rows, targets = [], []
    for scale, bars in prefixes.items():
        days = bars["trade_date"].nunique()
        rows.append(
            measurement(
                "feature engine, full market, 1 year"
                if scale == 4
                else f"feature engine, full market, {days} sessions",
                seconds[scale],
                len(bars),
                f"{scale}x rows for scaling; {bars['ticker'].nunique()} tickers, "
                f"{outputs[scale]} feature rows out",
            )
        )
    seconds_by_scale = {scale: statistics.median(times) for scale, times in seconds.items()}
    year_row = rows[-1]
    targets.append(
        target(
            "feature engine rows/s, full-market year",
            year_row["rows_per_s"],
            5e6,
            "rows/s",
            True,
        )
    )
    targets.append(
        target(
            "feature engine time at 4x rows over 1x",
            seconds_by_scale[4] / seconds_by_scale[1],
            4.5,
            "x",
            False,
        )
    )
    targets.append(
        target(
            "peak RSS, feature engine on the full-market year",
            peak_rss_bytes() / GIB,
            2.0,
            "GiB",
            False,
        )
    )
    return {"measurements": rows, "targets": targets}


def group_reference(cache_dir: Path, work_dir: Path) -> dict:
    """compute_features against the per-ticker reference, one run of each in turn."""
    splits = full_market_splits()
    year = features_input(cache_dir, YEAR_START, YEAR_END)
    fast_out = compute_features(year, splits)
    reference_out = reference_features(year, splits)
    pd.testing.assert_frame_equal(fast_out, reference_out, check_exact=False, rtol=1e-9, atol=1e-9)
    largest_gap = float(
        np.abs(fast_out[schema.FEATURE_COLUMNS] - reference_out[schema.FEATURE_COLUMNS]).max().max()
    )
    del fast_out, reference_out

    fast, reference = [], []
    for _ in range(REPEATS):
        started = time.perf_counter()
        compute_features(year, splits)
        fast.append(time.perf_counter() - started)
        started = time.perf_counter()
        reference_features(year, splits)
        reference.append(time.perf_counter() - started)
    note = f"values equal to the reference within 1e-9 (largest gap {largest_gap:.1e})"
    rows = [
        measurement(
            "feature engine, full market, 1 year (beside reference)", fast, len(year), note
        ),
        measurement(
            "reference: pandas groupby-transform per ticker, same year",
            reference,
            len(year),
            "warm-up: the equality run of each",
        ),
    ]
    ratio = statistics.median(reference) / statistics.median(fast)
    return {
        "measurements": rows,
        "targets": [target("feature engine speed-up over the reference", ratio, 10.0, "x", True)],
    }


def _warehouse_table(root: Path, table: str, frame: pd.DataFrame) -> None:
    with duckdb.connect(str(root / "warehouse.duckdb")) as connection:
        connection.execute(f"create schema if not exists {WAREHOUSE_SCHEMA}")
        connection.register("frame", frame)
        connection.execute(
            f"create or replace table {WAREHOUSE_SCHEMA}.{table} as select * from frame"
        )


def _polygon_results(bars: pd.DataFrame) -> list[dict]:
    """A day of stock_data rows in Polygon's grouped-daily shape, with a plausible vwap and
    trade count (the sample has neither)."""
    day = pd.Timestamp(bars["trade_date"].iloc[0]).strftime("%Y-%m-%d")
    vwap = (bars["high"] + bars["low"] + bars["close"]) / 3.0
    trades = np.maximum(1, np.round(bars["volume"] / 150.0)).astype(int)
    return [
        grouped_bar(t, day, o, h, low, c, v, vw=round(w, 4), n=int(n))
        for t, o, h, low, c, v, w, n in zip(
            bars["ticker"],
            bars["open"],
            bars["high"],
            bars["low"],
            bars["close"],
            bars["volume"],
            vwap,
            trades,
            strict=True,
        )
    ]


def group_daily_update(cache_dir: Path, work_dir: Path) -> dict:
    """One new session of the full market, raw_bars to predictions, through Dagster."""
    root = work_dir / "daily"
    root.mkdir(parents=True)
    instance = dg.DagsterInstance.ephemeral()
    day = pd.Timestamp(DAILY_DAY)
    history = features_input(
        cache_dir,
        str((day - pd.Timedelta(days=FEATURE_LOOKBACK_DAYS)).date()),
        str((day - pd.Timedelta(days=1)).date()),
    )
    _warehouse_table(root, "stock_data", history)
    _warehouse_table(root, "stock_splits", full_market_splits())
    # The month's model is trained on the sample's features, as `make run` would have left it.
    training = compute_features(sample_bars(), full_market_splits(copies=1))
    _warehouse_table(root, "features", training[training["trade_date"] < DAILY_MONTH])
    dg.materialize(
        ALL_ASSETS,
        selection=["rf_model"],
        partition_key=DAILY_MONTH,
        resources=local_resources(root),
        run_config=PREDICTION_MODEL,
        instance=instance,
    )

    server = FakePolygon(api_key=BENCH_KEY).start()
    try:
        new_day = features_input(cache_dir, DAILY_DAY, DAILY_DAY)
        server.set_bars(DAILY_DAY, _polygon_results(new_day))
        source = PolygonBarsSource(
            api_key=BENCH_KEY,
            base_url=server.base_url,
            requests_per_minute=60_000,
            max_attempts=2,
            backoff_seconds=0.1,
        )

        def update() -> dg.ExecuteInProcessResult:
            return dg.materialize(
                ALL_ASSETS,
                selection=DAILY_SELECTION,
                partition_key=DAILY_DAY,
                resources=local_resources(root, source),
                instance=instance,
            )

        seconds, result = timed(update)
    finally:
        server.stop()
    predictions = result.asset_materializations_for_node("predictions")[0].metadata
    features = result.asset_materializations_for_node("features")[0].metadata
    note = (
        f"{predictions['row_count'].value} predictions; {features['lookback_rows_read'].value} "
        "stock_data rows read with the lookback"
    )
    row = measurement(
        f"daily update, full market, {DAILY_DAY}: raw_bars to predictions",
        seconds,
        len(new_day),
        note,
    )
    return {
        "measurements": [row],
        "targets": [
            target("daily update wall time", row["median_s"], 30.0, "s", False),
            target(
                "peak RSS, daily update of the full market",
                peak_rss_bytes() / GIB,
                2.0,
                "GiB",
                False,
            ),
        ],
    }


def _months(first: str, last: str) -> list[str]:
    return [m.strftime("%Y-%m-%d") for m in pd.date_range(first, last, freq="MS")]


def group_sample_pipeline(cache_dir: Path, work_dir: Path) -> dict:
    """The year backfill (single run and per partition) and rf_model training on the sample."""
    root = work_dir / "sample"
    root.mkdir(parents=True)
    instance = dg.DagsterInstance.ephemeral()
    materialize_range(root, "2019-11-01", YEAR_END, instance=instance)
    for month in _months(YEAR_START, YEAR_END):
        dg.materialize(
            ALL_ASSETS,
            selection=["rf_model"],
            partition_key=month,
            resources=local_resources(root),
            run_config=PREDICTION_MODEL,
            instance=instance,
        )
    rows, targets = [], []

    def backfill() -> dg.ExecuteInProcessResult:
        return materialize_range(
            root,
            YEAR_START,
            YEAR_END,
            assets=ALL_ASSETS,
            selection=BACKFILL_SELECTION,
            config={},
            instance=instance,
        )

    seconds, _ = timed(backfill)
    sample = sample_bars()
    bars = int(sample["trade_date"].between(pd.Timestamp(YEAR_START), pd.Timestamp(YEAR_END)).sum())
    single = measurement(
        f"backfill {YEAR_START}..{YEAR_END}, sample, one run",
        seconds,
        bars,
        "stock_data, features and predictions over 365 daily partitions",
    )
    rows.append(single)
    targets.append(target("backfill of a year as one run", single["median_s"], 60.0, "s", False))

    days = [d.strftime("%Y-%m-%d") for d in pd.date_range(PER_PARTITION_START, PER_PARTITION_END)]

    def one_partition(day: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            ALL_ASSETS,
            selection=BACKFILL_SELECTION,
            partition_key=day,
            resources=local_resources(root),
            instance=instance,
        )

    one_partition(days[0])
    per_partition = []
    for day in days:
        started = time.perf_counter()
        one_partition(day)
        per_partition.append(time.perf_counter() - started)
    year_partitions = len(pd.date_range(YEAR_START, YEAR_END))
    median = statistics.median(per_partition)
    estimate = measurement(
        f"backfill, one run per partition ({len(days)} of {year_partitions} timed)",
        per_partition,
        round(bars / year_partitions),
        f"per partition; the year at this median takes ~{median * year_partitions:.0f} s, "
        f"{median * year_partitions / single['median_s']:.1f}x the single run",
    )
    rows.append(estimate)
    targets.append(
        target(
            "single-run backfill speed-up over one run per partition (reported)",
            median * year_partitions / single["median_s"],
            1.0,
            "x",
            True,
        )
    )

    train_seconds = {}
    for window in TRAIN_WINDOWS:
        config = {"ops": {"rf_model": {"config": {"train_window_days": window}}}}

        def train(run_config=config) -> dg.ExecuteInProcessResult:
            return dg.materialize(
                ALL_ASSETS,
                selection=["rf_model"],
                partition_key=DAILY_MONTH,
                resources=local_resources(root),
                run_config=run_config,
                instance=instance,
            )

        # One warm-up before the whole series: a second fit of a year would add a minute and
        # warm nothing the first run of the smallest window has not.
        seconds, result = timed(train, warmups=1 if window == TRAIN_WINDOWS[0] else 0)
        card = result.asset_materializations_for_node("rf_model")[0].metadata
        train_seconds[window] = statistics.median(seconds)
        rows.append(
            measurement(
                f"rf_model {DAILY_MONTH}, default config, {window} sessions",
                seconds,
                card["train_rows"].value,
                "4 walk-forward refits and the final fit, with the model card; warm-up: one "
                f"{TRAIN_WINDOWS[0]}-session run before the series",
            )
        )
    targets.append(
        target("rf_model training on a year of the sample", train_seconds[250], 60.0, "s", False)
    )
    return {"measurements": rows, "targets": targets}


def group_prepare(cache_dir: Path, work_dir: Path) -> dict:
    """Build the synthetic full market into the cache (once), so no measured process pays it."""
    bars = read_full_market(cache_dir, "2019-11-01", DAILY_DAY)
    return {
        "measurements": [],
        "targets": [],
        "full_market_rows": len(bars),
        "full_market_tickers": int(bars["ticker"].nunique()),
    }


GROUPS = {
    "prepare": group_prepare,
    "features": group_features,
    "reference": group_reference,
    "daily_update": group_daily_update,
    "sample_pipeline": group_sample_pipeline,
}


def main(argv: list[str]) -> None:
    group, cache_dir, work_dir, out = argv
    results = GROUPS[group](Path(cache_dir), Path(work_dir))
    results["group"] = group
    results["peak_rss_mib"] = peak_rss_bytes() / 2**20
    results["python"] = platform.python_version()
    results["full_market_copies"] = FULL_MARKET_COPIES
    Path(out).write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main(sys.argv[1:])
