"""Replenishment: when each customer is due to re-buy a consumable, predicted from their own history.

Everything is computed in SQL inside DuckDB (one pass over the items of qualifying orders); only the per-customer
result comes back. Semantics:

- categories are compared and reported in lower case (`Coffee` and `coffee` are one category);
- a purchase of a category is a calendar day on which the customer bought at least one item of it in a
  qualifying order (DESIGN.md: `amount >= 0`, status not cancelled or returned) at or before `as_of`;
- the **usual interval** is the median of the gaps (in days) between consecutive purchase days of the category;
  it needs `min_gaps` gaps (default 2, so three purchase days). A customer with fewer gaps but at least one gets
  the category's typical interval (median of the usual intervals of the customers who have one), and when the
  category has none, their single gap;
- the **next purchase** is expected on the last purchase day + the usual interval (rounded to whole days);
- **status** at `as_of`: `due` when the predicted day is within `tolerance x interval` days of `as_of` (either
  side), `overdue` when it passed more than that ago, `not_due` when it is further ahead.

Results: `segmentum.replenishment_categories` (one row per customer and category with a prediction) and
`segmentum.model_replenishment` (one row per customer: the most urgent category). The latter's columns
(`replen_*`) are customer attributes in definitions, e.g. `where: "replen_status = 'overdue'"`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from segmentum.errors import ModelError, NotFittedError
from segmentum.schema import QUALIFYING_ORDER_SQL
from segmentum.store import Store
from segmentum.store.tables import create_on_fit

STATUSES = ("overdue", "due", "not_due")


# ------------------------------------------------------------------------------------------------ shared helpers


def store_of(ws_or_store: Any) -> Any:
    """The Store of a Workspace, or the Store itself."""
    if hasattr(ws_or_store, "store") and hasattr(ws_or_store.store, "cursor"):
        return ws_or_store.store
    if isinstance(ws_or_store, Store):
        return ws_or_store
    raise ModelError(
        f"expected a segmentum Workspace or its Store, got {type(ws_or_store).__name__}; "
        "open one with segmentum.Workspace(path)"
    )


def resolve_as_of(ws_or_store: Any, as_of: str | date | datetime | None) -> datetime:
    """as_of as a naive timestamp, by the run's rule (`segmentum.clock.resolve_as_of`)."""
    from segmentum.clock import resolve_as_of as clock_as_of
    from segmentum.errors import RunError
    from segmentum.store.catalog import newest_timestamp

    config = getattr(ws_or_store, "config", None)
    store = store_of(ws_or_store)
    try:
        return clock_as_of(
            as_of,
            timezone=config.timezone if config is not None else "UTC",
            newest=lambda: newest_timestamp(store),
        )[0]
    except RunError as exc:
        raise ModelError(str(exc)) from None


def default_consumables(ws_or_store: Any) -> list[str]:
    """The `consumables` setting of the replenishment built-in (as configured in segmentum.yml)."""
    from segmentum.spec.builtins import load_builtin

    overrides = {}
    config = getattr(ws_or_store, "config", None)
    if config is not None:
        overrides = dict(getattr(config, "builtin_settings", {}).get("replenishment") or {})
    return [str(c) for c in load_builtin("replenishment", overrides).settings["consumables"]]


# ------------------------------------------------------------------------------------------------ the model


def _detail_sql(has_orders: bool) -> str:
    qualifying = (
        f"SEMI JOIN (SELECT order_id FROM main.orders WHERE {QUALIFYING_ORDER_SQL}) q USING (order_id)"
        if has_orders
        else ""
    )
    return f"""
    WITH days AS (
        SELECT DISTINCT i.customer_id, lower(i.category) AS category, CAST(i.ordered_at AS DATE) AS d
        FROM main.order_items i {qualifying}
        WHERE i.ordered_at <= $as_of AND i.customer_id IS NOT NULL AND i.category IS NOT NULL
          AND ($all_categories OR list_contains($categories, lower(i.category)))
    ), gaps AS (
        SELECT *, date_diff('day', lag(d) OVER (PARTITION BY customer_id, category ORDER BY d), d) AS gap FROM days
    ), per AS (
        SELECT customer_id, category, count(*) AS purchase_days, count(gap) AS gaps,
               median(gap)::DOUBLE AS own_interval_days, min(d) AS first_at, max(d) AS last_at
        FROM gaps GROUP BY customer_id, category
    ), typical AS (
        SELECT category, median(own_interval_days)::DOUBLE AS category_interval
        FROM per WHERE gaps >= $min_gaps GROUP BY category
    ), est AS (
        SELECT per.*,
            CASE WHEN gaps >= $min_gaps THEN own_interval_days
                 WHEN category_interval IS NOT NULL THEN category_interval ELSE own_interval_days END
                AS interval_days,
            CASE WHEN gaps >= $min_gaps THEN 'own'
                 WHEN category_interval IS NOT NULL THEN 'category' ELSE 'single_gap' END AS interval_source
        FROM per LEFT JOIN typical USING (category)
        WHERE gaps >= 1
    ), nxt AS (
        SELECT *, CAST(last_at + to_days(CAST(round(interval_days) AS INTEGER)) AS DATE) AS next_at FROM est
    ), due AS (
        SELECT *, CAST(date_diff('day', CAST($as_of AS DATE), next_at) AS INTEGER) AS days_until_due FROM nxt
    )
    SELECT customer_id, category, purchase_days, gaps, own_interval_days, interval_days, interval_source,
        first_at, last_at, next_at, days_until_due,
        CASE WHEN days_until_due < -$tolerance * interval_days THEN 'overdue'
             WHEN days_until_due <= $tolerance * interval_days THEN 'due' ELSE 'not_due' END AS status,
        CAST($as_of AS TIMESTAMP) AS as_of
    FROM due
    """


CUSTOMER_SQL = """
    SELECT customer_id,
        category AS replen_category, interval_days AS replen_interval_days, last_at AS replen_last_at,
        next_at AS replen_next_at, days_until_due AS replen_days_until_due, status AS replen_status,
        CAST(count(*) FILTER (WHERE status IN ('due', 'overdue')) OVER (PARTITION BY customer_id) AS INTEGER)
            AS replen_due_categories,
        as_of AS replen_as_of
    FROM segmentum.replenishment_categories
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY days_until_due, category) = 1
"""


class ReplenishmentModel:
    """Usual re-buy interval, next purchase date and due status per customer and category.

    Parameters
    ----------
    min_gaps:
        Gaps between purchase days needed for a customer's own usual interval (default 2).
    tolerance:
        Half-width of the `due` window as a share of the usual interval (default 0.2: +-20 %).
    categories:
        `order_items.category` values that are re-bought periodically, compared case-insensitively; None: the
        `consumables` setting of the replenishment built-in; `"all"`: every category.
    """

    def __init__(
        self, *, min_gaps: int = 2, tolerance: float = 0.2, categories: list[str] | str | None = None
    ) -> None:
        self.min_gaps = min_gaps
        self.tolerance = tolerance
        self.categories = categories

    def _check(self) -> None:
        if not isinstance(self.min_gaps, int) or self.min_gaps < 1:
            raise ModelError(f"min_gaps must be a whole number >= 1, got {self.min_gaps!r}; the default is 2")
        if not (isinstance(self.tolerance, (int, float)) and 0 <= self.tolerance < 10):
            raise ModelError(
                f"tolerance must be a share of the interval in [0, 10), got {self.tolerance!r}; "
                "the default 0.2 means +-20 %"
            )
        if isinstance(self.categories, str) and self.categories != "all":
            raise ModelError(
                f"categories must be a list of category names, None or 'all', got {self.categories!r}"
            )

    def fit(
        self, ws_or_store: Any, as_of: str | date | datetime | None = "latest", *, write: bool = True
    ) -> ReplenishmentModel:
        """Compute the predictions at `as_of`; with `write`, replace the two result tables in the store."""
        self._check()
        store = store_of(ws_or_store)
        if not store.table_exists("order_items") or "category" not in store.columns("order_items"):
            raise ModelError(
                "replenishment needs order_items with a category column; load them with "
                "`segmentum ingest order_items FILE` (map the category column with --map Source=category)"
            )
        self.as_of_ = resolve_as_of(ws_or_store, as_of)
        every = self.categories == "all"
        cats = [] if every else [c.lower() for c in (self.categories or default_consumables(ws_or_store))]
        self.categories_used_ = None if every else cats
        params = {
            "as_of": self.as_of_,
            "min_gaps": self.min_gaps,
            "tolerance": float(self.tolerance),
            "all_categories": every,
            "categories": cats,
        }
        sql = _detail_sql(store.table_exists("orders"))
        if write:
            with store.transaction() as cur:
                create_on_fit(cur, "replenishment_categories", "model_replenishment")
                cur.execute("DELETE FROM segmentum.replenishment_categories")
                cur.execute(f"INSERT INTO segmentum.replenishment_categories {sql}", params)
                cur.execute("DELETE FROM segmentum.model_replenishment")
                cur.execute(f"INSERT INTO segmentum.model_replenishment {CUSTOMER_SQL}")
            cur = store.cursor()
            detail = cur.execute(
                "SELECT * FROM segmentum.replenishment_categories ORDER BY customer_id, category"
            ).df()
            customers = cur.execute("SELECT * FROM segmentum.model_replenishment ORDER BY customer_id").df()
        else:
            cur = store.cursor()
            detail = cur.execute(f"{sql} ORDER BY customer_id, category", params).df()
            cur.register("_replenishment_detail", detail)
            try:
                customers = cur.execute(
                    CUSTOMER_SQL.replace("segmentum.replenishment_categories", "_replenishment_detail")
                    + " ORDER BY customer_id"
                ).df()
            finally:
                cur.unregister("_replenishment_detail")
        self.detail_ = detail
        self.customers_ = customers
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "customers_"):
            raise NotFittedError(
                "this ReplenishmentModel is not fitted yet; call .fit(workspace, as_of) first"
            )

    def summary(self) -> pd.DataFrame:
        """Customers and categories per status (overdue, due, not_due)."""
        self._fitted()
        d = self.detail_
        rows = []
        for status in STATUSES:
            part = d[d["status"] == status]
            rows.append(
                {
                    "status": status,
                    "customers": int((self.customers_["replen_status"] == status).sum()),
                    "customer_categories": len(part),
                    "median_interval_days": float(part["interval_days"].median()) if len(part) else None,
                }
            )
        return pd.DataFrame(rows)


def replenishment(
    ws: Any, as_of: str | date | datetime | None = "latest", **params: Any
) -> ReplenishmentModel:
    """Fit a ReplenishmentModel on the workspace and store its results (see the class for the parameters)."""
    return ReplenishmentModel(**params).fit(ws, as_of)
