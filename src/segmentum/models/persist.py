"""The one place that reads and writes the models' tables in the store.

Every fitted model lands in schema `segmentum`: one `model_*` table per model with one row per customer
(the engine joins those onto customers, so their columns are attributes in definitions) and the tables
beside them (`replenishment_categories`, `clusterings`). Estimators never touch the store; the interfaces
fit on frames from the data-preparation functions and call the writers here.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pandas as pd

from segmentum.sql import ident
from segmentum.store import META
from segmentum.store.tables import create_on_fit, replace_cluster_table

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.models.churn import ChurnRisk
    from segmentum.models.cluster import CustomerClusterer
    from segmentum.models.clv import ClvResult
    from segmentum.models.replenishment import ReplenishmentModel

CHURN_TABLE = "model_churn"
CLV_TABLE = "model_clv"
REPLENISHMENT_TABLE = "model_replenishment"
# Deliberately not named model_*: it has one row per customer and category, not per customer.
REPLENISHMENT_DETAIL_TABLE = "replenishment_categories"
CLUSTERINGS_TABLE = "clusterings"
# The tables themselves are declared in segmentum.store.tables; model outputs are created by their first fit.


def qualified(table: str) -> str:
    """`segmentum.<table>` as messages to the user name it (SQL text uses `segmentum.store.tables.qualified`)."""
    return f"{META}.{table}"


def cluster_column(name: str) -> str:
    """The attribute a clustering adds to every customer: `cluster_<name>`."""
    return f"cluster_{name}"


def fitted_now(ctx: Context) -> datetime:
    """Now on the workspace's wall clock, to the second: when a model was fitted."""
    try:
        zone = ZoneInfo(ctx.config.timezone)
    except Exception:  # noqa: BLE001 - an unknown zone was already reported by the config loader
        return datetime.now().replace(microsecond=0)
    return datetime.now(zone).replace(tzinfo=None, microsecond=0)


def _replace(ctx: Context, table: str, frame: pd.DataFrame, select: str, params: list[Any]) -> int:
    """Replace every row of `segmentum.<table>` by `SELECT {select} FROM frame` in one transaction."""
    with ctx.store.transaction() as cur:
        cur.register("_segmentum_model_rows", frame)
        try:
            create_on_fit(cur, table)
            cur.execute(f"DELETE FROM {META}.{table}")
            cur.execute(f"INSERT INTO {META}.{table} SELECT {select} FROM _segmentum_model_rows", params)
        finally:
            cur.unregister("_segmentum_model_rows")
    return len(frame)


# ------------------------------------------------------------------------------------------------ churn


def write_model_churn(ctx: Context, result: ChurnRisk, *, fitted_at: datetime | None = None) -> int:
    """Replace `segmentum.model_churn` with a churn-risk fit's per-customer risks; rows written."""
    frame = pd.DataFrame(
        {
            "customer_id": result.risk.index.astype(str),
            "churn_risk": result.risk.to_numpy(),
            "churn_active": result.active.reindex(result.risk.index).to_numpy(),
        }
    )
    return _replace(
        ctx,
        CHURN_TABLE,
        frame,
        "customer_id, churn_risk, churn_active, ?, ?",
        [fitted_at or fitted_now(ctx), result.as_of],
    )


# ------------------------------------------------------------------------------------------------ CLV


def write_model_clv(ctx: Context, result: ClvResult, *, fitted_at: datetime | None = None) -> int:
    """Replace `segmentum.model_clv` with a CLV fit's per-customer results (one transaction); rows written."""
    frame = result.customers[
        ["p_alive", "expected_purchases_90d", "expected_average_value", "clv_12m"]
    ].copy()
    frame.insert(0, "customer_id", result.customers.index.astype(str))
    frame = frame.reset_index(drop=True)
    return _replace(
        ctx,
        CLV_TABLE,
        frame,
        "customer_id, p_alive, expected_purchases_90d, expected_average_value, clv_12m, ?, ?",
        [fitted_at or fitted_now(ctx), result.calibration_end],
    )


# ------------------------------------------------------------------------------------------------ replenishment


def write_replenishment(ctx: Context, model: ReplenishmentModel) -> int:
    """Replace `segmentum.replenishment_categories` and `segmentum.model_replenishment` with a fitted model's
    predictions (one transaction); customers written."""
    from segmentum.models.replenishment import CUSTOMER_COLUMNS, DETAIL_COLUMNS

    model.summary()  # raises NotFittedError before anything is replaced
    store = ctx.store
    detail = model.detail_[list(DETAIL_COLUMNS)]
    customers = model.customers_[list(CUSTOMER_COLUMNS)]
    with store.transaction() as cur:
        cur.register("_segmentum_replenishment_detail", detail)
        cur.register("_segmentum_replenishment_customers", customers)
        try:
            create_on_fit(cur, REPLENISHMENT_DETAIL_TABLE, REPLENISHMENT_TABLE)
            for table, source in (
                (REPLENISHMENT_DETAIL_TABLE, "_segmentum_replenishment_detail"),
                (REPLENISHMENT_TABLE, "_segmentum_replenishment_customers"),
            ):
                cur.execute(f"DELETE FROM {META}.{table}")
                cur.execute(f"INSERT INTO {META}.{table} SELECT * FROM {source}")
        finally:
            cur.unregister("_segmentum_replenishment_detail")
            cur.unregister("_segmentum_replenishment_customers")
    return len(customers)


# ------------------------------------------------------------------------------------------------ clusterings


def write_clustering(
    ctx: Context,
    name: str,
    ids: pd.Series,
    labels: Any,
    *,
    params: dict[str, Any] | None = None,
    fitted_at: datetime | None = None,
) -> dict[str, int]:
    """Replace the assignments of clustering `name` (`segmentum.model_cluster_<name>`, one transaction) and,
    with `params`, record the fitted model in `segmentum.clusterings`. Returns customers per cluster id."""
    store = ctx.store
    assign = pd.DataFrame(
        {
            "customer_id": ids.astype(str).to_numpy(),
            "cluster": pd.Series(labels, dtype="object").astype(str).to_numpy(),
        }
    )
    column = ident(cluster_column(name))
    with store.transaction() as cur:
        cur.register("_segmentum_assignments", assign)
        try:
            replace_cluster_table(
                cur,
                name,
                f"SELECT customer_id::VARCHAR AS customer_id, cluster::VARCHAR AS {column} "
                "FROM _segmentum_assignments ORDER BY customer_id",
            )
        finally:
            cur.unregister("_segmentum_assignments")
        if params is not None:
            cur.execute(
                f"INSERT INTO {META}.{CLUSTERINGS_TABLE} VALUES (?, ?, ?)",
                [name, fitted_at or fitted_now(ctx), json.dumps(params, allow_nan=False)],
            )
    return {str(k): int(v) for k, v in assign["cluster"].value_counts().sort_index().items()}


def load_clustering(ctx: Context, name: str) -> tuple[CustomerClusterer, dict[str, Any]] | None:
    """The newest saved model of a clustering and its saved parameters, or None."""
    from segmentum.models.cluster import CustomerClusterer

    store = ctx.store
    if not store.table_exists(CLUSTERINGS_TABLE, schema=META):
        return None
    row = (
        store.cursor()
        .execute(
            f"SELECT params FROM {META}.{CLUSTERINGS_TABLE} WHERE name = ? ORDER BY fitted_at DESC LIMIT 1",
            [name],
        )
        .fetchone()
    )
    if not row:
        return None
    params = json.loads(row[0])
    return CustomerClusterer.from_dict(params["model"]), params


def clustering_names(ctx: Context) -> list[str]:
    """Names of the saved clusterings."""
    store = ctx.store
    if not store.table_exists(CLUSTERINGS_TABLE, schema=META):
        return []
    return [r[0] for r in store.query(f"SELECT DISTINCT name FROM {META}.{CLUSTERINGS_TABLE} ORDER BY name")]
