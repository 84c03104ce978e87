"""Backfill: runs at past points in time, so history and migration exist from the first day of data.

Each point is a day; its run sees the data up to the end of that day (DESIGN.md section 5), nothing later.
Backfilled runs are history: they fire no triggers. Customer attributes are their current values unless an
attribute history was loaded (a known limit, noted on each run).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from segmentum.errors import SegmentumError
from segmentum.progress import notify

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.progress import Progress
    from segmentum.runs.reuse import CompiledOnce

_EVERY_RE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")
# Each point is a whole run: ten years of days is already hours of work at a million customers. A longer series
# is nearly always a typo in a year (0204 for 2024) and would hold the server's run lock for days.
MAX_POINTS = 3660


class BackfillError(SegmentumError, ValueError):
    """Backfill arguments that cannot be used."""


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def backfill_dates(start: date, end: date, every: str) -> list[date]:
    """The points of a backfill: `Nd`/`Nw` step from `start`; `Nm` month ends and `Ny` year ends after `start`;
    `end` itself always closes the series."""
    match = _EVERY_RE.match(every)
    if not match:
        raise BackfillError(
            f"--every {every!r}: write a number and a unit: 1d, 1w, 1m (month ends), 1y (year ends)"
        )
    if end < start:
        raise BackfillError(f"--to {end} is before --from {start}")
    n, unit = int(match.group(1)), match.group(2)
    if n < 1:
        raise BackfillError("--every needs a step of at least 1")
    span = {"d": (end - start).days // n, "w": (end - start).days // (7 * n)}.get(
        unit, (end.year - start.year) * (12 if unit == "m" else 1) // n
    )
    if span + 1 > MAX_POINTS:
        raise BackfillError(
            f"from {start} to {end} every {every.strip()} is about {span + 1:,} runs; a backfill takes at most "
            f"{MAX_POINTS:,}: check the years, use a longer step (--every 1w, 1m) or split the range"
        )
    points: list[date] = []
    if unit in "dw":
        step = timedelta(days=n * (7 if unit == "w" else 1))
        day = start
        while day <= end:
            points.append(day)
            if (end - day) < step:  # the next step would pass `end` (or the calendar's last day)
                break
            day += step
    elif unit == "m":
        year, month = start.year, start.month
        while year <= end.year and (point := _month_end(year, month)) <= end:
            points.append(point)
            month += n
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    else:
        year = start.year
        while year <= end.year and (point := date(year, 12, 31)) <= end:
            points.append(point)
            year += n
    if not points or points[-1] != end:
        points.append(end)
    return points


def backfill(
    ws: Context,
    start: date,
    end: date,
    every: str = "1m",
    *,
    engine: str = "duckdb",
    only: list[str] | None = None,
    on_run: Callable[[date, Any], None] | None = None,
    progress: Progress | None = None,
    compiled_once: CompiledOnce | None = None,
) -> list[Any]:
    """Run every point of the series in time order; returns the run results (without transitions or sizes:
    `runs.diff.diff` and `runs.sizes.segment_sizes` compute them from a stored run).

    `progress(done, total, label)` is called before the first point and after each one (points done).
    `compiled_once`: shared by the calls of one series made a point at a time (the server's backfill job)."""
    from segmentum.runs.execute import run
    from segmentum.runs.reuse import CompiledOnce

    results = []
    definitions = ws.definitions()  # validated once for the whole series
    once = compiled_once or CompiledOnce()  # and compiled at most twice (runs/reuse.py)
    points = backfill_dates(start, end, every)
    notify(progress, 0, len(points), f"backfill to {points[0]}")
    for done, point in enumerate(points, start=1):
        # a backfill shows neither transitions nor sizes: not computed per point (the stored runs have both)
        result = run(
            ws,
            as_of=point.isoformat(),
            engine=engine,
            only=only,
            definitions=definitions,
            details=False,
            compiled_once=once,
        )
        results.append(result)
        if on_run is not None:
            on_run(point, result)
        following = points[done] if done < len(points) else point
        notify(progress, done, len(points), f"backfill to {following}")
    return results


def point_row(result: Any) -> dict[str, Any]:
    """What a backfill shows of each point's run (the CLI's rows, a job's `runs`)."""
    return {
        "as_of": result.as_of,
        "run_id": result.run_id,
        "customers": result.customers,
        "warnings": result.warnings,
    }
