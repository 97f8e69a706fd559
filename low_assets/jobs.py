import dagster as dg

# The daily history up to features, for backfills: one run covers a whole range of days.
ingest_and_featurize_job = dg.define_asset_job(
    "ingest_and_featurize",
    selection=dg.AssetSelection.assets(
        "raw_bars", "stock_data", "rejected_bars", "stock_splits", "features"
    ),
    description="Fetch, clean and featurise the chosen days, with the latest split records.",
)

# One month's model; rf_model partitions are months, so this job is launched per month.
train_model_job = dg.define_asset_job(
    "train_model",
    selection=dg.AssetSelection.assets("rf_model"),
    description="Train and score the month's model on the sessions before the month.",
)

# The calls of the chosen days and everything made from them.
predict_job = dg.define_asset_job(
    "predict",
    selection=dg.AssetSelection.assets("predictions").downstream(),
    description="Score the chosen days with each day's monthly model, then export the calls.",
)

# One session's bars, fetched and cleaned; the sensor and the schedule start it once a day.
ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.assets("raw_bars", "stock_data", "rejected_bars"),
    description="Fetch the partition's grouped-daily bars and store them cleaned in stock_data, "
    "with the bars that could not be real in rejected_bars.",
)
