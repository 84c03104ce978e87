"""The same traits and memberships as bench/definitions.yml (with rfm, abc, lifecycle) in idiomatic pandas.

Money is read as float64 (what a pandas user does) and sums are rounded to the store's 6 decimals, so that
amounts equal in DECIMAL are equal floats (ranks and ties then agree); the harness compares money with the exact
decimals at a relative tolerance of 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

EXCLUDED = ["cancelled", "returned"]


def load(con: Any) -> dict[str, pd.DataFrame]:
    """The columns the definitions read, from the store."""
    return {
        "customers": con.execute("SELECT customer_id, country, created_at FROM main.customers").df(),
        "orders": con.execute(
            "SELECT order_id, customer_id, ordered_at, amount::DOUBLE AS amount, status, channel "
            "FROM main.orders"
        ).df(),
        "order_items": con.execute(
            "SELECT order_id, customer_id, ordered_at, quantity::DOUBLE AS quantity, "
            "category FROM main.order_items"
        ).df(),
        "events": con.execute("SELECT customer_id, event, occurred_at FROM main.events").df(),
    }


def _score(values: pd.Series, take_part: pd.Series, descending: bool = False) -> pd.Series:
    """1 + min(4, floor(5 * (rank - 1) / n)) over the customers taking part (min rank for ties)."""
    x = values[take_part]
    rank = x.rank(method="min", ascending=not descending)
    score = 1 + np.minimum(4, (5 * (rank - 1)) // len(x))
    return score.reindex(values.index)


def compute(data: dict[str, pd.DataFrame], as_of: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(traits, memberships) in segmentum's column names."""
    at = pd.Timestamp(as_of)
    d30, d90, d180, d365 = (at - pd.Timedelta(days=d) for d in (30, 90, 180, 365))
    customers = data["customers"]
    customers = customers[customers.created_at.isna() | (customers.created_at <= at)].set_index("customer_id")

    orders = data["orders"]
    qualifying = (orders.amount >= 0) & (orders.status.isna() | ~orders.status.str.lower().isin(EXCLUDED))
    o = orders[orders.ordered_at <= at]
    oq = o[qualifying[o.index]].sort_values(["customer_id", "ordered_at", "order_id"])
    day = oq.ordered_at.dt.normalize()
    oq = oq.assign(gap=(day - day.groupby(oq.customer_id).shift()).dt.days)
    by = oq.groupby("customer_id")
    t = by.agg(
        rfm_last_order_at=("ordered_at", "max"),
        lc_first_order_at=("ordered_at", "min"),
        rfm_frequency=("order_id", "size"),
        rfm_gross=("amount", "sum"),
        b_avg_order=("amount", "mean"),
        b_max_order=("amount", "max"),
        b_channels=("channel", "nunique"),
    )
    o365 = oq[oq.ordered_at > d365]
    o90 = oq[oq.ordered_at > d90]
    t["rfm_gross"] = t.rfm_gross.round(6)
    t["rfm_refunds"] = o[o.amount < 0].groupby("customer_id").amount.sum().round(6)
    t["lc_recent_gap"] = o90.groupby("customer_id").gap.max()
    t["b_revenue_365d"] = o365.groupby("customer_id").amount.sum().round(6)
    t["b_revenue_90d"] = o90.groupby("customer_id").amount.sum().round(6)
    counts = {
        "b_orders_90d": o90.groupby("customer_id").size(),
        "b_orders_prev_90d": oq[(oq.ordered_at > d180) & (oq.ordered_at <= d90)]
        .groupby("customer_id")
        .size(),
        "b_cancelled": o[o.status == "cancelled"].groupby("customer_id").size(),
        "b_web_orders_365d": o365[o365.channel == "web"].groupby("customer_id").size(),
    }

    items = data["order_items"]
    it = items[(items.ordered_at <= at) & items.order_id.isin(orders.order_id[qualifying])]
    t365 = it[it.ordered_at > d365].groupby("customer_id").quantity.sum().round(6)
    per_cat = it.groupby(["customer_id", "category"]).size().rename("n").reset_index()
    top = (
        per_cat.sort_values(["customer_id", "n", "category"], ascending=[True, False, True])
        .drop_duplicates("customer_id")
        .set_index("customer_id")
        .category
    )
    counts["b_categories"] = per_cat.groupby("customer_id").size()

    events = data["events"]
    ev = events[events.occurred_at <= at]
    e30 = ev[ev.occurred_at > d30]
    counts["b_cart_adds_30d"] = e30[e30.event == "cart_add"].groupby("customer_id").size()
    counts["b_page_views_30d"] = e30[e30.event == "page_view"].groupby("customer_id").size()

    f = customers[["country"]].join(t).join(pd.DataFrame(counts))
    f["b_items_365d"] = t365
    f["b_top_category"] = top
    f["b_last_event_at"] = ev.groupby("customer_id").occurred_at.max()
    count_columns = list(counts) + ["rfm_frequency", "b_channels"]
    f[count_columns] = f[count_columns].fillna(0).astype("int64")
    f = f.reset_index()

    days_last = (at.normalize() - f.rfm_last_order_at.dt.normalize()).dt.days
    buyers = f.rfm_frequency > 0
    f["rfm_recency"] = days_last
    f["rfm_r"] = _score(days_last, buyers, descending=True)
    f["rfm_f"] = _score(f.rfm_frequency, buyers)
    f["rfm_m"] = _score(f.rfm_gross, buyers)
    f["rfm_monetary"] = f.rfm_gross
    f["rfm_r5"], f["rfm_f5"] = f.rfm_r, f.rfm_f
    f["rfm_score"] = f.rfm_r * 100 + f.rfm_f * 10 + f.rfm_m
    f["abc_revenue"] = f.rfm_gross
    revenue = f.rfm_gross.fillna(0)
    order = (
        pd.DataFrame({"r": revenue, "c": f.customer_id})
        .sort_values(["r", "c"], ascending=[False, True])
        .index
    )
    f["abc_revenue_before"] = revenue[order].cumsum().shift(fill_value=0).reindex(f.index)
    f["abc_revenue_total"] = f.rfm_gross.sum(min_count=1)
    f["lc_last_order_at"] = f.rfm_last_order_at
    f["lc_days_since_first"] = (at.normalize() - f.lc_first_order_at.dt.normalize()).dt.days
    f["lc_days_since_last"] = days_last
    f["b_orders_total"] = f.rfm_frequency
    f["b_first_order_at"], f["b_last_order_at"] = f.lc_first_order_at, f.rfm_last_order_at
    f["b_days_since_order"] = days_last
    rev = f.b_revenue_365d.dropna()
    n = len(rev)
    f["b_spend_rank"] = ((rev.rank(method="min") - 1) / (n - 1) if n > 1 else rev * 0).reindex(f.index)

    r5, f5 = f.rfm_r5, f.rfm_f5
    rfm = np.select(
        [
            f.rfm_frequency == 0,
            (r5 == 5) & (f5 >= 4),
            r5.between(3, 4) & (f5 >= 4),
            (r5 >= 4) & f5.between(2, 3),
            (r5 == 5) & (f5 == 1),
            (r5 == 4) & (f5 == 1),
            (r5 == 3) & (f5 == 3),
            (r5 == 3) & (f5 <= 2),
            (r5 <= 2) & (f5 == 5),
            (r5 <= 2) & f5.between(3, 4),
        ],
        [
            "no_purchase",
            "champions",
            "loyal_customers",
            "potential_loyalists",
            "new_customers",
            "promising",
            "need_attention",
            "about_to_sleep",
            "cant_lose",
            "at_risk",
        ],
        "hibernating",
    )
    before, total = f.abc_revenue_before, f.abc_revenue_total
    abc = np.select(
        [f.abc_revenue.isna() | (f.abc_revenue <= 0), 100 * before < 80 * total, 100 * before < 95 * total],
        ["none", "A", "B"],
        "C",
    )
    lc = np.select(
        [
            f.lc_last_order_at.isna(),
            f.lc_days_since_first <= 30,
            f.lc_recent_gap > 180,
            f.lc_days_since_last <= 90,
            f.lc_days_since_last <= 180,
            f.lc_days_since_last <= 365,
        ],
        ["prospect", "new", "reactivated", "active", "at_risk", "lapsed"],
        "churned",
    )
    standalone = {
        "b_big_spenders": f.b_revenue_365d >= 20000,
        "b_top_20_percent": f.b_spend_rank >= 0.8,
        "b_slowing_down": (f.b_orders_prev_90d >= 2) & (f.b_orders_90d <= f.b_orders_prev_90d / 2),
        "b_cart_abandoners": (f.b_cart_adds_30d > 0) & (f.b_orders_90d == 0),
        "b_multi_channel": f.b_channels >= 2,
        "b_browsers": (f.b_page_views_30d >= 5) & (f.b_orders_90d == 0),
        "b_frequent": f.b_orders_total >= 10,
        "b_web_shoppers": f.b_web_orders_365d >= 3,
        "b_dormant": (f.b_days_since_order > 180) | f.b_last_order_at.isna(),
        "b_local_high_basket": f.country.isin(["UA", "PL"]) & (f.b_avg_order >= 3000),
    }
    parts = [
        pd.DataFrame({"customer_id": f.customer_id, "segmentation": name, "segment": seg})
        for name, seg in (("rfm", rfm), ("abc", abc), ("lifecycle", lc))
    ]
    parts += [
        pd.DataFrame({"customer_id": f.customer_id[mask], "segmentation": None, "segment": name})
        for name, mask in standalone.items()
    ]
    mem = pd.concat(parts, ignore_index=True)
    mem["name"] = np.where(mem.segmentation.isna(), mem.segment, mem.segmentation + "." + mem.segment)
    return f.drop(columns=["country"]), mem
