import dagster as dg
import numpy as np
import pandas as pd
import pytest

from low_assets import checks, schema

MONDAY, TUESDAY, WEDNESDAY = (pd.Timestamp(d) for d in ["2020-03-02", "2020-03-03", "2020-03-04"])


def make_bars(rows) -> pd.DataFrame:
    """rows of (ticker, day, open, high, low, close, volume) as a stock_data frame."""
    frame = pd.DataFrame(
        rows, columns=["ticker", "trade_date", "open", "high", "low", "close", "volume"]
    )
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame["vwap"] = pd.NA
    frame["transactions"] = pd.NA
    return schema.conform(frame, schema.STOCK_DATA, "test bars")


GOOD_BARS = make_bars(
    [
        ("AAA", MONDAY, 10.0, 11.0, 9.5, 10.5, 1000.0),
        ("BBB", MONDAY, 20.0, 21.0, 19.0, 20.0, 500.0),
        ("AAA", TUESDAY, 10.5, 10.8, 10.1, 10.2, 900.0),
        ("BBB", TUESDAY, 20.0, 20.5, 19.5, 20.4, 0.0),
    ]
)


def make_splits(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ticker", "execution_date", "split_from", "split_to"])
    frame["execution_date"] = pd.to_datetime(frame["execution_date"])
    return schema.conform(frame, schema.SPLITS, "test splits")


def make_features(tickers_and_days) -> pd.DataFrame:
    frame = pd.DataFrame(tickers_and_days, columns=["ticker", "trade_date"])
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    for offset, name in enumerate(schema.FEATURE_COLUMNS):
        frame[name] = float(offset)
    return schema.conform(frame, schema.FEATURES, "test features")


def test_schema_check_passes_on_a_conformed_frame():
    assert checks.check_schema(GOOD_BARS, schema.STOCK_DATA).passed


def test_schema_check_names_a_missing_column_a_stray_column_and_a_wrong_type():
    bad = GOOD_BARS.drop(columns="vwap").assign(note="x", volume=GOOD_BARS["volume"].astype(int))

    finding = checks.check_schema(bad, schema.STOCK_DATA)

    assert not finding.passed
    assert finding.metadata["missing_columns"] == ["vwap"]
    assert finding.metadata["unexpected_columns"] == ["note"]
    assert finding.metadata["wrong_types"] == {"volume": "int64 (expected float64)"}


def test_unique_keys_check_counts_a_repeated_ticker_day_and_shows_both_rows():
    repeated = pd.concat([GOOD_BARS, GOOD_BARS.iloc[[2]]], ignore_index=True)

    finding = checks.check_unique_keys(repeated)

    assert checks.check_unique_keys(GOOD_BARS).passed
    assert not finding.passed
    assert finding.metadata["duplicate_keys"] == 1
    assert finding.offending["ticker"].tolist() == ["AAA", "AAA"]
    assert finding.offending["trade_date"].tolist() == [TUESDAY, TUESDAY]


@pytest.mark.parametrize(
    "open_, high, low, close",
    [
        (10.0, 9.0, 9.5, 9.6),  # high below low
        (12.0, 11.0, 9.0, 10.0),  # open above high
        (10.0, 11.0, 9.0, 8.0),  # close below low
        (0.0, 11.0, 0.0, 10.0),  # a zero price
        (np.nan, 11.0, 9.0, 10.0),  # a missing price
    ],
)
def test_ohlc_check_fails_on_an_impossible_bar_and_shows_it(open_, high, low, close):
    bars = pd.concat(
        [GOOD_BARS, make_bars([("CCC", TUESDAY, open_, high, low, close, 10.0)])],
        ignore_index=True,
    )

    finding = checks.check_ohlc_consistency(bars)

    assert checks.check_ohlc_consistency(GOOD_BARS).passed
    assert not finding.passed
    assert finding.metadata["inconsistent_rows"] == 1
    assert finding.offending["ticker"].tolist() == ["CCC"]


def test_volume_check_fails_on_negative_volume_and_only_counts_zero_volume():
    bars = pd.concat(
        [GOOD_BARS, make_bars([("CCC", TUESDAY, 5.0, 5.0, 5.0, 5.0, -3.0)])], ignore_index=True
    )

    good = checks.check_volume_non_negative(GOOD_BARS)
    bad = checks.check_volume_non_negative(bars)

    assert good.passed
    assert good.metadata["zero_volume_rows"] == 1
    assert good.metadata["zero_volume_bars"] == ["BBB 2020-03-03"]
    assert not bad.passed
    assert bad.metadata["negative_or_missing_volume_rows"] == 1
    assert bad.offending["volume"].tolist() == [-3.0]


def test_row_count_check_warns_when_a_session_loses_more_than_the_allowed_share():
    counts = {TUESDAY: 70, WEDNESDAY: 69}

    finding = checks.check_row_count_drop(counts, {MONDAY: 100}, max_drop=0.2)

    assert not finding.passed
    assert finding.metadata["days_compared"] == 2
    assert finding.offending.to_dict("records") == [
        {
            "trade_date": "2020-03-03",
            "row_count": 70,
            "previous_row_count": 100,
            "drop_share": 0.3,
        }
    ]


def test_row_count_check_compares_monday_with_friday_and_skips_the_weekend():
    friday, saturday, monday = (pd.Timestamp(d) for d in ["2020-02-28", "2020-02-29", MONDAY])

    finding = checks.check_row_count_drop({saturday: 0, monday: 95}, {friday: 100}, max_drop=0.2)

    assert finding.passed
    assert finding.metadata["days_compared"] == 1


def test_row_count_check_lists_a_day_whose_previous_count_is_unknown_without_judging_it():
    finding = checks.check_row_count_drop({TUESDAY: 1}, {}, max_drop=0.2)

    assert finding.passed
    assert finding.metadata["days_compared"] == 0
    assert finding.metadata["days_without_previous_count"] == ["2020-03-03"]


def test_a_four_for_one_split_explains_a_seventy_five_percent_drop_but_a_crash_stays():
    bars = make_bars(
        [
            ("SPL", MONDAY, 400.0, 400.0, 400.0, 400.0, 1.0),
            ("SPL", TUESDAY, 101.0, 101.0, 101.0, 101.0, 1.0),
            ("CRA", MONDAY, 50.0, 50.0, 50.0, 50.0, 1.0),
            ("CRA", TUESDAY, 20.0, 20.0, 20.0, 20.0, 1.0),
        ]
    )
    splits = make_splits([("SPL", TUESDAY, 1.0, 4.0)])

    moves = checks.find_daily_moves(bars, splits, [TUESDAY], max_move=0.5)
    finding = checks.check_unexplained_moves(moves, max_move=0.5)

    assert sorted(moves["ticker"]) == ["CRA", "SPL"]
    assert not finding.passed
    assert finding.metadata["unexplained_moves"] == 1
    assert finding.metadata["moves_explained_by_split"] == 1
    assert finding.offending["ticker"].tolist() == ["CRA"]
    assert finding.offending["adjusted_move"].tolist() == [-0.6]


def test_a_move_across_a_gap_in_a_tickers_bars_is_not_judged():
    bars = make_bars(
        [
            ("GAP", MONDAY, 10.0, 10.0, 10.0, 10.0, 1.0),
            ("GAP", WEDNESDAY, 30.0, 30.0, 30.0, 30.0, 1.0),
        ]
    )

    moves = checks.find_daily_moves(bars, make_splits([]), [WEDNESDAY], max_move=0.5)

    assert moves.empty


def test_move_check_looks_only_at_the_days_it_is_given():
    bars = make_bars(
        [
            ("OLD", MONDAY, 10.0, 10.0, 10.0, 10.0, 1.0),
            ("OLD", TUESDAY, 30.0, 30.0, 30.0, 30.0, 1.0),
            ("OLD", WEDNESDAY, 31.0, 31.0, 31.0, 31.0, 1.0),
        ]
    )

    moves = checks.find_daily_moves(bars, make_splits([]), [WEDNESDAY], max_move=0.5)

    assert moves.empty


def test_finite_check_counts_rows_and_names_the_feature_that_is_not_finite():
    features = make_features([("AAA", MONDAY), ("BBB", MONDAY), ("CCC", MONDAY)])
    features.loc[1, "volatility_5d"] = np.inf
    features.loc[2, "return_lag1"] = np.nan

    finding = checks.check_features_finite(features)

    assert checks.check_features_finite(features.iloc[[0]]).passed
    assert not finding.passed
    assert finding.metadata["non_finite_rows"] == 2
    assert finding.metadata["non_finite_by_feature"] == {"return_lag1": 1, "volatility_5d": 1}
    assert finding.offending["ticker"].tolist() == ["BBB", "CCC"]


def test_history_check_fails_on_a_row_whose_ticker_has_fewer_sessions_than_the_window():
    days = pd.bdate_range("2020-01-02", periods=21)
    bars = make_bars(
        [("OLD", day, 1.0, 1.0, 1.0, 1.0, 1.0) for day in days]
        + [("NEW", day, 1.0, 1.0, 1.0, 1.0, 1.0) for day in days[-3:]]
    )
    features = make_features([("OLD", days[-1]), ("NEW", days[-1])])

    finding = checks.check_feature_history(features, bars, min_rows=21)

    assert checks.check_feature_history(features.iloc[[0]], bars, min_rows=21).passed
    assert not finding.passed
    assert finding.metadata["short_history_rows"] == 1
    assert finding.offending.to_dict("records") == [
        {"ticker": "NEW", "trade_date": days[-1], "history_rows": 3}
    ]


def make_predictions(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ticker", "trade_date", "probability", "model_version"])
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame["prediction"] = (frame["probability"] >= 0.5).astype("int64")
    frame["in_sample"] = False
    frame["load_date"] = pd.Timestamp("2020-03-03")
    return schema.conform(frame, schema.PREDICTIONS, "test predictions")


def test_probability_check_fails_above_one_below_zero_and_on_missing_values():
    calls = make_predictions(
        [
            ("AAA", MONDAY, 0.4, "v1"),
            ("BBB", MONDAY, 1.2, "v1"),
            ("CCC", MONDAY, -0.1, "v1"),
            ("DDD", MONDAY, np.nan, "v1"),
        ]
    )

    finding = checks.check_probability_range(calls)

    assert checks.check_probability_range(calls.iloc[[0]]).passed
    assert finding.metadata["out_of_range_rows"] == 3
    assert finding.offending["ticker"].tolist() == ["BBB", "CCC", "DDD"]


def test_prediction_coverage_check_reports_missing_extra_and_repeated_calls():
    features = make_features([("AAA", MONDAY), ("BBB", MONDAY)])
    calls = make_predictions(
        [("AAA", MONDAY, 0.4, "v1"), ("AAA", MONDAY, 0.4, "v1"), ("ZZZ", MONDAY, 0.5, "v1")]
    )

    finding = checks.check_one_prediction_per_feature_row(calls, features)
    complete = make_predictions([("AAA", MONDAY, 0.4, "v1"), ("BBB", MONDAY, 0.6, "v1")])

    assert checks.check_one_prediction_per_feature_row(complete, features).passed
    assert not finding.passed
    assert finding.metadata["missing_predictions"] == 1
    assert finding.metadata["predictions_without_features"] == 1
    assert finding.metadata["duplicate_predictions"] == 1
    assert finding.offending[["ticker", "problem"]].values.tolist() == [
        ["BBB", "no prediction"],
        ["ZZZ", "no features"],
        ["AAA", "repeated"],
    ]


def test_model_version_check_fails_on_an_empty_version():
    calls = make_predictions([("AAA", MONDAY, 0.4, "abc123"), ("BBB", MONDAY, 0.6, " ")])

    finding = checks.check_model_version_present(calls)

    assert checks.check_model_version_present(calls.iloc[[0]]).passed
    assert finding.metadata["rows_without_version"] == 1
    assert finding.offending["ticker"].tolist() == ["BBB"]


@pytest.mark.parametrize(
    "accuracy, baseline, roc_auc, passed",
    [
        (0.55, 0.52, 0.56, True),  # better than both
        (0.51, 0.52, 0.56, False),  # below always-up accuracy
        (0.55, 0.52, 0.49, False),  # worse than a coin at ranking
        (0.55, 0.52, float("nan"), False),  # one class only in the holdout
    ],
)
def test_model_must_beat_always_up_and_a_coin(accuracy, baseline, roc_auc, passed):
    finding = checks.check_model_beats_baseline(
        {"accuracy": accuracy, "baseline_up_accuracy": baseline, "roc_auc": roc_auc}
    )

    assert finding.passed is passed
    assert finding.metadata["accuracy_over_baseline"] == pytest.approx(accuracy - baseline)


def test_check_result_fails_blocking_checks_with_error_and_others_with_a_warning():
    finding = checks.check_unique_keys(pd.concat([GOOD_BARS, GOOD_BARS.iloc[[0]]]))
    blocking = checks.spec_named(checks.STOCK_DATA_CHECKS, "stock_data", checks.UNIQUE_KEYS)
    warning = checks.spec_named(checks.STOCK_DATA_CHECKS, "stock_data", checks.ROW_COUNT)

    error_result = checks.check_result(finding, blocking, "2020-03-02")
    warn_result = checks.check_result(finding, warning, "2020-03-02")

    assert error_result.severity.value == "ERROR"
    assert warn_result.severity.value == "WARN"
    assert error_result.metadata["partitions"].value == "2020-03-02"
    assert error_result.metadata["first_offending_rows"].value == [
        {"ticker": "AAA", "trade_date": "2020-03-02"},
        {"ticker": "AAA", "trade_date": "2020-03-02"},
    ]


def test_bars_present_check_names_a_trading_day_without_bars():
    finding = checks.check_sessions_have_bars(GOOD_BARS, [MONDAY, TUESDAY, WEDNESDAY])

    assert checks.check_sessions_have_bars(GOOD_BARS, [MONDAY, TUESDAY]).passed
    assert not finding.passed
    assert finding.metadata["days_without_bars"] == ["2020-03-04"]


def report_model(instance, month: str, accuracy: float, baseline: float, roc_auc: float) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key="rf_model",
            partition=month,
            metadata={
                "accuracy": accuracy,
                "baseline_up_accuracy": baseline,
                "roc_auc": roc_auc,
            },
        )
    )


def test_rf_model_check_scores_the_month_its_run_trained_and_warns_below_always_up(tmp_path):
    from low_assets.assets.rf_model import rf_model
    from low_assets.io_managers import ModelIOManager
    from low_assets.partitions import daily_partitions

    defs = dg.Definitions(
        assets=[rf_model, dg.AssetSpec("features", partitions_def=daily_partitions)],
        asset_checks=[checks.rf_model_beats_baseline],
        jobs=[
            dg.define_asset_job(
                "score", selection=dg.AssetSelection.checks(checks.rf_model_beats_baseline)
            )
        ],
        resources={"model_io_manager": ModelIOManager(base_dir=str(tmp_path))},
    )
    with dg.instance_for_test() as instance:
        report_model(instance, "2020-03-01", accuracy=0.50, baseline=0.53, roc_auc=0.51)
        report_model(instance, "2020-04-01", accuracy=0.56, baseline=0.53, roc_auc=0.55)
        # The tag a train_model run for March carries.
        result = defs.resolve_job_def("score").execute_in_process(
            instance=instance, tags={"dagster/partition": "2020-03-01"}
        )

    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["model_partition"].value == "2020-03-01"
    assert evaluation.metadata["accuracy_over_baseline"].value == pytest.approx(-0.03)
