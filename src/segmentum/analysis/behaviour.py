"""Change of behaviour as data: each customer's last period against their own previous period.

Per customer (qualifying orders and their items, computed in SQL):

- **frequency**: orders in the last period `(as_of - period, as_of]` vs the previous one of the same length
  `(as_of - 2 x period, as_of - period]` (or a longer `baseline`, scaled to the period's length);
  `frequency_change = recent / previous - 1`;
- **size**: average order value, `size_change = avg_recent / avg_previous - 1` (null when either has no order);
- **content**: category mix as shares of line value (`round(quantity x unit_price, 6)`); `mix_change` is the
  total variation distance between the two mixes (0 = same mix, 1 = no category in common);
- **status** with the rule that decided it: `not_comparable` (fewer than `min_previous_orders` in the previous
  period), `declining` (frequency or size dropped by at least the set share), `growing` (one rose by at least
  the set share), else `stable`; `category_shift` when `mix_change >= mix_shift`.

The thresholds default to the `behaviour_change` built-in's settings, so with `baseline="360d"` the statuses agree
with the built-in (see docs/models.md for where the defaults differ).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmentum.compile.rules import money_sql
from segmentum.errors import ModelError
from segmentum.models.data import builtin_settings, resolve_as_of

if TYPE_CHECKING:
    from segmentum.context import Context

COLUMNS = [
    "customer_id",
    "orders_recent",
    "orders_previous",
    "orders_baseline",
    "frequency_change",
    "avg_recent",
    "avg_previous",
    "size_change",
    "top_category_recent",
    "top_category_previous",
    "mix_change",
    "category_shift",
    "status",
    "reason",
]


def _shift(as_of: datetime, text: str, what: str) -> datetime:
    """as_of minus a duration `90d`, `12w`, `3m` or `1y` (months clamp to the month's last day)."""
    match = re.fullmatch(r"\s*(\d+)\s*([dwmy])\s*", str(text))
    if not match or int(match.group(1)) <= 0:
        raise ModelError(f"{what} {text!r} is not a duration; write it as 90d, 12w, 3m or 1y")
    n, unit = int(match.group(1)), match.group(2)
    if unit in "dw":
        return as_of - timedelta(days=n * (7 if unit == "w" else 1))
    return (pd.Timestamp(as_of) - pd.DateOffset(months=n * (12 if unit == "y" else 1))).to_pydatetime()


def _settings(ws: Context) -> dict[str, Any]:
    return builtin_settings(ws, "behaviour_change")


def behaviour_changes(
    ws: Context,
    as_of: Any = "latest",
    period: str = "90d",
    *,
    baseline: str | None = None,
    min_previous_orders: int | None = None,
    frequency_drop: float | None = None,
    frequency_rise: float | None = None,
    size_drop: float | None = None,
    size_rise: float | None = None,
    mix_shift: float = 0.5,
) -> pd.DataFrame:
    """One row per customer with a qualifying order in the last or the previous period (see the module doc).

    Thresholds left as None take the `behaviour_change` built-in's settings (as configured in segmentum.yml).
    """
    store = ws.store
    if not store.table_exists("orders"):
        raise ModelError("behaviour change needs orders; load them with `segmentum ingest orders FILE`")
    s = _settings(ws)
    min_prev = s["min_previous_orders"] if min_previous_orders is None else min_previous_orders
    f_drop = s["frequency_drop"] if frequency_drop is None else frequency_drop
    f_rise = s["frequency_rise"] if frequency_rise is None else frequency_rise
    s_drop = s["size_drop"] if size_drop is None else size_drop
    s_rise = s["size_rise"] if size_rise is None else size_rise
    end = resolve_as_of(ws, as_of)
    mid = _shift(end, period, "period")
    start = _shift(end, baseline, "baseline") if baseline is not None else _shift(mid, period, "period")
    if start >= mid:
        raise ModelError(f"baseline {baseline!r} must be longer than the period {period!r}")
    scale = (end - mid) / (mid - start)  # the previous window's orders per period of the last one's length
    params = {"start": start, "mid": mid, "end": end}
    has_items = store.table_exists("order_items") and "category" in store.columns("order_items")
    mix_sql = "SELECT NULL::VARCHAR AS customer_id, NULL::DOUBLE AS mix_change WHERE false"
    top_sql = (
        "SELECT NULL::VARCHAR AS customer_id, NULL::VARCHAR AS top_category_recent, "
        "NULL::VARCHAR AS top_category_previous WHERE false"
    )
    # order sizes and category values in the workspace currency
    orders = money_sql(store, ws.config.currency)
    if has_items:
        lines = money_sql(store, ws.config.currency, "order_items")
        items = f"""SELECT i.customer_id, i.category, round(i.quantity * i.unit_price, 6)::DOUBLE AS v,
                i.ordered_at > $mid AS recent
            FROM {lines.relation} i
            SEMI JOIN (SELECT order_id FROM {orders.relation} WHERE {orders.qualifying()}) q USING (order_id)
            WHERE i.ordered_at > $start AND i.ordered_at <= $end AND i.category IS NOT NULL"""
        mix_sql = f"""WITH it AS ({items}),
            c AS (SELECT customer_id, category, sum(v) FILTER (WHERE recent) AS r, sum(v) FILTER (WHERE NOT recent) AS p
                  FROM it GROUP BY ALL),
            t AS (SELECT customer_id, sum(r) AS tr, sum(p) AS tp FROM c GROUP BY customer_id)
            SELECT customer_id,
                CASE WHEN tr > 0 AND tp > 0
                     THEN 0.5 * sum(abs(coalesce(r, 0) / tr - coalesce(p, 0) / tp)) END AS mix_change
            FROM c JOIN t USING (customer_id) GROUP BY customer_id, tr, tp"""
        # the most bought category as the built-in's `mode`: most item rows, ties by the smallest value
        top_sql = f"""WITH it AS ({items}),
            n AS (SELECT customer_id, recent, category, count(*) AS k FROM it GROUP BY ALL),
            m AS (SELECT customer_id, recent, arg_min(category, (-k, category)) AS top FROM n GROUP BY ALL)
            SELECT customer_id, max(top) FILTER (WHERE recent) AS top_category_recent,
                   max(top) FILTER (WHERE NOT recent) AS top_category_previous FROM m GROUP BY customer_id"""
    sql = f"""
        WITH o AS (
            SELECT customer_id,
                count(*) FILTER (WHERE ordered_at > $mid) AS orders_recent,
                count(*) FILTER (WHERE ordered_at <= $mid) AS orders_previous,
                avg(amount::DOUBLE) FILTER (WHERE ordered_at > $mid) AS avg_recent,
                avg(amount::DOUBLE) FILTER (WHERE ordered_at <= $mid) AS avg_previous
            FROM {orders.relation}
            WHERE ordered_at > $start AND ordered_at <= $end AND {orders.qualifying()} AND customer_id IS NOT NULL
            GROUP BY customer_id),
        mix AS ({mix_sql}), top AS ({top_sql})
        SELECT o.*, top.top_category_recent, top.top_category_previous, mix.mix_change
        FROM o LEFT JOIN mix USING (customer_id) LEFT JOIN top USING (customer_id) ORDER BY customer_id
    """
    used = set(re.findall(r"\$(\w+)", sql))
    frame = store.cursor().execute(sql, {k: v for k, v in params.items() if k in used}).df()
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["orders_baseline"] = frame["orders_previous"] * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["frequency_change"] = np.where(
            frame["orders_baseline"] > 0, frame["orders_recent"] / frame["orders_baseline"] - 1, np.nan
        )
        frame["size_change"] = np.where(
            frame["avg_previous"] > 0, frame["avg_recent"] / frame["avg_previous"] - 1, np.nan
        )
    frame["category_shift"] = (frame["mix_change"] >= mix_shift).fillna(False).astype(bool)
    statuses, reasons = [], []
    for r in frame.itertuples():
        status, reason = _rule(r, min_prev, f_drop, f_rise, s_drop, s_rise)
        statuses.append(status)
        reasons.append(reason)
    frame["status"], frame["reason"] = statuses, reasons
    frame.attrs.update({"as_of": end, "period_start": mid, "previous_start": start})
    return frame[COLUMNS]


def _pct(x: float) -> str:
    return f"{x:+.0%}"


def _rule(
    r: Any, min_prev: int, f_drop: float, f_rise: float, s_drop: float, s_rise: float
) -> tuple[str, str]:
    """The status and, in words, the rule that decided it (same order as the built-in's segments)."""
    if r.orders_previous < min_prev:
        return "not_comparable", f"{r.orders_previous} orders in the previous period (< {min_prev} needed)"
    f, s = r.frequency_change, r.size_change
    f_ok, s_ok = f == f, s == s  # not NaN
    down = []
    if f_ok and f <= -f_drop:
        down.append(f"orders per period {_pct(f)} (<= -{f_drop:.0%})")
    if s_ok and s <= -s_drop:
        down.append(f"average order value {_pct(s)} (<= -{s_drop:.0%})")
    if down:
        return "declining", "; ".join(down)
    up = []
    if f_ok and f >= f_rise:
        up.append(f"orders per period {_pct(f)} (>= +{f_rise:.0%})")
    if s_ok and s >= s_rise:
        up.append(f"average order value {_pct(s)} (>= +{s_rise:.0%})")
    if up:
        return "growing", "; ".join(up)
    parts = [
        f"orders per period {_pct(f)}" if f_ok else "no orders to compare",
        f"average order value {_pct(s)}" if s_ok else "no order value to compare",
    ]
    return "stable", "within the thresholds: " + ", ".join(parts)
