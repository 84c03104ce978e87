"""Shared pieces of the analyses: which run, who is in a segment, what each customer is worth."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.compile.rules import money_sql
from segmentum.errors import NotFoundError
from segmentum.store import snapshots as snapshot
from segmentum.store.tables import META, qualified, traits_table

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
    """SQL of (customer_id, revenue, orders, first_order_at, last_order_at) over qualifying orders up to $as_of;
    revenue in the workspace currency (`money_sql`)."""
    if not ws.store.table_exists("orders"):
        return (
            "SELECT NULL::VARCHAR AS customer_id, NULL::DECIMAL(38,6) AS revenue, 0::BIGINT AS orders, "
            "NULL::TIMESTAMP AS first_order_at, NULL::TIMESTAMP AS last_order_at WHERE false"
        )
    orders = money_sql(ws.store, ws.config.currency)
    return (
        "SELECT customer_id, sum(amount) AS revenue, count(*) AS orders, min(ordered_at) AS first_order_at, "
        f"max(ordered_at) AS last_order_at FROM {orders.relation} WHERE ordered_at <= $as_of AND "
        f"{orders.qualifying()} GROUP BY customer_id"
    )


def run_customers_sql(ws: Context, run_id: int) -> str:
    """Customers of a run (SQL reading `$run_id`): every customer the run evaluated, its traits table's rows.

    Not "customers in some segment": with only standalone segments most customers have no membership row,
    and a profile's base (share, lift) must be everyone. Runs written without a traits table (by hand, or
    pruned) fall back to the customers with a membership row.
    """
    members = "SELECT customer_id FROM segmentum.memberships WHERE run_id = $run_id"
    table = traits_table(run_id)
    if not ws.store.table_exists(table, schema=META):
        return f"SELECT DISTINCT customer_id FROM ({members})"
    return f"SELECT customer_id FROM {qualified(table)} UNION {members}"


def check_in_run(ws: Context, name: str, info: snapshot.RunInfo) -> None:
    """A segment defined after the run (or left out of an `--only` run) is not in it: say so, not "empty"."""
    hashes = info.definition_hashes
    owner = name.partition(".")[0] if "." in name else name
    if not hashes or name in hashes or owner in hashes:
        return
    if ws.store.query(
        "SELECT 1 FROM segmentum.memberships WHERE run_id = ? AND name = ? LIMIT 1", [info.run_id, name]
    ):
        return
    raise NotFoundError(
        f"segment '{name}' is not in run {info.run_id} (as of {info.as_of:%Y-%m-%d %H:%M}): the run did not "
        "evaluate it (defined later, or left out by --only); compute it with `segmentum run`, or choose a run "
        "that has it with --run"
    )


def execute(ws: Context, sql: str, params: dict[str, Any]) -> Any:
    """Run SQL with named `$parameters`; only those the text uses are passed (DuckDB rejects extras)."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return ws.store.cursor().execute(sql, {k: v for k, v in params.items() if k in used})


def frame(ws: Context, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    return execute(ws, sql, params).df()
