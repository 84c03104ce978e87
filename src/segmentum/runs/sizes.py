"""Sizes of a run's segments: customers, share, revenue and revenue share.

This lives above the store (layer 4), not in `store/snapshots.py`: revenue counts qualifying orders, a domain
rule whose one home is `segmentum.compile.rules` (layer 3), which the store layer cannot import. Moving the
computation up keeps the rule in one place instead of handing the store a copy of it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from segmentum.compile.rules import qualifying_sql
from segmentum.errors import NotFoundError
from segmentum.store import META, Store
from segmentum.store.snapshots import get_run, traits_table


def segment_sizes(store: Store, run_id: int) -> pd.DataFrame:
    """Per segment of a run: name, segmentation, segment, customers, share, revenue, revenue_share.

    Revenue is the sum of qualifying order amounts up to the run's as_of (0 without orders); shares are
    of the run's customers (a standalone segment's share is of everyone, so they need not add up to 1).
    """
    info = get_run(store, run_id)
    if not store.table_exists(traits_table(run_id), schema=META):
        raise NotFoundError(
            f"run {run_id} has no snapshot (status {info.status}); `segmentum runs` lists the runs"
        )
    columns = store.columns("orders")
    if {"amount", "ordered_at", "customer_id"} <= set(columns):
        revenue_cte = (
            f"SELECT customer_id, sum(amount) AS revenue FROM main.orders WHERE {qualifying_sql(columns)} "
            "AND ordered_at <= ? GROUP BY customer_id"
        )
        params: list[Any] = [info.as_of, int(run_id)]
    else:
        revenue_cte = "SELECT NULL::VARCHAR AS customer_id, NULL::DECIMAL(38, 6) AS revenue WHERE false"
        params = [int(run_id)]
    return (
        store.cursor()
        .execute(
            f"""WITH rev AS ({revenue_cte}),
            m AS (SELECT m.*, coalesce(rev.revenue, 0) AS revenue FROM {META}.memberships m
                  LEFT JOIN rev USING (customer_id) WHERE m.run_id = ?),
            base AS (SELECT count(*) AS n, sum(coalesce(rev.revenue, 0)) AS rev
                     FROM {META}.{traits_table(run_id)} t LEFT JOIN rev USING (customer_id))
            SELECT m.name, any_value(m.segmentation) AS segmentation, any_value(m.segment) AS segment,
                   count(*) AS customers,
                   count(*) / nullif(any_value(base.n), 0) AS share,
                   sum(m.revenue) AS revenue,
                   CAST(sum(m.revenue) AS DOUBLE) / nullif(CAST(any_value(base.rev) AS DOUBLE), 0) AS revenue_share
            FROM m, base GROUP BY m.name ORDER BY m.name""",
            params,
        )
        .df()
    )
