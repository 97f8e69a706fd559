"""low_assets: the whole US stock market's daily bars to next-day predictions, on Dagster."""

import warnings

import dagster as dg

# Backfill policies and partition-mapping options this project relies on are marked beta; the
# warning says nothing a user can act on, so it is not repeated at every load.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
