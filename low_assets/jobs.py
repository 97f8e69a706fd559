import dagster as dg

# Everything from the vendor's bars to predictions, for backfills and `make run`.
full_pipeline_job = dg.define_asset_job(
    "full_pipeline",
    selection=dg.AssetSelection.all(),
    description="Fetch, clean, engineer features, train rf_model and predict, for the partitions "
    "chosen; one run covers a whole range of days.",
)

# One session's bars, fetched and cleaned; the sensor and the schedule start it once a day.
ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets("raw_bars", "stock_data", "rejected_bars"),
    description="Fetch the partition's grouped-daily bars and store them cleaned in stock_data, "
    "with the bars that could not be real in rejected_bars.",
)
