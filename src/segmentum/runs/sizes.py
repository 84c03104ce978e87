"""Sizes of a run's segments: customers, share, revenue and revenue share.

This lives above the store (layer 4), not in `store/snapshots.py`: revenue counts qualifying orders, a domain
rule whose one home is `segmentum.compile.rules` (layer 3), which the store layer cannot import. Moving the
computation up keeps the rule in one place instead of handing the store a copy of it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from segmentum.compile.rules import money_sql
from segmentum.errors import NotFoundError
from segmentum.spec.loader import Definitions
from segmentum.spec.models import AggregateTrait
from segmentum.sql import ident
from segmentum.store import META, Store
from segmentum.store.snapshots import get_run, traits_table

# the one formula of the sizes, over `g` (name, segmentation, segment, customers, revenue: one row per segment
# with members) and `base` (n: the run's customers, rev: their revenue)
_SIZES = """SELECT g.name, g.segmentation, g.segment, g.customers,
       g.customers / nullif(base.n, 0) AS share,
       g.revenue,
       CAST(g.revenue AS DOUBLE) / nullif(CAST(base.rev AS DOUBLE), 0) AS revenue_share
FROM g, base ORDER BY g.name"""


def segment_sizes(store: Store, run_id: int, currency: str | None) -> pd.DataFrame:
    """Per segment of a run: name, segmentation, segment, customers, share, revenue, revenue_share.

    Revenue is the sum of qualifying order amounts up to the run's as_of (0 without orders), in the workspace
    `currency` as a run's `{sum: orders.amount}` (`money_sql`); shares are
    of the run's customers (a standalone segment's share is of everyone, so they need not add up to 1).
    """
    info = get_run(store, run_id)
    if not store.table_exists(traits_table(run_id), schema=META):
        raise NotFoundError(
            f"run {run_id} has no snapshot (status {info.status}); `segmentum runs` lists the runs"
        )
    columns = store.columns("orders")
    if {"amount", "ordered_at", "customer_id"} <= set(columns):
        orders = money_sql(store, currency)
        revenue_cte = (
            f"SELECT customer_id, sum(amount) AS revenue FROM {orders.relation} WHERE {orders.qualifying()} "
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
            g AS (SELECT name, any_value(segmentation) AS segmentation, any_value(segment) AS segment,
                         count(*) AS customers, sum(revenue) AS revenue FROM m GROUP BY name),
            base AS (SELECT count(*) AS n, sum(coalesce(rev.revenue, 0)) AS rev
                     FROM {META}.{traits_table(run_id)} t LEFT JOIN rev USING (customer_id))
            {_SIZES}""",
            params,
        )
        .df()
    )


def member_counts(store: Store, run_id: int) -> pd.DataFrame:
    """Per segment of a run: name, segmentation, segment, customers (plain counts, no revenue): the sizes of a
    real-time run, which holds a few customers (no revenue scan per micro-batch)."""
    return (
        store.cursor()
        .execute(
            "SELECT name, any_value(segmentation) AS segmentation, any_value(segment) AS segment, "
            f"count(*) AS customers FROM {META}.memberships WHERE run_id = ? GROUP BY name ORDER BY name",
            [run_id],
        )
        .df()
    )


def revenue_trait(defs: Definitions) -> str | None:
    """A trait of `defs` whose value is a customer's revenue as sizes count it (the sum of qualifying order
    amounts up to as_of: `{sum: orders.amount}` with no window, filter or other option), else None."""
    plain = AggregateTrait(sum="orders.amount").model_dump(exclude={"description"})
    for name, trait in defs.traits.items():
        spec = trait.spec
        if isinstance(spec, AggregateTrait) and spec.model_dump(exclude={"description"}) == plain:
            return name
    return None


def sizes_in_pass(
    cur: Any, traits: str, members: list[tuple[str, str, str, str | None]], revenue: str
) -> pd.DataFrame:
    """`segment_sizes` of a batch run computed while it is written, from its traits table `traits` before the
    segment columns are dropped. `members` are the run's memberships as SQL over that table, one tuple per
    segment or segmentation: (segmentation, segment, name, condition or None), the expressions the memberships
    are inserted with; trait `revenue` (`revenue_trait`) is each customer's revenue. No scan of the orders and
    no join of the memberships, and the same result as `segment_sizes` of the stored run.

    Counted from the segment columns, not from one row per membership: the standalone segments and the
    run's totals in one pass (a filtered count and sum per segment), each segmentation grouped by its label
    column; the rows are `_SIZES`' (a segment without members has no row, as it has no membership)."""
    value = f"coalesce({ident(revenue)}, 0)"
    standalone = [m for m in members if m[3] is not None]
    totals = ", ".join(
        [
            "count(*) AS n",
            f"sum({value}) AS rev",
            *(
                f"count(*) FILTER (WHERE {condition}) AS n_{i}, sum({value}) FILTER (WHERE {condition}) AS r_{i}"
                for i, (_, _, _, condition) in enumerate(standalone)
            ),
        ]
    )
    parts = [
        f"SELECT {segmentation} AS segmentation, {segment} AS segment, {name} AS name, n_{i} AS customers, "
        f"r_{i} AS revenue FROM base WHERE n_{i} > 0"
        for i, (segmentation, segment, name, _) in enumerate(standalone)
    ]
    parts += [
        # a segmentation's label column (`segment`) names each customer's segment; no label, no membership
        f"SELECT any_value({segmentation}) AS segmentation, {segment} AS segment, any_value({name}) AS name, "
        f"count(*) AS customers, sum({value}) AS revenue FROM {traits} WHERE {segment} IS NOT NULL "
        f"GROUP BY {segment}"
        for segmentation, segment, name, condition in members
        if condition is None
    ]
    if not parts:
        parts = [
            "SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, 0::BIGINT, NULL::DECIMAL(38, 6) WHERE false"
        ]
    return cur.execute(
        f"""WITH base AS MATERIALIZED (SELECT {totals} FROM {traits}),
        g AS ({" UNION ALL ".join(parts)})
        {_SIZES}"""
    ).df()
