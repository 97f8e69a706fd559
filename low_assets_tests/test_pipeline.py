"""The whole graph on real sample bars: a few weeks of a few tickers, in one run."""

import hashlib

import dagster as dg
import pandas as pd
import pytest

from low_assets import schema
from low_assets.feature_engine import MIN_HISTORY_ROWS
from low_assets.resources import SampleBarsSource
from low_assets_tests.support import materialize_range, read_table, run_config

TICKERS = ["AAPL", "MSFT", "XOM", "JPM", "PFE", "KO", "TSLA", "CARR", "BRK.B", "VZ"]
FIRST, LAST = "2020-01-02", "2020-03-06"


def sample_rows(first: str, last: str) -> pd.DataFrame:
    source = SampleBarsSource()
    days = pd.date_range(first, last)
    frames = [source.fetch_grouped_daily(day) for day in days]
    rows = pd.concat(frames, ignore_index=True)
    return rows[rows["T"].isin(TICKERS)]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    instance = dg.DagsterInstance.ephemeral()
    result = materialize_range(
        root, FIRST, LAST, config=run_config(tickers=TICKERS), instance=instance
    )
    return root, instance, result


def test_stock_data_holds_every_sample_bar_once_with_fixed_dtypes(pipeline):
    root, _, result = pipeline
    stored = read_table(root, "stock_data")
    expected = sample_rows(FIRST, LAST)

    assert result.success
    assert len(stored) == len(expected) == 45 * 9  # CARR lists only on 2020-03-19
    assert not stored.duplicated(["ticker", "trade_date"]).any()
    assert stored["trade_date"].min() == pd.Timestamp("2020-01-02")
    assert stored["trade_date"].max() == pd.Timestamp("2020-03-06")
    aapl = stored[(stored["ticker"] == "AAPL") & (stored["trade_date"] == "2020-03-06")].iloc[0]
    source_aapl = expected[(expected["T"] == "AAPL")].iloc[-1]
    assert aapl["close"] == source_aapl["c"]
    assert aapl["volume"] == source_aapl["v"]
    conformed = schema.conform(stored, schema.STOCK_DATA, "stock_data")
    assert conformed["vwap"].isna().all()  # the sample has no volume-weighted price


def test_features_start_after_twenty_one_sessions_of_each_ticker(pipeline):
    root, _, _ = pipeline
    stored = read_table(root, "features")

    assert len(stored) == 9 * (45 - (MIN_HISTORY_ROWS - 1))
    assert stored["trade_date"].min() == pd.Timestamp("2020-01-31")
    assert set(stored["ticker"]) == set(TICKERS) - {"CARR"}


def test_predictions_carry_the_stored_models_version(pipeline):
    root, _, _ = pipeline
    stored = read_table(root, "predictions")
    artifact = (root / "models" / "rf_model" / "model.joblib").read_bytes()

    assert len(stored) == len(read_table(root, "features"))
    assert set(stored["model_version"]) == {hashlib.sha256(artifact).hexdigest()[:16]}
    assert stored["probability"].between(0, 1).all()
    assert (stored["prediction"] == (stored["probability"] >= 0.5)).all()


def test_rf_model_metadata_reports_a_chronological_holdout_beside_the_baseline(pipeline):
    _, _, result = pipeline
    metadata = result.asset_materializations_for_node("rf_model")[-1].metadata

    assert metadata["train_end"].value < metadata["test_start"].value
    assert metadata["test_end"].value == "2020-03-05"  # the last day with a next session
    assert 0.0 <= metadata["baseline_up_accuracy"].value <= 1.0
    assert metadata["test_rows"].value + metadata["train_rows"].value <= 9 * 24


def test_rematerialising_partitions_changes_no_row(pipeline):
    root, instance, _ = pipeline
    before = {table: read_table(root, table) for table in ["stock_data", "features"]}

    materialize_range(
        root,
        "2020-02-14",
        "2020-02-14",
        config={"ops": {"stock_data": {"config": {"tickers": TICKERS}}}},
        instance=instance,
        selection=["raw_bars", "stock_data", "rejected_bars", "stock_splits", "features"],
    )
    materialize_range(
        root,
        "2020-02-10",
        "2020-02-21",
        config={"ops": {"stock_data": {"config": {"tickers": TICKERS}}}},
        instance=instance,
        selection=["raw_bars", "stock_data", "rejected_bars", "stock_splits", "features"],
    )

    for table, old in before.items():
        new = read_table(root, table)
        key = ["ticker", "trade_date"]
        pd.testing.assert_frame_equal(
            old.sort_values(key, ignore_index=True), new.sort_values(key, ignore_index=True)
        )
