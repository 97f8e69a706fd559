import dagster as dg

from low_assets.definitions import defs

PRODUCT_ASSETS = {"raw_bars", "stock_data", "features", "rf_model", "predictions"}


def test_the_code_location_holds_the_five_product_assets():
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}

    assert keys >= PRODUCT_ASSETS


def test_daily_assets_share_one_partitioning_and_rf_model_has_none():
    graph = defs.resolve_asset_graph()

    partitioned = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    }
    assert {"raw_bars", "stock_data", "features", "predictions"} <= partitioned
    assert "rf_model" not in partitioned
    days = graph.get(dg.AssetKey("stock_data")).partitions_def
    assert days.get_first_partition_key() == "2019-11-01"


def test_the_full_pipeline_job_selects_every_asset():
    job = defs.resolve_job_def("full_pipeline")

    selected = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert selected >= PRODUCT_ASSETS
