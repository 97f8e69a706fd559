import dagster as dg
import pandas as pd
from pydantic import Field

from low_assets import schema
from low_assets.modeling import TrainedModel, train_model


class RandomForestConfig(dg.Config):
    n_estimators: int = Field(default=300, ge=1)
    max_depth: int | None = Field(default=8, description="None grows trees to purity.")
    class_weight: str | None = Field(default="balanced")
    min_samples_leaf: int = Field(default=1, ge=1)
    max_samples: float | None = Field(
        default=None, description="Share of training rows each tree sees; None uses them all."
    )
    random_state: int = 42
    n_jobs: int = Field(default=-1, description="Cores used to fit; -1 uses every core.")
    train_window_days: int = Field(
        default=250, ge=10, description="Latest labelled sessions to train and test on."
    )
    test_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="Share of those sessions, the latest, held out."
    )

    def estimator_params(self) -> dict:
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "class_weight": self.class_weight,
            "min_samples_leaf": self.min_samples_leaf,
            "max_samples": self.max_samples,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
        }


@dg.asset(io_manager_key="model_io_manager", group_name="modeling", kinds={"scikitlearn"})
def rf_model(
    context: dg.AssetExecutionContext, config: RandomForestConfig, features: pd.DataFrame
) -> dg.Output[TrainedModel]:
    """A RandomForest that gives, per (ticker, day), the probability of a higher next close.

    Trained on the latest `train_window_days` labelled sessions of features; the latest
    `test_fraction` of them are held out (split by date) and scored beside always predicting up.
    """
    features = schema.conform(features, schema.FEATURES, "features")
    model = train_model(
        features,
        train_window_days=config.train_window_days,
        test_fraction=config.test_fraction,
        estimator_params=config.estimator_params(),
    )
    metrics = model.metrics
    context.log.info(
        f"holdout {model.test_start.date()}..{model.test_end.date()}: "
        f"ROC AUC {metrics['roc_auc']:.4f}, accuracy {metrics['accuracy']:.4f} "
        f"(always up: {metrics['baseline_up_accuracy']:.4f})"
    )
    return dg.Output(
        model,
        metadata={
            "train_start": str(model.train_start.date()),
            "train_end": str(model.train_end.date()),
            "test_start": str(model.test_start.date()),
            "test_end": str(model.test_end.date()),
            "train_rows": int(metrics["train_rows"]),
            "test_rows": int(metrics["test_rows"]),
            "accuracy": metrics["accuracy"],
            "roc_auc": metrics["roc_auc"],
            "baseline_up_accuracy": metrics["baseline_up_accuracy"],
            "training_seconds": round(metrics["training_seconds"], 2),
            "hyperparameters": dg.MetadataValue.json(config.estimator_params()),
        },
    )
