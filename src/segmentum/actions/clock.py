"""Wall-clock time in the workspace time zone (timestamps are stored naive in that zone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from segmentum.workspace import Workspace


def now(ws: Workspace) -> datetime:
    return datetime.now(ZoneInfo(ws.config.timezone)).replace(tzinfo=None)


def add_duration(start: datetime, text: str) -> datetime:
    """`start` plus a definition duration (30d, 2w, 6m, 1y); months clamp to the month's last day."""
    import pandas as pd

    from segmentum.spec.models import parse_duration

    n, unit = parse_duration(text)
    offset = {"d": pd.DateOffset(days=n), "w": pd.DateOffset(weeks=n), "m": pd.DateOffset(months=n),
              "y": pd.DateOffset(years=n)}[unit]
    return (pd.Timestamp(start) + offset).to_pydatetime()
