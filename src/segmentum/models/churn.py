"""Churn: rate per period (overall and per segment) with its trend, Kaplan-Meier survival per segment, churn
reasons, and a churn-risk model whose per-customer `churn_risk` is stored in `segmentum.model_churn`.

**Active** at an instant `t` (a period boundary, midnight):

- subscription business: the customer has a subscription with `started_at < t` and no `cancelled_at`, or
  `cancelled_at >= t`;
- shop: the customer has a qualifying order in `[t - inactivity_days, t)` (default 90 days);
- `basis="auto"` (default): customers who had a subscription started before `t` are judged by their
  subscriptions, all others by their orders (a shop with B2B subscribers is both at once).

**Churned in a period** `[s, e)`: active at `s` and not active at `e`. The **churn rate** of the period is
churned / active at `s`. Only complete periods (ending at or before `as_of`) are reported. Customers who start
and leave within one period count in neither number.

A customer's **segment** in a period is their segment in the newest complete batch run at or before the period's
start (so a backfill gives honest history); periods before the first such run use the reference run (the
latest complete batch run, or `run_id`): then the segment is today's, which flatters the good segments
(customers who left are in the bad ones now) — the output says which run each period used.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from segmentum.errors import ModelError, NotFittedError, NotFoundError, did_you_mean
from segmentum.models.replenishment import resolve_as_of, store_of
from segmentum.schema import QUALIFYING_ORDER_SQL
from segmentum.store.tables import create_on_fit

PERIODS = {"week": 7, "month": 31, "quarter": 92}
BASES = ("auto", "subscriptions", "orders")
CHURN_QUESTIONS = ("churn_reason", "cancel_reason", "why", "why_leave", "why_cancel", "reason")
FEATURES = (
    "recency_days",
    "has_orders",
    "frequency",
    "monetary",
    "orders_90d",
    "tenure_days",
    "tickets_90d",
    "nps",
    "nps_missing",
    "subscribed",
    "events_90d",
)


# ------------------------------------------------------------------------------------------------ activity


def _basis(store: Any, basis: str) -> str:
    if basis not in BASES:
        raise ModelError(f"churn basis {basis!r} is not known; allowed: {', '.join(BASES)}")
    has_subs = store.table_exists("subscriptions")
    has_orders = store.table_exists("orders")
    if basis == "subscriptions" and not has_subs:
        raise ModelError(
            "churn basis 'subscriptions' needs a subscriptions table; load it with "
            "`segmentum ingest subscriptions FILE` or use --basis orders"
        )
    if basis == "orders" and not has_orders:
        raise ModelError("churn basis 'orders' needs an orders table; load orders or order_items first")
    if basis == "auto":
        if has_subs and has_orders:
            return "auto"
        if has_subs:
            return "subscriptions"
        if has_orders:
            return "orders"
        raise ModelError("churn needs orders or subscriptions; load one of them with `segmentum ingest`")
    return basis


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the $parameters the SQL text uses (DuckDB rejects extra ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def active_sql(basis: str) -> str:
    """SQL of (customer_id, b): customers active at each boundary `b` of a CTE `bounds(b)`; needs $inactivity."""
    orders = f"""SELECT DISTINCT o.customer_id, bounds.b FROM main.orders o
        JOIN bounds ON o.ordered_at >= bounds.b - to_days(CAST($inactivity AS INTEGER)) AND o.ordered_at < bounds.b
        WHERE {QUALIFYING_ORDER_SQL} AND o.customer_id IS NOT NULL"""
    subs = """SELECT DISTINCT s.customer_id, bounds.b FROM main.subscriptions s
        JOIN bounds ON s.started_at < bounds.b AND (s.cancelled_at IS NULL OR s.cancelled_at >= bounds.b)
        WHERE s.customer_id IS NOT NULL"""
    if basis == "orders":
        return orders
    if basis == "subscriptions":
        return subs
    return f"""{subs} UNION SELECT x.customer_id, x.b FROM ({orders}) x
        WHERE NOT EXISTS (SELECT 1 FROM main.subscriptions s WHERE s.customer_id = x.customer_id
                          AND s.started_at < x.b)"""


def _boundaries(store: Any, period: str, as_of: datetime, periods: int | None) -> list[datetime]:
    if period not in PERIODS:
        raise ModelError(f"period {period!r} is not known; allowed: {', '.join(PERIODS)}")
    parts = []
    if store.table_exists("orders"):
        parts.append("SELECT min(ordered_at) AS t FROM main.orders")
    if store.table_exists("subscriptions"):
        parts.append("SELECT min(started_at) AS t FROM main.subscriptions")
    row = store.cursor().execute(f"SELECT min(t) FROM ({' UNION ALL '.join(parts)})").fetchone()
    if not row or row[0] is None or row[0] > as_of:
        return []
    # a period is complete when it ends by as_of (as_of at 23:59:59.999999 completes its day)
    rows = (
        store.cursor()
        .execute(
            f"SELECT CAST(range AS TIMESTAMP) FROM range(date_trunc('{period}', CAST(? AS TIMESTAMP)), "
            f"date_trunc('{period}', CAST(? AS TIMESTAMP) + INTERVAL 1 MICROSECOND) + INTERVAL 1 {period}, "
            f"INTERVAL 1 {period})",
            [row[0], as_of],
        )
        .fetchall()
    )
    bounds = [r[0] for r in rows]
    if periods is not None and len(bounds) > periods + 1:
        bounds = bounds[-(periods + 1) :]
    return bounds


def segment_runs(ws: Any, segmentation: str, starts: list[datetime], run_id: int | None) -> pd.DataFrame:
    """For each period start: the run whose segments it uses (newest complete batch run at or before it)."""
    from segmentum.analysis.base import resolve_run, segmentations

    ref, _ = resolve_run(ws, run_id)
    names = segmentations(ws, ref)
    if segmentation not in names:
        raise NotFoundError(
            f"segmentation '{segmentation}' is not in run {ref}{did_you_mean(segmentation, names)}"
            f" (segmentations there: {', '.join(names) or 'none'})"
        )
    runs = (
        ws.store.cursor()
        .execute(
            "SELECT run_id, as_of FROM segmentum.runs WHERE status = 'complete' AND kind = 'batch' AND run_id IN "
            "(SELECT DISTINCT run_id FROM segmentum.memberships WHERE segmentation = ?) ORDER BY as_of, run_id",
            [segmentation],
        )
        .fetchall()
    )
    chosen = []
    for start in starts:
        before = [r for r in runs if r[1] <= start]
        chosen.append(before[-1][0] if before else ref)
    return pd.DataFrame({"period_start": starts, "segment_run_id": chosen})


def churn_rates(
    ws: Any,
    *,
    as_of: Any = "latest",
    period: str = "month",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
    periods: int | None = 24,
) -> pd.DataFrame:
    """Churn rate per period, overall (segment null) and per segment of `segmentation`.

    Columns: period_start, period_end, segment, active_start, churned, churn_rate (and segment_run_id with a
    segmentation). `periods`: the last N complete periods (None: all).
    """
    store = store_of(ws)
    basis = _basis(store, basis)
    as_of = resolve_as_of(ws, as_of)
    bounds = _boundaries(store, period, as_of, periods)
    columns = ["period_start", "period_end", "segment", "active_start", "churned", "churn_rate"]
    if len(bounds) < 2:
        return pd.DataFrame(columns=columns)
    cur = store.cursor()
    pairs = pd.DataFrame({"period_start": bounds[:-1], "period_end": bounds[1:]})
    seg_join, seg_col = "", "CAST(NULL AS VARCHAR) AS segment, NULL::BIGINT AS segment_run_id"
    sets = "(period_start, period_end, segment)"  # segment is null throughout
    if segmentation is not None:
        pairs = pairs.merge(segment_runs(ws, segmentation, bounds[:-1], run_id), on="period_start")
        seg_join = (
            "LEFT JOIN segmentum.memberships m ON m.run_id = p.segment_run_id "
            "AND m.customer_id = a.customer_id AND m.segmentation = $segmentation"
        )
        seg_col = "coalesce(m.segment, '(not in run)') AS segment, p.segment_run_id"
        sets = "(period_start, period_end), (period_start, period_end, segment)"
    else:
        pairs["segment_run_id"] = None
    sql = f"""
        WITH bounds AS (SELECT DISTINCT period_start AS b FROM _churn_periods
                        UNION SELECT DISTINCT period_end FROM _churn_periods),
        act AS ({active_sql(basis)}),
        x AS (
            SELECT p.period_start, p.period_end, {seg_col}, (e.customer_id IS NULL) AS churned
            FROM _churn_periods p JOIN act a ON a.b = p.period_start
            LEFT JOIN act e ON e.customer_id = a.customer_id AND e.b = p.period_end
            {seg_join})
        SELECT period_start, period_end, segment, any_value(segment_run_id) AS segment_run_id,
               count(*) AS active_start, count(*) FILTER (WHERE churned) AS churned
        FROM x GROUP BY GROUPING SETS ({sets})
    """
    cur.register("_churn_periods", pairs)
    try:
        params = {"inactivity": int(inactivity_days), "segmentation": segmentation}
        frame = cur.execute(sql, _used(sql, params)).df()
    finally:
        cur.unregister("_churn_periods")
    # the overall rows have a null segment; segments never do (coalesce above)
    frame.loc[frame["segment"].isna(), "segment_run_id"] = None
    # periods where nobody was active still appear overall, with a rate of null
    base = pairs[["period_start", "period_end"]].assign(segment=None)
    overall = base.merge(
        frame[frame["segment"].isna()].drop(columns="segment"), how="left", on=["period_start", "period_end"]
    )
    overall["active_start"] = overall["active_start"].fillna(0).astype("int64")
    overall["churned"] = overall["churned"].fillna(0).astype("int64")
    out = pd.concat([overall, frame[frame["segment"].notna()]], ignore_index=True)
    out["active_start"] = out["active_start"].astype("int64")
    out["churned"] = out["churned"].astype("int64")
    out["churn_rate"] = np.where(
        out["active_start"] > 0,
        out["churned"] / out["active_start"].where(out["active_start"] > 0, 1),
        np.nan,
    )
    out = out.sort_values(
        ["segment", "period_start"],
        na_position="first",
        key=lambda s: s.astype(str) if s.name == "segment" else s,
    ).reset_index(drop=True)
    for col in ("period_start", "period_end"):  # boundaries are midnights: show them as days
        out[col] = pd.to_datetime(out[col]).dt.date
    keep = columns + (["segment_run_id"] if segmentation is not None else [])
    out = out[keep]
    out.attrs.update({"basis": basis, "period": period, "as_of": as_of, "inactivity_days": inactivity_days})
    return out


def churn_trend(rates: pd.DataFrame) -> pd.DataFrame:
    """Slope of a least-squares line through each group's churn rates (per period) and its direction.

    `direction` is `rising` or `falling` by the slope's sign when the fit has at least 3 periods and a p-value
    below 0.1, else `flat` (no clear trend); `change` = slope x (periods - 1), the fitted change over the span.
    """
    from scipy import stats

    rows = []
    for segment, g in rates.groupby(rates["segment"].fillna("\0"), sort=True):
        g = g.dropna(subset=["churn_rate"]).sort_values("period_start")
        n = len(g)
        slope, p_value = float("nan"), float("nan")
        if n >= 2 and g["churn_rate"].nunique() > 1:
            fit = stats.linregress(np.arange(n, dtype=float), g["churn_rate"].to_numpy(float))
            slope, p_value = float(fit.slope), float(fit.pvalue)
        elif n >= 2:
            slope, p_value = 0.0, 1.0
        direction = "flat"
        if n >= 3 and p_value == p_value and p_value < 0.1 and slope != 0:
            direction = "rising" if slope > 0 else "falling"
        rows.append(
            {
                "segment": None if segment == "\0" else segment,
                "periods": n,
                "mean_rate": float(g["churn_rate"].mean()) if n else None,
                "last_rate": float(g["churn_rate"].iloc[-1]) if n else None,
                "slope_per_period": slope,
                "change": slope * (n - 1) if n >= 2 else None,
                "p_value": p_value,
                "direction": direction,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "segment",
            "periods",
            "mean_rate",
            "last_rate",
            "slope_per_period",
            "change",
            "p_value",
            "direction",
        ],
    )


# ------------------------------------------------------------------------------------------------ survival


def kaplan_meier(durations: Any, events: Any) -> pd.DataFrame:
    """Kaplan-Meier estimate: one row per distinct event time (days, at_risk, events, censored, survival)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if len(t) == 0:
        return pd.DataFrame(columns=["days", "at_risk", "events", "censored", "survival"])
    times = np.unique(t)
    order = np.sort(t)
    at_risk = len(t) - np.searchsorted(order, times, side="left")
    died = (
        np.array([np.count_nonzero(e & (t == x)) for x in times])
        if len(times) < 2000
        else pd.Series(e).groupby(t).sum().reindex(times).to_numpy()
    )
    total = pd.Series(np.ones(len(t))).groupby(t).sum().reindex(times).to_numpy().astype(int)
    survival = np.cumprod(1.0 - died / at_risk)
    return pd.DataFrame(
        {
            "days": times,
            "at_risk": at_risk,
            "events": died.astype(int),
            "censored": total - died.astype(int),
            "survival": survival,
        }
    )


def lifetimes(
    ws: Any, *, as_of: Any = "latest", inactivity_days: int = 90, basis: str = "auto"
) -> pd.DataFrame:
    """Per customer: lifetime in days and whether it ended in churn (observed) or is still going (censored).

    Subscribers: from their first subscription start to the last cancellation when no subscription is active at
    `as_of` (event), else to `as_of`. Buyers: from the first to the last qualifying order when the last is more
    than `inactivity_days` before `as_of` (event), else from the first order to `as_of`.
    """
    store = store_of(ws)
    basis = _basis(store, basis)
    as_of = resolve_as_of(ws, as_of)
    parts = []
    if basis in ("auto", "subscriptions"):
        parts.append("""SELECT customer_id, 'subscriptions' AS source, min(started_at) AS start_at,
                bool_and(cancelled_at IS NOT NULL AND cancelled_at <= $as_of) AS churned,
                CASE WHEN bool_and(cancelled_at IS NOT NULL AND cancelled_at <= $as_of)
                     THEN max(cancelled_at) ELSE $as_of END AS end_at
            FROM main.subscriptions WHERE started_at <= $as_of AND customer_id IS NOT NULL GROUP BY customer_id""")
    if basis in ("auto", "orders"):
        skip = (
            "AND customer_id NOT IN (SELECT customer_id FROM main.subscriptions WHERE started_at <= $as_of "
            "AND customer_id IS NOT NULL)"
            if basis == "auto"
            else ""
        )
        parts.append(f"""SELECT customer_id, 'orders' AS source, min(ordered_at) AS start_at,
                max(ordered_at) < $as_of - to_days(CAST($inactivity AS INTEGER)) AS churned,
                CASE WHEN max(ordered_at) < $as_of - to_days(CAST($inactivity AS INTEGER))
                     THEN max(ordered_at) ELSE $as_of END AS end_at
            FROM main.orders WHERE ordered_at <= $as_of AND {QUALIFYING_ORDER_SQL} AND customer_id IS NOT NULL
            {skip} GROUP BY customer_id""")
    sql = " UNION ALL ".join(parts)
    sql = (
        f"SELECT customer_id, source, churned, date_diff('day', start_at, end_at) AS days FROM ({sql}) "
        "ORDER BY customer_id"
    )
    frame = store.cursor().execute(sql, _used(sql, {"as_of": as_of, "inactivity": int(inactivity_days)})).df()
    frame.attrs.update({"as_of": as_of, "basis": basis})
    return frame


def survival_curves(
    ws: Any,
    *,
    as_of: Any = "latest",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
) -> pd.DataFrame:
    """Kaplan-Meier curves overall (segment null) and per segment (the customer's segment in the reference run)."""
    life = lifetimes(ws, as_of=as_of, inactivity_days=inactivity_days, basis=basis)
    groups: list[tuple[Any, pd.DataFrame]] = [(None, life)]
    if segmentation is not None:
        from segmentum.analysis.base import resolve_run

        ref, _ = resolve_run(ws, run_id)
        segment_runs(ws, segmentation, [], ref)  # checks the segmentation exists
        seg = (
            ws.store.cursor()
            .execute(
                "SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = ? AND segmentation = ?",
                [ref, segmentation],
            )
            .df()
        )
        joined = life.merge(seg, on="customer_id", how="left")
        joined["segment"] = joined["segment"].fillna("(not in run)")
        groups += list(joined.groupby("segment", sort=True))
    out = []
    for segment, g in groups:
        curve = kaplan_meier(g["days"], g["churned"])
        curve.insert(0, "segment", segment)
        out.append(curve)
    return pd.concat(out, ignore_index=True)


def median_lifetime(curves: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, the median lifetime (first day survival falls to 0.5 or below; null when it never
    does) and survival at one year."""
    rows = []
    for segment, g in curves.groupby(curves["segment"].fillna("\0"), sort=True):
        below = g[g["survival"] <= 0.5]
        year = g[g["days"] <= 365]
        rows.append(
            {
                "segment": None if segment == "\0" else segment,
                "customers": int(g["at_risk"].iloc[0]),
                "churned": int(g["events"].sum()),
                "median_lifetime_days": float(below["days"].iloc[0]) if len(below) else None,
                "survival_1y": float(year["survival"].iloc[-1]) if len(year) else 1.0,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ reasons


def churn_reasons(
    ws: Any, *, as_of: Any = "latest", questions: tuple[str, ...] = CHURN_QUESTIONS
) -> pd.DataFrame:
    """Why customers left: `cancel_reason` of cancellations that left the customer with no active subscription
    (an upgrade to a new subscription is not churn), and the latest answer per customer to a churn question
    (compared case-insensitively). Columns: source, reason, customers, share (within the source)."""
    store = store_of(ws)
    as_of = resolve_as_of(ws, as_of)
    parts = []
    if store.table_exists("subscriptions") and "cancel_reason" in store.columns("subscriptions"):
        parts.append("""SELECT 'subscriptions' AS source, coalesce(s.cancel_reason, '(not given)') AS reason,
                s.customer_id FROM main.subscriptions s
            WHERE s.cancelled_at IS NOT NULL AND s.cancelled_at <= $as_of
              AND NOT EXISTS (SELECT 1 FROM main.subscriptions t WHERE t.customer_id = s.customer_id
                  AND t.subscription_id <> s.subscription_id AND t.started_at <= s.cancelled_at + INTERVAL 1 DAY
                  AND (t.cancelled_at IS NULL OR t.cancelled_at > s.cancelled_at))""")
    if store.table_exists("responses"):
        parts.append("""SELECT 'survey' AS source, arg_max(answer, answered_at) AS reason, customer_id
            FROM main.responses WHERE answered_at <= $as_of AND list_contains($questions, lower(question))
              AND answer IS NOT NULL AND trim(answer) <> ''
            GROUP BY customer_id""")
    if not parts:
        return pd.DataFrame(columns=["source", "reason", "customers", "share"])
    sql = f"""SELECT source, reason, count(DISTINCT customer_id) AS customers FROM ({" UNION ALL ".join(parts)})
              GROUP BY source, reason ORDER BY source, customers DESC, reason"""
    params: dict[str, Any] = {"as_of": as_of}
    if "$questions" in sql:
        params["questions"] = [q.lower() for q in questions]
    frame = store.cursor().execute(sql, params).df()
    frame["share"] = frame["customers"] / frame.groupby("source")["customers"].transform("sum")
    return frame


# ------------------------------------------------------------------------------------------------ risk model


def churn_features(ws: Any, at: datetime) -> pd.DataFrame:
    """Per-customer features at instant `at`, computed in SQL: recency, frequency, monetary, orders in the last
    90 days, tenure, support tickets in the last 90 days, latest NPS answer, subscribed now, events in 90 days."""
    store = store_of(ws)
    has = {
        t: store.table_exists(t)
        for t in ("customers", "orders", "tickets", "responses", "subscriptions", "events")
    }
    ids = []
    if has["customers"]:
        created = "created_at" in store.columns("customers")
        ids.append(
            "SELECT customer_id, "
            + ("created_at" if created else "NULL::TIMESTAMP")
            + " AS seen_at FROM main.customers"
            + (" WHERE created_at IS NULL OR created_at <= $at" if created else "")
        )
    if has["orders"]:
        ids.append("SELECT customer_id, min(ordered_at) FROM main.orders WHERE ordered_at <= $at GROUP BY 1")
    if has["subscriptions"]:
        ids.append(
            "SELECT customer_id, min(started_at) FROM main.subscriptions WHERE started_at <= $at GROUP BY 1"
        )
    if not ids:
        raise ModelError("churn risk needs customers, orders or subscriptions; load data first")
    ctes = [
        f"ids AS (SELECT customer_id, min(seen_at) AS seen_at FROM ({' UNION ALL '.join(ids)}) "
        "WHERE customer_id IS NOT NULL GROUP BY customer_id)"
    ]
    cols = ["ids.customer_id"]
    joins = []
    if has["orders"]:
        ctes.append(f"""o AS (SELECT customer_id, max(ordered_at) AS last_at, min(ordered_at) AS first_at,
            count(*) AS frequency, sum(amount)::DOUBLE AS monetary,
            count(*) FILTER (WHERE ordered_at > $at - INTERVAL 90 DAY) AS orders_90d
            FROM main.orders WHERE ordered_at <= $at AND {QUALIFYING_ORDER_SQL} GROUP BY customer_id)""")
        joins.append("LEFT JOIN o USING (customer_id)")
        cols += [
            "least(coalesce(date_diff('day', o.last_at, $at), 3650), 3650) AS recency_days",
            "CAST(o.last_at IS NOT NULL AS INTEGER) AS has_orders",
            "coalesce(o.frequency, 0) AS frequency",
            "coalesce(o.monetary, 0) AS monetary",
            "coalesce(o.orders_90d, 0) AS orders_90d",
        ]
    else:
        cols += [
            "3650 AS recency_days",
            "0 AS has_orders",
            "0 AS frequency",
            "0.0 AS monetary",
            "0 AS orders_90d",
        ]
    first = "coalesce(ids.seen_at, " + ("o.first_at" if has["orders"] else "NULL") + ")"
    cols.append(f"coalesce(date_diff('day', {first}, $at), 0) AS tenure_days")
    if has["tickets"]:
        ctes.append("""t AS (SELECT customer_id, count(*) AS tickets_90d FROM main.tickets
            WHERE opened_at <= $at AND opened_at > $at - INTERVAL 90 DAY GROUP BY customer_id)""")
        joins.append("LEFT JOIN t USING (customer_id)")
        cols.append("coalesce(t.tickets_90d, 0) AS tickets_90d")
    else:
        cols.append("0 AS tickets_90d")
    if has["responses"]:
        ctes.append("""r AS (SELECT customer_id, TRY_CAST(arg_max(answer, answered_at) AS DOUBLE) AS nps
            FROM main.responses WHERE answered_at <= $at AND lower(question) = 'nps' GROUP BY customer_id)""")
        joins.append("LEFT JOIN r USING (customer_id)")
        cols += ["coalesce(r.nps, 7.0) AS nps", "CAST(r.nps IS NULL AS INTEGER) AS nps_missing"]
    else:
        cols += ["7.0 AS nps", "1 AS nps_missing"]
    if has["subscriptions"]:
        ctes.append("""s AS (SELECT DISTINCT customer_id FROM main.subscriptions
            WHERE started_at <= $at AND (cancelled_at IS NULL OR cancelled_at > $at))""")
        joins.append("LEFT JOIN s ON s.customer_id = ids.customer_id")
        cols.append("CAST(s.customer_id IS NOT NULL AS INTEGER) AS subscribed")
    else:
        cols.append("0 AS subscribed")
    if has["events"]:
        ctes.append("""e AS (SELECT customer_id, count(*) AS events_90d FROM main.events
            WHERE occurred_at <= $at AND occurred_at > $at - INTERVAL 90 DAY GROUP BY customer_id)""")
        joins.append("LEFT JOIN e ON e.customer_id = ids.customer_id")
        cols.append("coalesce(e.events_90d, 0) AS events_90d")
    else:
        cols.append("0 AS events_90d")
    sql = (
        f"WITH {', '.join(ctes)} SELECT {', '.join(cols)} FROM ids {' '.join(joins)} ORDER BY ids.customer_id"
    )
    frame = store.cursor().execute(sql, {"at": at}).df()
    frame["customer_id"] = frame["customer_id"].astype(str)
    return frame.set_index("customer_id")[list(FEATURES)].astype(float)


def _design(x: pd.DataFrame) -> np.ndarray:
    # counts and money are heavy-tailed: log1p keeps a few big accounts from dominating the fit
    x = x.copy()
    for col in (
        "recency_days",
        "frequency",
        "monetary",
        "orders_90d",
        "tenure_days",
        "tickets_90d",
        "events_90d",
    ):
        x[col] = np.log1p(x[col].clip(lower=0))
    return x.to_numpy(float)


class ChurnRiskModel:
    """Probability that a customer active now is no longer active `horizon_days` later.

    Fitted on the past: features at `as_of - horizon_days` of the customers active then, labelled by whether
    they were still active at `as_of` (activity as in `churn_rates`); then applied to every customer's features
    at `as_of`. A scikit-learn LogisticRegression on standardised features (log1p of counts, money and days).

    Parameters
    ----------
    horizon_days:
        The churn window to predict (default 90 days).
    inactivity_days:
        Days without a qualifying order after which a buyer without subscription is inactive (default 90).
    basis:
        'auto', 'subscriptions' or 'orders' (see the module docstring).
    """

    def __init__(
        self, *, horizon_days: int = 90, inactivity_days: int = 90, basis: str = "auto", C: float = 1.0
    ) -> None:  # noqa: N803 - scikit-learn's name
        self.horizon_days = horizon_days
        self.inactivity_days = inactivity_days
        self.basis = basis
        self.C = C

    def fit(self, ws: Any, as_of: Any = "latest", *, write: bool = True) -> ChurnRiskModel:
        from sklearn.metrics import roc_auc_score

        if not (isinstance(self.horizon_days, int) and self.horizon_days > 0):
            raise ModelError(f"horizon_days must be a whole number of days > 0, got {self.horizon_days!r}")
        store = store_of(ws)
        basis = _basis(store, self.basis)
        self.as_of_ = resolve_as_of(ws, as_of)
        self.cutoff_ = self.as_of_ - timedelta(days=self.horizon_days)
        train, y, active_now = self._training_set(ws, store, basis, self.cutoff_, self.as_of_)
        if len(y) < 10 or y.min() == y.max():
            raise ModelError(
                f"cannot learn churn: {len(y)} customers were active on {self.cutoff_:%Y-%m-%d} and "
                f"{int(y.sum()) if len(y) else 0} of them churned by {self.as_of_:%Y-%m-%d}; at least 10 customers, "
                "both churned and retained ones, are needed. Hint: a longer history, a later as_of or another "
                "--horizon-days"
            )
        self.pipeline_ = self._pipeline().fit(_design(train), y)
        # out of time: a model trained one horizon earlier predicts the churn of the last horizon
        self.validation_auc_: float | None = None
        earlier, y_earlier, _ = self._training_set(
            ws, store, basis, self.cutoff_ - timedelta(days=self.horizon_days), self.cutoff_
        )
        if len(y_earlier) >= 10 and y_earlier.min() != y_earlier.max():
            check = self._pipeline().fit(_design(earlier), y_earlier)
            self.validation_auc_ = float(roc_auc_score(y, check.predict_proba(_design(train))[:, 1]))
        self.train_size_, self.train_churn_rate_ = len(y), float(y.mean())
        self.train_auc_ = float(roc_auc_score(y, self.pipeline_.predict_proba(_design(train))[:, 1]))
        coef = self.pipeline_[-1].coef_[0]
        self.coefficients_ = pd.Series(coef, index=list(FEATURES)).sort_values(key=np.abs, ascending=False)
        now = churn_features(ws, self.as_of_)
        self.risk_ = pd.Series(
            self.pipeline_.predict_proba(_design(now))[:, 1], index=now.index, name="churn_risk"
        )
        self.active_ = pd.Series(now.index.isin(list(active_now)), index=now.index, name="churn_active")
        if write:
            self.write(store)
        return self

    def _pipeline(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))

    def _training_set(
        self, ws: Any, store: Any, basis: str, start: datetime, end: datetime
    ) -> tuple[pd.DataFrame, np.ndarray, set[str]]:
        """Features at `start` of the customers active then, whether they churned by `end`, who is active at end."""
        sql = (
            f"WITH bounds AS (SELECT unnest([CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP)]) AS b), "
            f"act AS ({active_sql(basis)}) SELECT customer_id, b = $end AS at_end FROM act"
        )
        act = (
            store.cursor()
            .execute(sql, _used(sql, {"start": start, "end": end, "inactivity": int(self.inactivity_days)}))
            .df()
        )
        act["customer_id"] = act["customer_id"].astype(str)
        active_end = set(act.loc[act["at_end"], "customer_id"])
        labels = pd.DataFrame({"customer_id": sorted(set(act.loc[~act["at_end"], "customer_id"]))})
        labels["churned"] = ~labels["customer_id"].isin(active_end)
        frame = churn_features(ws, start).join(labels.set_index("customer_id"), how="inner")
        y = frame.pop("churned").astype(int).to_numpy()
        return frame, y, active_end

    def predict(self, ws: Any, at: Any) -> pd.Series:
        """churn_risk of every customer from their features at `at`."""
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("this ChurnRiskModel is not fitted yet; call .fit(workspace, as_of) first")
        x = churn_features(ws, resolve_as_of(ws, at))
        return pd.Series(self.pipeline_.predict_proba(_design(x))[:, 1], index=x.index, name="churn_risk")

    def write(self, store: Any) -> int:
        """Replace `segmentum.model_churn` with the fitted risks; rows written."""
        if not hasattr(self, "risk_"):
            raise NotFittedError("this ChurnRiskModel is not fitted yet; call .fit(workspace, as_of) first")
        store = store_of(store)
        frame = pd.DataFrame(
            {
                "customer_id": self.risk_.index.astype(str),
                "churn_risk": self.risk_.to_numpy(),
                "churn_active": self.active_.to_numpy(),
            }
        )
        with store.transaction() as cur:
            cur.register("_churn_rows", frame)
            try:
                create_on_fit(cur, "model_churn")
                cur.execute("DELETE FROM segmentum.model_churn")
                cur.execute(
                    "INSERT INTO segmentum.model_churn SELECT customer_id, churn_risk, churn_active, ?, ? "
                    "FROM _churn_rows",
                    [datetime.now().replace(microsecond=0), self.as_of_],
                )
            finally:
                cur.unregister("_churn_rows")
        return len(frame)

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("this ChurnRiskModel is not fitted yet; call .fit(workspace, as_of) first")
        return {
            "as_of": self.as_of_,
            "trained_on": self.cutoff_,
            "horizon_days": self.horizon_days,
            "customers_trained": self.train_size_,
            "churn_rate_trained": self.train_churn_rate_,
            "train_auc": self.train_auc_,
            "validation_auc": self.validation_auc_,
            "customers_scored": len(self.risk_),
            "mean_churn_risk": float(self.risk_.mean()),
            "coefficients": {k: float(v) for k, v in self.coefficients_.items()},
        }


def churn_report(
    ws: Any,
    *,
    as_of: Any = "latest",
    period: str = "month",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
    periods: int | None = 24,
) -> dict[str, Any]:
    """Everything `segmentum churn` shows: rates, their trend, survival summary and reasons."""
    rates = churn_rates(
        ws,
        as_of=as_of,
        period=period,
        segmentation=segmentation,
        run_id=run_id,
        inactivity_days=inactivity_days,
        basis=basis,
        periods=periods,
    )
    curves = survival_curves(
        ws,
        as_of=as_of,
        segmentation=segmentation,
        run_id=run_id,
        inactivity_days=inactivity_days,
        basis=basis,
    )
    return {
        "basis": rates.attrs.get("basis"),
        "period": period,
        "as_of": resolve_as_of(ws, as_of),
        "rates": rates,
        "trend": churn_trend(rates),
        "survival": median_lifetime(curves),
        "reasons": churn_reasons(ws, as_of=as_of),
    }
