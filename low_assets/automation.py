"""When downstream assets run by themselves: after each partition of their inputs lands.

`AutomationCondition.eager()` considers only the latest time partition, so when ingestion
catches up on several days in one tick it would compute features for the last day only. The
condition here requests every partition whose inputs were updated, once its inputs have passed
their blocking checks and none of them is still being written.
"""

from collections.abc import Sequence

import dagster as dg


def follow_each_partition(
    ignoring: Sequence[str] = (), wait_for_every_input: bool = False
) -> dg.AutomationCondition:
    """Run a partition once any input partition it reads has been updated.

    Updates of the assets named in `ignoring` do not trigger a run: they are inputs of every
    partition (split records, the model), so an update would recompute the whole history.
    With `wait_for_every_input`, a partition also waits until every input partition it reads
    exists; leave it off for a lookback that spans weekends and holidays, which ingestion never
    materialises.
    """
    # An update anywhere in a lookback counts, so a backfill of history that stops at day X
    # also requests features for the days up to 45 after X that are not ingested yet; those
    # runs fail their bars_present_for_each_session check and write nothing. In daily running
    # the days after today do not exist yet, so it does not happen. Triggering on the
    # same-day input partition alone would need a condition Dagster's built-ins do not offer.
    inputs_updated = dg.AutomationCondition.any_deps_updated()
    if ignoring:
        inputs_updated = inputs_updated.ignore(dg.AssetSelection.assets(*ignoring))
    condition = (
        inputs_updated.since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    )
    if wait_for_every_input:
        condition = condition & ~dg.AutomationCondition.any_deps_missing()
    return condition.with_label("follow_each_partition")
