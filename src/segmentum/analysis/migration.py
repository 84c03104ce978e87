"""Migration between runs: transition matrices, flows for a Sankey chart, who moved, time in a segment.

Sizes over time are a read model: `segmentum.views.history`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.analysis.base import customer_values_sql, frame, resolve_run
from segmentum.errors import NotFoundError, did_you_mean
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.store.snapshots import RunInfo
from segmentum.views.catalog import definition_kind, owner

if TYPE_CHECKING:
    from segmentum.context import Context


def batch_runs(ws: Context) -> list[RunInfo]:
    """Complete batch runs in time order: by as_of, then run id (a backfill adds runs with an earlier as_of
    after later ones)."""
    return snapshot.batch_runs(ws.store)[::-1]


IN, OUT = "in", "out"  # the two states of one segment (a standalone segment, or `rfm.champions`)


def migration(
    ws: Context,
    name: str,
    *,
    from_run: int | None = None,
    to_run: int | None = None,
    who: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Transition matrix between two complete runs of a segmentation (its segments), or of one segment
    (`in` / `out` of it: a standalone segment such as `big_spenders`, or `rfm.champions`).

    The runs default to `snapshots.migration_pair`: the latest run that computed it and the newest run of the
    same definition with an earlier as_of. Customers present in only one run appear as `(new)` / `(gone)`.
    `who=(from_segment, to_segment)` adds the customers behind that cell. Counts add up to each run's segment
    sizes (for one segment: to the run's customers).
    """
    kind = definition_kind(ws, name)
    pair = snapshot.migration_pair(ws.store, owner(name), from_run=from_run, to_run=to_run)
    from_id, to_id = pair[0].run_id, pair[1].run_id
    if kind == "segmentation":
        _check_segmentation(ws, name, from_id, to_id)
    else:
        for run_id in (from_id, to_id):
            if not ws.store.table_exists(snapshot.traits_table(run_id), schema=META):
                raise NotFoundError(f"run {run_id} has no snapshot; `segmentum runs` lists the runs")
    params = {"s": name, "as_of": pair[1].as_of}
    pairs_sql = f"""
        WITH a AS ({_states_sql(kind, from_id)}), b AS ({_states_sql(kind, to_id)})
        SELECT coalesce(a.customer_id, b.customer_id) AS customer_id, coalesce(a.segment, '(new)') AS from_segment,
               coalesce(b.segment, '(gone)') AS to_segment
        FROM a FULL OUTER JOIN b USING (customer_id)
    """
    flows = frame(
        ws,
        f"""
        WITH p AS ({pairs_sql}), v AS ({customer_values_sql(ws)})
        SELECT from_segment, to_segment, count(*) AS customers, sum(coalesce(v.revenue, 0))::DOUBLE AS revenue
        FROM p LEFT JOIN v USING (customer_id) GROUP BY ALL ORDER BY 1, 2
    """,
        params,
    )
    matrix = flows.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum", fill_value=0
    )
    revenue = flows.pivot_table(
        index="from_segment", columns="to_segment", values="revenue", aggfunc="sum", fill_value=0.0
    )
    result: dict[str, Any] = {
        "segmentation": name,
        "kind": kind,
        "from_run": from_id,
        "to_run": to_id,
        "from_as_of": pair[0].as_of,
        "to_as_of": pair[1].as_of,
        "flows": flows,
        "matrix": matrix,
        "revenue_matrix": revenue,
    }
    if who is not None:
        result["customers"] = frame(
            ws,
            f"""
            WITH p AS ({pairs_sql}) SELECT customer_id FROM p
            WHERE from_segment = $f AND to_segment = $t ORDER BY customer_id
        """,
            {**params, "f": who[0], "t": who[1]},
        )
    return result


def _states_sql(kind: str, run_id: int) -> str:
    """(customer_id, segment) of every customer of a run: their segment of the segmentation `$s`, or whether
    they are `in` or `out` of segment `$s` (everyone the run evaluated, i.e. its traits table, is one)."""
    if kind == "segmentation":
        return f"SELECT customer_id, segment FROM {META}.memberships WHERE run_id = {int(run_id)} AND segmentation = $s"
    return (
        f"SELECT t.customer_id, CASE WHEN m.customer_id IS NULL THEN '{OUT}' ELSE '{IN}' END AS segment "
        f"FROM {META}.{snapshot.traits_table(run_id)} t LEFT JOIN (SELECT DISTINCT customer_id FROM "
        f"{META}.memberships WHERE run_id = {int(run_id)} AND name = $s) m USING (customer_id)"
    )


def _check_segmentation(ws: Context, segmentation: str, from_id: int, to_id: int) -> None:
    """NotFoundError unless the segmentation has memberships in the runs compared (explicit runs may not)."""
    known = [
        r[0]
        for r in ws.store.query(
            "SELECT DISTINCT segmentation FROM segmentum.memberships WHERE run_id IN (?, ?) "
            "AND segmentation IS NOT NULL",
            [from_id, to_id],
        )
    ]
    if segmentation not in known:
        raise NotFoundError(
            f"segmentation '{segmentation}' is not in runs {from_id} and {to_id}"
            f"{did_you_mean(segmentation, known)}; `segmentum runs` lists the runs"
        )


def time_in_segment(ws: Context, segmentation: str, *, run_id: int | None = None) -> pd.DataFrame:
    """Per segment of the run (default: the latest run that computed the segmentation): how long its customers
    have been in it (consecutive batch runs up to this one, and days since the first of those runs' as_of), as
    mean and median.

    The runs counted are those that computed the segmentation, one per as_of (the latest of that day, as in
    size history), so neither a `run --only` of other definitions nor a second run of the same day breaks or
    lengthens a streak.
    """
    if run_id is None:
        latest = snapshot.latest_run_of(ws.store, segmentation)
        if latest is None:
            raise NotFoundError(
                f"no complete batch run computed '{segmentation}' yet; compute one with `segmentum run`"
            )
        run_id = latest.run_id
    run_id, _ = resolve_run(ws, run_id)
    return frame(
        ws,
        """
        WITH target AS (SELECT run_id, as_of FROM segmentum.runs WHERE run_id = $run_id),
        days AS (SELECT x.run_id, x.as_of FROM segmentum.runs x
                 WHERE x.status = 'complete' AND x.kind = 'batch' AND x.as_of < (SELECT as_of FROM target)
                   AND EXISTS (SELECT 1 FROM segmentum.memberships e WHERE e.run_id = x.run_id AND e.segmentation = $s)
                 QUALIFY row_number() OVER (PARTITION BY x.as_of ORDER BY x.run_id DESC) = 1),
        r AS (SELECT run_id, as_of, row_number() OVER (ORDER BY as_of, run_id) AS k
              FROM (SELECT * FROM days UNION ALL SELECT * FROM target)),
        m AS (SELECT m.customer_id, m.segment, r.k, r.as_of FROM segmentum.memberships m JOIN r USING (run_id)
              WHERE m.segmentation = $s),
        cur AS (SELECT customer_id, segment, k, as_of FROM m WHERE k = (SELECT max(k) FROM r)),
        -- the last run in which each current member was not in its segment: in another one, or absent (not yet
        -- a customer then), so absence ends a streak as a move does
        outside AS (
            SELECT cur.customer_id, max(r.k) AS k
            FROM cur JOIN r ON r.k < cur.k
            LEFT JOIN m ON m.customer_id = cur.customer_id AND m.segment = cur.segment AND m.k = r.k
            WHERE m.customer_id IS NULL
            GROUP BY cur.customer_id),
        streak AS (
            SELECT cur.customer_id, cur.segment, cur.as_of, cur.k - coalesce(outside.k, 0) AS runs
            FROM cur LEFT JOIN outside USING (customer_id)),
        entered AS (SELECT s.*, (SELECT r2.as_of FROM r r2 WHERE r2.k = (SELECT max(k) FROM r) - s.runs + 1) AS since
                    FROM streak s)
        SELECT segment, count(*) AS customers, avg(runs) AS mean_runs, median(runs) AS median_runs,
               avg(date_diff('day', since::DATE, as_of::DATE)) AS mean_days
        FROM entered GROUP BY segment ORDER BY segment
    """,
        {"run_id": run_id, "s": segmentation},
    )
