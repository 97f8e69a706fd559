import numpy as np
import pandas as pd
import pytest

from low_assets.modeling import (
    add_next_day_labels,
    predict,
    train_with_walk_forward,
    training_rows,
)
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


def planted_market(days: int = 60, tickers: int = 30, seed: int = 0) -> pd.DataFrame:
    """Random returns, with momentum_5d set to tomorrow's direction: a signal a model can learn."""
    rng = np.random.default_rng(seed)
    dates = [
        d for d in pd.bdate_range("2021-01-04", periods=days) if d != pd.Timestamp("2021-01-18")
    ]
    rows = [(f"T{k}", day, rng.normal(0, 0.01)) for k in range(tickers) for day in dates]
    features = frame(rows)
    labelled = add_next_day_labels(features)
    features["momentum_5d"] = np.sign(labelled["next_day_return"].fillna(0.0))
    return features


FOREST = {"n_estimators": 20, "max_depth": 3, "random_state": 0, "n_jobs": 1}


def test_training_rows_hold_only_labels_known_before_the_month():
    features = planted_market()
    month = pd.Timestamp("2021-03-01")

    rows = training_rows(features, before=month, window_days=250)

    # The last row dated before March is Friday 2021-02-26; its label needs Monday's close.
    assert rows["trade_date"].max() == pd.Timestamp("2021-02-25")
    assert rows["label"].notna().all()
    assert rows["trade_date"].nunique() == 38


def test_walk_forward_scores_the_planted_signal_and_fits_on_every_row():
    rows = training_rows(planted_market(), before=pd.Timestamp("2021-04-01"), window_days=250)

    model, report = train_with_walk_forward(
        rows, kind="random_forest", params=FOREST, n_folds=3, fold_days=10, min_train_days=10
    )

    assert len(report.folds) == 3
    assert (report.folds["train_end"] < report.folds["test_start"]).all()
    assert report.overall["roc_auc"] > 0.95
    assert report.overall["rows"] == 30 * 30
    assert model.train_start == rows["trade_date"].min()
    assert model.train_end == rows["trade_date"].max()
    assert model.train_rows == len(rows)


def test_the_same_rows_and_seed_give_the_same_probabilities_to_the_last_digit():
    rows = training_rows(planted_market(seed=3), before=pd.Timestamp("2021-04-01"), window_days=250)
    params = {**FOREST, "max_samples": 0.5, "n_jobs": 2}
    kwargs = dict(kind="random_forest", params=params, n_folds=0, fold_days=10, min_train_days=10)

    first, _ = train_with_walk_forward(rows, **kwargs)
    second, _ = train_with_walk_forward(rows, **kwargs)
    for model in (first, second):
        model.artifact_sha256 = "0" * 64

    np.testing.assert_array_equal(
        predict(first, rows)["probability"].to_numpy(),
        predict(second, rows)["probability"].to_numpy(),
    )


def test_a_model_trained_on_other_features_is_refused():
    rows = training_rows(planted_market(), before=pd.Timestamp("2021-04-01"), window_days=250)
    model, _ = train_with_walk_forward(
        rows, kind="random_forest", params=FOREST, n_folds=0, fold_days=10, min_train_days=10
    )
    model.artifact_sha256 = "ab" * 32
    model.feature_names = [*model.feature_names[:-1], "volume_change_5d"]

    with pytest.raises(ValueError, match="volume_change_5d.*rematerialise rf_model"):
        predict(model, rows)


def test_another_estimator_is_a_configuration_choice():
    rows = training_rows(planted_market(), before=pd.Timestamp("2021-04-01"), window_days=250)

    model, report = train_with_walk_forward(
        rows,
        kind="hist_gradient_boosting",
        params={"max_iter": 30, "max_depth": 3, "random_state": 0},
        n_folds=2,
        fold_days=10,
        min_train_days=10,
    )

    assert type(model.estimator).__name__ == "HistGradientBoostingClassifier"
    assert report.overall["roc_auc"] > 0.95
    with pytest.raises(ValueError, match="'xgboost' is not one of"):
        train_with_walk_forward(
            rows, kind="xgboost", params={}, n_folds=0, fold_days=10, min_train_days=10
        )
