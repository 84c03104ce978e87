"""Segments of a run: the overview (size, share, revenue share of every segment and segmentation) and one
segment's detail.

Sizes come from `segmentum.runs.sizes.segment_sizes` (revenue = qualifying orders up to the run's as_of).
A segment the run computed (its definition is in the run's `definition_hashes`) that has no member is listed with
0 customers; a segment the run did not compute is not listed for that run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.context import Context
from segmentum.runs.sizes import segment_sizes as run_segment_sizes
from segmentum.store import snapshots as snapshot
from segmentum.store.snapshots import RunInfo
from segmentum.views.catalog import check_segment, computed, definition_catalog, owner
from segmentum.views.frames import records
from segmentum.views.history import size_history

if TYPE_CHECKING:
    from segmentum.spec.definitions import Definitions

SIZE_COLUMNS = ["name", "segmentation", "segment", "customers", "share", "revenue", "revenue_share"]


@dataclass(frozen=True)
class SegmentSizes:
    """Every segment of one run: name, segmentation, segment, customers, share, revenue, revenue_share,
    description, defined (in the definitions now)."""

    run: RunInfo
    sizes: pd.DataFrame


def segment_sizes(
    ctx: Context, run_id: int | None = None, *, definitions: Definitions | None = None
) -> SegmentSizes:
    """Sizes of every segment of a complete run (default: the newest batch run), sorted by name.

    Shares are of the run's customers (a standalone segment's share is of everyone, so shares need not add
    up to 1); revenue counts qualifying orders up to the run's as_of. `definitions`: already loaded ones.
    """
    run = snapshot.resolve_run(ctx.store, run_id)
    stored = run_segment_sizes(ctx.store, run.run_id, ctx.config.currency)
    catalog = definition_catalog(ctx, definitions)
    seen = set(stored["name"])
    # computed by this run and empty: 0, so an empty segment is not mistaken for an unknown one
    empty = [
        {
            "name": name,
            "segmentation": info["segmentation"],
            "segment": info["segment"],
            "customers": 0,
            "share": 0.0,
            "revenue": 0.0,
            "revenue_share": 0.0,
        }
        for name, info in catalog.items()
        if name not in seen and computed(run, name)
    ]
    sizes = stored[SIZE_COLUMNS]
    if empty:
        sizes = pd.concat([sizes, pd.DataFrame(empty, columns=SIZE_COLUMNS)], ignore_index=True)
    sizes = sizes.sort_values("name", kind="stable").reset_index(drop=True)
    sizes["customers"] = sizes["customers"].astype("int64")
    sizes["description"] = [catalog.get(n, {}).get("description") for n in sizes["name"]]
    sizes["defined"] = [n in catalog for n in sizes["name"]]
    return SegmentSizes(run, sizes)


def overview(ctx: Context) -> dict[str, Any]:
    """Standalone segments and segmentations (with their segments) of the newest complete batch run.

    Before the first run, the defined segments are listed with `customers` null.
    """
    run = snapshot.latest_run(ctx.store)
    if run is not None:
        rows = records(segment_sizes(ctx, run.run_id).sizes)
    else:
        rows = [
            {**info, "name": name, "customers": None, "share": None, "revenue": None, "revenue_share": None}
            | {"defined": True}
            for name, info in definition_catalog(ctx).items()
        ]
    standalone: list[dict[str, Any]] = []
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        entry = {
            "name": row["name"],
            "segmentation": row["segmentation"],
            "segment": row["segment"] or row["name"].rpartition(".")[2],
            "description": row["description"],
            "customers": row["customers"],
            "share": row["share"],
            "revenue": row["revenue"],
            "revenue_share": row["revenue_share"],
            "defined": row["defined"],
        }
        (grouped[row["segmentation"]] if row["segmentation"] else standalone).append(entry)
    segmentations = [
        {"name": name, "customers": sum(e["customers"] or 0 for e in entries), "segments": entries}
        for name, entries in grouped.items()
    ]
    return {"run": run.to_dict() if run else None, "segments": standalone, "segmentations": segmentations}


def segment_detail(ctx: Context, name: str) -> dict[str, Any]:
    """One segment: its size now (the newest batch run that computed it) and its size history."""
    check_segment(ctx, name)
    history = records(size_history(ctx, name))
    info = definition_catalog(ctx).get(name, {})
    latest = history[-1] if history else None
    return {
        "name": name,
        "segmentation": info.get("segmentation", owner(name) if "." in name else None),
        "segment": info.get("segment", name.rpartition(".")[2]),
        "description": info.get("description"),
        "customers": latest["customers"] if latest else None,
        "share": latest["share"] if latest else None,
        "run_id": latest["run_id"] if latest else None,
        "history": history,
    }
