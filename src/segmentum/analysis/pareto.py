"""The Pareto curve: cumulative revenue share against cumulative customer share, with the ABC cut points."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.analysis.base import customer_values_sql, frame, resolve_run

if TYPE_CHECKING:
    from segmentum.context import Context


def pareto(ws: Context, *, run_id: int | None = None, points: int = 100) -> dict[str, Any]:
    """Curve points (customer_share, revenue_share) ordered by revenue descending then customer_id, and where the
    ABC classes of the run end on it (`cuts`: class -> customer share and revenue share at its last customer)."""
    run_id, as_of = resolve_run(ws, run_id)
    params = {"run_id": run_id, "as_of": as_of}
    ranked = frame(
        ws,
        f"""
        WITH base AS (SELECT DISTINCT customer_id FROM segmentum.memberships WHERE run_id = $run_id),
        v AS ({customer_values_sql(ws)}),
        r AS (SELECT b.customer_id, coalesce(v.revenue, 0) AS revenue,
                     row_number() OVER (ORDER BY coalesce(v.revenue, 0) DESC, b.customer_id) AS position
              FROM base b LEFT JOIN v USING (customer_id)),
        c AS (SELECT customer_id, position, sum(revenue) OVER (ORDER BY position) AS cumulative,
                     count(*) OVER () AS n, sum(revenue) OVER () AS total FROM r),
        abc AS (SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = $run_id AND segmentation = 'abc')
        SELECT c.position, c.position / c.n AS customer_share,
               CASE WHEN c.total = 0 THEN 0 ELSE (c.cumulative / c.total)::DOUBLE END AS revenue_share,
               abc.segment AS abc
        FROM c LEFT JOIN abc USING (customer_id) ORDER BY c.position
    """,
        params,
    )
    if ranked.empty:
        return {
            "run_id": run_id,
            "curve": pd.DataFrame(columns=["customer_share", "revenue_share"]),
            "cuts": {},
            "top_20_percent_revenue_share": None,
        }
    n = len(ranked)
    step = max(1, n // points)
    picks = sorted(set(range(step - 1, n, step)) | {n - 1})
    curve = pd.concat(
        [
            pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]}),
            ranked.iloc[picks][["customer_share", "revenue_share"]],
        ],
        ignore_index=True,
    )
    cuts = {}
    if ranked["abc"].notna().any():
        for cls, group in ranked.dropna(subset=["abc"]).groupby("abc"):
            last = group.iloc[-1]
            cuts[str(cls)] = {
                "customer_share": float(last["customer_share"]),
                "revenue_share": float(last["revenue_share"]),
                "customers": int(len(group)),
            }
    top20 = ranked.iloc[max(0, int(round(0.2 * n)) - 1)]["revenue_share"]
    return {"run_id": run_id, "curve": curve, "cuts": cuts, "top_20_percent_revenue_share": float(top20)}
