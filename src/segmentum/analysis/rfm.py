"""The RFM grid of a run: how many customers sit in each (recency score, frequency score) cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentum.store import META
from segmentum.store import snapshots as snapshot

if TYPE_CHECKING:
    from segmentum.context import Context

SCORES = 5


def rfm_grid(ws: Context, run_id: int) -> list[list[int]] | None:
    """grid[r - 1][f - 1] = customers with recency score r and frequency score f (the rfm built-in's
    `rfm_r5`, `rfm_f5`); None when the run has no RFM scores."""
    table = snapshot.traits_table(run_id)
    if not {"rfm_r5", "rfm_f5"} <= set(ws.store.columns(table, schema=META)):
        return None
    rows = ws.store.query(
        f"SELECT rfm_r5, rfm_f5, count(*) FROM {META}.{table} WHERE rfm_r5 IS NOT NULL AND rfm_f5 IS NOT NULL "
        "GROUP BY ALL"
    )
    grid = [[0] * SCORES for _ in range(SCORES)]
    for r, f, n in rows:
        if 1 <= int(r) <= SCORES and 1 <= int(f) <= SCORES:
            grid[int(r) - 1][int(f) - 1] = int(n)
    return grid
