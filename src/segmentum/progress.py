"""Progress of long work: a callback library code calls, and the one estimate of the time left.

Library code that loops (backfill points, ingest rows, report sections) never prints: it takes a `Progress`
callback and calls it with how much is done out of how much, and a short label of the step. Interfaces
draw it (the CLI's bar on standard error, a job record of `segmentum serve`) and estimate the time left
with `Estimate`, so every display says the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

BYTES = "bytes"  # the unit of steps that count bytes read; other steps count items (points, rows, sections)


class Progress(Protocol):
    """`progress(done, total, label, unit="")`: `done` of `total` units of the step `label`; `done` never
    decreases within a step and the last call of a step has `done == total`. `total` is None when it is not
    known in advance; `unit` is `BYTES` for bytes read, else empty (a count of items)."""

    def __call__(self, done: int, total: int | None, label: str, unit: str = "") -> None: ...


def notify(progress: Progress | None, done: int, total: int | None, label: str, unit: str = "") -> None:
    """Call `progress` when there is one: library code reports through this, so `None` means no display."""
    if progress is not None:
        progress(done, total, label, unit)


class Estimate:
    """The time left from the time elapsed, assuming the rest goes at the pace so far.

    Started when created (or at `restart`); `clock` is injectable so that tests need no sleeping."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()

    def restart(self) -> None:
        self.started = self._clock()

    def elapsed(self) -> float:
        """Seconds since the start."""
        return max(0.0, self._clock() - self.started)

    def remaining(self, done: int, total: int | None) -> float | None:
        """Seconds left, or None while nothing is done yet or the total is unknown."""
        if total is None or done <= 0:
            return None
        if done >= total:
            return 0.0
        return self.elapsed() * (total - done) / done


def duration(seconds: float | None) -> str:
    """Seconds as `1:02:03` / `2:03` for displays; `?` when not known."""
    if seconds is None:
        return "?"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Laps:
    """Seconds per named step of a piece of work, each from the end of the one before (or from `restart`),
    rounded to 0.1 ms, into `timings` (a run's `timings`, which `bench.microbatch_cost` and `bench.run` read)."""

    def __init__(self, timings: dict[str, float] | None = None) -> None:
        self.timings = timings if timings is not None else {}
        self._mark = time.perf_counter()

    def restart(self) -> None:
        """The next step is timed from now (what came between is not a step)."""
        self._mark = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._mark, 4)
        self._mark = now
