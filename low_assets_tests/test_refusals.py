"""Runs that would replace good stored data with nothing, or with records that cannot be used,
fail before writing and leave what was stored."""

import dagster as dg
import pandas as pd
import pytest

from low_assets import schema
from low_assets.assets.stock_splits import stock_splits
from low_assets.resources import SampleBarsSource
from low_assets_tests.support import (
    HISTORY_ASSETS,
    local_resources,
    materialize_range,
    read_table,
    run_config,
)

INGESTION = ["raw_bars", "stock_data", "rejected_bars"]


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    error = result.get_step_failure_events()[0].step_failure_data.error
    return error.message + (error.cause.message if error.cause else "")


@pytest.mark.parametrize("tickers", [["NOPE"], ["NOPE", "ZZZZZ"]])
def test_a_ticker_universe_matching_nothing_fails_and_keeps_the_stored_bars(tmp_path, tickers):
    instance = dg.DagsterInstance.ephemeral()
    materialize_range(tmp_path, "2021-04-19", "2021-04-20", selection=INGESTION, instance=instance)
    before = read_table(tmp_path, "stock_data")

    result = materialize_range(
        tmp_path,
        "2021-04-19",
        "2021-04-20",
        selection=INGESTION,
        config=run_config(tickers=tickers),
        instance=instance,
        raise_on_error=False,
    )

    assert not result.success
    message = failure_message(result)
    assert "stock_data 2021-04-19, 2021-04-20" in message
    assert f"none of the configured tickers ({', '.join(sorted(tickers))})" in message
    after = read_table(tmp_path, "stock_data")
    assert len(before) == len(after) == 503 * 2
    pd.testing.assert_frame_equal(before, after)


class SplitsWithABadRatio(SampleBarsSource):
    def fetch_splits(self, since: pd.Timestamp) -> pd.DataFrame:
        good = super().fetch_splits(since)
        bad = pd.DataFrame(
            {
                "ticker": ["AAPL"],
                "execution_date": [pd.Timestamp("2021-04-22")],
                "split_from": [0.0],
                "split_to": [4.0],
            }
        )
        return schema.conform(pd.concat([good, bad]), schema.SPLITS, "splits")


def test_a_split_record_with_a_zero_ratio_fails_and_keeps_the_stored_records(tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([stock_splits], resources=local_resources(tmp_path), instance=instance)
    before = read_table(tmp_path, "stock_splits")

    result = dg.materialize(
        [stock_splits],
        resources=local_resources(tmp_path, SplitsWithABadRatio()),
        instance=instance,
        raise_on_error=False,
    )

    assert not result.success
    message = failure_message(result)
    assert "1 split record(s) without a ticker, a date or a positive ratio" in message
    assert "'AAPL'" in message
    pd.testing.assert_frame_equal(before, read_table(tmp_path, "stock_splits"))
    assert len(before) == 12


def test_features_over_a_lookback_with_missing_sessions_warn_naming_them(tmp_path):
    # Only the last week of the sample is ingested: the 45-day lookback of 2021-04-21 is not.
    result = materialize_range(tmp_path, "2021-04-15", "2021-04-21", assets=HISTORY_ASSETS)

    evaluation = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_check_key.name == "lookback_complete"
    )
    assert result.success
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    # From 2021-03-01 (45 days before 2021-04-15) to 2021-04-14: 32 sessions, 2021-04-02 closed.
    assert evaluation.metadata["sessions_missing"].value[0] == "2021-03-01"
    assert "32 of 37 sessions read have no stock_data bars" in evaluation.description
