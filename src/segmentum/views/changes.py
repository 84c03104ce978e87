"""What changed in the latest run: the dashboard overview's lead (DESIGN section 7).

Per segment of the run: its size and revenue now and in the run its transitions are computed against
(`runs.diff.previous_comparable_run`, the one rule of "the previous run"), the triggers the run fired, the open
tasks, and how fresh the data is. Segments come in definition order (the order of the definition files), not
by name, with a readable title.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.context import Context
from segmentum.i18n import humanise
from segmentum.runs.diff import previous_comparable_run
from segmentum.runs.sizes import segment_sizes as run_segment_sizes
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.store.catalog import newest_timestamp
from segmentum.store.snapshots import RunInfo
from segmentum.views.catalog import owner
from segmentum.views.segments import segment_sizes

if TYPE_CHECKING:
    from segmentum.spec.definitions import Definitions

CHANGE_COLUMNS = [
    "name",
    "segmentation",
    "segment",
    "title",
    "description",
    "customers",
    "share",
    "revenue",
    "revenue_share",
    "previous",
    "previous_revenue",
    "change",
    "revenue_change",
    "previous_run",
    "previous_as_of",
]


def definition_order(ctx: Context, definitions: Definitions | None = None) -> list[str]:
    """Segment names in the order the definitions give them: each segmentation's segments in their order
    (then its `else`), segmentations in file order, standalone segments after them."""
    try:
        defs = definitions if definitions is not None else ctx.definitions()
    except Exception:  # noqa: BLE001 - invalid definitions must not take the overview down: name order then
        return []
    names: list[str] = []
    for segmentation in defs.segmentations.values():
        names += [s.name for s in segmentation.segments]
    names += list(defs.segments)
    return names


@dataclass(frozen=True)
class RunChanges:
    """The latest run's changes: `segments` (CHANGE_COLUMNS, in definition order), `triggers` (trigger,
    actions, customers fired by the run), `open_tasks`, `data_until` (the newest timestamp in the data)."""

    run: RunInfo
    segments: pd.DataFrame
    triggers: list[dict[str, Any]]
    open_tasks: int
    data_until: datetime | None

    def movers(self, n: int = 8) -> pd.DataFrame:
        """The `n` segments whose size changed most (either way) since their previous run."""
        moved = self.segments[self.segments["previous"].notna() & (self.segments["change"] != 0)]
        order = moved["change"].abs().sort_values(ascending=False, kind="stable").index
        return moved.loc[order].head(n)


def run_changes(
    ctx: Context, run_id: int | None = None, *, definitions: Definitions | None = None
) -> RunChanges:
    """What changed in a complete run (default: the newest batch run) since each definition's previous run.
    `definitions`: already loaded ones (else they are loaded here)."""
    store = ctx.store
    run = snapshot.resolve_run(store, run_id)
    if definitions is None:
        try:
            definitions = ctx.definitions()  # once, for the catalog and the order
        except Exception:  # noqa: BLE001 - invalid definitions must not take the overview down
            definitions = None
    now = segment_sizes(
        ctx, run.run_id, definitions=definitions
    ).sizes  # with the computed segments that found nobody
    previous_runs: dict[str, RunInfo | None] = {}
    previous_sizes: dict[int, dict[str, tuple[int, float]]] = {}
    rows = []
    for r in now.itertuples():
        definition = owner(r.name)
        if definition not in previous_runs:
            previous_runs[definition] = previous_comparable_run(store, run.run_id, definition)
        prev = previous_runs[definition]
        before: tuple[int, float] | None = None
        if prev is not None:
            if prev.run_id not in previous_sizes:
                sizes = run_segment_sizes(store, prev.run_id, ctx.config.currency)
                previous_sizes[prev.run_id] = {
                    n: (int(c), float(v or 0))
                    for n, c, v in zip(sizes["name"], sizes["customers"], sizes["revenue"], strict=True)
                }
            # a segment the previous run computed and found empty had 0 customers
            before = previous_sizes[prev.run_id].get(r.name, (0, 0.0))
        revenue = float(r.revenue or 0)
        rows.append(
            {
                "name": r.name,
                "segmentation": r.segmentation if isinstance(r.segmentation, str) else None,
                "description": r.description,
                "segment": r.segment,
                "title": humanise(r.name),
                "customers": int(r.customers),
                "share": float(r.share) if r.share is not None else None,
                "revenue": revenue,
                "revenue_share": _float(r.revenue_share),
                "previous": before[0] if before else None,
                "previous_revenue": before[1] if before else None,
                "change": int(r.customers) - before[0] if before else None,
                "revenue_change": revenue - before[1] if before else None,
                "previous_run": prev.run_id if prev else None,
                "previous_as_of": prev.as_of if prev else None,
            }
        )
    order = {
        name: i
        for i, name in enumerate(definition_order(ctx, definitions) if definitions is not None else [])
    }
    rows.sort(key=lambda row: (order.get(row["name"], len(order)), row["name"]))
    segments = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    return RunChanges(run, segments, _fired(ctx, run.run_id), _open_tasks(ctx), newest_timestamp(store))


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _fired(ctx: Context, run_id: int) -> list[dict[str, Any]]:
    """The triggers a run fired: trigger, actions queued, distinct customers (most customers first)."""
    if not ctx.store.table_exists("outbox", schema=META):
        return []
    rows = ctx.store.query(
        f"""SELECT trigger, count(*), count(DISTINCT customer_id) FROM {META}.outbox WHERE run_id = ?
            GROUP BY trigger ORDER BY 3 DESC, 1""",
        [run_id],
    )
    return [{"trigger": t, "actions": int(a), "customers": int(c)} for t, a, c in rows]


def _open_tasks(ctx: Context) -> int:
    if not ctx.store.table_exists("tasks", schema=META):
        return 0
    row = ctx.store.query(f"SELECT count(*) FROM {META}.tasks WHERE status = 'open'")
    return int(row[0][0]) if row else 0


# the RFM grid's cells named by the rfm built-in's segment most of their customers are in
def rfm_cell_names(ctx: Context, run_id: int) -> dict[tuple[int, int], str]:
    """(recency score, frequency score) -> the `rfm` segment most customers of that cell are in, for a run
    that computed the rfm built-in (its `rfm_r5`, `rfm_f5` traits); empty otherwise."""
    table = snapshot.traits_table(run_id)
    if not {"rfm_r5", "rfm_f5"} <= set(ctx.store.columns(table, schema=META)):
        return {}
    rows = ctx.store.query(
        f"""SELECT rfm_r5, rfm_f5, arg_max(segment, n) FROM (
                SELECT t.rfm_r5, t.rfm_f5, m.segment, count(*) AS n FROM {META}.{table} t
                JOIN {META}.memberships m ON m.customer_id = t.customer_id AND m.run_id = ?
                     AND m.segmentation = 'rfm'
                WHERE t.rfm_r5 IS NOT NULL AND t.rfm_f5 IS NOT NULL GROUP BY ALL)
            GROUP BY rfm_r5, rfm_f5""",
        [run_id],
    )
    return {(int(r), int(f)): str(s) for r, f, s in rows}
