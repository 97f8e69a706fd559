"""Data checks on the frame an asset is about to write, and their Dagster wiring.

The `check_*` functions are plain pandas: each takes only the rows being written (plus, where a
check compares with the day before, the few rows or counts it names) and returns a `Finding`.
Nothing outside those frames is read, so a bad day from last year never fails today's run.

Checks that mean the data is wrong (schema, uniqueness, OHLC, volume, finiteness, probability
range) are blocking: they fail with ERROR severity, and since an asset reports its checks before
it writes, nothing is written: the partition keeps its previous data and downstream assets do not
run on it. Checks that flag something worth a look (a row-count drop, a big unexplained move, a
model that does not beat always-up) warn.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg
import numpy as np
import pandas as pd

from low_assets import calendar, schema
from low_assets.feature_engine import MIN_HISTORY_ROWS
from low_assets.splits import split_factors

# A day with more than this share fewer bars than the session before it warns.
DEFAULT_MAX_ROW_COUNT_DROP = 0.2
# A close-to-close move larger than this share, once splits are taken out, warns.
DEFAULT_MAX_DAILY_MOVE = 0.5
# Offending rows shown in a check's metadata.
SAMPLE_ROWS = 10
# Per-partition materialisation metadata of stock_data: that day's bar count.
DAY_ROW_COUNT = "day_row_count"

KEY_COLUMNS = ["ticker", "trade_date"]
PRICE_COLUMNS = ["open", "high", "low", "close"]


@dataclass(frozen=True)
class Finding:
    """What a check found: whether it passed, numbers worth charting and the first bad rows."""

    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)
    offending: pd.DataFrame | None = None


def _first_rows(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.loc[:, [c for c in columns if c in frame.columns]].head(SAMPLE_ROWS)


def _days_of(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["trade_date"]).dt.normalize()


def check_schema(frame: pd.DataFrame, table_schema: dict[str, str]) -> Finding:
    """Every column of the schema is present with its dtype, and no other column is."""
    missing = [column for column in table_schema if column not in frame.columns]
    unexpected = [column for column in frame.columns if column not in table_schema]
    wrong_types = {
        column: f"{frame[column].dtype} (expected {dtype})"
        for column, dtype in table_schema.items()
        if column in frame.columns and str(frame[column].dtype) != dtype
    }
    passed = not (missing or unexpected or wrong_types)
    problems = [
        f"missing {', '.join(missing)}" if missing else "",
        f"unexpected {', '.join(map(str, unexpected))}" if unexpected else "",
        "; ".join(f"{column} is {found}" for column, found in wrong_types.items()),
    ]
    return Finding(
        passed=passed,
        description="every column present with its type"
        if passed
        else "; ".join(p for p in problems if p),
        metadata={
            "missing_columns": missing,
            "unexpected_columns": [str(c) for c in unexpected],
            "wrong_types": wrong_types,
        },
    )


def check_stored_schema(frame: pd.DataFrame, table_schema: dict[str, str]) -> Finding:
    """A table read back from the warehouse has the schema's columns, each castable to its type.

    Storage returns strings as objects and nullable integers as floats, so the types of a read
    frame are judged by whether they convert, not by their names.
    """
    names = check_schema(frame.iloc[:0], {column: "" for column in table_schema})
    not_castable = {}
    for column, dtype in table_schema.items():
        if column in frame.columns:
            try:
                frame[column].astype(dtype)
            except (TypeError, ValueError) as error:
                not_castable[column] = f"not castable to {dtype}: {str(error)[:100]}"
    missing, unexpected = names.metadata["missing_columns"], names.metadata["unexpected_columns"]
    passed = not (missing or unexpected or not_castable)
    return Finding(
        passed=passed,
        description="every column present and castable to its type"
        if passed
        else f"missing {missing}, unexpected {unexpected}, {not_castable}",
        metadata={
            "missing_columns": missing,
            "unexpected_columns": unexpected,
            "wrong_types": not_castable,
        },
    )


def check_unique_keys(frame: pd.DataFrame, keys: list[str] = KEY_COLUMNS) -> Finding:
    """No two rows share the key columns."""
    duplicated = frame[frame.duplicated(keys, keep=False)].sort_values(keys)
    duplicate_keys = int(frame.duplicated(keys).sum())
    return Finding(
        passed=duplicate_keys == 0,
        description=f"{duplicate_keys} repeated ({', '.join(keys)}) keys",
        metadata={"duplicate_keys": duplicate_keys, "row_count": len(frame)},
        offending=_first_rows(duplicated, keys),
    )


def check_ohlc_consistency(bars: pd.DataFrame) -> Finding:
    """Prices are present and positive, high is the highest and low the lowest of the bar."""
    prices = bars[PRICE_COLUMNS].astype(float)
    bad = (
        prices.isna().any(axis=1)
        | (prices <= 0).any(axis=1)
        | (prices["high"] < prices["low"])
        | (prices["open"] > prices["high"])
        | (prices["open"] < prices["low"])
        | (prices["close"] > prices["high"])
        | (prices["close"] < prices["low"])
    )
    count = int(bad.sum())
    return Finding(
        passed=count == 0,
        description=f"{count} bars with inconsistent open, high, low, close",
        metadata={"inconsistent_rows": count, "row_count": len(bars)},
        offending=_first_rows(bars[bad.to_numpy()], KEY_COLUMNS + PRICE_COLUMNS),
    )


def check_volume_non_negative(bars: pd.DataFrame) -> Finding:
    """Volume is present and not negative; zero-volume bars are counted but allowed."""
    volume = bars["volume"].astype(float)
    bad = volume.isna() | (volume < 0)
    count = int(bad.sum())
    zero = bars[(volume == 0).to_numpy()]
    return Finding(
        passed=count == 0,
        description=f"{count} bars with negative or missing volume, {len(zero)} with none",
        metadata={
            "negative_or_missing_volume_rows": count,
            "zero_volume_rows": len(zero),
            "zero_volume_bars": [
                f"{row.ticker} {pd.Timestamp(row.trade_date).date()}"
                for row in zero.head(SAMPLE_ROWS).itertuples()
            ],
        },
        offending=_first_rows(bars[bad.to_numpy()], KEY_COLUMNS + ["volume"]),
    )


def daily_row_counts(bars: pd.DataFrame, days: list[pd.Timestamp]) -> dict[pd.Timestamp, int]:
    """Bars per day for each of days, zero where a day has none."""
    counts = _days_of(bars).value_counts()
    return {day: int(counts.get(day, 0)) for day in days}


def check_row_count_drop(
    counts: dict[pd.Timestamp, int],
    previous_counts: dict[pd.Timestamp, int],
    max_drop: float = DEFAULT_MAX_ROW_COUNT_DROP,
) -> Finding:
    """No trading day has more than max_drop fewer bars than the trading day before it.

    counts holds the days being written; the previous trading day's count is taken from counts
    when that day is written in the same run, else from previous_counts. A day whose previous
    count is unknown is listed, not judged.
    """
    compared, drops, unknown = 0, [], []
    for day in sorted(counts):
        if not calendar.is_trading_day(day):
            continue
        previous_day = calendar.previous_trading_day(day)
        previous = counts.get(previous_day, previous_counts.get(previous_day))
        if not previous:
            unknown.append(str(day.date()))
            continue
        compared += 1
        share = 1.0 - counts[day] / previous
        if share > max_drop:
            drops.append(
                {
                    "trade_date": str(day.date()),
                    "row_count": counts[day],
                    "previous_row_count": int(previous),
                    "drop_share": round(share, 4),
                }
            )
    return Finding(
        passed=not drops,
        description=f"{len(drops)} of {compared} trading days lost more than {max_drop:.0%} "
        "of the previous session's bars",
        metadata={
            "days_compared": compared,
            "days_with_drop": len(drops),
            "max_drop_share": max_drop,
            "days_without_previous_count": unknown[:SAMPLE_ROWS],
        },
        offending=pd.DataFrame(drops).head(SAMPLE_ROWS) if drops else None,
    )


def find_daily_moves(
    bars: pd.DataFrame, splits: pd.DataFrame, days: list[pd.Timestamp], max_move: float
) -> pd.DataFrame:
    """Close-to-close moves beyond max_move on days, both as traded and net of splits.

    bars holds the days and every ticker's previous session (the row before, per ticker).
    Returns ticker, trade_date, previous_close, close, raw_move, adjusted_move for each move
    whose raw or split-adjusted size is beyond max_move.
    """
    ordered = bars.sort_values(KEY_COLUMNS, ignore_index=True)
    ordered = ordered.assign(trade_date=_days_of(ordered))
    factors = split_factors(ordered, splits)
    previous = ordered.groupby("ticker", sort=False)
    ordered["previous_close"] = previous["close"].shift(1).astype(float)
    ordered["previous_date"] = previous["trade_date"].shift(1)
    # The previous bar must be the previous session, or a gap in the data looks like a move.
    sessions_before = {
        day: calendar.previous_trading_day(day) for day in ordered["trade_date"].unique()
    }
    session_before = ordered["trade_date"].map(sessions_before)
    consecutive = ordered["previous_date"] == session_before
    ratio = pd.Series(factors).groupby(ordered["ticker"], sort=False).shift(1) / factors
    ordered["raw_move"] = ordered["close"].astype(float) / ordered["previous_close"] - 1.0
    ordered["adjusted_move"] = (
        ordered["close"].astype(float) / (ordered["previous_close"] / ratio.to_numpy()) - 1.0
    )
    in_days = ordered["trade_date"].isin(days) & consecutive
    big = (ordered["raw_move"].abs() > max_move) | (ordered["adjusted_move"].abs() > max_move)
    columns = KEY_COLUMNS + ["previous_close", "close", "raw_move", "adjusted_move"]
    return ordered.loc[in_days & big, columns].reset_index(drop=True)


def check_unexplained_moves(moves: pd.DataFrame, max_move: float = DEFAULT_MAX_DAILY_MOVE):
    """No move beyond max_move remains once the day's splits are taken out."""
    unexplained = moves[moves["adjusted_move"].abs() > max_move]
    explained = len(moves) - len(unexplained)
    ranked = unexplained.reindex(
        unexplained["adjusted_move"].abs().sort_values(ascending=False).index
    )
    return Finding(
        passed=unexplained.empty,
        description=f"{len(unexplained)} daily moves beyond {max_move:.0%} that no split "
        f"explains; {explained} explained by a split",
        metadata={
            "unexplained_moves": len(unexplained),
            "moves_explained_by_split": explained,
            "max_daily_move": max_move,
        },
        offending=ranked.head(SAMPLE_ROWS).round(4),
    )


def check_sessions_have_bars(bars: pd.DataFrame, days: list[pd.Timestamp]) -> Finding:
    """Every trading day among days has bars to compute features from."""
    counts = daily_row_counts(bars, days)
    empty_days = [str(day.date()) for day, count in counts.items() if count == 0]
    return Finding(
        passed=not empty_days,
        description=f"{len(empty_days)} of {len(days)} trading days have no stock_data bars",
        metadata={"trading_days": len(days), "days_without_bars": empty_days[:SAMPLE_ROWS]},
    )


def check_lookback_complete(bars: pd.DataFrame, days: list[pd.Timestamp]) -> Finding:
    """Every session of the lookback the features read has bars; a gap is named so that it can
    be backfilled."""
    counts = daily_row_counts(bars, days)
    missing = [str(day.date()) for day, count in counts.items() if count == 0]
    return Finding(
        passed=not missing,
        description=(
            f"{len(missing)} of {len(days)} sessions read have no stock_data bars, from "
            f"{missing[0]} to {missing[-1]}; backfill stock_data for them and rematerialise"
            if missing
            else f"all {len(days)} sessions read have bars"
        ),
        metadata={"sessions_read": len(days), "sessions_missing": missing[:SAMPLE_ROWS]},
    )


def check_features_finite(features: pd.DataFrame) -> Finding:
    """All ten features are finite numbers in every row."""
    values = features[schema.FEATURE_COLUMNS].to_numpy(dtype=float)
    bad_cells = ~np.isfinite(values)
    bad_rows = bad_cells.any(axis=1)
    by_column = {
        name: int(count)
        for name, count in zip(schema.FEATURE_COLUMNS, bad_cells.sum(axis=0), strict=True)
        if count
    }
    return Finding(
        passed=not bad_rows.any(),
        description=f"{int(bad_rows.sum())} rows with a missing or infinite feature",
        metadata={"non_finite_rows": int(bad_rows.sum()), "non_finite_by_feature": by_column},
        offending=_first_rows(features[bad_rows], KEY_COLUMNS + list(by_column)),
    )


def check_feature_history(
    features: pd.DataFrame, bars: pd.DataFrame, min_rows: int = MIN_HISTORY_ROWS
) -> Finding:
    """Each feature row's ticker has at least min_rows bars up to and including that day.

    bars is what the features were computed from: the rows' days and their lookback.
    """
    ordered = bars.loc[:, KEY_COLUMNS].assign(trade_date=_days_of(bars))
    ordered = ordered.sort_values(KEY_COLUMNS, ignore_index=True)
    ordered["history_rows"] = ordered.groupby("ticker", sort=False).cumcount() + 1
    rows = features.loc[:, KEY_COLUMNS].assign(trade_date=_days_of(features))
    rows = rows.merge(ordered, on=KEY_COLUMNS, how="left")
    rows["history_rows"] = rows["history_rows"].fillna(0).astype(int)
    short = rows[rows["history_rows"] < min_rows]
    return Finding(
        passed=short.empty,
        description=f"{len(short)} rows of tickers with fewer than {min_rows} sessions of history",
        metadata={"short_history_rows": len(short), "min_history_rows": min_rows},
        offending=_first_rows(short, KEY_COLUMNS + ["history_rows"]),
    )


def check_probability_range(predictions: pd.DataFrame) -> Finding:
    """Every probability is a number within [0, 1]."""
    probability = predictions["probability"].astype(float)
    bad = probability.isna() | (probability < 0) | (probability > 1)
    return Finding(
        passed=not bad.any(),
        description=f"{int(bad.sum())} probabilities outside [0, 1] or missing",
        metadata={"out_of_range_rows": int(bad.sum())},
        offending=_first_rows(predictions[bad.to_numpy()], KEY_COLUMNS + ["probability"]),
    )


def check_one_prediction_per_feature_row(
    predictions: pd.DataFrame, features: pd.DataFrame
) -> Finding:
    """Exactly one prediction for each (ticker, trade_date) that has features, and no other."""
    predicted = predictions.loc[:, KEY_COLUMNS].assign(trade_date=_days_of(predictions))
    expected = features.loc[:, KEY_COLUMNS].assign(trade_date=_days_of(features))
    both = expected.merge(predicted.drop_duplicates(), on=KEY_COLUMNS, how="outer", indicator=True)
    missing = both[both["_merge"] == "left_only"]
    extra = both[both["_merge"] == "right_only"]
    duplicates = int(predicted.duplicated(KEY_COLUMNS).sum())
    offending = pd.concat(
        [
            missing.assign(problem="no prediction"),
            extra.assign(problem="no features"),
            predicted[predicted.duplicated(KEY_COLUMNS)].assign(problem="repeated"),
        ],
        ignore_index=True,
    )
    return Finding(
        passed=not (len(missing) or len(extra) or duplicates),
        description=f"{len(missing)} feature rows without a prediction, {len(extra)} "
        f"predictions without features, {duplicates} repeated",
        metadata={
            "feature_rows": len(expected),
            "prediction_rows": len(predicted),
            "missing_predictions": len(missing),
            "predictions_without_features": len(extra),
            "duplicate_predictions": duplicates,
        },
        offending=_first_rows(offending, KEY_COLUMNS + ["problem"]),
    )


def check_model_version_present(predictions: pd.DataFrame) -> Finding:
    """Every prediction names the model that made it."""
    version = predictions["model_version"].astype("string")
    bad = version.isna() | (version.str.strip() == "")
    return Finding(
        passed=not bad.any(),
        description=f"{int(bad.sum())} predictions without a model version",
        metadata={
            "rows_without_version": int(bad.sum()),
            "model_versions": sorted(version.dropna().unique().tolist())[:SAMPLE_ROWS],
        },
        offending=_first_rows(predictions[bad.to_numpy()], KEY_COLUMNS + ["model_version"]),
    )


def check_model_beats_baseline(metrics: dict[str, float]) -> Finding:
    """Holdout accuracy beats always predicting up, and ROC AUC beats a coin (0.5)."""
    accuracy = float(metrics["accuracy"])
    baseline = float(metrics["baseline_up_accuracy"])
    roc_auc = float(metrics["roc_auc"])
    beats_baseline = accuracy > baseline
    beats_coin = bool(np.isfinite(roc_auc) and roc_auc > 0.5)
    return Finding(
        passed=beats_baseline and beats_coin,
        description=f"holdout accuracy {accuracy:.4f} vs always up {baseline:.4f}, "
        f"ROC AUC {roc_auc:.4f} vs 0.5",
        metadata={
            "accuracy": accuracy,
            "baseline_up_accuracy": baseline,
            "accuracy_over_baseline": round(accuracy - baseline, 6),
            "roc_auc": roc_auc,
        },
    )


# The Dagster side: check names, specs per asset and results.

SCHEMA = "schema_matches"
UNIQUE_KEYS = "unique_ticker_and_day"
OHLC = "ohlc_consistent"
VOLUME = "volume_not_negative"
ROW_COUNT = "row_count_near_previous_session"
FINITE = "features_finite"
HISTORY = "enough_history"
BARS_PRESENT = "bars_present_for_each_session"
MOVES = "moves_explained_by_splits"
LOOKBACK = "lookback_complete"
PROBABILITY = "probability_within_0_1"
ONE_PER_FEATURE_ROW = "one_prediction_per_feature_row"
MODEL_VERSION = "model_version_present"

_DESCRIPTIONS = {
    SCHEMA: "Names and types of every column match the table's schema.",
    UNIQUE_KEYS: "No two rows share (ticker, trade_date).",
    OHLC: "Prices are positive and open and close lie within [low, high].",
    VOLUME: "Volume is present and not negative.",
    ROW_COUNT: "No trading day lost more than the configured share of the previous session's bars.",
    FINITE: "All ten features are finite in every row.",
    HISTORY: "No row for a ticker with less history than the longest window needs.",
    BARS_PRESENT: "Every trading day being written has stock_data bars: features are never "
    "stored for a session whose bars are missing or were refused by a blocking check.",
    LOOKBACK: "Every session of the lookback the features were computed from has stock_data "
    "bars; a gap warns, naming the sessions to backfill.",
    MOVES: "No close-to-close move beyond the configured size that a split does not explain, "
    "judged on the bars the features were computed from.",
    PROBABILITY: "Every probability lies within [0, 1].",
    ONE_PER_FEATURE_ROW: "One prediction for each ticker with features that day (on days whose "
    "month has a model), and no other.",
    MODEL_VERSION: "Every prediction names the model version that made it.",
}


def _spec(asset: str, name: str, blocking: bool) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=_DESCRIPTIONS[name])


STOCK_DATA_CHECKS = [
    _spec("stock_data", SCHEMA, blocking=True),
    _spec("stock_data", UNIQUE_KEYS, blocking=True),
    _spec("stock_data", OHLC, blocking=True),
    _spec("stock_data", VOLUME, blocking=True),
    _spec("stock_data", ROW_COUNT, blocking=False),
    _spec("rejected_bars", SCHEMA, blocking=True),
]
FEATURES_CHECKS = [
    _spec("features", SCHEMA, blocking=True),
    _spec("features", FINITE, blocking=True),
    _spec("features", HISTORY, blocking=True),
    _spec("features", BARS_PRESENT, blocking=True),
    _spec("features", MOVES, blocking=False),
    _spec("features", LOOKBACK, blocking=False),
]
PREDICTIONS_CHECKS = [
    _spec("predictions", SCHEMA, blocking=True),
    _spec("predictions", PROBABILITY, blocking=True),
    _spec("predictions", ONE_PER_FEATURE_ROW, blocking=True),
    _spec("predictions", MODEL_VERSION, blocking=True),
]


def _json_ready(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return [
        {key: (None if pd.isna(value) else value) for key, value in row.items()}
        for row in out.astype(object).to_dict("records")
    ]


def check_result(finding: Finding, spec: dg.AssetCheckSpec, partitions: str) -> dg.AssetCheckResult:
    """The finding as the result of spec: blocking checks fail with ERROR, others warn."""
    metadata = {"partitions": partitions, **finding.metadata}
    if finding.offending is not None and len(finding.offending):
        metadata["first_offending_rows"] = dg.MetadataValue.json(_json_ready(finding.offending))
    return dg.AssetCheckResult(
        asset_key=spec.asset_key,
        check_name=spec.name,
        passed=finding.passed,
        severity=dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN,
        description=finding.description,
        metadata=metadata,
    )


def check_before_writing(
    context: dg.AssetExecutionContext,
    specs: list[dg.AssetCheckSpec],
    findings: dict[tuple[str, str], Finding],
) -> Iterator[dg.AssetCheckResult]:
    """Yield a result per (asset, check name), then stop the step if a blocking check failed.

    The step yields these results before its outputs, so when a blocking check fails nothing is
    written: the partition keeps its previous materialisation and nothing downstream sees an
    update to run on.
    """
    label = partitions_label(context)
    failed_blocking = []
    for (asset, name), finding in findings.items():
        spec = spec_named(specs, asset, name)
        if not finding.passed:
            context.log.warning(f"{asset} {name} on {label}: {finding.description}")
            if spec.blocking:
                failed_blocking.append(f"{asset} {name} ({finding.description})")
        yield check_result(finding, spec, label)
    if failed_blocking:
        raise dg.Failure(
            f"{label}: blocking check(s) failed: {'; '.join(failed_blocking)}. Nothing was "
            "written; the partitions keep their previous data. See the checks' metadata for the "
            "first offending rows, fix the source or the cleaning, then rematerialise."
        )


def spec_named(specs: list[dg.AssetCheckSpec], asset: str, name: str) -> dg.AssetCheckSpec:
    return next(s for s in specs if s.asset_key == dg.AssetKey(asset) and s.name == name)


def partitions_label(context: dg.AssetExecutionContext) -> str:
    keys = context.partition_keys
    return keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"


def stored_day_row_counts(
    instance: dg.DagsterInstance, days: list[pd.Timestamp]
) -> dict[pd.Timestamp, int]:
    """stock_data's bar counts of days, from each partition's latest materialisation."""
    counts = {}
    for day in days:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("stock_data"), asset_partitions=[day.strftime("%Y-%m-%d")]
            ),
            limit=1,
        ).records
        metadata = records[0].asset_materialization.metadata if records else {}
        if DAY_ROW_COUNT in metadata:
            counts[day] = int(metadata[DAY_ROW_COUNT].value)
    return counts


def _latest_model_materialization(context: dg.AssetCheckExecutionContext):
    """The rf_model materialisation to score: the month this run trained, else the newest."""
    month = context.run.tags.get("dagster/partition")
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("rf_model"), asset_partitions=[month] if month else None
        ),
        limit=1,
    ).records
    return records[0] if records else None


@dg.asset_check(
    asset="rf_model",
    blocking=False,
    description="Walk-forward accuracy beats always predicting up and ROC AUC beats 0.5, read "
    "from the metadata of the rf_model partition trained in the same run (else the newest).",
)
def rf_model_beats_baseline(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    record = _latest_model_materialization(context)
    if record is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description="rf_model has no materialisation to score",
        )
    stored = record.asset_materialization
    metrics = {key: value.value for key, value in stored.metadata.items()}
    missing = [k for k in ("accuracy", "baseline_up_accuracy", "roc_auc") if k not in metrics]
    if missing:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"rf_model {stored.partition or ''} was not scored: its metadata has no "
            f"{', '.join(missing)} (trained with n_folds=0?)",
        )
    finding = check_model_beats_baseline(metrics)
    return dg.AssetCheckResult(
        passed=finding.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"rf_model {stored.partition or ''}: {finding.description}",
        metadata={**finding.metadata, "model_partition": stored.partition or "none"},
    )


@dg.asset_check(
    asset="stock_splits",
    blocking=True,
    description="Split records have the schema's columns, one row per (ticker, execution_date) "
    "and positive ratios.",
)
def stock_splits_valid(stock_splits: pd.DataFrame) -> dg.AssetCheckResult:
    shape = check_stored_schema(stock_splits, schema.SPLITS)
    keys = check_unique_keys(stock_splits, ["ticker", "execution_date"])
    ratios = stock_splits[["split_from", "split_to"]].astype(float)
    bad_ratio = ~((ratios > 0) & np.isfinite(ratios)).all(axis=1)
    passed = shape.passed and keys.passed and not bad_ratio.any()
    offending = stock_splits[bad_ratio.to_numpy()].head(SAMPLE_ROWS)
    metadata = {
        "row_count": len(stock_splits),
        "duplicate_keys": keys.metadata["duplicate_keys"],
        "non_positive_ratio_rows": int(bad_ratio.sum()),
        **{k: v for k, v in shape.metadata.items() if v},
    }
    if len(offending):
        metadata["first_offending_rows"] = dg.MetadataValue.json(_json_ready(offending))
    return dg.AssetCheckResult(
        passed=passed,
        description=f"{shape.description}; {keys.description}; "
        f"{int(bad_ratio.sum())} non-positive ratios",
        metadata=metadata,
    )
