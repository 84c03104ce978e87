"""The Pareto curve: cumulative revenue share against cumulative customer share, with the ABC cut points."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.analysis.base import customer_values_sql, frame, resolve_run

if TYPE_CHECKING:
    from segmentum.context import Context


def pareto(ws: Context, *, run_id: int | None = None, points: int = 100) -> dict[str, Any]:
    """Curve points (customer_share, revenue_share) ordered by revenue descending then customer_id, and where the
    ABC classes of the run end on it (`cuts`: class -> customer share and revenue share at its last customer).

    The customers are ranked in the store and only the rows shown come back (the picked points, each class's
    last customer, the one at 20 %): at a million customers, moving every ranked row into pandas took longer
    than ranking them."""
    run_id, as_of = resolve_run(ws, run_id)
    counted = frame(
        ws,
        "SELECT count(DISTINCT customer_id) AS n FROM segmentum.memberships WHERE run_id = $run_id",
        {"run_id": run_id},
    )
    n = int(counted["n"].iloc[0])
    if n == 0:
        return {
            "run_id": run_id,
            "curve": pd.DataFrame(columns=["customer_share", "revenue_share"]),
            "cuts": {},
            "top_20_percent_revenue_share": None,
        }
    step = max(1, n // points)
    # positions count from 1: every step-th customer and the last, and the customer at 20 % (Python's rounding)
    top20 = max(1, int(round(0.2 * n)))
    ranked = frame(
        ws,
        f"""
        WITH base AS (SELECT DISTINCT customer_id FROM segmentum.memberships WHERE run_id = $run_id),
        v AS ({customer_values_sql(ws)}),
        r AS (SELECT b.customer_id, coalesce(v.revenue, 0) AS revenue FROM base b LEFT JOIN v USING (customer_id)),
        -- one sort for the position and the running sum (one window); the totals by aggregation
        c AS (SELECT customer_id, row_number() OVER w AS position,
                     sum(revenue) OVER (w ROWS UNBOUNDED PRECEDING) AS cumulative
              FROM r WINDOW w AS (ORDER BY revenue DESC, customer_id)),
        t AS (SELECT count(*) AS n, sum(revenue) AS total FROM r),
        abc AS (SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = $run_id AND segmentation = 'abc'),
        shares AS (
            SELECT c.position, c.position / t.n AS customer_share,
                   CASE WHEN t.total = 0 THEN 0 ELSE (c.cumulative / t.total)::DOUBLE END AS revenue_share,
                   abc.segment AS abc
            FROM c CROSS JOIN t LEFT JOIN abc USING (customer_id)),
        last AS (SELECT abc, max(position) AS position, count(*) AS class_customers FROM shares
                 WHERE abc IS NOT NULL GROUP BY abc)
        SELECT s.*, l.class_customers, l.position IS NOT NULL AS class_last
        FROM shares s LEFT JOIN last l ON l.abc = s.abc AND l.position = s.position
        WHERE s.position % $step = 0 OR s.position = $n OR s.position = $top20 OR l.position IS NOT NULL
        ORDER BY s.position
    """,
        {"run_id": run_id, "as_of": as_of, "step": step, "n": n, "top20": top20},
    )
    picked = ranked[(ranked["position"] % step == 0) | (ranked["position"] == n)]
    curve = pd.concat(
        [
            pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]}),
            picked[["customer_share", "revenue_share"]],
        ],
        ignore_index=True,
    )
    cuts = {
        str(row.abc): {
            "customer_share": float(row.customer_share),
            "revenue_share": float(row.revenue_share),
            "customers": int(row.class_customers),
        }
        for row in ranked[ranked["class_last"].astype(bool)].itertuples()
    }
    share_at_20 = ranked.loc[ranked["position"] == top20, "revenue_share"].iloc[0]
    return {
        "run_id": run_id,
        "curve": curve,
        "cuts": dict(sorted(cuts.items())),
        "top_20_percent_revenue_share": float(share_at_20),
    }
