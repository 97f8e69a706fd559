import numpy as np
import pandas as pd
import pytest

from benchmarks.reference_features import reference_features
from low_assets import calendar, schema
from low_assets.feature_engine import MIN_HISTORY_ROWS, compute_features

SESSIONS = calendar.trading_days("2021-01-04", "2021-03-31")
NO_SPLITS = schema.empty(schema.SPLITS)


def bars_for(ticker: str, sessions: pd.DatetimeIndex, closes, volumes) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticker": ticker,
            "trade_date": sessions,
            "close": np.asarray(closes, dtype=float),
            "volume": np.asarray(volumes, dtype=float),
        }
    )


@pytest.fixture
def market() -> pd.DataFrame:
    """Three tickers interleaved by date, as the warehouse returns them.

    RISE: 25 sessions, closes 100, 101, ..., 124, a constant 1000 shares a day.
    LATE: lists on the 5th session, 21 sessions of closes 50, 49, ...; no shares trade on its
          20th session.
    NEW:  only 10 sessions, too few for any feature row.
    """
    rise = bars_for("RISE", SESSIONS[:25], 100 + np.arange(25), np.full(25, 1000))
    late_volumes = np.full(21, 500.0)
    late_volumes[19] = 0.0
    late = bars_for("LATE", SESSIONS[4:25], 50 - np.arange(21), late_volumes)
    new = bars_for("NEW", SESSIONS[15:25], np.full(10, 10.0), np.full(10, 10))
    return pd.concat([rise, late, new]).sort_values(["trade_date", "ticker"], ignore_index=True)


def row(features: pd.DataFrame, ticker: str, session_index: int) -> pd.Series:
    match = features[
        (features["ticker"] == ticker) & (features["trade_date"] == SESSIONS[session_index])
    ]
    assert len(match) == 1, f"expected one row for {ticker} on session {session_index}"
    return match.iloc[0]


def test_rows_start_once_a_ticker_has_twenty_one_sessions_of_history(market):
    features = compute_features(market, NO_SPLITS)

    counts = features.groupby("ticker").size().to_dict()
    assert counts == {"RISE": 25 - (MIN_HISTORY_ROWS - 1), "LATE": 1}
    assert features[features["ticker"] == "RISE"]["trade_date"].min() == SESSIONS[20]
    assert list(features.columns) == list(schema.FEATURES)


def test_price_features_of_a_steady_rise_match_hand_computed_values(market):
    features = compute_features(market, NO_SPLITS)
    i = 24  # the close is 124
    got = row(features, "RISE", i)

    assert got["return_lag1"] == pytest.approx(124 / 123 - 1, abs=1e-12)
    assert got["momentum_5d"] == pytest.approx(124 / 119 - 1, abs=1e-12)
    # The 20 closes 105..124 average 114.5, the 5 closes 120..124 average 122.
    assert got["ma5_ma20_diff"] == pytest.approx(122 / 114.5 - 1, abs=1e-12)
    assert got["price_above_ma20"] == 1.0
    returns = np.array([(100 + k) / (99 + k) - 1 for k in range(1, 25)])
    assert got["volatility_5d"] == pytest.approx(np.std(returns[-5:], ddof=1), abs=1e-12)
    assert got["volatility_20d"] == pytest.approx(np.std(returns[-20:], ddof=1), abs=1e-12)


def test_calendar_features_come_from_the_session_date(market):
    got = row(compute_features(market, NO_SPLITS), "RISE", 20)

    # The 21st session of 2021 from January 4, after New Year and Martin Luther King Day.
    assert SESSIONS[20] == pd.Timestamp("2021-02-02")
    assert got["weekday"] == 1.0  # a Tuesday
    assert got["day_of_month"] == 2.0


def test_constant_volume_gives_ratio_one_and_no_change(market):
    got = row(compute_features(market, NO_SPLITS), "RISE", 22)

    assert got["volume_ratio_20"] == pytest.approx(1.0, abs=1e-12)
    assert got["volume_change_1d"] == pytest.approx(0.0, abs=1e-12)


def test_a_zero_volume_yesterday_gives_a_finite_volume_change(market):
    # LATE's only feature row is its 21st session; the session before it traded no shares.
    got = row(compute_features(market, NO_SPLITS), "LATE", 24)

    assert got["volume_change_1d"] == pytest.approx(np.log1p(500.0), abs=1e-12)
    # The 20 sessions up to this one hold nineteen 500-share days and one zero: mean 475.
    assert got["volume_ratio_20"] == pytest.approx(500 / 475, abs=1e-12)
    assert np.isfinite(got[schema.FEATURE_COLUMNS].to_numpy(dtype=float)).all()


def test_a_late_listed_ticker_uses_only_its_own_rows(market):
    got = row(compute_features(market, NO_SPLITS), "LATE", 24)

    # LATE closes 50, 49, ..., 30: the last return is 30/31 - 1 and the close sits below its mean.
    assert got["return_lag1"] == pytest.approx(30 / 31 - 1, abs=1e-12)
    assert got["momentum_5d"] == pytest.approx(30 / 35 - 1, abs=1e-12)
    assert got["price_above_ma20"] == 0.0


def test_rows_do_not_change_when_later_sessions_are_added(market):
    full = compute_features(market, NO_SPLITS)
    cutoff = SESSIONS[22]
    truncated = compute_features(market[market["trade_date"] <= cutoff], NO_SPLITS)

    earlier = full[full["trade_date"] <= cutoff].reset_index(drop=True)
    pd.testing.assert_frame_equal(earlier, truncated)


def test_the_order_rows_arrive_in_does_not_change_the_features(market):
    shuffled = market.sample(frac=1.0, random_state=7)

    pd.testing.assert_frame_equal(
        compute_features(market, NO_SPLITS), compute_features(shuffled, NO_SPLITS)
    )


def test_a_four_for_one_split_is_not_a_crash():
    # As traded: 500, 504, then 126 after a 4-for-1 split, then 127.
    closes = list(np.linspace(480, 500, 21)) + [504.0, 126.0, 127.0]
    bars = bars_for("AAPL", SESSIONS[:24], closes, np.full(24, 1e6))
    split_day = SESSIONS[22]
    splits = pd.DataFrame(
        {"ticker": ["AAPL"], "execution_date": [split_day], "split_from": [1.0], "split_to": [4.0]}
    )

    features = compute_features(bars, splits)
    on_split_day = features[features["trade_date"] == split_day].iloc[0]

    assert on_split_day["return_lag1"] == pytest.approx(126 / (504 / 4) - 1, abs=1e-12)
    assert on_split_day["return_lag1"] == pytest.approx(0.0, abs=1e-12)
    unadjusted = compute_features(bars, NO_SPLITS)
    assert unadjusted[unadjusted["trade_date"] == split_day].iloc[0]["return_lag1"] == (
        pytest.approx(-0.75, abs=1e-12)
    )


@pytest.fixture
def varied_market() -> pd.DataFrame:
    """Five tickers over 60 sessions, shuffled: random walks on a cent grid, one that halts
    (the same close and no volume for 25 sessions), one that lists late, and two with splits."""
    rng = np.random.default_rng(11)
    sessions = calendar.trading_days("2021-01-04", "2021-04-30")[:60]
    frames = []
    for ticker, start in [("AAA", 0), ("BBB", 0), ("HALT", 0), ("LATE", 30), ("SPLT", 0)]:
        days = sessions[start:]
        closes = np.round(50 * np.exp(np.cumsum(rng.normal(0, 0.02, len(days)))), 2)
        volumes = np.round(rng.uniform(1e3, 1e6, len(days)))
        if ticker == "HALT":
            closes[20:45], volumes[20:45] = closes[19], 0.0
        frames.append(bars_for(ticker, days, closes, volumes))
    splits = pd.DataFrame(
        {
            "ticker": ["SPLT", "SPLT", "AAA", "ZZZ"],
            "execution_date": [sessions[25], sessions[40], sessions[50], sessions[10]],
            "split_from": [1.0, 3.0, 1.0, 1.0],
            "split_to": [4.0, 1.0, 1.589, 2.0],
        }
    )
    market = pd.concat(frames).sample(frac=1.0, random_state=3).reset_index(drop=True)
    return market, splits


def test_features_equal_the_per_ticker_pandas_reference(varied_market):
    market, splits = varied_market

    features = compute_features(market, splits)

    expected = reference_features(market, splits)
    # 40 rows for each of the four tickers listed from the start, 10 for LATE.
    assert len(features) == 4 * 40 + 10
    assert features.dtypes.astype(str).to_dict() == schema.FEATURES
    pd.testing.assert_frame_equal(features, expected, check_exact=False, rtol=1e-9, atol=1e-9)


def test_a_halted_ticker_has_exactly_zero_volatility_and_is_not_above_its_mean(varied_market):
    market, splits = varied_market

    halted = compute_features(market, splits).query("ticker == 'HALT'").reset_index(drop=True)

    # Sessions 20..44 repeat one close; from session 40 the 20 returns before it are all zero.
    flat = halted.iloc[40 - 20 : 45 - 20]
    assert (flat["volatility_20d"] == 0.0).all()
    assert (flat["volatility_5d"] == 0.0).all()
    assert (flat["price_above_ma20"] == 0.0).all()
    assert (flat["volume_ratio_20"] == 0.0).all()


def test_two_rows_for_one_ticker_and_day_are_refused(market):
    doubled = pd.concat([market, market.iloc[[0]]], ignore_index=True)

    with pytest.raises(
        ValueError, match=r"2 rows for one \(ticker, trade_date\): RISE on 2021-01-04"
    ):
        compute_features(doubled, NO_SPLITS)


def test_a_value_that_is_not_finite_is_kept_for_the_finite_check_to_see(market):
    # A zero close cannot reach stock_data, but if one did its return would be infinite.
    broken = market.copy()
    broken.loc[(broken["ticker"] == "RISE") & (broken["trade_date"] == SESSIONS[23]), "close"] = 0.0

    features = compute_features(broken, NO_SPLITS)
    rise = features[features["ticker"] == "RISE"].set_index("trade_date")

    assert len(rise) == 5
    assert rise.loc[SESSIONS[23], "return_lag1"] == -1.0
    assert np.isinf(rise.loc[SESSIONS[24], "return_lag1"])
