"""Replenishment: when each customer is due to re-buy a consumable, predicted from their own history.

Data preparation (`replenishment_summary`) runs in SQL inside DuckDB: one pass over the items of qualifying
orders gives one row per customer and category; `ReplenishmentModel` fits on that frame only, and
`segmentum.models.persist.write_replenishment` stores the result. Semantics:

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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from segmentum.compile.rules import qualifying_sql
from segmentum.errors import ModelError, NotFittedError
from segmentum.models.data import builtin_settings, resolve_as_of

if TYPE_CHECKING:
    from segmentum.context import Context

STATUSES = ("overdue", "due", "not_due")
SUMMARY_COLUMNS = (
    "customer_id",
    "category",
    "purchase_days",
    "gaps",
    "own_interval_days",
    "first_at",
    "last_at",
)
DETAIL_COLUMNS = (
    *SUMMARY_COLUMNS[:5],
    "interval_days",
    "interval_source",
    "first_at",
    "last_at",
    "next_at",
    "days_until_due",
    "status",
    "as_of",
)
CUSTOMER_COLUMNS = (
    "customer_id",
    "replen_category",
    "replen_interval_days",
    "replen_last_at",
    "replen_next_at",
    "replen_days_until_due",
    "replen_status",
    "replen_due_categories",
    "replen_as_of",
)


# ------------------------------------------------------------------------------------------------ data


def default_consumables(ctx: Context) -> list[str]:
    """The `consumables` setting of the replenishment built-in (as configured in segmentum.yml)."""
    return [str(c) for c in builtin_settings(ctx, "replenishment")["consumables"]]


def _summary_sql(has_orders: bool) -> str:
    qualifying = (
        f"SEMI JOIN (SELECT order_id FROM main.orders WHERE {qualifying_sql()}) q USING (order_id)"
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
    )
    SELECT customer_id, category, count(*) AS purchase_days, count(gap) AS gaps,
           median(gap)::DOUBLE AS own_interval_days, min(d) AS first_at, max(d) AS last_at
    FROM gaps GROUP BY customer_id, category
    ORDER BY customer_id, category
    """


def replenishment_summary(
    ctx: Context,
    as_of: str | date | datetime | None = "latest",
    *,
    categories: list[str] | str | None = None,
) -> pd.DataFrame:
    """Per customer and category: purchase days, gaps between them, the median gap, first and last day.

    Computed in DuckDB from `main.order_items` (items of qualifying orders at or before `as_of`).

    Parameters
    ----------
    categories:
        `order_items.category` values that are re-bought periodically, compared case-insensitively; None: the
        `consumables` setting of the replenishment built-in; `"all"`: every category.

    Returns
    -------
    pandas.DataFrame with the columns of `SUMMARY_COLUMNS`; `attrs` records `as_of` and the `categories`
    used (None: all).
    """
    if isinstance(categories, str) and categories != "all":
        raise ModelError(f"categories must be a list of category names, None or 'all', got {categories!r}")
    store = ctx.store
    if not store.table_exists("order_items") or "category" not in store.columns("order_items"):
        raise ModelError(
            "replenishment needs order_items with a category column; load them with "
            "`segmentum ingest order_items FILE` (map the category column with --map Source=category)"
        )
    instant = resolve_as_of(ctx, as_of)
    every = categories == "all"
    cats = [] if every else [c.lower() for c in (categories or default_consumables(ctx))]
    params = {"as_of": instant, "all_categories": every, "categories": cats}
    frame = store.cursor().execute(_summary_sql(store.table_exists("orders")), params).df()
    frame.attrs.update({"as_of": instant, "categories": None if every else cats})
    return frame


# ------------------------------------------------------------------------------------------------ the model


class ReplenishmentModel:
    """Usual re-buy interval, next purchase date and due status per customer and category.

    Fits on the frame of `replenishment_summary` (one row per customer and category, `attrs["as_of"]`).

    Parameters
    ----------
    min_gaps:
        Gaps between purchase days needed for a customer's own usual interval (default 2).
    tolerance:
        Half-width of the `due` window as a share of the usual interval (default 0.2: +-20 %).

    Attributes (after `fit`)
    ------------------------
    as_of_ : the instant of the summary
    categories_used_ : the categories of the summary (None: all)
    category_intervals_ : the typical interval per category (median of the customers' own intervals)
    detail_ : one row per customer and category with a prediction (`DETAIL_COLUMNS`)
    customers_ : one row per customer, the most urgent category (`CUSTOMER_COLUMNS`)
    """

    def __init__(self, *, min_gaps: int = 2, tolerance: float = 0.2) -> None:
        self.min_gaps = min_gaps
        self.tolerance = tolerance

    def _check_params(self) -> None:
        if isinstance(self.min_gaps, bool) or not isinstance(self.min_gaps, int) or self.min_gaps < 1:
            raise ModelError(f"min_gaps must be a whole number >= 1, got {self.min_gaps!r}; the default is 2")
        if not (
            isinstance(self.tolerance, (int, float))
            and not isinstance(self.tolerance, bool)
            and 0 <= self.tolerance < 10
        ):
            raise ModelError(
                f"tolerance must be a share of the interval in [0, 10), got {self.tolerance!r}; "
                "the default 0.2 means +-20 %"
            )

    def fit(self, summary: pd.DataFrame) -> ReplenishmentModel:
        """Learn the typical interval per category and predict every customer's next purchase at `as_of`."""
        self._check_params()
        as_of = check_replenishment_summary(summary)
        per = summary
        typical = per.loc[per["gaps"] >= self.min_gaps].groupby("category")["own_interval_days"].median()
        est = per.loc[per["gaps"] >= 1, list(SUMMARY_COLUMNS)].reset_index(drop=True)
        own = est["gaps"] >= self.min_gaps
        category = est["category"].map(typical)
        est["interval_days"] = np.where(
            own, est["own_interval_days"], category.fillna(est["own_interval_days"])
        ).astype(float)
        est["interval_source"] = np.where(own, "own", np.where(category.notna(), "category", "single_gap"))
        # whole days, halves rounded up (as SQL's round): an interval of 30.5 days is 31
        days = np.floor(est["interval_days"].to_numpy(float) + 0.5).astype("int64")
        last = pd.to_datetime(est["last_at"])
        est["next_at"] = last + pd.to_timedelta(days, unit="D")
        today = pd.Timestamp(as_of).normalize()
        until = ((est["next_at"] - today) // pd.Timedelta(days=1)).astype("int32")
        est["days_until_due"] = until
        window = self.tolerance * est["interval_days"]
        est["status"] = np.where(until < -window, "overdue", np.where(until <= window, "due", "not_due"))
        est["as_of"] = pd.Timestamp(as_of)
        est["first_at"] = pd.to_datetime(est["first_at"])
        est["last_at"] = last
        detail = est[list(DETAIL_COLUMNS)].sort_values(["customer_id", "category"]).reset_index(drop=True)
        self.as_of_ = as_of
        self.categories_used_ = summary.attrs.get("categories")
        self.category_intervals_ = typical.rename("interval_days")
        self.detail_ = detail
        self.customers_ = most_urgent(detail)
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "customers_"):
            raise NotFittedError(
                "this ReplenishmentModel is not fitted yet; call .fit(replenishment_summary(ctx, as_of)) first"
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


def most_urgent(detail: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: the category due soonest (then by name) and how many are due or overdue."""
    due = detail["status"].isin(["due", "overdue"]).groupby(detail["customer_id"]).transform("sum")
    first = (
        detail.assign(_due=due.astype("int32"))
        .sort_values(["customer_id", "days_until_due", "category"], kind="mergesort")
        .drop_duplicates("customer_id")
    )
    out = pd.DataFrame(
        {
            "customer_id": first["customer_id"],
            "replen_category": first["category"],
            "replen_interval_days": first["interval_days"],
            "replen_last_at": first["last_at"],
            "replen_next_at": first["next_at"],
            "replen_days_until_due": first["days_until_due"],
            "replen_status": first["status"],
            "replen_due_categories": first["_due"],
            "replen_as_of": first["as_of"],
        }
    )
    return out.reset_index(drop=True)


def check_replenishment_summary(summary: pd.DataFrame) -> datetime:
    """The summary's `as_of`; ModelError, in domain words, when the frame cannot come from purchase days."""
    if not isinstance(summary, pd.DataFrame):
        raise ModelError(
            f"a replenishment summary must be a pandas DataFrame, got {type(summary).__name__}; "
            "build one with segmentum.models.replenishment.replenishment_summary(ctx, as_of)"
        )
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ModelError(
            f"the replenishment summary lacks column(s) {', '.join(missing)}; it has "
            f"{', '.join(map(str, summary.columns))}. Hint: replenishment_summary(ctx, as_of) builds it"
        )
    as_of = summary.attrs.get("as_of")
    if not isinstance(as_of, datetime):
        raise ModelError(
            "the replenishment summary does not say its as_of (attrs['as_of']); build it with "
            "replenishment_summary(ctx, as_of)"
        )
    problems = []
    gaps, days = summary["gaps"], summary["purchase_days"]
    for mask, text in (
        (gaps < 0, "gaps is negative"),
        (gaps != days - 1, "gaps is not purchase days - 1"),
        ((gaps > 0) & ~(summary["own_interval_days"] > 0), "the median gap is not a positive number of days"),
        (pd.to_datetime(summary["last_at"]) > pd.Timestamp(as_of), "the last purchase day is after as_of"),
    ):
        n = int(mask.sum())
        if n:
            problems.append(f"{text} for {n:,} customer categor{'ies' if n != 1 else 'y'}")
    if problems:
        raise ModelError(
            "the replenishment summary is inconsistent: " + "; ".join(problems) + ". Hint: build it with "
            "replenishment_summary(ctx, as_of)"
        )
    return as_of
