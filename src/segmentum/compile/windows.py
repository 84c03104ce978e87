"""Time windows of aggregate traits: `within: 90d`, `between: [180d, 90d]`, computed in Python.

Bounds are passed to the engines as literals, so every engine sees the same instants. Units: d (calendar
days), w (7 days), m (calendar months, clamped to the month's last day), y (calendar years, 29 Feb -> 28 Feb).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from segmentum.spec.models import AggregateTrait, parse_duration


def minus(ts: datetime, text: str) -> datetime:
    """`ts` moved back by a duration such as `90d`, `2w`, `6m`, `1y`."""
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


def bounds(spec: AggregateTrait, as_of: datetime) -> tuple[datetime | None, datetime]:
    """(exclusive lower bound or None, inclusive upper bound) of the rows an aggregate sees."""
    if spec.within is not None:
        return minus(as_of, spec.within), as_of
    if spec.between is not None:
        far, near = spec.between
        return minus(as_of, far), minus(as_of, near)
    return None, as_of
