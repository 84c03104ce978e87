"""Size history: how many customers a segment (or each segment of a segmentation) had in each run.

One meaning, shared by the API (`GET /v1/segments/{name}`), the dashboard's "size over time" chart and the
analyses:

- the runs are the complete **batch** runs (a real-time run holds only the customers it re-evaluated, so it
  says nothing about a segment's size), ordered by `as_of`, then run id (DESIGN.md: the newest run is the newest
  by as_of, then id; a backfill adds runs with an earlier as_of after later ones);
- a run that computed the segment (its definition, the segmentation or the standalone segment, is in the run's
  `definition_hashes`) and has no member of it counts as **0**;
- a run that did not compute it (`segmentum run --only` of other definitions) is **absent**: it says nothing
  about the segment's size. A run that recorded no definition hashes (written before they were recorded)
  counts as computing what its memberships hold;
- **one point per as_of**: when several of these runs share an as_of (a backfill ending on the day of an
  earlier run, a run repeated the same day) the latest of them (the highest id: the one `latest_run` would
  pick) stands for that day, so a chart never draws two points, or a vertical jump, at one date.

`share` is of the run's customers.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from segmentum.context import Context
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.store.snapshots import RunInfo
from segmentum.views.catalog import check_segment, computed, definition_catalog, owner

COLUMNS = ["run_id", "as_of", "name", "segmentation", "segment", "customers", "share"]


def size_history(ctx: Context, name: str) -> pd.DataFrame:
    """Size of segment `name` in every complete batch run that computed it, one run per as_of: run_id, as_of,
    name, segmentation, segment, customers, share (ordered by as_of)."""
    check_segment(ctx, name)
    info = definition_catalog(ctx).get(name, {})
    segmentation = info.get("segmentation", owner(name) if "." in name else None)
    segment = info.get("segment", name.rpartition(".")[2])
    return _history(ctx, owner(name), segmentation, [(name, segment)])


def segmentation_history(ctx: Context, segmentation: str) -> pd.DataFrame:
    """Size of every segment of `segmentation` in every complete batch run that computed it (same columns
    and rules as `size_history`): the segments are those defined now and those any of these runs held."""
    check_segment(ctx, f"{segmentation}.*")
    defined = [
        (name, info["segment"])
        for name, info in definition_catalog(ctx).items()
        if info["segmentation"] == segmentation
    ]
    stored = ctx.store.query(
        f"SELECT DISTINCT name, segment FROM {META}.memberships WHERE segmentation = ? ORDER BY name",
        [segmentation],
    )
    names = list(dict.fromkeys([*defined, *((r[0], r[1]) for r in stored)]))
    return _history(ctx, segmentation, segmentation, names)


def _history(
    ctx: Context, definition: str, segmentation: str | None, names: list[tuple[str, str]]
) -> pd.DataFrame:
    runs = [r for r in snapshot.batch_runs(ctx.store) if computed(r, definition) is not False]
    if not names or not runs:
        return pd.DataFrame(columns=COLUMNS)
    counts = {
        (run_id, name): int(n)
        for run_id, name, n in ctx.store.query(
            f"""SELECT run_id, name, count(*) FROM {META}.memberships
                WHERE list_contains(?, run_id) AND list_contains(?, name) GROUP BY ALL""",
            [[r.run_id for r in runs], [n for n, _ in names]],
        )
    }
    held = {run_id for run_id, _ in counts}
    # a run without recorded hashes computed what it holds
    runs = [r for r in runs if computed(r, definition) or r.run_id in held]
    by_day: dict[datetime, RunInfo] = {}
    for run in runs:  # the latest first (as_of, then id): the first run of each as_of stands for it
        by_day.setdefault(run.as_of, run)
    rows = [
        {
            "run_id": run.run_id,
            "as_of": run.as_of,
            "name": name,
            "segmentation": segmentation,
            "segment": segment,
            "customers": counts.get((run.run_id, name), 0),
            "share": counts.get((run.run_id, name), 0) / run.customers if run.customers else None,
        }
        for run in sorted(by_day.values(), key=lambda r: r.as_of)
        for name, segment in sorted(names)
    ]
    return pd.DataFrame(rows, columns=COLUMNS)
