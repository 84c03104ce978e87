"""The one place that reads and writes the models' tables in the store.

Every fitted model lands in schema `segmentum`: one `model_*` table per model with one row per customer
(the engine joins those onto customers, so their columns are attributes in definitions) and the tables
beside them (`replenishment_categories`, `clusterings`). Estimators never touch the store; the interfaces
fit on frames from the data-preparation functions and call the writers here.

Each writer records its fit in `segmentum.fits` in the same transaction: the model and where its data
ended (DESIGN.md section 5, "Models are point in time too": a run at an earlier as_of does not use it).
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pandas as pd

from segmentum.sql import ident
from segmentum.store import META
from segmentum.store.catalog import newest_timestamp
from segmentum.store.tables import MODEL_FITS_TABLE, cluster_table, create_on_fit, replace_cluster_table

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
# How messages name each model (segmentum.store.catalog.ModelFit.model).
MODEL_NAMES = {CLV_TABLE: "CLV", CHURN_TABLE: "churn risk", REPLENISHMENT_TABLE: "replenishment"}


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


def end_of_day(day: date) -> datetime:
    """The last instant of a day: where the data of a fit calibrated up to that day ends."""
    return datetime.combine(day, time.max)


def _record_fit(cur: Any, table: str, model: str, data_end: datetime | None, fitted_at: datetime) -> None:
    """Record (replace) the fit behind `table` in `segmentum.fits`, inside the writer's transaction."""
    cur.execute(
        f"INSERT OR REPLACE INTO {META}.{MODEL_FITS_TABLE} (table_name, model, data_end, fitted_at) "
        "VALUES (?, ?, ?, ?)",
        [table, model, data_end, fitted_at],
    )


def _replace(
    ctx: Context,
    table: str,
    frame: pd.DataFrame,
    select: str,
    params: list[Any],
    *,
    data_end: datetime,
    fitted_at: datetime,
) -> int:
    """Replace every row of `segmentum.<table>` by `SELECT {select} FROM frame` and record the fit, in one
    transaction."""
    with ctx.store.transaction() as cur:
        cur.register("_segmentum_model_rows", frame)
        try:
            create_on_fit(cur, table)
            cur.execute(f"DELETE FROM {META}.{table}")
            cur.execute(f"INSERT INTO {META}.{table} SELECT {select} FROM _segmentum_model_rows", params)
            _record_fit(cur, table, MODEL_NAMES[table], data_end, fitted_at)
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
    fitted_at = fitted_at or fitted_now(ctx)
    return _replace(
        ctx,
        CHURN_TABLE,
        frame,
        "customer_id, churn_risk, churn_active, ?, ?",
        [fitted_at, result.as_of],
        data_end=result.as_of,
        fitted_at=fitted_at,
    )


# ------------------------------------------------------------------------------------------------ CLV


def write_model_clv(ctx: Context, result: ClvResult, *, fitted_at: datetime | None = None) -> int:
    """Replace `segmentum.model_clv` with a CLV fit's per-customer results (one transaction); rows written."""
    frame = result.customers[
        ["p_alive", "expected_purchases_90d", "expected_average_value", "clv_12m"]
    ].copy()
    frame.insert(0, "customer_id", result.customers.index.astype(str))
    frame = frame.reset_index(drop=True)
    fitted_at = fitted_at or fitted_now(ctx)
    return _replace(
        ctx,
        CLV_TABLE,
        frame,
        "customer_id, p_alive, expected_purchases_90d, expected_average_value, clv_12m, ?, ?",
        [fitted_at, result.calibration_end],
        # the customers' histories are summarised up to the end of the calibration day (a holdout after it
        # only checks the fit and is not in the outputs)
        data_end=end_of_day(result.calibration_end),
        fitted_at=fitted_at,
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
            _record_fit(
                cur, REPLENISHMENT_TABLE, MODEL_NAMES[REPLENISHMENT_TABLE], model.as_of_, fitted_now(ctx)
            )
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
    data_end: datetime | None = None,
) -> dict[str, int]:
    """Replace the assignments of clustering `name` (`segmentum.model_cluster_<name>`, one transaction) and,
    with `params`, record the fitted model in `segmentum.clusterings`. Returns customers per cluster id.

    `data_end`: the as_of of the run or summary the features came from; None (survey answers, read in
    full): the newest timestamp of the data."""
    store = ctx.store
    fitted_at = fitted_at or fitted_now(ctx)
    if data_end is None:
        data_end = newest_timestamp(store)
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
        _record_fit(cur, cluster_table(name), f"clustering '{name}'", data_end, fitted_at)
        if params is not None:
            cur.execute(
                f"INSERT INTO {META}.{CLUSTERINGS_TABLE} VALUES (?, ?, ?)",
                [name, fitted_at, json.dumps(params, allow_nan=False)],
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
