"""Honest numbers for a next-day direction model: walk-forward folds, rank IC, baselines and
bootstrap intervals over dates.

Every function takes frames with one row per (ticker, trade_date) and at least: `label` (1.0 when
the next session closed higher), `probability`, `next_day_return` and `return_lag1`.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from low_assets import calendar

BOOTSTRAP_SAMPLES = 200


@dataclass(frozen=True)
class Fold:
    train_dates: pd.DatetimeIndex
    test_dates: pd.DatetimeIndex


def walk_forward_folds(
    dates: pd.Series,
    *,
    n_folds: int,
    fold_days: int,
    embargo_days: int,
    min_train_days: int,
) -> list[Fold]:
    """The last `n_folds` blocks of `fold_days` sessions, each trained on every earlier date but
    the `embargo_days` just before the block. Blocks with fewer than `min_train_days` training
    dates are dropped, so a short window yields fewer folds rather than flimsy ones."""
    unique = pd.DatetimeIndex(dates.drop_duplicates().sort_values())
    folds = []
    for k in range(n_folds, 0, -1):
        test_end = len(unique) - (k - 1) * fold_days
        test_start = test_end - fold_days
        train_end = test_start - embargo_days
        if test_start < 0 or train_end < min_train_days:
            continue
        folds.append(Fold(unique[:train_end], unique[test_start:test_end]))
    return folds


def daily_rank_ic(frame: pd.DataFrame, score: str = "probability") -> pd.Series:
    """Per date, the Spearman correlation across tickers of `score` with the next-day return."""
    ranked = frame[["trade_date"]].copy()
    grouped = frame.groupby("trade_date")
    ranked["score_rank"] = grouped[score].rank()
    ranked["return_rank"] = grouped["next_day_return"].rank()
    correlations = ranked.groupby("trade_date")[["score_rank", "return_rank"]].corr()
    ic = correlations.xs("score_rank", level=1)["return_rank"]
    return ic.dropna()


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else float("nan")


def score_predictions(frame: pd.DataFrame) -> dict[str, float]:
    """The model's numbers beside "always up" and "yesterday's direction" on the same rows."""
    y = frame["label"].to_numpy(dtype=int)
    probability = frame["probability"].to_numpy(dtype=float)
    yesterday_up = (frame["return_lag1"].to_numpy(dtype=float) > 0).astype(int)
    base_rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6)) if len(y) else 0.5

    ic = daily_rank_ic(frame)
    ic_yesterday = daily_rank_ic(frame, score="return_lag1")
    return {
        "rows": float(len(frame)),
        "dates": float(frame["trade_date"].nunique()),
        "roc_auc": _auc(y, probability),
        "accuracy": float(accuracy_score(y, probability >= 0.5)),
        "log_loss": float(log_loss(y, np.clip(probability, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "rank_ic_mean": float(ic.mean()),
        "rank_ic_ir": float(ic.mean() / ic.std(ddof=1)) if len(ic) > 1 else float("nan"),
        "baseline_up_accuracy": float(np.mean(y == 1)),
        "baseline_up_log_loss": float(log_loss(y, np.full(len(y), base_rate), labels=[0, 1])),
        "baseline_yesterday_accuracy": float(np.mean(y == yesterday_up)),
        "baseline_yesterday_roc_auc": _auc(y, frame["return_lag1"].to_numpy(dtype=float)),
        "baseline_yesterday_rank_ic_mean": float(ic_yesterday.mean()),
    }


def bootstrap_intervals(
    frame: pd.DataFrame, *, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0, level: float = 0.9
) -> dict[str, float]:
    """Percentile intervals for ROC AUC and mean rank IC, resampling whole dates with
    replacement (rows of one day move together, as their outcomes do)."""
    dates = np.sort(frame["trade_date"].unique())
    if len(dates) < 2:
        return {}
    rng = np.random.default_rng(seed)
    ic = daily_rank_ic(frame).reindex(dates)
    row_date = np.searchsorted(dates, frame["trade_date"].to_numpy())
    rows_by_date = [np.flatnonzero(row_date == i) for i in range(len(dates))]
    y = frame["label"].to_numpy(dtype=int)
    probability = frame["probability"].to_numpy(dtype=float)

    aucs, ics = [], []
    for _ in range(samples):
        picked = rng.integers(0, len(dates), len(dates))
        rows = np.concatenate([rows_by_date[i] for i in picked])
        aucs.append(_auc(y[rows], probability[rows]))
        ics.append(np.nanmean(ic.to_numpy()[picked]))
    tail = (1 - level) / 2 * 100
    return {
        "roc_auc_low": float(np.nanpercentile(aucs, tail)),
        "roc_auc_high": float(np.nanpercentile(aucs, 100 - tail)),
        "rank_ic_low": float(np.nanpercentile(ics, tail)),
        "rank_ic_high": float(np.nanpercentile(ics, 100 - tail)),
    }


def join_outcomes(predictions: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Each out-of-sample prediction with what its ticker did over the next session.

    predictions: trade_date, ticker, probability, prediction, model_version, in_sample.
    features: ticker, trade_date, return_lag1 for the prediction days and the sessions after.
    Rows whose next session has no features yet (not traded, or not stored yet) are left out.
    """
    calls = predictions[~predictions["in_sample"].astype(bool)]
    if calls.empty:
        return calls.assign(
            next_trade_date=pd.Series(dtype="datetime64[ns]"),
            return_lag1=pd.Series(dtype=float),
            actual_return=pd.Series(dtype=float),
        )
    returns = features[["ticker", "trade_date", "return_lag1"]]
    next_session = calendar.next_sessions(calls["trade_date"])
    joined = calls.assign(next_trade_date=calls["trade_date"].map(next_session))
    joined = joined.merge(returns, on=["ticker", "trade_date"], how="left")
    joined = joined.merge(
        returns.rename(columns={"trade_date": "next_trade_date", "return_lag1": "actual_return"}),
        on=["ticker", "next_trade_date"],
        how="inner",
    )
    joined["actual_up"] = joined["actual_return"] > 0
    joined["correct"] = joined["prediction"].astype(bool) == joined["actual_up"]
    return joined


def rolling_scorecard(outcomes: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per date, the hit rate, ROC AUC and mean rank IC of the `window` sessions ending there,
    beside always-up and yesterday's-direction hit rates on the same rows."""
    dates = np.sort(outcomes["trade_date"].unique())
    rows = []
    for end in range(len(dates)):
        span = dates[max(0, end - window + 1) : end + 1]
        part = outcomes[outcomes["trade_date"].isin(span)]
        y = part["actual_up"].to_numpy(dtype=int)
        yesterday_up = part["return_lag1"].to_numpy(dtype=float) > 0
        rows.append(
            {
                "trade_date": dates[end],
                "sessions": len(span),
                "rows": len(part),
                "hit_rate": float(part["correct"].mean()),
                "always_up_hit_rate": float(y.mean()),
                "yesterday_hit_rate": float(np.mean(yesterday_up == y.astype(bool))),
                "roc_auc": _auc(y, part["probability"].to_numpy(dtype=float)),
                "rank_ic": float(
                    daily_rank_ic(part.rename(columns={"actual_return": "next_day_return"})).mean()
                ),
            }
        )
    return pd.DataFrame(rows)


def sessions_behind_always_up(scorecard: pd.DataFrame) -> int:
    """How many of the latest sessions in a row the model's rolling hit rate trailed always-up."""
    behind = (scorecard["hit_rate"] < scorecard["always_up_hit_rate"]).to_numpy()[::-1]
    return int(np.argmin(behind)) if not behind.all() else len(behind)
