"""Metric sources: where a team's numbers already live (`metrics:` in the
config).  Each module registers a config model and a factory under its
`type` (role "metric"); a built source has a `name` and
`read(since) -> [(date, metric, value), ...]`, raw values that
`sync.core.assess.metric_feed` checks and folds into the Metrics tab.  A source
only reads, within a size and time bound, and raises an AlignSyncError
when it cannot: the sync goes on and says so (`metric_source_failed`).
"""
