"""Time windows of aggregate traits: `within: 90d`, `between: [180d, 90d]`, computed in Python.

Bounds are passed to the engines as literals, so every engine sees the same instants. Units: d (calendar
days), w (7 days), m (calendar months, clamped to the month's last day), y (calendar years, 29 Feb -> 28 Feb).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from segmentum.spec.models import ActivePeriodsTrait, parse_duration

# the durations `minus` was asked for while `recording()` is open (a backfill reuses a compiled run's SQL by
# moving every instant derived from as_of: runs/reuse.py)
_RECORDING: ContextVar[set[str] | None] = ContextVar("segmentum_windows_recording", default=None)


@contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the duration texts every `minus` call receives inside the block."""
    used: set[str] = set()
    token = _RECORDING.set(used)
    try:
        yield used
    finally:
        _RECORDING.reset(token)


def minus(ts: datetime, text: str) -> datetime:
    """`ts` moved back by a duration such as `90d`, `2w`, `6m`, `1y`."""
    used = _RECORDING.get()
    if used is not None:
        used.add(text)
    amount, unit = parse_duration(text)
    if unit == "d":
        return ts - timedelta(days=amount)
    if unit == "w":
        return ts - timedelta(days=7 * amount)
    months = amount if unit == "m" else 12 * amount
    index = ts.year * 12 + (ts.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    day = min(ts.day, calendar.monthrange(year, month)[1])
    return ts.replace(year=year, month=month, day=day)


def bounds(spec: Any, as_of: datetime) -> tuple[datetime | None, datetime]:
    """(exclusive lower bound or None, inclusive upper bound) of the rows a trait over a table sees
    (its `within` or `between`; without either, every row up to as_of)."""
    within = getattr(spec, "within", None)
    between = getattr(spec, "between", None)
    if within is not None:
        return minus(as_of, within), as_of
    if between is not None:
        far, near = between
        return minus(as_of, far), minus(as_of, near)
    return None, as_of


def period_edges(spec: ActivePeriodsTrait, as_of: datetime) -> list[datetime]:
    """`as_of - j*period` for j = 0 .. within/period: period k covers `edges[k+1] < ts <= edges[k]`.

    Each edge is a calendar shift of j units from as_of itself (clamped to the month's end), not j steps of one
    period, so `as_of - 2m` from 31 March is 31 January, not 29 January."""
    size, unit = parse_duration(spec.period)
    return [as_of if j == 0 else minus(as_of, f"{j * size}{unit}") for j in range(spec.periods + 1)]
