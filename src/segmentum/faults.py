"""Named crash points for fault-injection tests: `SEGMENTUM_FAULT=<point>` ends the process there at once.

The points sit where a crash would hurt most on the way from a run to a delivered action, so a test can kill a
real process at exactly that step (not by racing a signal) and show that nothing is lost or sent twice:

- `after_snapshot`: the run's snapshot has committed; its transitions are not in the outbox yet.
- `after_enqueue`: the outbox holds the run's actions; nothing has been delivered.
- `after_send`: a sink has sent an item (the receiver has it); the outbox does not say so yet.
- `ingest_chunk`: an ingest in chunks has written a chunk after the first; its transaction is not committed.

And in store maintenance (`STORE_CRASH_POINTS`): `mid_compaction`, `segmentum.store.compact` has rewritten its
first fact table in customer order; the transaction that rewrites them all has not committed.

And a delay point, where a test needs a slow step to overlap others (`delay_point`): `live_loaded`, the
lookups' replica has read the store and not yet taken the result (`runs.realtime.LiveState.load`), for
$SEGMENTUM_FAULT_SECONDS (default 30).

Without the environment variable (production) `crash_point` and `delay_point` do nothing.
"""

from __future__ import annotations

import os
import sys

ENV = "SEGMENTUM_FAULT"
CRASH_POINTS = ("after_snapshot", "after_enqueue", "after_send")  # on the way from a run to an action
INGEST_POINTS = ("ingest_chunk",)
STORE_CRASH_POINTS = ("mid_compaction",)  # inside a store maintenance step
DELAY_POINTS = ("live_loaded",)
SECONDS_ENV = "SEGMENTUM_FAULT_SECONDS"
EXIT_CODE = 86  # what a process ended by a crash point exits with (tests tell it from a real failure)


def crash_point(name: str) -> None:
    """End the process now, without cleanup (as a power cut would), when $SEGMENTUM_FAULT names this point."""
    known = CRASH_POINTS + INGEST_POINTS + STORE_CRASH_POINTS
    if name not in known:  # a typo in a caller would make its test pass for the wrong reason
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(known)}")
    if os.environ.get(ENV) == name:
        sys.stderr.write(f"segmentum: fault injected at {name} ({ENV})\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)


def delay_point(name: str) -> float:
    """Seconds the caller waits here (0 unless $SEGMENTUM_FAULT names this point): the caller waits on what can
    end its wait early (a stop), so the delay tests that a stop does not wait for the step."""
    if name not in DELAY_POINTS:
        raise ValueError(f"unknown delay point {name!r}; known: {', '.join(DELAY_POINTS)}")
    if os.environ.get(ENV) != name:
        return 0.0
    return float(os.environ.get(SECONDS_ENV, "30"))
