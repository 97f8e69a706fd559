"""When downstream assets run by themselves: after each partition of their inputs lands.

`AutomationCondition.eager()` considers only the latest time partition, so when ingestion
catches up on several days in one tick it would compute features for the last day only. The
condition here requests every partition whose inputs were updated, once its inputs have passed
their blocking checks and none of them is still being written.
"""

from collections.abc import Sequence

import dagster as dg


def follow_each_partition(ignoring: Sequence[str] = ()) -> dg.AutomationCondition:
    """Run a partition once any input partition it reads has been updated.

    Updates of the assets named in `ignoring` do not trigger a run: they are inputs of every
    partition (split records, the model), so an update would recompute the whole history.
    """
    ignored = dg.AssetSelection.assets(*ignoring)
    inputs_updated = dg.AutomationCondition.any_deps_updated()
    if ignoring:
        inputs_updated = inputs_updated.ignore(ignored)
    return (
        inputs_updated.since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("follow_each_partition")
