"""Schedules for batch runs while the server runs: `15m`, `2h`, `30s`, `1d` or `daily 02:00`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from segmentum.errors import ConfigError

_INTERVAL = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$", re.IGNORECASE)
_DAILY = re.compile(r"^\s*daily\s+(\d{1,2}):(\d{2})\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Schedule:
    """Either every `interval`, or every day at `at` (workspace wall-clock time)."""

    text: str
    interval: timedelta | None = None
    at: time | None = None

    def next_after(self, now: datetime) -> datetime:
        """The first run time strictly after `now` (naive wall-clock time)."""
        if self.interval is not None:
            return now + self.interval
        assert self.at is not None
        candidate = datetime.combine(now.date(), self.at)
        return candidate if candidate > now else candidate + timedelta(days=1)


def parse_schedule(text: str) -> Schedule:
    """Parse `--schedule`; ConfigError with the allowed forms otherwise."""
    match = _INTERVAL.match(text)
    if match:
        seconds = int(match.group(1)) * _UNITS[match.group(2).lower()]
        if seconds < 1:
            raise ConfigError(f"schedule {text!r}: the interval must be at least 1 second")
        return Schedule(text, interval=timedelta(seconds=seconds))
    match = _DAILY.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise ConfigError(
                f"schedule {text!r}: {hour:02d}:{minute:02d} is not a time of day (00:00 to 23:59)"
            )
        return Schedule(text, at=time(hour, minute))
    raise ConfigError(
        f"unknown schedule {text!r}; allowed: an interval such as '15m', '2h', '30s', '1d', "
        "or 'daily HH:MM' (workspace time zone), e.g. --schedule 'daily 02:00'"
    )
