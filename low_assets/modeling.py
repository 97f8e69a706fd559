"""The next-day direction model: labels, a chronological split, training and evaluation.

The label of (ticker, D) is whether the ticker's close on the next trading day after D is higher
than its close on D, both split-adjusted. It is read off the next session's `return_lag1` (the
return from D's close to the next close), so it uses no column that is not already a feature of
the next day, and a day whose next session has no row for the ticker gets no label.

Dates decide everything: the test block is the latest dates, the training block ends before it
with an embargo of `embargo_days` sessions (the label horizon) so that no training label is
computed from a close inside the test block.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, roc_auc_score

from low_assets import calendar
from low_assets.schema import FEATURE_COLUMNS

LABEL_HORIZON_DAYS = 1


@dataclass
class TrainedModel:
    """What `rf_model` stores: the fitted estimator and the facts needed to use it honestly."""

    estimator: RandomForestClassifier
    feature_names: list[str]
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    metrics: dict[str, float]
    # Set by the IO manager when the artifact is read back; never part of the stored bytes.
    artifact_sha256: str | None = field(default=None, compare=False)

    @property
    def version(self) -> str:
        if self.artifact_sha256 is None:
            raise ValueError("model version is known only once the artifact has been stored")
        return self.artifact_sha256[:16]


def add_next_day_labels(features: pd.DataFrame) -> pd.DataFrame:
    """features with `next_day_return` and `label` (1.0 up, 0.0 not up, NaN unknown)."""
    dates = features["trade_date"].drop_duplicates().sort_values()
    if dates.empty:
        return features.assign(next_day_return=np.nan, label=np.nan)
    sessions = calendar.trading_days(dates.iloc[0], dates.iloc[-1] + pd.Timedelta(days=10))
    next_session = pd.Series(
        sessions[np.searchsorted(sessions, dates.to_numpy(), side="right")], index=dates.to_numpy()
    )

    keyed = features.assign(next_date=features["trade_date"].map(next_session))
    following = features[["ticker", "trade_date", "return_lag1"]].rename(
        columns={"trade_date": "next_date", "return_lag1": "next_day_return"}
    )
    labelled = keyed.merge(following, on=["ticker", "next_date"], how="left")
    labelled["label"] = np.where(
        labelled["next_day_return"].isna(), np.nan, (labelled["next_day_return"] > 0).astype(float)
    )
    return labelled.drop(columns="next_date")


@dataclass(frozen=True)
class DateSplit:
    train_dates: pd.DatetimeIndex
    test_dates: pd.DatetimeIndex


def split_by_date(
    dates: pd.Series, test_fraction: float, embargo_days: int = LABEL_HORIZON_DAYS
) -> DateSplit:
    """Latest `test_fraction` of the distinct dates for testing; earlier ones, less an embargo,
    for training."""
    unique = pd.DatetimeIndex(dates.drop_duplicates().sort_values())
    test_count = max(1, int(round(len(unique) * test_fraction)))
    train_count = len(unique) - test_count - embargo_days
    if train_count < 1:
        raise ValueError(
            f"{len(unique)} labelled dates are too few for a {test_fraction:.0%} test block "
            f"and a {embargo_days}-day embargo"
        )
    return DateSplit(train_dates=unique[:train_count], test_dates=unique[-test_count:])


def evaluate(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """Holdout metrics beside the always-up baseline on the same rows."""
    both_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(accuracy_score(y_true, probability >= 0.5)),
        "roc_auc": float(roc_auc_score(y_true, probability)) if both_classes else float("nan"),
        "baseline_up_accuracy": float(np.mean(y_true == 1)),
    }


def train_model(
    features: pd.DataFrame,
    *,
    train_window_days: int,
    test_fraction: float,
    estimator_params: dict,
) -> TrainedModel:
    """Fit on the training block of the latest `train_window_days` labelled dates and score the
    test block. The returned estimator is the one scored: it has never seen a test row."""
    labelled = add_next_day_labels(features).dropna(subset=["label"])
    window_dates = labelled["trade_date"].drop_duplicates().sort_values().iloc[-train_window_days:]
    labelled = labelled[labelled["trade_date"].isin(window_dates)]
    split = split_by_date(labelled["trade_date"], test_fraction)
    train = labelled[labelled["trade_date"].isin(split.train_dates)]
    test = labelled[labelled["trade_date"].isin(split.test_dates)]

    estimator = RandomForestClassifier(**estimator_params)
    started = time.perf_counter()
    estimator.fit(train[FEATURE_COLUMNS].to_numpy(), train["label"].to_numpy(dtype=int))
    training_seconds = time.perf_counter() - started
    probability = estimator.predict_proba(test[FEATURE_COLUMNS].to_numpy())[:, 1]

    metrics = evaluate(test["label"].to_numpy(dtype=int), probability)
    metrics.update(
        train_rows=float(len(train)),
        test_rows=float(len(test)),
        training_seconds=training_seconds,
    )
    return TrainedModel(
        estimator=estimator,
        feature_names=list(FEATURE_COLUMNS),
        train_start=split.train_dates[0],
        train_end=split.train_dates[-1],
        test_start=split.test_dates[0],
        test_end=split.test_dates[-1],
        metrics=metrics,
    )


def predict(model: TrainedModel, features: pd.DataFrame) -> pd.DataFrame:
    """ticker, trade_date, probability of a higher close next session, and the 0/1 call."""
    if list(model.feature_names) != list(FEATURE_COLUMNS):
        raise ValueError(
            f"model was trained on features {model.feature_names}, "
            f"but the features table has {FEATURE_COLUMNS}; retrain rf_model"
        )
    probability = (
        model.estimator.predict_proba(features[FEATURE_COLUMNS].to_numpy())[:, 1]
        if len(features)
        else np.array([], dtype=float)
    )
    return pd.DataFrame(
        {
            "ticker": features["ticker"].to_numpy(),
            "trade_date": features["trade_date"].to_numpy(),
            "probability": probability,
            "prediction": (probability >= 0.5).astype("int64"),
        }
    )
