import importlib

import pytest

import low_assets.definitions
from low_assets import cli


@pytest.mark.parametrize(
    ("first_day", "months"),
    [
        # The sample's first day leaves January 2020 for history: models start in February.
        ("2019-11-01", ["2020-02-01", "2020-03-01", "2020-04-01"]),
        # Seventy days from New Year 2021 reach into March, so April is the first model month.
        ("2021-01-01", []),
        ("2020-12-01", ["2021-03-01"]),
    ],
)
def test_model_months_leave_room_for_history(first_day, months):
    last_day = "2020-04-20" if first_day == "2019-11-01" else "2021-03-31"

    assert cli.model_months(first_day, last_day) == months


@pytest.fixture
def instance_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("LOW_ASSETS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOW_ASSETS_BARS_SOURCE", "sample")
    (tmp_path / "dagster_home").mkdir()
    # The code location reads the data directory when it is loaded: load it again for this one.
    importlib.reload(low_assets.definitions)
    return tmp_path


def test_a_failed_run_prints_which_day_failed_and_exits_one(instance_home, capsys):
    code = cli.main(["run", "--first-day", "2021-04-19", "--last-day", "2021-04-23"])

    printed = capsys.readouterr().out
    assert code == 1
    assert "of job ingest_and_featurize FAILED" in printed
    assert "2021-04-22 is outside the packaged sample (2019-11-01 to 2021-04-21)" in printed
    assert "Traceback" not in printed
    # The failed range stored nothing: not even the days the sample does hold.
    assert not (instance_home / "data" / "payloads" / "raw_bars" / "2021-04-19.parquet").exists()


def test_a_data_directory_that_does_not_exist_yet_is_created(instance_home, capsys):
    code = cli.main(["run", "--first-day", "2021-04-16", "--last-day", "2021-04-19"])

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert (instance_home / "data" / "warehouse.duckdb").is_file()
    assert "stock_data: 1007 rows, 504 tickers, 2021-04-16 to 2021-04-19" in printed
    assert "no model month could be trained" in printed
