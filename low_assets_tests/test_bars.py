import gzip

import pandas as pd
import pytest

from low_assets import schema
from low_assets.bars import clean_bars, trade_dates_from_millis
from low_assets.resources import FlatFilesBarsSource
from low_assets_tests.polygon_server import grouped_bar, stamp_millis

DAY = "2024-03-08"


def raw(bars: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(bars, columns=list(schema.RAW_BARS))
    return schema.conform(frame, schema.RAW_BARS, "test bars")


@pytest.mark.parametrize(
    "zone",
    [
        "Asia/Tokyo",  # ahead of New York: 16:00 there is already tomorrow here
        "America/Los_Angeles",  # behind New York: 00:00 there is still yesterday here
        "UTC",
    ],
)
def test_grouped_range_and_flat_file_stamps_all_give_the_same_new_york_day(
    host_timezone, tmp_path, zone
):
    host_timezone(zone)
    window_start = pd.Timestamp(DAY).tz_localize("America/New_York").value
    (tmp_path / f"{DAY}.csv").write_text(
        "ticker,volume,open,close,high,low,window_start,transactions\n"
        f"AAA,100,10,10,10,10,{window_start},1\n"
    )
    flat_file_millis = FlatFilesBarsSource(folder=str(tmp_path)).fetch_grouped_daily(
        pd.Timestamp(DAY)
    )["t"]
    stamps = pd.Series(
        [stamp_millis(DAY, hour=16), stamp_millis(DAY, hour=0), flat_file_millis.iloc[0]],
        dtype="Int64",
    )

    days = trade_dates_from_millis(stamps)

    assert list(days) == [pd.Timestamp(DAY)] * 3


def test_a_stamp_just_before_new_york_midnight_stays_on_its_day(host_timezone):
    host_timezone("Asia/Tokyo")
    late = pd.Series([stamp_millis(DAY, hour=23) + 59 * 60 * 1000], dtype="Int64")

    assert trade_dates_from_millis(late).iloc[0] == pd.Timestamp(DAY)


@pytest.mark.parametrize(
    "order",
    [
        [0, 1, 2],
        [2, 1, 0],
        [1, 0, 2],
    ],
)
def test_a_ticker_sent_twice_keeps_the_same_bar_whatever_the_order(order):
    # The first two tie on volume, stamp and close and differ only in open and high.
    candidates = [
        grouped_bar("AAA", DAY, 10.2, 11.0, 9.0, 10.5, 1000, vw=10.3, n=5),
        grouped_bar("AAA", DAY, 10.0, 10.9, 9.0, 10.5, 1000, vw=10.1, n=7),
        grouped_bar("AAA", DAY, 10.0, 12.0, 9.0, 10.5, 900, vw=10.4, n=9),
    ]

    result = clean_bars(raw([candidates[i] for i in order]), DAY)

    (kept,) = result.bars.itertuples(index=False)
    assert (kept.open, kept.high, kept.volume, kept.transactions) == (10.0, 10.9, 1000.0, 7)
    assert result.duplicate_rows == 2
    assert result.rejected.empty


@pytest.mark.parametrize(
    ("bar", "reason"),
    [
        (grouped_bar("aapl$", DAY, 10, 11, 9, 10, 100), "implausible ticker symbol"),
        (grouped_bar("ZERO", DAY, 0, 11, 9, 10, 100), "non-positive price"),
        (grouped_bar("HUGE", DAY, 9e6, 9e6, 9e6, 9e6, 100), "absurd price"),
        (grouped_bar("FLIP", DAY, 10, 9, 11, 10, 100), "high below low"),
        (grouped_bar("OPEN", DAY, 12, 11, 9, 10, 100), "open outside [low, high]"),
        (grouped_bar("SHUT", DAY, 10, 11, 9, 8, 100), "close outside [low, high]"),
        (grouped_bar("SOLD", DAY, 10, 11, 9, 10, -5), "negative or missing volume"),
        (grouped_bar("ENDL", DAY, 10, 11, 9, 10, float("inf")), "negative or missing volume"),
        (grouped_bar("LATE", "2024-03-11", 10, 11, 9, 10, 100), "stamped outside 2024-03-08"),
    ],
)
def test_a_bar_that_cannot_be_real_is_rejected_with_its_reason(bar, reason):
    good = grouped_bar("GOOD", DAY, 10, 11, 9, 10, 100)

    result = clean_bars(raw([good, bar]), DAY)

    assert list(result.bars["ticker"]) == ["GOOD"]
    assert list(result.rejected["reason"]) == [reason]
    assert list(result.rejected["ticker"]) == [bar["T"]]


def test_flat_file_gzip_round_trip_keeps_prices_as_traded(tmp_path):
    window_start = pd.Timestamp(DAY).tz_localize("America/New_York").value
    (tmp_path / f"{DAY}.csv.gz").write_bytes(
        gzip.compress(
            b"ticker,volume,open,close,high,low,window_start,transactions\n"
            + f"BRK.A,12.5,612000.5,613100.25,614000,611000,{window_start},40\n".encode()
        )
    )

    payload = FlatFilesBarsSource(folder=str(tmp_path)).fetch_grouped_daily(pd.Timestamp(DAY))
    result = clean_bars(payload, DAY)

    (bar,) = result.bars.itertuples(index=False)
    assert (bar.ticker, bar.trade_date) == ("BRK.A", pd.Timestamp(DAY))
    assert (bar.open, bar.close, bar.volume, bar.transactions) == (612000.5, 613100.25, 12.5, 40)
    assert pd.isna(bar.vwap)
