import dagster as dg

from low_assets.definitions import defs

PRODUCT_ASSETS = {"raw_bars", "stock_data", "features", "rf_model", "predictions"}


def test_the_code_location_holds_the_five_product_assets():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}

    assert keys >= PRODUCT_ASSETS


def test_product_assets_are_partitioned_by_day_or_month():
    graph = defs.resolve_asset_graph()

    partitioned = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    }
    assert partitioned >= {"raw_bars", "stock_data", "features", "predictions", "rf_model"}
    days = graph.get(dg.AssetKey("stock_data")).partitions_def
    assert days.get_first_partition_key() == "2019-11-01"


def test_jobs_cover_history_training_and_predictions():
    selected = {
        name: {
            key.to_user_string()
            for key in defs.resolve_job_def(name).asset_layer.executable_asset_keys
        }
        for name in ["ingest_and_featurize", "train_model", "predict"]
    }

    assert selected["ingest_and_featurize"] >= {"raw_bars", "stock_data", "features"}
    assert selected["train_model"] == {"rf_model"}
    assert "predictions" in selected["predict"]
    assert set().union(*selected.values()) >= PRODUCT_ASSETS


def test_rf_model_is_monthly_and_predictions_read_the_model_of_their_month():
    graph = defs.resolve_asset_graph()
    model_months = graph.get(dg.AssetKey("rf_model")).partitions_def

    assert model_months.get_first_partition_key() == "2020-02-01"
    assert model_months.get_partition_keys_in_range(
        dg.PartitionKeyRange("2020-02-01", "2020-04-01")
    ) == ["2020-02-01", "2020-03-01", "2020-04-01"]
