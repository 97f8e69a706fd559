"""Freshness on the trading calendar: each session's partition is due by a time the next morning.

After trading day D, the partition D of an asset is due at the asset's deadline (UTC) on the
calendar day after D: by default 06:30 for stock_data and 06:35 for predictions, so a Friday
session is due on Saturday morning. Weekends and market holidays are never due, so they raise no
alarm. A sensor evaluates the checks and records a result whenever one changes.
"""

import datetime as dt
import json
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from low_assets import calendar

DEFAULT_DEADLINES_UTC = {"stock_data": dt.time(6, 30), "predictions": dt.time(6, 35)}
CHECK_NAME = "fresh_by_deadline"
# How often the sensor looks; a result is recorded only when it changes.
EVALUATION_INTERVAL_SECONDS = 5 * 60


def _utc(moment) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def deadline_of(trading_day, deadline_utc: dt.time) -> pd.Timestamp:
    """When trading_day's partition is due: deadline_utc on the next calendar day."""
    next_day = calendar.as_day(trading_day) + pd.Timedelta(days=1)
    return pd.Timestamp.combine(next_day.date(), deadline_utc).tz_localize("UTC")


def latest_due_trading_day(now, deadline_utc: dt.time) -> pd.Timestamp:
    """The newest trading day whose partition is due by now."""
    now = _utc(now)
    # deadline_of(D) <= now  <=>  D <= the calendar day of (now - deadline time) - 1 day.
    since_deadline = now - pd.Timedelta(hours=deadline_utc.hour, minutes=deadline_utc.minute)
    last_possible = calendar.as_day(since_deadline.tz_localize(None)) - pd.Timedelta(days=1)
    if calendar.is_trading_day(last_possible):
        return last_possible
    return calendar.previous_trading_day(last_possible)


@dataclass(frozen=True)
class FreshnessResult:
    asset: str
    due_day: pd.Timestamp
    deadline: pd.Timestamp
    materialized_at: pd.Timestamp | None

    @property
    def passed(self) -> bool:
        return self.materialized_at is not None

    @property
    def description(self) -> str:
        day, deadline = self.due_day.date(), self.deadline.strftime("%Y-%m-%d %H:%M UTC")
        if self.materialized_at is None:
            return f"{self.asset} {day} was due by {deadline} and is missing"
        late = " (late)" if self.materialized_at > self.deadline else ""
        return f"{self.asset} {day} was due by {deadline}, stored {self.materialized_at}{late}"

    def metadata(self) -> dict:
        return {
            "due_partition": str(self.due_day.date()),
            "deadline_utc": self.deadline.isoformat(),
            "materialized_at_utc": self.materialized_at.isoformat()
            if self.materialized_at is not None
            else "never",
            "minutes_late": round((self.materialized_at - self.deadline).total_seconds() / 60, 1)
            if self.materialized_at is not None and self.materialized_at > self.deadline
            else 0.0,
        }


def evaluate_freshness(asset: str, now, deadline_utc: dt.time, materialized_at) -> FreshnessResult:
    """Freshness of asset at now; materialized_at(day) is when partition day was last stored,
    or None."""
    day = latest_due_trading_day(now, deadline_utc)
    return FreshnessResult(
        asset=asset,
        due_day=day,
        deadline=deadline_of(day, deadline_utc),
        materialized_at=materialized_at(day),
    )


def stored_at(instance: dg.DagsterInstance, asset: str):
    """A lookup of when a partition of asset was last materialised, from the instance."""

    def lookup(day: pd.Timestamp) -> pd.Timestamp | None:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(asset), asset_partitions=[day.strftime("%Y-%m-%d")]
            ),
            limit=1,
        ).records
        return pd.Timestamp(records[0].timestamp, unit="s", tz="UTC") if records else None

    return lookup


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _describe(deadlines: dict[str, dt.time]) -> str:
    return ", ".join(f"{asset} by {time:%H:%M} UTC" for asset, time in deadlines.items())


def build_freshness_checks(deadlines: dict[str, dt.time] = DEFAULT_DEADLINES_UTC):
    """One `fresh_by_deadline` check per asset; running it evaluates freshness at that moment."""

    @dg.multi_asset_check(
        name="trading_day_freshness",
        specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=asset,
                description=f"The latest trading day's partition is stored by {time:%H:%M} UTC "
                "the next calendar day; weekends and holidays are never due.",
            )
            for asset, time in deadlines.items()
        ],
        # A job of one asset runs that asset's freshness check only.
        can_subset=True,
    )
    def trading_day_freshness(context: dg.AssetCheckExecutionContext):
        now = _now()
        selected = {key.asset_key.to_user_string() for key in context.selected_asset_check_keys}
        for asset, deadline in deadlines.items():
            if asset not in selected:
                continue
            result = evaluate_freshness(asset, now, deadline, stored_at(context.instance, asset))
            yield dg.AssetCheckResult(
                asset_key=asset,
                check_name=CHECK_NAME,
                passed=result.passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=result.description,
                metadata=result.metadata(),
            )

    return trading_day_freshness


def build_freshness_sensor(
    deadlines: dict[str, dt.time] = DEFAULT_DEADLINES_UTC, clock=_now
) -> dg.SensorDefinition:
    """A sensor that records each asset's freshness when it changes: a new day falls due, or a
    missing partition arrives. Its cursor holds the last state per asset."""

    @dg.sensor(
        name="trading_day_freshness_sensor",
        minimum_interval_seconds=EVALUATION_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Freshness on the trading calendar: {_describe(deadlines)}.",
    )
    def trading_day_freshness_sensor(context: dg.SensorEvaluationContext):
        now = clock()
        last_states = json.loads(context.cursor) if context.cursor else {}
        states, evaluations = {}, []
        for asset, deadline in deadlines.items():
            result = evaluate_freshness(asset, now, deadline, stored_at(context.instance, asset))
            states[asset] = f"{result.due_day.date()}:{'fresh' if result.passed else 'missing'}"
            if states[asset] == last_states.get(asset):
                continue
            if not result.passed:
                context.log.warning(result.description)
            evaluations.append(
                dg.AssetCheckEvaluation(
                    asset_key=dg.AssetKey(asset),
                    check_name=CHECK_NAME,
                    passed=result.passed,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=result.description,
                    metadata=result.metadata(),
                )
            )
        if not evaluations:
            return dg.SkipReason(f"freshness unchanged: {', '.join(states.values())}")
        return dg.SensorResult(asset_events=evaluations, cursor=json.dumps(states))

    return trading_day_freshness_sensor
