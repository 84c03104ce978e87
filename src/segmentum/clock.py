"""Time: the one `as_of` resolver, durations, and wall-clock now in the workspace time zone.

Timestamps are stored naive in the workspace time zone (DESIGN.md section 4). Layer 0: this module knows
nothing of the store; callers that need the data's newest timestamp pass a function that reads it
(`Context.resolve_as_of` does).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from segmentum.errors import RunError

END_OF_DAY = time(23, 59, 59, 999999)
STALE_DATA_DAYS = 30
# days per unit of the models' time axis (recency, T): a month is the mean calendar month
TIME_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
DURATION_RE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


def now(timezone: str) -> datetime:
    """Now as a naive timestamp in the time zone `timezone` (the workspace's)."""
    return datetime.now(ZoneInfo(timezone)).replace(tzinfo=None)


def resolve_as_of(
    value: str | datetime | date | None,
    *,
    timezone: str = "UTC",
    newest: Callable[[], datetime | None] = lambda: None,
) -> tuple[datetime, list[str]]:
    """A run's `as_of` (naive, workspace time zone) and warnings (DESIGN.md section 5).

    `'2011-12-09'` -> 2011-12-09 23:59:59.999999; `'latest'` -> the end of the day of `newest()`, the
    newest timestamp in the data; None or `'now'` -> now (with a warning when the data ends more than
    30 days earlier).
    """
    tz = ZoneInfo(timezone)
    warnings: list[str] = []
    if value is None:
        current = datetime.now(tz).replace(tzinfo=None)
        last = newest()
        if last is not None and current - last > timedelta(days=STALE_DATA_DAYS):
            warnings.append(
                f"the data ends on {last:%Y-%m-%d}, {(current - last).days} days before now, so recent-activity "
                "segments will be nearly empty; use --as-of latest (or a date) to run at the end of the data"
            )
        return current, warnings
    if isinstance(value, datetime):
        return _naive(value, tz), warnings
    if isinstance(value, date):
        return datetime.combine(value, END_OF_DAY), warnings
    text = str(value).strip()
    if text.lower() == "latest":
        last = newest()
        if last is None:
            raise RunError(
                "--as-of latest: the workspace has no timestamped data yet; load data with "
                "`segmentum ingest` or give a date such as --as-of 2024-12-31"
            )
        return datetime.combine(last.date(), END_OF_DAY), warnings
    if text.lower() == "now":
        return datetime.now(tz).replace(tzinfo=None), warnings
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return datetime.combine(date.fromisoformat(text), END_OF_DAY), warnings
        except ValueError as exc:
            raise RunError(f"--as-of {text!r}: {exc}; write a date as YYYY-MM-DD") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RunError(
            f"--as-of {text!r} is not a date or timestamp; use YYYY-MM-DD, 'YYYY-MM-DD HH:MM:SS', "
            "an ISO timestamp with an offset, or 'latest'"
        ) from None
    return _naive(parsed, tz), warnings


def _naive(value: datetime, tz: ZoneInfo) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(tz).replace(tzinfo=None)


def parse_duration(text: str) -> tuple[int, str]:
    """`90d` -> (90, 'd'). Units: d (days), w (weeks), m (calendar months), y (calendar years)."""
    match = DURATION_RE.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}; write a whole number and a unit: 30d, 2w, 6m, 1y")
    return int(match.group(1)), match.group(2)


def add_duration(start: datetime, text: str, sign: int = 1) -> datetime:
    """`start` plus (sign 1) or minus (sign -1) a definition duration (30d, 2w, 6m, 1y); months clamp to the
    month's last day."""
    import pandas as pd

    n, unit = parse_duration(text)
    n *= sign
    offset = {
        "d": pd.DateOffset(days=n),
        "w": pd.DateOffset(weeks=n),
        "m": pd.DateOffset(months=n),
        "y": pd.DateOffset(years=n),
    }[unit]
    return (pd.Timestamp(start) + offset).to_pydatetime()
