import dagster as dg

# Everything from the vendor's bars to predictions, for backfills and `make run`.
full_pipeline_job = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Fetch, clean, engineer features, train rf_model and predict, for the partitions "
    "chosen; one run covers a whole range of days.",
)
