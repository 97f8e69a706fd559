import numpy as np
import pandas as pd
import pytest

from low_assets.evaluation import (
    bootstrap_intervals,
    daily_rank_ic,
    join_outcomes,
    rolling_scorecard,
    score_predictions,
    sessions_behind_always_up,
    walk_forward_folds,
)


def scored(rows):
    """rows of (trade_date, ticker, label, probability, next_day_return, return_lag1)."""
    out = pd.DataFrame(
        rows,
        columns=["trade_date", "ticker", "label", "probability", "next_day_return", "return_lag1"],
    )
    out["trade_date"] = pd.to_datetime(out["trade_date"])
    return out


HAND_MADE = scored(
    [
        ("2021-03-01", "A", 1, 0.7, 0.02, 0.01),
        ("2021-03-01", "B", 0, 0.4, -0.01, -0.02),
        ("2021-03-01", "C", 1, 0.6, 0.01, -0.01),
        ("2021-03-02", "A", 0, 0.6, -0.03, 0.02),
        ("2021-03-02", "B", 1, 0.3, 0.01, -0.01),
        ("2021-03-02", "C", 1, 0.55, 0.02, 0.01),
    ]
)


@pytest.mark.parametrize(("n_folds", "fold_days", "embargo"), [(4, 5, 1), (3, 10, 2), (1, 20, 1)])
def test_walk_forward_folds_never_train_on_or_after_their_test_block(n_folds, fold_days, embargo):
    dates = pd.Series(pd.bdate_range("2021-01-04", periods=60)).repeat(2)

    folds = walk_forward_folds(
        dates, n_folds=n_folds, fold_days=fold_days, embargo_days=embargo, min_train_days=5
    )

    assert len(folds) == n_folds
    unique = pd.bdate_range("2021-01-04", periods=60)
    for fold in folds:
        assert len(fold.test_dates) == fold_days
        first_test = unique.get_loc(fold.test_dates[0])
        assert unique.get_loc(fold.train_dates[-1]) == first_test - embargo - 1
    assert folds[-1].test_dates[-1] == unique[-1]
    assert [f.test_dates[0] for f in folds] == sorted(f.test_dates[0] for f in folds)


def test_folds_without_enough_training_dates_are_dropped():
    dates = pd.Series(pd.bdate_range("2021-01-04", periods=30))

    folds = walk_forward_folds(dates, n_folds=4, fold_days=10, embargo_days=1, min_train_days=5)

    # Blocks would start at sessions -10 (train 19), 10 (train 9) and 0 (train -1): two remain.
    assert [len(f.train_dates) for f in folds] == [9, 19]


def test_rank_ic_of_the_next_day_return_itself_is_one_and_of_its_negative_minus_one():
    rng = np.random.default_rng(1)
    frame = scored(
        [
            (day, f"T{k}", 0, 0.5, rng.normal(), 0.0)
            for day in ["2021-03-01", "2021-03-02", "2021-03-03"]
            for k in range(8)
        ]
    )

    perfect = daily_rank_ic(frame.assign(probability=frame["next_day_return"]))
    inverse = daily_rank_ic(frame.assign(probability=-frame["next_day_return"]))

    np.testing.assert_allclose(perfect.to_numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(inverse.to_numpy(), [-1.0, -1.0, -1.0])


def test_baselines_on_a_hand_made_frame():
    metrics = score_predictions(HAND_MADE)

    # Labels 1,0,1,0,1,1: always up is right 4 times of 6.
    assert metrics["baseline_up_accuracy"] == pytest.approx(4 / 6)
    # Yesterday up (return_lag1 > 0) for rows 1 and 4 and 6: right on rows 1, 2, 6 -> 3 of 6.
    assert metrics["baseline_yesterday_accuracy"] == pytest.approx(3 / 6)
    # The model calls up for 0.7, 0.6, 0.6, 0.55: right on rows 1, 2, 3, 6 -> 4 of 6.
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    # Day 1 ranks match exactly; day 2 ranks probability (3,1,2) vs return (1,2,3): rho = -0.5.
    assert metrics["rank_ic_mean"] == pytest.approx((1.0 - 0.5) / 2)
    assert metrics["dates"] == 2


def test_bootstrap_interval_brackets_the_point_estimate_and_is_reproducible():
    rng = np.random.default_rng(2)
    rows = []
    for day in pd.bdate_range("2021-01-04", periods=40):
        for k in range(20):
            ret = rng.normal(0, 0.01)
            rows.append((day, f"T{k}", int(ret > 0), 0.5 + 10 * ret + rng.normal(0, 0.1), ret, 0.0))
    frame = scored(rows)

    first = bootstrap_intervals(frame, samples=100, seed=5)
    again = bootstrap_intervals(frame, samples=100, seed=5)
    point = score_predictions(frame)

    assert first == again
    assert first["roc_auc_low"] < point["roc_auc"] < first["roc_auc_high"]
    assert first["rank_ic_low"] < point["rank_ic_mean"] < first["rank_ic_high"]


def test_outcomes_join_the_next_session_across_a_weekend_and_a_holiday():
    # Friday 2020-02-14 is followed by Tuesday 2020-02-18 (Presidents' Day); Tuesday by Wednesday.
    calls = pd.DataFrame(
        {
            "trade_date": pd.to_datetime(["2020-02-14", "2020-02-14", "2020-02-18"]),
            "ticker": ["A", "B", "A"],
            "probability": [0.6, 0.4, 0.7],
            "prediction": [1, 0, 1],
            "model_version": "v1",
            "in_sample": [False, False, True],
        }
    )
    returns = pd.DataFrame(
        {
            "ticker": ["A", "B", "A", "B", "A"],
            "trade_date": pd.to_datetime(
                ["2020-02-14", "2020-02-14", "2020-02-18", "2020-02-18", "2020-02-19"]
            ),
            "return_lag1": [0.01, -0.02, -0.03, 0.04, 0.05],
        }
    )

    outcomes = join_outcomes(calls, returns).set_index("ticker")

    # The in-sample call of the 18th is not scored.
    assert list(outcomes.index) == ["A", "B"]
    assert (outcomes["next_trade_date"] == pd.Timestamp("2020-02-18")).all()
    assert outcomes.loc["A", "actual_return"] == -0.03
    assert not outcomes.loc["A", "correct"]  # called up, went down
    assert outcomes.loc["B", "actual_return"] == 0.04
    assert not outcomes.loc["B", "correct"]  # called down, went up
    assert outcomes.loc["A", "return_lag1"] == 0.01


def test_rolling_scorecard_counts_sessions_behind_always_up():
    days = pd.bdate_range("2021-03-01", periods=4)
    # Every day both tickers rise; the model calls one of them down on the last three days.
    outcomes = pd.DataFrame(
        {
            "trade_date": np.repeat(days, 2),
            "ticker": ["A", "B"] * 4,
            "probability": [0.9, 0.8, 0.9, 0.2, 0.9, 0.2, 0.9, 0.2],
            "actual_return": [0.01, 0.02] * 4,
            "return_lag1": [0.01] * 8,
        }
    )
    outcomes["actual_up"] = outcomes["actual_return"] > 0
    outcomes["correct"] = (outcomes["probability"] >= 0.5) == outcomes["actual_up"]

    card = rolling_scorecard(outcomes, window=2)

    assert card["hit_rate"].tolist() == [1.0, 0.75, 0.5, 0.5]
    assert card["always_up_hit_rate"].tolist() == [1.0] * 4
    assert card["sessions"].tolist() == [1, 2, 2, 2]
    assert sessions_behind_always_up(card) == 3
