"""The progress display of long commands: a bar on standard error, or a plain line every few seconds when it
is not a terminal.

A `ProgressDisplay` is the `progress(done, total, label)` callback of `segmentum.progress`: the library calls
it, this draws it. On a terminal it is a Rich bar with done/total, the time elapsed and the estimate of the
time left; elsewhere (a log, a pipe) one line per step at most every `every` seconds, and the line that ends
a step, so a log shows the work going on and where it ended. Only steps that run longer than `after` seconds
(DESIGN section 8: 2 s) show anything: a quick command prints its answer (or its one `Error:` line) alone.
`SEGMENTUM_PROGRESS_AFTER=0` shows every step.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from segmentum.progress import BYTES, Estimate, duration

PLAIN_EVERY = 5.0  # seconds between two plain lines of one step
SHOW_AFTER = 2.0  # seconds a step runs before its progress shows
AFTER_ENV = "SEGMENTUM_PROGRESS_AFTER"


def _show_after() -> float:
    value = os.environ.get(AFTER_ENV, "")
    try:
        return max(0.0, float(value)) if value else SHOW_AFTER
    except ValueError:
        return SHOW_AFTER


def _amount(value: int | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == BYTES:
        return f"{value / 1_000_000:,.1f} MB"
    return f"{value:,}"


class ProgressDisplay:
    """`with ProgressDisplay("ingest") as progress: library_call(..., progress=progress)`."""

    def __init__(
        self,
        what: str,
        *,
        console: Any = None,
        every: float = PLAIN_EVERY,
        after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from segmentum.cli.common import err

        self.what = what
        self.console = console if console is not None else err
        self.every = every
        self.after = _show_after() if after is None else after
        self.terminal = bool(self.console.is_terminal)
        self._bar: Any = None
        self._task: Any = None
        self._step: tuple[int | None, str] | None = None  # (total, first label) of the step shown
        self._clock = clock
        self._estimate = Estimate(clock)
        self._last_line = float("-inf")
        self._last_done: int | None = None
        self._label: str | None = None  # the label of the last call
        self._ended = False  # the line that ends the step is shown
        self._shown = False  # a line of this step is shown

    def __enter__(self) -> ProgressDisplay:
        if self.terminal:
            from rich.progress import BarColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[amount]}"),
                TextColumn("[dim]{task.fields[times]}"),
                console=self.console,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _ended_at_total(self) -> bool:
        """Whether the last call counted its step to the end (done = total)."""
        return (
            self._step is not None and self._step[0] is not None and (self._last_done or 0) >= self._step[0]
        )

    def __call__(self, done: int, total: int | None, label: str, unit: str = "") -> None:
        # a new step starts when the total changes or the count goes back (reading bytes, then storing rows),
        # or when a step that ended is followed by another label: a progress polled from a server may see
        # "compile 1/1" and then "diff 1/1", the steps between (and their 0/1) falling between two polls
        new_step = (
            self._step is None
            or self._step[0] != total
            or (self._last_done or 0) > done
            or (self._ended_at_total() and label != self._label)
        )
        if new_step:
            self._step = (total, label)
            self._estimate.restart()
            self._last_line = float("-inf")
            self._ended = self._shown = False
        self._last_done, self._label = done, label
        amount = f"{_amount(done, unit)}/{_amount(total, unit)}"
        eta = self._estimate.remaining(done, total)
        times = f"{duration(self._estimate.elapsed())} elapsed, about {duration(eta)} left"
        if self._estimate.elapsed() < self.after and not self._shown:
            return  # a quick step shows nothing
        if self._bar is not None:
            if not self._shown:  # the step's first drawing (it may have started quietly)
                if self._task is not None:
                    self._bar.remove_task(self._task)
                self._task = self._bar.add_task(label, total=total, amount=amount, times=times)
                self._shown = True
            self._bar.update(self._task, completed=done, description=label, amount=amount, times=times)
            return
        finished = total is not None and done >= total
        now = self._clock()
        if (finished and not self._ended) or (not finished and now - self._last_line >= self.every):
            self._last_line, self._ended, self._shown = now, finished, True
            left = "done" if finished else f"about {duration(eta)} left"
            self.console.print(
                f"{self.what}: {label} {amount} ({duration(self._estimate.elapsed())} elapsed, {left})",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
