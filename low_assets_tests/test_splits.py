import numpy as np
import pandas as pd
import pytest

from low_assets.splits import adjust_for_splits, split_factors


def bars(rows):
    return pd.DataFrame(rows, columns=["ticker", "trade_date", "close", "volume"]).astype(
        {"trade_date": "datetime64[ns]"}
    )


def splits(rows):
    return pd.DataFrame(
        rows, columns=["ticker", "execution_date", "split_from", "split_to"]
    ).astype({"execution_date": "datetime64[ns]"})


@pytest.mark.parametrize(
    ("split_from", "split_to", "factor"),
    [
        (1, 4, 4.0),  # AAPL 4-for-1
        (3, 1, 1 / 3),  # DD 1-for-3 reverse split
        (1, 1.589, 1.589),  # RTX spin-off adjustment factor
    ],
)
def test_days_before_a_split_are_divided_by_its_ratio(split_from, split_to, factor):
    frame = bars([("X", "2020-08-28", 100.0, 10.0), ("X", "2020-08-31", 25.0, 40.0)])
    records = splits([("X", "2020-08-31", split_from, split_to)])

    np.testing.assert_allclose(split_factors(frame, records), [factor, 1.0], rtol=1e-15)
    adjusted = adjust_for_splits(frame, records)
    assert adjusted["close_adjusted"].iloc[0] == pytest.approx(100.0 / factor, rel=1e-15)
    assert adjusted["volume_adjusted"].iloc[0] == pytest.approx(10.0 * factor, rel=1e-15)


def test_successive_splits_multiply_and_other_tickers_are_untouched():
    frame = bars(
        [
            ("X", "2020-01-02", 600.0, 1.0),
            ("X", "2020-06-01", 300.0, 1.0),
            ("X", "2020-12-01", 100.0, 1.0),
            ("Y", "2020-01-02", 50.0, 1.0),
        ]
    )
    records = splits([("X", "2020-03-02", 1, 2), ("X", "2020-09-01", 1, 3)])

    np.testing.assert_allclose(split_factors(frame, records), [6.0, 3.0, 1.0, 1.0])


def test_a_split_recorded_after_a_day_was_stored_still_adjusts_that_day():
    stored_before_announcement = bars([("X", "2021-03-04", 120.0, 5.0)])
    records = splits([("X", "2021-03-05", 1, 2)])

    adjusted = adjust_for_splits(stored_before_announcement, records)

    assert adjusted["close_adjusted"].iloc[0] == 60.0


def test_bars_keep_their_order_and_no_splits_means_factor_one():
    frame = bars([("B", "2020-01-03", 1.0, 1.0), ("A", "2020-01-02", 1.0, 1.0)])

    np.testing.assert_array_equal(split_factors(frame, splits([])), [1.0, 1.0])
    records = splits([("A", "2020-01-03", 1, 5)])
    np.testing.assert_array_equal(split_factors(frame, records), [1.0, 5.0])


def test_each_ticker_gets_only_its_own_splits_whatever_the_order():
    frame = bars(
        [
            ("Y", "2020-06-01", 1.0, 1.0),
            ("X", "2020-01-02", 1.0, 1.0),
            ("Z", "2020-01-02", 1.0, 1.0),
            ("Y", "2020-01-02", 1.0, 1.0),
            ("X", "2020-06-01", 1.0, 1.0),
        ]
    )
    # Y's split is on a day between X's two, and Z has none; W has no bars at all.
    records = splits(
        [
            ("Y", "2020-03-02", 1, 5),
            ("X", "2020-09-01", 1, 3),
            ("X", "2020-02-03", 1, 2),
            ("W", "2020-04-01", 1, 7),
        ]
    )

    np.testing.assert_array_equal(split_factors(frame, records), [1.0, 6.0, 1.0, 5.0, 3.0])
