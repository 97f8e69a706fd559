import gzip

import numpy as np
import pandas as pd
import pytest

from low_assets import profiles, schema
from low_assets.resources import BarsUnavailableError, FlatFilesBarsSource
from low_assets_tests.conftest import FAKE_POLYGON_KEY, GCS_BUCKET
from low_assets_tests.polygon_server import HttpError, Stall, grouped_bar

OPEN_DAY = "2024-07-03"
HOLIDAY = "2024-07-04"


def two_bars(day: str) -> list[dict]:
    return [
        grouped_bar("AAA", day, 10.0, 11.0, 9.5, 10.5, 1000, vw=10.2, n=12),
        grouped_bar("BBB", day, 20.0, 21.0, 19.0, 20.5, 2000, vw=20.1, n=30),
    ]


def test_missing_vw_and_n_become_nulls_in_fixed_dtypes_and_fractional_volume_is_kept(
    polygon_source,
    fake_polygon,
):
    fake_polygon.set_bars(
        OPEN_DAY,
        [
            grouped_bar("AAA", OPEN_DAY, 10.0, 11.0, 9.5, 10.5, 1234.5),
            grouped_bar("BBB", OPEN_DAY, 20.0, 21.0, 19.0, 20.5, 2000, vw=20.1, n=30),
        ],
    )

    bars = polygon_source().fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert dict(bars.dtypes.astype(str)) == schema.RAW_BARS
    aaa = bars.set_index("T").loc["AAA"]
    assert aaa["v"] == 1234.5
    assert pd.isna(aaa["vw"]) and pd.isna(aaa["n"])
    assert bars.set_index("T").loc["BBB", "n"] == 30


def test_all_bars_without_vw_and_n_still_give_nullable_typed_columns(polygon_source, fake_polygon):
    fake_polygon.set_bars(OPEN_DAY, [grouped_bar("AAA", OPEN_DAY, 10.0, 11.0, 9.5, 10.5, 7.25)])

    bars = polygon_source().fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert str(bars["vw"].dtype) == "Float64" and str(bars["n"].dtype) == "Int64"
    assert bars["vw"].isna().all() and bars["n"].isna().all()


def test_bars_are_requested_unadjusted_with_the_bearer_key(polygon_source, fake_polygon):
    fake_polygon.set_bars(OPEN_DAY, two_bars(OPEN_DAY))

    polygon_source().fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    (request,) = fake_polygon.grouped_requests(OPEN_DAY)
    assert request.query["adjusted"] == "false"
    assert request.authorized


def test_rate_limited_answers_are_retried_until_the_bars_arrive(polygon_source, fake_polygon):
    fake_polygon.set_bars(OPEN_DAY, two_bars(OPEN_DAY), faults=[HttpError(429), HttpError(429)])

    bars = polygon_source().fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert sorted(bars["T"]) == ["AAA", "BBB"]
    assert len(fake_polygon.grouped_requests(OPEN_DAY)) == 3


@pytest.mark.parametrize(
    "status",
    [
        500,  # internal error
        503,  # service unavailable
        504,  # gateway timeout
        520,  # a CDN's unknown error: not in the client's own retry list
    ],
)
def test_server_errors_until_retries_run_out_fail_naming_the_day_and_status(
    polygon_source, fake_polygon, status
):
    fake_polygon.set_bars(OPEN_DAY, two_bars(OPEN_DAY), forever=HttpError(status))

    with pytest.raises(BarsUnavailableError) as failure:
        polygon_source().fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert OPEN_DAY in str(failure.value)
    assert f"too many {status} error responses" in str(failure.value)
    assert "after 3 attempts" in str(failure.value)
    assert len(fake_polygon.grouped_requests(OPEN_DAY)) == 3


def test_a_stalled_answer_times_out_and_the_retry_gets_the_bars(polygon_source, fake_polygon):
    fake_polygon.set_bars(OPEN_DAY, two_bars(OPEN_DAY), faults=[Stall(3.0)])

    bars = polygon_source(timeout_seconds=0.3).fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert sorted(bars["T"]) == ["AAA", "BBB"]
    first, second = fake_polygon.grouped_requests(OPEN_DAY)
    assert 0.25 < second.at - first.at < 2.0


def test_an_open_day_without_results_is_retried_then_fails_naming_the_day(
    polygon_source, fake_polygon
):
    fake_polygon.set_bars(OPEN_DAY, None)

    with pytest.raises(BarsUnavailableError) as failure:
        polygon_source().fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert f"grouped daily bars for {OPEN_DAY}" in str(failure.value)
    assert "no bars" in str(failure.value)
    assert len(fake_polygon.grouped_requests(OPEN_DAY)) == 3


def test_a_holiday_answer_without_results_is_an_empty_frame_asked_once(
    polygon_source, fake_polygon
):
    fake_polygon.set_bars(HOLIDAY, None)

    bars = polygon_source().fetch_grouped_daily(pd.Timestamp(HOLIDAY))

    assert bars.empty and dict(bars.dtypes.astype(str)) == schema.RAW_BARS
    assert len(fake_polygon.grouped_requests(HOLIDAY)) == 1


def test_a_wrong_key_fails_at_once_without_any_key_in_the_message(polygon_source, fake_polygon):
    fake_polygon.set_bars(OPEN_DAY, two_bars(OPEN_DAY))
    source = polygon_source(api_key="wrong-key-0d41")

    with pytest.raises(BarsUnavailableError) as failure:
        source.fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert "Unknown API Key" in str(failure.value)
    assert "wrong-key-0d41" not in str(failure.value)
    assert FAKE_POLYGON_KEY not in str(failure.value)
    assert len(fake_polygon.requests) == 1


def test_requests_are_spaced_by_requests_per_minute(polygon_source, fake_polygon):
    days = ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05"]
    for day in days:
        fake_polygon.set_bars(day, two_bars(day))
    source = polygon_source(requests_per_minute=400)  # one per 0.15 s

    for day in days:
        source.fetch_grouped_daily(pd.Timestamp(day))

    times = [request.at for request in fake_polygon.grouped_requests()]
    gaps = np.diff(times)
    assert len(gaps) == 3
    assert gaps.min() >= 0.14
    assert gaps.max() < 1.0


def test_retries_are_paced_too(polygon_source, fake_polygon):
    fake_polygon.set_bars(OPEN_DAY, two_bars(OPEN_DAY), faults=[HttpError(429), HttpError(429)])
    source = polygon_source(requests_per_minute=400, backoff_seconds=0.0)

    source.fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    gaps = np.diff([request.at for request in fake_polygon.grouped_requests(OPEN_DAY)])
    assert len(gaps) == 2 and gaps.min() >= 0.14


def test_splits_are_read_across_every_next_url_page(polygon_source, fake_polygon):
    fake_polygon.splits = [
        {"execution_date": "2022-07-18", "split_from": 1, "split_to": 20, "ticker": "GOOGL"},
        {"execution_date": "2022-06-06", "split_from": 1, "split_to": 20, "ticker": "AMZN"},
        {"execution_date": "2022-05-20", "split_from": 2, "split_to": 1, "ticker": "BRW"},
        {"execution_date": "2022-05-02", "split_from": 3, "split_to": 4, "ticker": "CIG.C"},
        {"execution_date": "2022-05-16", "split_from": 1, "split_to": 2, "ticker": "CM"},
        {"execution_date": "2019-01-02", "split_from": 1, "split_to": 2, "ticker": "OLD"},
    ]

    splits = polygon_source().fetch_splits(pd.Timestamp("2020-01-01"))

    assert dict(splits.dtypes.astype(str)) == schema.SPLITS
    assert sorted(splits["ticker"]) == ["AMZN", "BRW", "CIG.C", "CM", "GOOGL"]
    brw = splits.set_index("ticker").loc["BRW"]
    assert (brw["split_from"], brw["split_to"]) == (2.0, 1.0)
    assert brw["execution_date"] == pd.Timestamp("2022-05-20")
    # Five records at two per page: three requests, the later ones by cursor.
    requests = fake_polygon.splits_requests()
    assert [r.query.get("cursor") for r in requests] == [None, "2", "4"]
    assert all(r.query["execution_date.gte"] == "2020-01-01" for r in requests)


def test_no_splits_is_an_empty_typed_frame(polygon_source, fake_polygon):
    splits = polygon_source().fetch_splits(pd.Timestamp("2020-01-01"))

    assert splits.empty and dict(splits.dtypes.astype(str)) == schema.SPLITS


# Flat files ---------------------------------------------------------------------------------

FLAT_HEADER = "ticker,volume,open,close,high,low,window_start,transactions\n"


def window_start_nanos(day: str) -> int:
    """Flat files stamp each day bar at 00:00 New York time, in nanoseconds."""
    return pd.Timestamp(day).tz_localize("America/New_York").value


def write_day_file(folder, day: str, rows: list[str], nested: bool = True, gz: bool = True):
    stamp = pd.Timestamp(day)
    directory = folder / f"{stamp:%Y}" / f"{stamp:%m}" if nested else folder
    directory.mkdir(parents=True, exist_ok=True)
    text = (FLAT_HEADER + "".join(f"{row}\n" for row in rows)).encode()
    path = directory / f"{day}.csv{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


@pytest.mark.parametrize(
    ("nested", "gz"),
    [
        (True, True),  # Polygon's own layout: YYYY/MM/YYYY-MM-DD.csv.gz
        (False, True),  # every day directly in the folder, compressed
        (False, False),  # every day directly in the folder, plain CSV
    ],
)
def test_flat_file_day_becomes_raw_bars_with_millisecond_stamps_and_no_vw(tmp_path, nested, gz):
    start = window_start_nanos(OPEN_DAY)
    write_day_file(
        tmp_path,
        OPEN_DAY,
        [f"AAA,1500.5,10.0,10.5,11.0,9.5,{start},12", f"NA,300,5.0,5.1,5.2,4.9,{start},"],
        nested=nested,
        gz=gz,
    )

    bars = FlatFilesBarsSource(folder=str(tmp_path)).fetch_grouped_daily(pd.Timestamp(OPEN_DAY))

    assert dict(bars.dtypes.astype(str)) == schema.RAW_BARS
    by_ticker = bars.set_index("T")
    assert list(by_ticker.index) == ["AAA", "NA"]
    aaa = by_ticker.loc["AAA"]
    assert (aaa["o"], aaa["h"], aaa["l"], aaa["c"], aaa["v"]) == (10.0, 11.0, 9.5, 10.5, 1500.5)
    assert aaa["t"] == start // 1_000_000 and aaa["n"] == 12
    assert bars["vw"].isna().all()
    assert pd.isna(by_ticker.loc["NA", "n"])


def test_flat_files_without_a_trading_days_file_fail_naming_the_day(tmp_path):
    write_day_file(tmp_path, "2024-07-02", [])

    with pytest.raises(BarsUnavailableError, match=f"flat file for {OPEN_DAY}"):
        FlatFilesBarsSource(folder=str(tmp_path)).fetch_grouped_daily(pd.Timestamp(OPEN_DAY))


def test_flat_files_list_the_days_they_hold_in_either_layout(tmp_path):
    write_day_file(tmp_path, "2024-07-05", [], nested=True)
    write_day_file(tmp_path, "2024-07-02", [], nested=False, gz=False)
    (tmp_path / "notes.csv").write_text("not a day\n")

    days = FlatFilesBarsSource(folder=str(tmp_path)).available_days()

    assert days == [pd.Timestamp("2024-07-02"), pd.Timestamp("2024-07-05")]


def test_flat_file_splits_come_from_splits_csv_since_the_day_asked(tmp_path):
    (tmp_path / "splits.csv").write_text(
        "ticker,execution_date,split_from,split_to\n"
        "OLD,2019-01-02,1,2\nNVDA,2024-06-10,1,10\nBRW,2022-05-20,2,1\n"
    )

    splits = FlatFilesBarsSource(folder=str(tmp_path)).fetch_splits(pd.Timestamp("2020-01-01"))

    assert dict(splits.dtypes.astype(str)) == schema.SPLITS
    assert list(splits["ticker"]) == ["NVDA", "BRW"]
    assert splits.set_index("ticker").loc["NVDA", "split_to"] == 10.0


def test_flat_files_without_splits_csv_have_no_splits(tmp_path):
    splits = FlatFilesBarsSource(folder=str(tmp_path)).fetch_splits(pd.Timestamp("2020-01-01"))

    assert splits.empty and dict(splits.dtypes.astype(str)) == schema.SPLITS


def test_flat_files_are_chosen_by_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv(profiles.SOURCE_VARIABLE, "flat_files")
    monkeypatch.setenv(profiles.FLAT_FILES_VARIABLE, str(tmp_path))

    source = profiles.bars_source()

    assert isinstance(source, FlatFilesBarsSource)
    assert source.folder == str(tmp_path)


def test_flat_files_without_a_folder_name_the_missing_variable(monkeypatch):
    monkeypatch.setenv(profiles.SOURCE_VARIABLE, "flat_files")
    monkeypatch.delenv(profiles.FLAT_FILES_VARIABLE, raising=False)

    with pytest.raises(ValueError, match=profiles.FLAT_FILES_VARIABLE):
        profiles.bars_source()


def test_flat_files_under_a_bucket_prefix_are_read_over_the_gcs_protocol(gcs, tmp_path):
    # The same files as on disk, uploaded to the emulator: Polygon's nested layout, a flat day,
    # splits.csv and an unrelated object outside the prefix.
    start = window_start_nanos(OPEN_DAY)
    local = tmp_path / "day_aggs_v1"
    write_day_file(local, OPEN_DAY, [f"AAA,1500.5,10.0,10.5,11.0,9.5,{start},12"])
    write_day_file(local, "2024-07-05", [], nested=False, gz=False)
    (local / "splits.csv").write_text(
        "ticker,execution_date,split_from,split_to\nAAA,2024-07-05,1,4\n"
    )
    bucket = gcs.bucket(GCS_BUCKET)
    for path in local.rglob("*.csv*"):
        bucket.blob(
            f"polygon/day_aggs_v1/{path.relative_to(local).as_posix()}"
        ).upload_from_filename(str(path))
    bucket.blob("elsewhere/2024-07-08.csv").upload_from_string(FLAT_HEADER)

    source = FlatFilesBarsSource(folder=f"gs://{GCS_BUCKET}/polygon/day_aggs_v1")

    assert source.available_days() == [pd.Timestamp(OPEN_DAY), pd.Timestamp("2024-07-05")]
    bars = source.fetch_grouped_daily(pd.Timestamp(OPEN_DAY))
    assert list(bars["T"]) == ["AAA"] and bars["v"].iloc[0] == 1500.5
    assert bars["t"].iloc[0] == start // 1_000_000
    assert source.fetch_grouped_daily(pd.Timestamp("2024-07-05")).empty
    splits = source.fetch_splits(pd.Timestamp("2024-01-01"))
    assert list(splits["ticker"]) == ["AAA"] and splits["split_to"].iloc[0] == 4.0
    with pytest.raises(BarsUnavailableError, match="flat file for 2024-07-08"):
        source.fetch_grouped_daily(pd.Timestamp("2024-07-08"))


@pytest.mark.parametrize(
    ("content", "gz"),
    [
        (FLAT_HEADER + "AAA,abc,10,10,10,10,1,1\n", False),  # a volume that is not a number
        (FLAT_HEADER + "AAA,1,10,10,10,10,1,1,EXTRA\n", False),  # a row with an extra field
        ("not gzip at all", True),  # a .csv.gz that is not compressed
    ],
)
def test_a_malformed_flat_file_fails_naming_the_file_and_the_day(tmp_path, content, gz):
    name = f"{OPEN_DAY}.csv{'.gz' if gz else ''}"
    (tmp_path / name).write_bytes(content.encode())

    with pytest.raises(BarsUnavailableError, match=f"flat file {name} in .* for {OPEN_DAY}"):
        FlatFilesBarsSource(folder=str(tmp_path)).fetch_grouped_daily(pd.Timestamp(OPEN_DAY))
