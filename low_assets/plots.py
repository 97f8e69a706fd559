"""Pictures of a model's out-of-sample predictions, as PNG bytes, drawn without a screen.

Input frames have one row per (ticker, trade_date) with `label`, `probability` and
`next_day_return`.
"""

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

FIGURE_SIZE = (5.0, 3.6)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


def markdown_image(png: bytes, title: str) -> str:
    """Markdown that the Dagster UI renders as the picture itself."""
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})"


def roc_plot(frame: pd.DataFrame) -> bytes:
    false_positive, true_positive, _ = roc_curve(frame["label"], frame["probability"])
    figure, axes = plt.subplots(figsize=FIGURE_SIZE)
    axes.plot(false_positive, true_positive, label="model")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, out of sample")
    axes.legend(loc="lower right")
    return _png(figure)


def calibration_plot(frame: pd.DataFrame, bins: int = 10) -> bytes:
    observed, predicted = calibration_curve(
        frame["label"], frame["probability"], n_bins=bins, strategy="quantile"
    )
    figure, axes = plt.subplots(figsize=FIGURE_SIZE)
    axes.plot(predicted, observed, marker="o", label="model")
    low, high = float(predicted.min()), float(predicted.max())
    axes.plot([low, high], [low, high], linestyle="--", color="grey", label="perfect")
    axes.set(xlabel="predicted probability up", ylabel="observed share up", title="Calibration")
    axes.legend(loc="upper left")
    return _png(figure)


def importance_plot(names: list[str], importances: np.ndarray) -> bytes:
    order = np.argsort(importances)
    figure, axes = plt.subplots(figsize=FIGURE_SIZE)
    axes.barh(np.array(names)[order], np.asarray(importances)[order])
    axes.set(xlabel="importance", title="Feature importances")
    return _png(figure)


def decile_returns(frame: pd.DataFrame) -> pd.DataFrame:
    """Per date, the mean next-day return of the top and bottom tenth by probability."""
    ranked = frame.assign(
        pct=frame.groupby("trade_date")["probability"].rank(pct=True, method="first")
    )
    top = ranked[ranked["pct"] > 0.9].groupby("trade_date")["next_day_return"].mean()
    bottom = ranked[ranked["pct"] <= 0.1].groupby("trade_date")["next_day_return"].mean()
    return pd.DataFrame({"winners": top, "losers": bottom}).fillna(0.0)


def decile_plot(frame: pd.DataFrame) -> bytes:
    growth = (1 + decile_returns(frame)).cumprod() - 1
    figure, axes = plt.subplots(figsize=FIGURE_SIZE)
    axes.plot(growth.index, growth["winners"], label="top decile (winners)")
    axes.plot(growth.index, growth["losers"], label="bottom decile (losers)")
    axes.set(ylabel="cumulative next-day return", title="Winners vs losers, out of sample")
    axes.legend(loc="upper left")
    figure.autofmt_xdate()
    return _png(figure)
