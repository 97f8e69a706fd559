import dagster as dg
import pandas as pd

from low_assets import checks, schema
from low_assets.automation import follow_each_partition
from low_assets.modeling import TrainedModel, predict
from low_assets.partitions import (
    TRADE_DATE_PARTITION,
    daily_partitions,
    model_of_the_month,
    model_partitions,
)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="warehouse_io_manager",
    metadata=TRADE_DATE_PARTITION,
    ins={"rf_model": dg.AssetIn(partition_mapping=model_of_the_month)},
    check_specs=checks.PREDICTIONS_CHECKS,
    # A retrained model does not by itself recompute its month's past days; a new day waits for
    # its features and its month's model.
    automation_condition=follow_each_partition(ignoring=["rf_model"], wait_for_every_input=True),
    pool="predictions_writes",
    group_name="modeling",
    kinds={"scikitlearn", "duckdb"},
)
def predictions(
    context: dg.AssetExecutionContext,
    features: pd.DataFrame,
    rf_model: dict[str, TrainedModel] | None,
):
    """One row per (ticker, trade_date): the probability that the next session closes higher.

    A day's calls come from the rf_model partition of its month, trained only on rows whose
    labels were known before that month began, so they are out of sample (`in_sample` is false);
    days before the first model partition get no rows.
    """
    features = schema.conform(features, schema.FEATURES, "features")
    models = rf_model or {}
    month_of_day = features["trade_date"].dt.strftime("%Y-%m-01")
    calls = []
    for month, model in sorted(models.items()):
        rows = features[month_of_day == month]
        made = predict(model, rows)
        made["model_version"] = model.version
        made["in_sample"] = made["trade_date"] <= model.train_end
        calls.append(made)
    unmodelled = int((~month_of_day.isin(list(models))).sum())
    if unmodelled:
        context.log.info(
            f"{unmodelled} feature rows fall before {model_partitions.get_first_partition_key()}, "
            "the first month with a model: no predictions for them"
        )

    calls = pd.concat(calls, ignore_index=True) if calls else schema.empty(schema.PREDICTIONS)
    calls["load_date"] = pd.Timestamp.now(tz="UTC").tz_localize(None)
    calls = schema.conform(calls, schema.PREDICTIONS, "predictions")
    context.log.info(f"{len(calls)} predictions from {len(models)} monthly model(s)")

    modelled = features[month_of_day.isin(list(models))]
    yield from checks.check_before_writing(
        context,
        checks.PREDICTIONS_CHECKS,
        {
            ("predictions", checks.SCHEMA): checks.check_schema(calls, schema.PREDICTIONS),
            ("predictions", checks.PROBABILITY): checks.check_probability_range(calls),
            ("predictions", checks.ONE_PER_FEATURE_ROW): (
                checks.check_one_prediction_per_feature_row(calls, modelled)
            ),
            ("predictions", checks.MODEL_VERSION): checks.check_model_version_present(calls),
        },
    )

    yield dg.Output(
        calls,
        metadata={
            "row_count": len(calls),
            "ticker_count": int(calls["ticker"].nunique()),
            "model_versions": ", ".join(sorted(calls["model_version"].unique())) or "none",
            "in_sample_rows": int(calls["in_sample"].sum()),
            "rows_without_model": unmodelled,
            "mean_probability": float(calls["probability"].mean()) if len(calls) else 0.0,
        },
    )
