"""Migration between runs: transition matrices, flows for a Sankey chart, who moved, time in a segment.

Sizes over time are a read model: `segmentum.views.history`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.analysis.base import customer_values_sql, frame, resolve_run
from segmentum.errors import NotFoundError, did_you_mean
from segmentum.store import snapshots as snapshot
from segmentum.store.snapshots import RunInfo

if TYPE_CHECKING:
    from segmentum.context import Context


def batch_runs(ws: Context) -> list[RunInfo]:
    """Complete batch runs in time order: by as_of, then run id (a backfill adds runs with an earlier as_of
    after later ones)."""
    runs = [r for r in snapshot.list_runs(ws.store) if r.status == "complete" and r.kind == "batch"]
    return sorted(runs, key=lambda r: (r.as_of, r.run_id))


def default_runs(ws: Context, from_run: int | None, to_run: int | None) -> tuple[int, int]:
    """`to` defaults to the latest complete batch run, `from` to the run before it in time."""
    runs = [r.run_id for r in batch_runs(ws)]
    to_id = resolve_run(ws, to_run)[0]
    if from_run is None:
        earlier = runs[: runs.index(to_id)] if to_id in runs else []
        if not earlier:
            raise NotFoundError(
                f"run {to_id} has no earlier complete run to compare with; run again later or "
                "build history with `segmentum backfill`"
            )
        from_run = earlier[-1]
    resolve_run(ws, from_run)
    return from_run, to_id


def migration(
    ws: Context,
    segmentation: str,
    *,
    from_run: int | None = None,
    to_run: int | None = None,
    who: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Transition matrix of a segmentation between two complete runs.

    Customers present in only one run appear as `(new)` / `(gone)`. `who=(from_segment, to_segment)` adds the
    customers behind that cell. Counts add up to each run's segment sizes.
    """
    from_id, to_id = default_runs(ws, from_run, to_run)
    known = [
        r[0]
        for r in ws.store.cursor()
        .execute(
            "SELECT DISTINCT segmentation FROM segmentum.memberships WHERE run_id IN (?, ?) AND segmentation IS NOT NULL",
            [from_id, to_id],
        )
        .fetchall()
    ]
    if segmentation not in known:
        raise NotFoundError(
            f"unknown segmentation '{segmentation}' in runs {from_id} and {to_id}"
            f"{did_you_mean(segmentation, known)}"
        )
    to_as_of = resolve_run(ws, to_id)[1]
    params = {"a": from_id, "b": to_id, "s": segmentation, "as_of": to_as_of}
    pairs_sql = """
        WITH a AS (SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = $a AND segmentation = $s),
        b AS (SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = $b AND segmentation = $s)
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
        "segmentation": segmentation,
        "from_run": from_id,
        "to_run": to_id,
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


def time_in_segment(ws: Context, segmentation: str, *, run_id: int | None = None) -> pd.DataFrame:
    """Per segment of the run: how long its customers have been in it (consecutive batch runs up to this one,
    and days since the first of those runs' as_of), as mean and median."""
    run_id, _ = resolve_run(ws, run_id)
    return frame(
        ws,
        """
        WITH r AS (SELECT run_id, as_of, row_number() OVER (ORDER BY as_of, run_id) AS k FROM segmentum.runs
                   WHERE status = 'complete' AND kind = 'batch'
                     AND as_of <= (SELECT as_of FROM segmentum.runs WHERE run_id = $run_id)),
        m AS (SELECT m.customer_id, m.segment, r.k, r.as_of FROM segmentum.memberships m JOIN r USING (run_id)
              WHERE m.segmentation = $s),
        cur AS (SELECT customer_id, segment, k, as_of FROM m WHERE k = (SELECT max(k) FROM r)),
        -- the last run in which each current member was in another segment (or absent)
        streak AS (
            SELECT cur.customer_id, cur.segment, cur.as_of,
                   cur.k - coalesce(max(prev.k) FILTER (WHERE prev.segment IS DISTINCT FROM cur.segment), 0) AS runs
            FROM cur LEFT JOIN m prev ON prev.customer_id = cur.customer_id AND prev.k < cur.k
            GROUP BY cur.customer_id, cur.segment, cur.as_of, cur.k),
        entered AS (SELECT s.*, (SELECT r2.as_of FROM r r2 WHERE r2.k = (SELECT max(k) FROM r) - s.runs + 1) AS since
                    FROM streak s)
        SELECT segment, count(*) AS customers, avg(runs) AS mean_runs, median(runs) AS median_runs,
               avg(date_diff('day', since::DATE, as_of::DATE)) AS mean_days
        FROM entered GROUP BY segment ORDER BY segment
    """,
        {"run_id": run_id, "s": segmentation},
    )
