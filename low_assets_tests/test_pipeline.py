"""The whole graph on real sample bars: four months of ten tickers, as `make run` does it."""

import base64
import hashlib

import dagster as dg
import pandas as pd
import pytest
import sklearn

from low_assets import calendar, schema
from low_assets.feature_engine import MIN_HISTORY_ROWS
from low_assets.resources import SampleBarsSource
from low_assets_tests.support import (
    materialize_range,
    predict_range,
    read_table,
    run_config,
    train_months,
)

TICKERS = ["AAPL", "MSFT", "XOM", "JPM", "PFE", "KO", "TSLA", "CARR", "BRK.B", "VZ"]
FIRST, LAST = "2019-11-01", "2020-03-10"
MONTHS = ["2020-02-01", "2020-03-01"]


def sample_rows(first: str, last: str) -> pd.DataFrame:
    source = SampleBarsSource()
    rows = pd.concat(
        [source.fetch_grouped_daily(day) for day in pd.date_range(first, last)], ignore_index=True
    )
    return rows[rows["T"].isin(TICKERS)]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    instance = dg.DagsterInstance.ephemeral()
    history = materialize_range(
        root, FIRST, LAST, config=run_config(tickers=TICKERS), instance=instance
    )
    models = train_months(root, MONTHS, instance=instance)
    calls = predict_range(root, FIRST, LAST, instance=instance)
    return root, instance, history, models, calls


def test_stock_data_holds_every_sample_bar_once_with_fixed_dtypes(pipeline):
    root, *_ = pipeline
    stored = read_table(root, "stock_data")
    expected = sample_rows(FIRST, LAST)

    sessions = expected["t"].nunique()
    assert sessions == len(calendar.trading_days(FIRST, LAST)) == 88
    assert len(stored) == len(expected) == 9 * sessions  # CARR lists only on 2020-03-19
    assert not stored.duplicated(["ticker", "trade_date"]).any()
    assert stored["trade_date"].min() == pd.Timestamp("2019-11-01")
    assert stored["trade_date"].max() == pd.Timestamp("2020-03-10")
    aapl = stored[(stored["ticker"] == "AAPL") & (stored["trade_date"] == "2020-03-10")].iloc[0]
    source_aapl = expected[(expected["T"] == "AAPL")].iloc[-1]
    assert aapl["close"] == source_aapl["c"] == 285.34
    assert aapl["volume"] == source_aapl["v"]
    conformed = schema.conform(stored, schema.STOCK_DATA, "stock_data")
    assert conformed["vwap"].isna().all()  # the sample has no volume-weighted price


def test_features_start_after_twenty_one_sessions_of_each_ticker(pipeline):
    root, *_ = pipeline
    stored = read_table(root, "features")

    assert len(stored) == 9 * (88 - (MIN_HISTORY_ROWS - 1))
    assert stored["trade_date"].min() == pd.Timestamp("2019-12-02")
    assert set(stored["ticker"]) == set(TICKERS) - {"CARR"}


def test_each_day_is_predicted_by_the_model_of_its_month(pipeline):
    root, _, _, models, _ = pipeline
    stored = read_table(root, "predictions")
    versions = {
        month: hashlib.sha256(
            (root / "models" / "rf_model" / month / "model.joblib").read_bytes()
        ).hexdigest()[:16]
        for month in MONTHS
    }

    # Days before February 2020 have no model; February and March days have one each.
    assert stored["trade_date"].min() == pd.Timestamp("2020-02-03")
    assert len(stored) == 9 * (19 + 7)  # 19 sessions in February, 7 in March up to the 10th
    month = stored["trade_date"].dt.strftime("%Y-%m-01")
    assert (stored["model_version"] == month.map(versions)).all()
    assert not stored["in_sample"].any()
    assert stored["probability"].between(0, 1).all()
    assert (stored["prediction"] == (stored["probability"] >= 0.5)).all()


def test_no_prediction_comes_from_a_model_trained_on_its_day_or_later(pipeline):
    root, _, _, models, _ = pipeline
    stored = read_table(root, "predictions")
    train_end = {
        result.asset_materializations_for_node("rf_model")[0].partition: pd.Timestamp(
            result.asset_materializations_for_node("rf_model")[0].metadata["train_end"].value
        )
        for result in models
    }

    month = stored["trade_date"].dt.strftime("%Y-%m-01")
    assert (month.map(train_end) < stored["trade_date"]).all()
    # February's model ends on the last session whose label was known before February.
    assert train_end["2020-02-01"] == pd.Timestamp("2020-01-30")


def test_rematerialising_partitions_changes_no_row(pipeline):
    root, instance, *_ = pipeline
    before = {table: read_table(root, table) for table in ["stock_data", "features"]}

    for first, last in [("2020-02-14", "2020-02-14"), ("2020-02-10", "2020-02-21")]:
        materialize_range(root, first, last, config=run_config(tickers=TICKERS), instance=instance)

    for table, old in before.items():
        new = read_table(root, table)
        key = ["ticker", "trade_date"]
        pd.testing.assert_frame_equal(
            old.sort_values(key, ignore_index=True), new.sort_values(key, ignore_index=True)
        )


def test_the_model_card_carries_provenance_walk_forward_metrics_and_pictures(pipeline):
    root, _, _, models, _ = pipeline
    march = models[-1].asset_materializations_for_node("rf_model")[0]
    card = {key: entry.value for key, entry in march.metadata.items()}
    artifact = (root / "models" / "rf_model" / "2020-03-01" / "model.joblib").read_bytes()

    assert card["artifact_sha256"] == hashlib.sha256(artifact).hexdigest()
    assert card["sklearn_version"] == sklearn.__version__
    assert card["random_seed"] == 42
    assert card["train_end"] == "2020-02-27"
    assert card["folds"] == 2
    assert card["test_end"] == "2020-02-27"
    assert card["hyperparameters"]["n_estimators"] == 20
    for key in ["roc_auc", "accuracy", "log_loss", "rank_ic_mean", "baseline_up_accuracy"]:
        assert 0 <= abs(card[key]) <= 10, key
    for picture in ["roc_curve", "calibration_curve", "feature_importances", "winners_vs_losers"]:
        prefix = "data:image/png;base64,"
        encoded = card[picture].split(prefix, 1)[1].rstrip(")")
        assert base64.b64decode(encoded)[:8] == b"\x89PNG\r\n\x1a\n", picture


def test_outcomes_score_each_call_against_its_next_session(pipeline):
    root, *_, calls = pipeline
    outcomes = read_table(root, "prediction_outcomes")
    features = read_table(root, "features").set_index(["ticker", "trade_date"])

    # Every call but those of the last stored session has an outcome.
    assert len(outcomes) == len(read_table(root, "predictions")) - 9
    friday = outcomes[outcomes["trade_date"] == pd.Timestamp("2020-02-14")]
    assert len(friday) == 9
    assert (friday["next_trade_date"] == pd.Timestamp("2020-02-18")).all()
    for row in friday.itertuples():
        expected = features.loc[(row.ticker, pd.Timestamp("2020-02-18")), "return_lag1"]
        assert row.actual_return == expected
        assert row.correct == ((row.prediction == 1) == (expected > 0))
    scorecard = calls.asset_materializations_for_node("prediction_outcomes")[-1].metadata
    # The rolling view ends on 2020-03-09, the last day with an outcome: 20 sessions from 02-10.
    last_twenty = outcomes[outcomes["trade_date"] >= pd.Timestamp("2020-02-10")]
    assert last_twenty["trade_date"].nunique() == 20
    assert scorecard["hit_rate_20d"].value == pytest.approx(last_twenty["correct"].mean(), abs=1e-6)
