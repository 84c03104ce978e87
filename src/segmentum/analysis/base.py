"""Shared pieces of the analyses: which run, who is in a segment, what each customer is worth."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.compile.rules import qualifying_sql
from segmentum.store import snapshots as snapshot

if TYPE_CHECKING:
    from segmentum.context import Context


def resolve_run(ws: Context, run_id: int | None = None) -> tuple[int, Any]:
    """(run_id, as_of) of the given complete run, or of the latest complete batch run."""
    info = snapshot.resolve_run(ws.store, run_id)
    return info.run_id, info.as_of


def segment_names(ws: Context, run_id: int) -> list[str]:
    rows = (
        ws.store.cursor()
        .execute("SELECT DISTINCT name FROM segmentum.memberships WHERE run_id = ? ORDER BY name", [run_id])
        .fetchall()
    )
    return [r[0] for r in rows]


def segmentations(ws: Context, run_id: int) -> list[str]:
    rows = (
        ws.store.cursor()
        .execute(
            "SELECT DISTINCT segmentation FROM segmentum.memberships WHERE run_id = ? AND segmentation IS NOT NULL "
            "ORDER BY 1",
            [run_id],
        )
        .fetchall()
    )
    return [r[0] for r in rows]


def customer_values_sql(ws: Context) -> str:
    """SQL of (customer_id, revenue, orders, first_order_at, last_order_at) over qualifying orders up to ?as_of."""
    if not ws.store.table_exists("orders"):
        return (
            "SELECT NULL::VARCHAR AS customer_id, NULL::DECIMAL(38,6) AS revenue, 0::BIGINT AS orders, "
            "NULL::TIMESTAMP AS first_order_at, NULL::TIMESTAMP AS last_order_at WHERE false"
        )
    return (
        "SELECT customer_id, sum(amount) AS revenue, count(*) AS orders, min(ordered_at) AS first_order_at, "
        f"max(ordered_at) AS last_order_at FROM main.orders WHERE ordered_at <= $as_of AND {qualifying_sql()} "
        "GROUP BY customer_id"
    )


def run_customers_sql() -> str:
    """Customers of a run: everyone with a membership row in it."""
    return "SELECT DISTINCT customer_id FROM segmentum.memberships WHERE run_id = $run_id"


def execute(ws: Context, sql: str, params: dict[str, Any]) -> Any:
    """Run SQL with named `$parameters`; only those the text uses are passed (DuckDB rejects extras)."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return ws.store.cursor().execute(sql, {k: v for k, v in params.items() if k in used})


def frame(ws: Context, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    return execute(ws, sql, params).df()
