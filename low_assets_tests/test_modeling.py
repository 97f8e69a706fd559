import numpy as np
import pandas as pd

from low_assets.modeling import add_next_day_labels, evaluate, split_by_date, train_model
from low_assets.schema import FEATURE_COLUMNS


def frame(rows):
    """rows of (ticker, trade_date, return_lag1); other features zero."""
    out = pd.DataFrame(rows, columns=["ticker", "trade_date", "return_lag1"])
    out["trade_date"] = pd.to_datetime(out["trade_date"])
    for column in FEATURE_COLUMNS:
        if column != "return_lag1":
            out[column] = 0.0
    return out


def test_label_is_the_same_tickers_next_session_direction():
    # Friday 2021-01-08, then Monday 2021-01-11: the weekend does not break the link.
    features = frame(
        [
            ("UP", "2021-01-08", 0.00),
            ("UP", "2021-01-11", 0.02),
            ("DOWN", "2021-01-08", 0.05),
            ("DOWN", "2021-01-11", -0.01),
        ]
    )

    labelled = add_next_day_labels(features).set_index(["ticker", "trade_date"])

    assert labelled.loc[("UP", pd.Timestamp("2021-01-08")), "label"] == 1.0
    assert labelled.loc[("DOWN", pd.Timestamp("2021-01-08")), "label"] == 0.0
    assert labelled.loc[("DOWN", pd.Timestamp("2021-01-08")), "next_day_return"] == -0.01
    # The last day has no next session yet.
    assert np.isnan(labelled.loc[("UP", pd.Timestamp("2021-01-11")), "label"])


def test_label_is_unknown_when_the_ticker_skips_the_next_session():
    # 2021-01-15 is followed by the 19th (the 18th is Martin Luther King Day); GAP has no row then.
    features = frame(
        [
            ("GAP", "2021-01-15", 0.0),
            ("GAP", "2021-01-20", 0.03),
            ("ALL", "2021-01-15", 0.0),
            ("ALL", "2021-01-19", 0.01),
        ]
    )

    labelled = add_next_day_labels(features).set_index(["ticker", "trade_date"])

    assert np.isnan(labelled.loc[("GAP", pd.Timestamp("2021-01-15")), "label"])
    assert labelled.loc[("ALL", pd.Timestamp("2021-01-15")), "label"] == 1.0


def test_split_by_date_tests_on_the_latest_dates_after_an_embargo():
    dates = pd.Series(pd.bdate_range("2021-03-01", periods=10)).repeat(3)

    split = split_by_date(dates, test_fraction=0.3, embargo_days=1)

    assert list(split.test_dates) == list(pd.bdate_range("2021-03-10", periods=3))
    assert list(split.train_dates) == list(pd.bdate_range("2021-03-01", periods=6))
    assert split.train_dates.max() < split.test_dates.min()


def test_evaluate_reports_the_always_up_baseline_on_the_same_rows():
    y = np.array([1, 1, 1, 0])
    probability = np.array([0.9, 0.8, 0.4, 0.1])

    metrics = evaluate(y, probability)

    assert metrics["baseline_up_accuracy"] == 0.75
    assert metrics["accuracy"] == 0.75
    assert metrics["roc_auc"] == 1.0


def test_training_never_sees_a_test_date_and_learns_a_planted_signal():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2021-01-04", periods=60)
    dates = dates[dates != pd.Timestamp("2021-01-18")]
    rows = []
    for ticker in [f"T{k}" for k in range(30)]:
        for day in dates:
            rows.append((ticker, day, rng.normal(0, 0.01)))
    features = frame(rows)
    # Plant a signal: momentum_5d tells tomorrow's direction exactly.
    labelled = add_next_day_labels(features)
    features["momentum_5d"] = np.sign(labelled["next_day_return"].fillna(0.0))

    model = train_model(
        features,
        train_window_days=100,
        test_fraction=0.25,
        estimator_params={"n_estimators": 20, "max_depth": 3, "random_state": 0},
    )

    assert model.train_end < model.test_start
    assert model.metrics["roc_auc"] > 0.95
    assert model.metrics["test_rows"] == 30 * 14
