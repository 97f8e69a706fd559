import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from low_assets import plots, schema
from low_assets.modeling import TrainedModel, train_with_walk_forward, training_rows
from low_assets.partitions import model_partitions, model_training_window, window_bounds


class ModelConfig(dg.Config):
    estimator: str = Field(
        default="random_forest",
        description="random_forest or hist_gradient_boosting; the asset key stays rf_model.",
    )
    n_estimators: int = Field(default=300, ge=1, description="Trees (boosting: iterations).")
    max_depth: int | None = Field(default=8, description="None grows trees to purity.")
    class_weight: str | None = Field(default="balanced")
    min_samples_leaf: int = Field(default=20, ge=1)
    max_samples: float | None = Field(
        default=0.2,
        description="Random forest: share of training rows each tree sees. Bounds training "
        "time on 2 cores; None gives every tree a full bootstrap sample.",
    )
    learning_rate: float = Field(default=0.05, gt=0, description="Boosting only.")
    random_state: int = 42
    n_jobs: int = Field(default=-1, description="Cores used to fit; -1 uses every core.")
    train_window_days: int = Field(
        default=250, ge=10, description="Latest labelled sessions before the month to train on."
    )
    n_folds: int = Field(default=4, ge=0, description="Walk-forward folds scored per model.")
    fold_days: int = Field(
        default=20, ge=1, description="Sessions in each walk-forward test block."
    )
    min_train_days: int = Field(
        default=20, ge=5, description="Fewest training sessions a fold needs."
    )

    def estimator_params(self) -> dict:
        if self.estimator == "hist_gradient_boosting":
            return {
                "max_iter": self.n_estimators,
                "max_depth": self.max_depth,
                "learning_rate": self.learning_rate,
                "min_samples_leaf": self.min_samples_leaf,
                "class_weight": self.class_weight,
                "random_state": self.random_state,
            }
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "class_weight": self.class_weight,
            "min_samples_leaf": self.min_samples_leaf,
            "max_samples": self.max_samples,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
        }


def _number(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


@dg.asset(
    partitions_def=model_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    ins={"features": dg.AssetIn(partition_mapping=model_training_window)},
    io_manager_key="model_io_manager",
    group_name="modeling",
    kinds={"scikitlearn"},
)
def rf_model(
    context: dg.AssetExecutionContext, config: ModelConfig, features: pd.DataFrame
) -> dg.Output[TrainedModel]:
    """The month's next-day direction model (a RandomForest unless configured otherwise).

    Trained on the latest `train_window_days` labelled sessions before the month begins, so it
    makes every prediction dated in the month out of sample; scored first by walk-forward refits
    over the same rows, beside always predicting up and repeating yesterday's direction.
    """
    month_start, _ = window_bounds(context)
    features = schema.conform(features, schema.FEATURES, "features")
    rows = training_rows(features, before=month_start, window_days=config.train_window_days)
    if rows["trade_date"].nunique() < config.min_train_days:
        raise dg.Failure(
            f"rf_model {context.partition_key}: only {rows['trade_date'].nunique()} labelled "
            f"sessions before {month_start.date()}, fewer than min_train_days="
            f"{config.min_train_days}; materialise features for earlier days first"
        )

    model, report = train_with_walk_forward(
        rows,
        kind=config.estimator,
        params=config.estimator_params(),
        n_folds=config.n_folds,
        fold_days=config.fold_days,
        min_train_days=config.min_train_days,
    )
    overall = report.overall
    scored = (
        f"walk-forward over {overall['folds']:.0f} folds: AUC {overall['roc_auc']:.4f}, "
        f"accuracy {overall['accuracy']:.4f} (always up {overall['baseline_up_accuracy']:.4f})"
        if overall["folds"]
        else "not scored (n_folds=0)"
    )
    context.log.info(
        f"{context.partition_key}: {len(rows)} rows {model.train_start.date()}.."
        f"{model.train_end.date()}; {scored}; {report.training_seconds:.1f} s"
    )
    return dg.Output(model, metadata=_model_card(config, model, report))


def _model_card(config: ModelConfig, model: TrainedModel, report) -> dict:
    overall = report.overall
    card = {
        "estimator": config.estimator,
        "hyperparameters": dg.MetadataValue.json(config.estimator_params()),
        "random_seed": config.random_state,
        "sklearn_version": model.sklearn_version,
        "features": ", ".join(model.feature_names),
        "train_start": str(model.train_start.date()),
        "train_end": str(model.train_end.date()),
        "train_rows": model.train_rows,
        "training_seconds": round(report.training_seconds, 2),
        **{key: _number(value) for key, value in overall.items()},
    }
    if not report.folds.empty:
        folds = report.folds.copy()
        for column in ["train_start", "train_end", "test_start", "test_end"]:
            folds[column] = folds[column].dt.strftime("%Y-%m-%d")
        card["walk_forward_folds"] = dg.MetadataValue.md(folds.round(4).to_markdown(index=False))
        card["test_start"] = folds["test_start"].iloc[0]
        card["test_end"] = folds["test_end"].iloc[-1]
        oos = report.out_of_sample
        if oos["label"].nunique() == 2:
            card["roc_curve"] = dg.MetadataValue.md(
                plots.markdown_image(plots.roc_plot(oos), "ROC")
            )
            card["calibration_curve"] = dg.MetadataValue.md(
                plots.markdown_image(plots.calibration_plot(oos), "calibration")
            )
        card["winners_vs_losers"] = dg.MetadataValue.md(
            plots.markdown_image(plots.decile_plot(oos), "winners vs losers")
        )
    importances = getattr(model.estimator, "feature_importances_", None)
    if importances is not None:
        card["feature_importances"] = dg.MetadataValue.md(
            plots.markdown_image(
                plots.importance_plot(model.feature_names, importances), "importances"
            )
        )
    return card
