"""Named crash points for fault-injection tests: `SEGMENTUM_FAULT=<point>` ends the process there at once.

The points sit where a crash would hurt most on the way from a run to a delivered action, so a test can kill a
real process at exactly that step (not by racing a signal) and show that nothing is lost or sent twice:

- `after_snapshot`: the run's snapshot has committed; its transitions are not in the outbox yet.
- `after_enqueue`: the outbox holds the run's actions; nothing has been delivered.
- `after_send`: a sink has sent an item (the receiver has it); the outbox does not say so yet.

Without the environment variable (production) `crash_point` does nothing.
"""

from __future__ import annotations

import os
import sys

ENV = "SEGMENTUM_FAULT"
CRASH_POINTS = ("after_snapshot", "after_enqueue", "after_send")
EXIT_CODE = 86  # what a process ended by a crash point exits with (tests tell it from a real failure)


def crash_point(name: str) -> None:
    """End the process now, without cleanup (as a power cut would), when $SEGMENTUM_FAULT names this point."""
    if name not in CRASH_POINTS:  # a typo in a caller would make its test pass for the wrong reason
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(CRASH_POINTS)}")
    if os.environ.get(ENV) == name:
        sys.stderr.write(f"segmentum: fault injected at {name} ({ENV})\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
