"""The next-day direction model: labels, estimators, walk-forward training and prediction.

The label of (ticker, D) is whether the ticker's close on the next trading day after D is higher
than its close on D, both split-adjusted. It is read off the next session's `return_lag1` (the
return from D's close to the next close), and a day whose next session has no row for the
ticker gets no label. A model for a period is trained only on rows whose labels were known before
the period began, so every prediction it makes in that period is out of sample.

Dates decide every split: walk-forward folds test on later blocks of dates than they train on,
with an embargo of the label horizon between them, never on a random sample of rows.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier

from low_assets import calendar
from low_assets.evaluation import bootstrap_intervals, score_predictions, walk_forward_folds
from low_assets.schema import FEATURE_COLUMNS

LABEL_HORIZON_DAYS = 1

ESTIMATORS = {
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}


def build_estimator(kind: str, params: dict):
    """A fresh, unfitted estimator of `kind` with `params`; unknown kinds are named."""
    if kind not in ESTIMATORS:
        raise ValueError(f"estimator {kind!r} is not one of {', '.join(sorted(ESTIMATORS))}")
    return ESTIMATORS[kind](**params)


@dataclass
class TrainedModel:
    """What `rf_model` stores: the fitted estimator and the facts needed to use it honestly."""

    estimator: object
    estimator_kind: str
    params: dict
    feature_names: list[str]
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    train_rows: int
    sklearn_version: str
    # Set by the IO manager when the artifact is read back; never part of the stored bytes.
    artifact_sha256: str | None = field(default=None, compare=False)

    @property
    def version(self) -> str:
        if self.artifact_sha256 is None:
            raise ValueError("a model's version is known only once its artifact is stored")
        return self.artifact_sha256[:16]


@dataclass
class TrainingReport:
    """How the training procedure fared out of sample, fold by fold and overall."""

    folds: pd.DataFrame
    overall: dict[str, float]
    out_of_sample: pd.DataFrame
    training_seconds: float


def add_next_day_labels(features: pd.DataFrame) -> pd.DataFrame:
    """features with `next_day_return` and `label` (1.0 up, 0.0 not up, NaN unknown)."""
    if features.empty:
        return features.assign(next_day_return=np.nan, label=np.nan)
    next_session = calendar.next_sessions(features["trade_date"])

    keyed = features.assign(next_date=features["trade_date"].map(next_session))
    following = features[["ticker", "trade_date", "return_lag1"]].rename(
        columns={"trade_date": "next_date", "return_lag1": "next_day_return"}
    )
    labelled = keyed.merge(following, on=["ticker", "next_date"], how="left")
    labelled["label"] = np.where(
        labelled["next_day_return"].isna(), np.nan, (labelled["next_day_return"] > 0).astype(float)
    )
    return labelled.drop(columns="next_date")


def training_rows(features: pd.DataFrame, before: pd.Timestamp, window_days: int) -> pd.DataFrame:
    """Labelled rows of the latest `window_days` sessions whose label was known before `before`:
    the row's own date and its next session both fall before it."""
    labelled = add_next_day_labels(features[features["trade_date"] < before])
    labelled = labelled.dropna(subset=["label"])
    window = labelled["trade_date"].drop_duplicates().sort_values().iloc[-window_days:]
    return labelled[labelled["trade_date"].isin(window)].reset_index(drop=True)


def _fit(kind: str, params: dict, rows: pd.DataFrame):
    estimator = build_estimator(kind, params)
    estimator.fit(rows[FEATURE_COLUMNS].to_numpy(), rows["label"].to_numpy(dtype=int))
    return estimator


def _probability(estimator, rows: pd.DataFrame) -> np.ndarray:
    if rows.empty:
        return np.array([], dtype=float)
    # A forest sums its trees' votes in whatever order its threads finish, which moves the last
    # digit between two runs; one thread sums them in tree order, so the same model and rows
    # always give the same probabilities.
    threads = getattr(estimator, "n_jobs", None)
    if threads not in (None, 1):
        estimator.set_params(n_jobs=1)
    try:
        return estimator.predict_proba(rows[FEATURE_COLUMNS].to_numpy())[:, 1]
    finally:
        if threads not in (None, 1):
            estimator.set_params(n_jobs=threads)


def train_with_walk_forward(
    rows: pd.DataFrame,
    *,
    kind: str,
    params: dict,
    n_folds: int,
    fold_days: int,
    min_train_days: int,
) -> tuple[TrainedModel, TrainingReport]:
    """Score the procedure by walk-forward refits over `rows`, then fit the model on all of them."""
    started = time.perf_counter()
    folds = walk_forward_folds(
        rows["trade_date"],
        n_folds=n_folds,
        fold_days=fold_days,
        embargo_days=LABEL_HORIZON_DAYS,
        min_train_days=min_train_days,
    )
    fold_rows, scored = [], []
    for number, fold in enumerate(folds, start=1):
        train = rows[rows["trade_date"].isin(fold.train_dates)]
        test = rows[rows["trade_date"].isin(fold.test_dates)]
        test = test.assign(probability=_probability(_fit(kind, params, train), test), fold=number)
        scored.append(test)
        fold_rows.append(
            {
                "fold": number,
                "train_start": fold.train_dates[0],
                "train_end": fold.train_dates[-1],
                "test_start": fold.test_dates[0],
                "test_end": fold.test_dates[-1],
                **score_predictions(test),
            }
        )
    out_of_sample = pd.concat(scored, ignore_index=True) if scored else pd.DataFrame()
    overall = {"folds": float(len(folds))}
    if scored:
        overall.update(score_predictions(out_of_sample))
        overall.update(bootstrap_intervals(out_of_sample))

    estimator = _fit(kind, params, rows)
    model = TrainedModel(
        estimator=estimator,
        estimator_kind=kind,
        params=dict(params),
        feature_names=list(FEATURE_COLUMNS),
        train_start=rows["trade_date"].min(),
        train_end=rows["trade_date"].max(),
        train_rows=len(rows),
        sklearn_version=sklearn.__version__,
    )
    report = TrainingReport(
        folds=pd.DataFrame(fold_rows),
        overall=overall,
        out_of_sample=out_of_sample,
        training_seconds=time.perf_counter() - started,
    )
    return model, report


def predict(model: TrainedModel, features: pd.DataFrame) -> pd.DataFrame:
    """ticker, trade_date, probability of a higher close next session, and the 0/1 call."""
    if list(model.feature_names) != list(FEATURE_COLUMNS):
        raise ValueError(
            f"model {model.version} was trained on features {model.feature_names}, but the "
            f"features table has {FEATURE_COLUMNS}; rematerialise rf_model"
        )
    probability = _probability(model.estimator, features)
    return pd.DataFrame(
        {
            "ticker": features["ticker"].to_numpy(),
            "trade_date": features["trade_date"].to_numpy(),
            "probability": probability,
            "prediction": (probability >= 0.5).astype("int64"),
        }
    )
