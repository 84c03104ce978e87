"""The progress of one long DuckDB statement, as DuckDB itself estimates it while the statement runs.

A single query (a run's `CREATE TABLE traits AS ...`) gives Python no chance to count anything: DuckDB knows
how far its pipelines are (`query_progress()` of the connection running it, a percentage, -1 when it cannot
tell). `watch_query` reads that from a thread every `every` seconds while the block runs and reports it as
thousandths through `segmentum.progress`, so the CLI's bar and a server job's record show a fraction and an
estimate instead of nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from segmentum.progress import Progress, notify

log = logging.getLogger(__name__)

THOUSANDTHS = 1000  # the total of a watched step: DuckDB's percentage to a tenth of a percent
EVERY = 0.5  # seconds between two reads of DuckDB's progress
# DuckDB tracks its progress only with the progress bar on; its own printing stays off (we draw it)
_SETTINGS = {"enable_progress_bar": "true", "enable_progress_bar_print": "false"}


@contextmanager
def watch_query(
    cur: Any, progress: Progress | None, label: str, *, every: float | None = None
) -> Iterator[None]:
    """Report step `label` of `progress` while the block runs one statement on cursor `cur`: 0/1000 at once,
    then DuckDB's estimate every `every` seconds (default `EVERY`, read when called; never going back, below 1000 until the end), and 1000/1000
    when the block ends without an error. The polling thread is stopped and joined however the block ends,
    and `cur`'s settings are restored. With `progress` None nothing is changed and no thread starts."""
    if progress is None:
        yield
        return
    notify(progress, 0, THOUSANDTHS, label)
    interval = EVERY if every is None else every
    before = {name: cur.execute(f"SELECT current_setting('{name}')").fetchone()[0] for name in _SETTINGS}
    for name, value in _SETTINGS.items():
        cur.execute(f"SET {name} = {value}")
    stop = threading.Event()
    best = [0]

    def poll() -> None:
        while not stop.wait(interval):
            try:
                percent = float(cur.query_progress())
            except Exception:  # noqa: BLE001 - no estimate this time (the statement just ended): try again
                continue
            done = min(THOUSANDTHS - 1, int(percent * THOUSANDTHS / 100))
            if done > best[0] and not stop.is_set():
                best[0] = done
                try:
                    notify(progress, done, THOUSANDTHS, label)
                except Exception:  # noqa: BLE001 - a display that fails must not fail the work it shows
                    log.warning("progress display of %r failed; not shown further", label, exc_info=True)
                    return

    poller = threading.Thread(target=poll, name=f"segmentum-progress-{label}", daemon=True)
    poller.start()
    try:
        yield
    except BaseException:
        stop.set()
        poller.join()
        # the cursor's transaction may be aborted, refusing any SET: the caller rolls it back, and the
        # settings are this cursor's alone
        with contextlib.suppress(Exception):
            _restore(cur, before)
        raise
    stop.set()
    poller.join()
    _restore(cur, before)
    notify(progress, THOUSANDTHS, THOUSANDTHS, label)


def _restore(cur: Any, before: dict[str, Any]) -> None:
    for name, value in before.items():
        cur.execute(f"SET {name} = {'true' if value else 'false'}")
