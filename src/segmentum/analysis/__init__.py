"""Segment analysis: profiles with lift, comparisons, cross-tabs, Pareto, migration between runs.

Every function reads a complete snapshot (`segmentum.runs` / `memberships` / `traits_<run_id>`) and the
canonical tables, computes in SQL, and returns pandas DataFrames or plain dicts that the CLI, the API, the
dashboard and the report render.
"""

from segmentum.analysis.migration import migration, segment_history, time_in_segment
from segmentum.analysis.pareto import pareto
from segmentum.analysis.profile import compare, crosstab, profile

__all__ = ["compare", "crosstab", "migration", "pareto", "profile", "segment_history", "time_in_segment"]
