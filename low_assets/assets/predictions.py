import dagster as dg
import pandas as pd

from low_assets import schema
from low_assets.modeling import TrainedModel, predict
from low_assets.partitions import TRADE_DATE_PARTITION, daily_partitions


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="warehouse_io_manager",
    metadata=TRADE_DATE_PARTITION,
    group_name="modeling",
    kinds={"scikitlearn", "duckdb"},
)
def predictions(
    context: dg.AssetExecutionContext, features: pd.DataFrame, rf_model: TrainedModel
) -> dg.Output:
    """One row per (ticker, trade_date): the probability that the next session closes higher.

    `in_sample` is true where the model was trained on that day's row or a later one, so the
    call is not a forecast the model could have made at the time.
    """
    features = schema.conform(features, schema.FEATURES, "features")
    calls = predict(rf_model, features)
    calls["model_version"] = rf_model.version
    calls["in_sample"] = calls["trade_date"] <= rf_model.train_end
    calls["load_date"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    calls = schema.conform(calls, schema.PREDICTIONS, "predictions")

    context.log.info(f"{len(calls)} predictions with model {rf_model.version}")
    return dg.Output(
        calls,
        metadata={
            "row_count": len(calls),
            "ticker_count": int(calls["ticker"].nunique()),
            "model_version": rf_model.version,
            "in_sample_rows": int(calls["in_sample"].sum()),
            "mean_probability": float(calls["probability"].mean()) if len(calls) else 0.0,
        },
    )
