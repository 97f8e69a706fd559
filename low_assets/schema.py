"""Column names and dtypes of every frame that crosses a module or lands in the warehouse.

Frames are conformed to these schemas before they are written, so that an empty day still has
the right column types and a table is never typed from whatever one day happened to hold.
"""

import pandas as pd

# The vendor's grouped-daily payload, with Polygon's own short field names.
RAW_BARS = {
    "T": "string",
    "o": "float64",
    "h": "float64",
    "l": "float64",
    "c": "float64",
    "v": "float64",
    "vw": "Float64",
    "n": "Int64",
    "t": "Int64",
}

# One row per (ticker, trade_date): a day's bar as traded, not adjusted for splits.
STOCK_DATA = {
    "ticker": "string",
    "trade_date": "datetime64[ns]",
    "open": "float64",
    "high": "float64",
    "low": "float64",
    "close": "float64",
    "volume": "float64",
    "vwap": "Float64",
    "transactions": "Int64",
}

# One row per vendor bar that could not be real, with why it was turned away.
REJECTED_BARS = {
    "trade_date": "datetime64[ns]",
    "ticker": "string",
    "reason": "string",
    "payload": "string",
}

# One row per split: on execution_date one old share became split_to / split_from new shares.
SPLITS = {
    "ticker": "string",
    "execution_date": "datetime64[ns]",
    "split_from": "float64",
    "split_to": "float64",
}

FEATURE_COLUMNS = [
    "weekday",
    "day_of_month",
    "return_lag1",
    "volatility_5d",
    "volatility_20d",
    "momentum_5d",
    "price_above_ma20",
    "ma5_ma20_diff",
    "volume_ratio_20",
    "volume_change_1d",
]

# One row per (ticker, trade_date) with enough history for every window.
FEATURES = {
    "ticker": "string",
    "trade_date": "datetime64[ns]",
    **{name: "float64" for name in FEATURE_COLUMNS},
}

# One row per (ticker, trade_date): the call for the next trading day.
PREDICTIONS = {
    "trade_date": "datetime64[ns]",
    "ticker": "string",
    "prediction": "int64",
    "probability": "float64",
    "model_version": "string",
    "in_sample": "bool",
    "load_date": "datetime64[ns]",
}


# One row per out-of-sample prediction whose next session has happened: what followed the call.
PREDICTION_OUTCOMES = {
    "trade_date": "datetime64[ns]",
    "ticker": "string",
    "probability": "float64",
    "prediction": "int64",
    "model_version": "string",
    "return_lag1": "float64",
    "next_trade_date": "datetime64[ns]",
    "actual_return": "float64",
    "actual_up": "bool",
    "correct": "bool",
}


class SchemaError(ValueError):
    """A frame is missing a column its schema requires."""


def conform(frame: pd.DataFrame, schema: dict[str, str], name: str) -> pd.DataFrame:
    """Return frame with exactly the schema's columns, in order, cast to the schema's dtypes."""
    missing = [column for column in schema if column not in frame.columns]
    if missing:
        raise SchemaError(f"{name}: missing column(s) {', '.join(missing)}")
    out = frame.loc[:, list(schema)].copy()
    for column, dtype in schema.items():
        if str(out[column].dtype) != dtype:
            out[column] = out[column].astype(dtype)
    return out.reset_index(drop=True)


def empty(schema: dict[str, str]) -> pd.DataFrame:
    """An empty frame with the schema's columns and dtypes."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in schema.items()})
