"""The dashboard overview's data of the newest batch run, computed once per run and stamp in the server process.

The overview shows what changed in the run (sizes against the previous run, movers, triggers, open tasks), its
Pareto curve and its RFM grid with the segment most of each cell's customers are in. They read the run and what `profile_stamp` covers (data, fits, erasures,
definitions), so they are computed once per (workspace, run, stamp) and kept here; the newest few keys stay.
At a million customers computing them takes seconds (the curve ranks every customer), so `segmentum serve`
computes them in its warming after each batch run and on start (`Runtime.warm`): the first visit reads them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from segmentum.analysis import pareto
from segmentum.analysis.profile import profile_stamp
from segmentum.analysis.rfm import rfm_grid
from segmentum.context import Context
from segmentum.store import snapshots as snapshot
from segmentum.views.changes import RunChanges, rfm_cell_names, run_changes

__all__ = ["COMPUTED", "Overview", "is_ready", "overview_data"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Overview:
    """What changed in the run, its Pareto curve and RFM grid (None when they cannot be drawn), and the RFM
    segment of each (recency, frequency) cell of the grid."""

    changes: RunChanges
    curve: dict[str, Any] | None
    grid: list[list[int]] | None
    cell_names: dict[tuple[int, int], str]


_CACHE: dict[tuple[str, int, str], Overview] = {}
_KEEP = 8
_lock = threading.Lock()
# computations of the overview's sizes and of its RFM grid in this process (tests tell reuse by them)
COMPUTED = {"overview": 0, "rfm": 0}


def overview_data(ws: Context) -> Overview:
    """The newest batch run's `Overview`, computed or read from this process's cache; NotFoundError without a
    complete run."""
    run = snapshot.resolve_run(ws.store, None)
    key = (str(ws.root), run.run_id, profile_stamp(ws))
    with _lock:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    changes = run_changes(ws, run.run_id)
    grid = rfm_grid(ws, run.run_id)
    names = rfm_cell_names(ws, run.run_id) if grid is not None else {}
    with _lock:
        COMPUTED["overview"] += 1
        COMPUTED["rfm"] += 1
    try:
        curve: dict[str, Any] | None = pareto(ws, run_id=run.run_id)
    except Exception:  # noqa: BLE001 - an extra chart that cannot be drawn must not take the overview down
        log.warning("the overview's Pareto curve failed", exc_info=True)
        return Overview(changes, None, grid, names)  # not kept: the next visit tries the curve again
    found = Overview(changes, curve, grid, names)
    with _lock:
        _CACHE[key] = found
        while len(_CACHE) > _KEEP:
            _CACHE.pop(next(iter(_CACHE)))
    return found


def is_ready(ws: Context) -> bool:
    """Whether the newest batch run's overview is computed for the current stamp (no computation)."""
    run = snapshot.latest_run(ws.store)
    if run is None:
        return False
    with _lock:
        return (str(ws.root), run.run_id, profile_stamp(ws)) in _CACHE
