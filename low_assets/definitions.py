"""The code location: every asset, job and resource of low_assets."""

import dagster as dg

from low_assets.assets.features import features
from low_assets.assets.prediction_outcomes import prediction_outcomes
from low_assets.assets.predictions import predictions
from low_assets.assets.predictions_export import predictions_export
from low_assets.assets.raw_bars import raw_bars
from low_assets.assets.rf_model import rf_model
from low_assets.assets.stock_data import stock_data
from low_assets.assets.stock_splits import stock_splits
from low_assets.checks import rf_model_beats_baseline, stock_splits_valid
from low_assets.freshness import build_freshness_checks
from low_assets.jobs import (
    ingest_and_featurize_job,
    ingest_job,
    predict_job,
    train_model_job,
)
from low_assets.profiles import resources_for_profile
from low_assets.schedules import daily_ingest_schedule, retrain_rf_model_schedule
from low_assets.sensors import (
    daily_chain_automation_sensor,
    new_trading_day_sensor,
    trading_day_freshness_sensor,
)

defs = dg.Definitions(
    assets=[
        raw_bars,
        stock_data,
        stock_splits,
        features,
        rf_model,
        predictions,
        predictions_export,
        prediction_outcomes,
    ],
    jobs=[ingest_job, ingest_and_featurize_job, train_model_job, predict_job],
    asset_checks=[rf_model_beats_baseline, stock_splits_valid, build_freshness_checks()],
    schedules=[daily_ingest_schedule, retrain_rf_model_schedule],
    sensors=[new_trading_day_sensor, daily_chain_automation_sensor, trading_day_freshness_sensor],
    resources=resources_for_profile(),
    executor=dg.in_process_executor,
)
