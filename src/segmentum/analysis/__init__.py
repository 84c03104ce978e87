"""Segment analysis: profiles with lift, comparisons, cross-tabs, Pareto, migration between runs.

Every function reads a complete snapshot (`segmentum.runs` / `memberships` / `traits_<run_id>`) and the
canonical tables, computes in SQL, and returns pandas DataFrames or plain dicts that the CLI, the API, the
dashboard and the report render.
"""

from segmentum.analysis.migration import batch_runs, migration, time_in_segment
from segmentum.analysis.pareto import pareto
from segmentum.analysis.profile import compare, crosstab, profile

__all__ = ["batch_runs", "compare", "crosstab", "migration", "pareto", "profile", "time_in_segment"]
