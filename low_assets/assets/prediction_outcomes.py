import dagster as dg
import pandas as pd
from pydantic import Field

from low_assets import checks, schema
from low_assets.evaluation import join_outcomes, rolling_scorecard, sessions_behind_always_up
from low_assets.partitions import (
    TRADE_DATE_PARTITION,
    daily_partitions,
    scorecard_lookback,
    through_next_session,
    window_bounds,
)

BEATS_ALWAYS_UP = "live_model_beats_always_up"
OUTCOME_CHECKS = [
    dg.AssetCheckSpec(
        BEATS_ALWAYS_UP,
        asset="prediction_outcomes",
        blocking=False,
        description="Warns when the model's rolling hit rate has trailed always predicting up "
        "for too many sessions in a row.",
    )
]


class ScorecardConfig(dg.Config):
    window_sessions: int = Field(default=20, ge=2, description="Sessions in the rolling view.")
    max_sessions_behind: int = Field(
        default=5,
        ge=1,
        description="Warn when the rolling hit rate trailed always-up this many sessions running.",
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="warehouse_io_manager",
    metadata=TRADE_DATE_PARTITION,
    ins={
        "predictions": dg.AssetIn(partition_mapping=scorecard_lookback),
        "features": dg.AssetIn(partition_mapping=through_next_session),
    },
    check_specs=OUTCOME_CHECKS,
    group_name="modeling",
    kinds={"pandas", "duckdb"},
)
def prediction_outcomes(
    context: dg.AssetExecutionContext,
    config: ScorecardConfig,
    predictions: pd.DataFrame,
    features: pd.DataFrame,
):
    """One row per out-of-sample prediction of the day whose next session has happened: the
    realised next-day return (split-adjusted) and whether the call was right.

    Rematerialise a day once its next session's features exist; until then it has no rows. The
    metadata is the live scorecard: hit rate, ROC AUC and rank IC over the latest
    `window_sessions`, beside always-up and yesterday's-direction on the same rows.
    """
    first_day, end = window_bounds(context)
    calls = schema.conform(predictions, schema.PREDICTIONS, "predictions")
    returns = schema.conform(features, schema.FEATURES, "features")
    outcomes = join_outcomes(calls, returns)
    in_window = outcomes[(outcomes["trade_date"] >= first_day) & (outcomes["trade_date"] < end)]
    in_window = schema.conform(in_window, schema.PREDICTION_OUTCOMES, "prediction_outcomes")

    scorecard = rolling_scorecard(outcomes, config.window_sessions)
    scorecard = scorecard[scorecard["trade_date"] < end]
    latest = scorecard.iloc[-1].to_dict() if len(scorecard) else {}
    behind = sessions_behind_always_up(scorecard) if len(scorecard) else 0
    finding = checks.Finding(
        passed=behind < config.max_sessions_behind,
        description=f"rolling {config.window_sessions}-session hit rate trailed always-up for "
        f"the last {behind} session(s)",
        metadata={"sessions_behind_always_up": behind},
    )
    yield from checks.check_before_writing(
        context, OUTCOME_CHECKS, {("prediction_outcomes", BEATS_ALWAYS_UP): finding}
    )

    window_label = f"_{config.window_sessions}d"
    yield dg.Output(
        in_window,
        metadata={
            "row_count": len(in_window),
            "hit_rate": float(in_window["correct"].mean()) if len(in_window) else None,
            **{
                f"{name}{window_label}": round(float(latest[name]), 6)
                for name in [
                    "hit_rate",
                    "always_up_hit_rate",
                    "yesterday_hit_rate",
                    "roc_auc",
                    "rank_ic",
                ]
                if name in latest and pd.notna(latest[name])
            },
            "sessions_behind_always_up": behind,
            "scorecard": dg.MetadataValue.md(
                scorecard.tail(10)
                .assign(
                    trade_date=lambda f: pd.to_datetime(f["trade_date"]).dt.strftime("%Y-%m-%d")
                )
                .round(4)
                .to_markdown(index=False)
            )
            if len(scorecard)
            else "no outcomes yet",
        },
    )
