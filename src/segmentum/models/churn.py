"""Churn: rate per period (overall and per segment) with its trend, Kaplan-Meier survival per segment, churn
reasons, and a churn-risk model whose per-customer `churn_risk` is stored in `segmentum.model_churn`.

Who is **active** at an instant and who **churned** in a period (active at its start, not at its end) is the
rule of `segmentum.compile.rules` (`active_sql`, `churn_sql`): subscriptions (a change of plan within a day is
no churn), qualifying orders in the last `inactivity_days` (default 90), or both (`basis="auto"`). The
**churn rate** of a period is churned / active at its start. Only complete periods (ending at or before
`as_of`) are reported. Customers who start and leave within one period count in neither number. The segment
profile's churn rate is `churn_rates` over the year before the run for the segment's customers.

A customer's **segment** in a period is their segment in the newest complete batch run at or before the period's
start (so a backfill gives honest history); periods before the first such run use the reference run (the
latest complete batch run, or `run_id`): then the segment is today's, which flatters the good segments
(customers who left are in the bad ones now) — the output says which run each period used.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from segmentum.compile.rules import (
    PLAN_CHANGE_GAP,
    active_sql,
    churn_sql,
    existing_sql,
    money_sql,
    qualifying_sql,
    resolve_basis,
)
from segmentum.errors import ModelError, NotFittedError, NotFoundError, did_you_mean
from segmentum.models.data import resolve_as_of

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.store import Store

AsOf = str | date | datetime | None

PERIODS = {"week": 7, "month": 31, "quarter": 92}
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


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the $parameters the SQL text uses (DuckDB rejects extra ones)."""
    return {k: v for k, v in params.items() if f"${k}" in sql}


def _boundaries(store: Store, period: str, as_of: datetime, periods: int | None) -> list[datetime]:
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


def segment_runs(ctx: Context, segmentation: str, starts: list[datetime], run_id: int | None) -> pd.DataFrame:
    """For each period start: the run whose segments it uses (newest complete batch run at or before it)."""
    from segmentum.analysis.base import resolve_run, segmentations

    ref, _ = resolve_run(ctx, run_id)
    names = segmentations(ctx, ref)
    if segmentation not in names:
        raise NotFoundError(
            f"segmentation '{segmentation}' is not in run {ref}{did_you_mean(segmentation, names)}"
            f" (segmentations there: {', '.join(names) or 'none'})"
        )
    runs = (
        ctx.store.cursor()
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
    ctx: Context,
    *,
    as_of: AsOf = "latest",
    period: str = "month",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
    periods: int | None = 24,
    bounds: Sequence[datetime] | None = None,
    customers: Collection[str] | None = None,
    members_of: tuple[int, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Churn rate per period, overall (segment null) and per segment of `segmentation`.

    Columns: period_start, period_end, segment, active_start, churned, churn_rate (and segment_run_id with a
    segmentation). `periods`: the last N complete periods (None: all). `bounds`: explicit period boundaries
    (ascending; each consecutive pair is a period, shown as timestamps) instead of the calendar periods of
    `period`. `customers`: count only these customers (e.g. a segment's members). `members_of`: (run_id,
    names) counts each of these segments' members in that run apart (segment = the name; a customer in two
    segments counts in both; the overall rows then count nobody): every segment profile's churn in one pass.
    """
    store = ctx.store
    basis = resolve_basis(store, basis)
    as_of = resolve_as_of(ctx, as_of)
    calendar = bounds is None
    if bounds is None:
        bounds = _boundaries(store, period, as_of, periods)
    else:
        bounds = sorted(bounds)
        if bounds[-1] > as_of:
            raise ModelError(f"churn period boundaries must be at or before as_of {as_of}; got {bounds[-1]}")
    columns = ["period_start", "period_end", "segment", "active_start", "churned", "churn_rate"]
    if len(bounds) < 2:
        return pd.DataFrame(columns=columns)
    cur = store.cursor()
    pairs = pd.DataFrame({"period_start": bounds[:-1], "period_end": bounds[1:]})
    seg_join, seg_col = "", "CAST(NULL AS VARCHAR) AS segment, NULL::BIGINT AS segment_run_id"
    sets = "(period_start, period_end, segment)"  # segment is null throughout
    if segmentation is not None:
        pairs = pairs.merge(segment_runs(ctx, segmentation, bounds[:-1], run_id), on="period_start")
        seg_join = (
            "LEFT JOIN segmentum.memberships m ON m.run_id = p.segment_run_id "
            "AND m.customer_id = c.customer_id AND m.segmentation = $segmentation"
        )
        seg_col = "coalesce(m.segment, '(not in run)') AS segment, p.segment_run_id"
        sets = "(period_start, period_end), (period_start, period_end, segment)"
    elif members_of is not None:
        seg_join = (
            "JOIN segmentum.memberships m ON m.run_id = $members_run AND m.customer_id = c.customer_id "
            "AND list_contains($members_names, m.name)"
        )
        seg_col = "m.name AS segment, NULL::BIGINT AS segment_run_id"
        sets = "(period_start, period_end, segment)"
        pairs["segment_run_id"] = None
    else:
        pairs["segment_run_id"] = None
    only = ""
    if customers is not None:
        only = "WHERE c.customer_id IN (SELECT customer_id FROM _churn_customers)"
        ids = pa.table({"customer_id": pa.array(sorted({str(c) for c in customers}), type=pa.string())})
        cur.register("_churn_customers", ids)
    sql = f"""
        WITH churn AS ({churn_sql(basis, "_churn_periods")}),
        x AS (
            SELECT p.period_start, p.period_end, {seg_col}, c.churned
            FROM churn c JOIN _churn_periods p
              ON p.period_start = c.period_start AND p.period_end = c.period_end
            {seg_join}
            {only})
        SELECT period_start, period_end, segment, any_value(segment_run_id) AS segment_run_id,
               count(*) AS active_start, count(*) FILTER (WHERE churned) AS churned
        FROM x GROUP BY GROUPING SETS ({sets})
    """
    cur.register("_churn_periods", pairs)
    try:
        params: dict[str, Any] = {"inactivity": int(inactivity_days), "segmentation": segmentation}
        if members_of is not None:
            params.update(members_run=int(members_of[0]), members_names=[str(n) for n in members_of[1]])
        frame = cur.execute(sql, _used(sql, params)).df()
    finally:
        cur.unregister("_churn_periods")
        if customers is not None:
            cur.unregister("_churn_customers")
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
    for col in ("period_start", "period_end"):  # calendar boundaries are midnights: show them as days
        out[col] = pd.to_datetime(out[col]).dt.date if calendar else pd.to_datetime(out[col])
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
    ctx: Context, *, as_of: AsOf = "latest", inactivity_days: int = 90, basis: str = "auto"
) -> pd.DataFrame:
    """Per customer: lifetime in days and whether it ended in churn (observed) or is still going (censored).

    Subscribers: from their first subscription start to the last cancellation when no subscription is active at
    `as_of` (event), else to `as_of`. Buyers: from the first to the last qualifying order when the last is more
    than `inactivity_days` before `as_of` (event), else from the first order to `as_of`.
    """
    store = ctx.store
    basis = resolve_basis(store, basis)
    as_of = resolve_as_of(ctx, as_of)
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
            FROM main.orders WHERE ordered_at <= $as_of AND {qualifying_sql()} AND customer_id IS NOT NULL
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
    ctx: Context,
    *,
    as_of: AsOf = "latest",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
) -> pd.DataFrame:
    """Kaplan-Meier curves overall (segment null) and per segment (the customer's segment in the reference run)."""
    life = lifetimes(ctx, as_of=as_of, inactivity_days=inactivity_days, basis=basis)
    groups: list[tuple[Any, pd.DataFrame]] = [(None, life)]
    if segmentation is not None:
        from segmentum.analysis.base import resolve_run

        ref, _ = resolve_run(ctx, run_id)
        segment_runs(ctx, segmentation, [], ref)  # checks the segmentation exists
        seg = (
            ctx.store.cursor()
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
    ctx: Context, *, as_of: AsOf = "latest", questions: tuple[str, ...] = CHURN_QUESTIONS
) -> pd.DataFrame:
    """Why customers left: `cancel_reason` of cancellations that left the customer with no active subscription
    (an upgrade to a new subscription is not churn), and the latest answer per customer to a churn question
    (compared case-insensitively). Columns: source, reason, customers, share (within the source)."""
    store = ctx.store
    as_of = resolve_as_of(ctx, as_of)
    parts = []
    if store.table_exists("subscriptions") and "cancel_reason" in store.columns("subscriptions"):
        # a cancellation followed by another plan within PLAN_CHANGE_GAP is a change of plan, not churn
        parts.append(f"""SELECT 'subscriptions' AS source, coalesce(s.cancel_reason, '(not given)') AS reason,
                s.customer_id FROM main.subscriptions s
            WHERE s.cancelled_at IS NOT NULL AND s.cancelled_at <= $as_of
              AND NOT EXISTS (SELECT 1 FROM main.subscriptions t WHERE t.customer_id = s.customer_id
                  AND t.subscription_id <> s.subscription_id AND t.started_at <= s.cancelled_at + {PLAN_CHANGE_GAP}
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


def churn_features(ctx: Context, at: datetime) -> pd.DataFrame:
    """Per-customer features at instant `at`, computed in SQL: recency, frequency, monetary, orders in the last
    90 days, tenure, support tickets in the last 90 days, latest NPS answer, subscribed now, events in 90 days.
    The customers are those that exist at `at` (`rules.existing_sql`, as a run at `at` holds them); tenure
    counts from their `first_seen_at`."""
    store = ctx.store
    has = {
        t: store.table_exists(t)
        for t in ("customers", "orders", "tickets", "responses", "subscriptions", "events")
    }
    ids = existing_sql(store, "$at")  # who exists at `at`: the one rule a run at `at` uses
    if ids is None or not (has["customers"] or has["orders"] or has["subscriptions"]):
        raise ModelError("churn risk needs customers, orders or subscriptions; load data first")
    ctes = [f"ids AS ({ids})"]
    cols = ["ids.customer_id"]
    joins = []
    if has["orders"]:
        orders = money_sql(store, ctx.config.currency)  # monetary in the workspace currency
        ctes.append(f"""o AS (SELECT customer_id, max(ordered_at) AS last_at, min(ordered_at) AS first_at,
            count(*) AS frequency, sum(amount)::DOUBLE AS monetary,
            count(*) FILTER (WHERE ordered_at > $at - INTERVAL 90 DAY) AS orders_90d
            FROM {orders.relation} WHERE ordered_at <= $at AND {orders.qualifying()} GROUP BY customer_id)""")
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
    cols.append("coalesce(date_diff('day', ids.first_seen_at, $at), 0) AS tenure_days")
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


def churn_training_set(
    ctx: Context,
    start: datetime,
    end: datetime,
    *,
    basis: str = "auto",
    inactivity_days: int = 90,
) -> tuple[pd.DataFrame, pd.Series, set[str]]:
    """Features at `start` of the customers active then, whether each churned by `end` (1) or not (0), and
    who is active at `end` (activity as in `churn_rates`)."""
    store = ctx.store
    basis = resolve_basis(store, basis)
    sql = (
        f"WITH bounds AS (SELECT unnest([CAST($start AS TIMESTAMP), CAST($end AS TIMESTAMP)]) AS b), "
        f"act AS ({active_sql(basis)}) SELECT customer_id, b = $end AS at_end FROM act"
    )
    act = (
        store.cursor()
        .execute(sql, _used(sql, {"start": start, "end": end, "inactivity": int(inactivity_days)}))
        .df()
    )
    act["customer_id"] = act["customer_id"].astype(str)
    active_end = set(act.loc[act["at_end"], "customer_id"])
    labels = pd.DataFrame({"customer_id": sorted(set(act.loc[~act["at_end"], "customer_id"]))})
    labels["churned"] = ~labels["customer_id"].isin(active_end)
    frame = churn_features(ctx, start).join(labels.set_index("customer_id"), how="inner")
    y = frame.pop("churned").astype(int).rename("churned")
    return frame, y, active_end


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


MIN_TRAINING = 10


def learnable(y: Any) -> bool:
    """Enough labels to learn churn from: at least `MIN_TRAINING` customers, churned and retained ones."""
    labels = np.asarray(y)
    return len(labels) >= MIN_TRAINING and labels.min() != labels.max()


class ChurnRiskModel:
    """Probability that a customer active now is no longer active one horizon later.

    A scikit-learn LogisticRegression on standardised features (log1p of counts, money and days), fitted on
    the frame of `churn_training_set` (one row per customer, the columns of `FEATURES`) and its labels;
    `fit_churn_risk` prepares the data and scores every customer.

    Parameters
    ----------
    C:
        Inverse regularisation strength of the logistic regression (scikit-learn's `C`).

    Attributes (after `fit`)
    ------------------------
    pipeline_ : the fitted scaler and logistic regression
    coefficients_ : standardised coefficient per feature, largest effect first (positive = more risk)
    n_customers_ : customers fitted
    churn_rate_ : share of them who churned
    """

    def __init__(self, *, C: float = 1.0) -> None:  # noqa: N803 - scikit-learn's name
        self.C = C

    def fit(self, X: pd.DataFrame, y: Any) -> ChurnRiskModel:  # noqa: N803 - scikit-learn's name
        """Fit on per-customer features and labels (1 = churned within the horizon, 0 = still active)."""
        if not (isinstance(self.C, (int, float)) and not isinstance(self.C, bool) and self.C > 0):
            raise ModelError(f"the 'C' parameter of ChurnRiskModel must be a number > 0; got {self.C!r}")
        x = _check_features(X)
        labels = np.asarray(y)
        if labels.shape != (len(x),):
            raise ModelError(
                f"churn labels must be one per customer: {len(x):,} customers, {labels.size:,} labels"
            )
        if not np.isin(labels, (0, 1)).all():
            raise ModelError("churn labels must be 0 (still active) or 1 (churned)")
        labels = labels.astype(int)
        if not learnable(labels):
            raise ModelError(
                f"cannot learn churn from {len(labels)} customers of whom {int(labels.sum())} churned; at least "
                f"{MIN_TRAINING} customers, both churned and retained ones, are needed"
            )
        self.pipeline_ = self._pipeline().fit(_design(x), labels)
        self.n_customers_ = len(labels)
        self.churn_rate_ = float(labels.mean())
        coef = self.pipeline_[-1].coef_[0]
        self.coefficients_ = pd.Series(coef, index=list(FEATURES)).sort_values(key=np.abs, ascending=False)
        return self

    def _pipeline(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))

    def _fitted(self) -> None:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError(
                "this ChurnRiskModel is not fitted yet; call .fit(X, y) first (or use fit_churn_risk(ctx, as_of))"
            )

    def predict(self, X: pd.DataFrame) -> pd.Series:  # noqa: N803 - scikit-learn's name
        """churn_risk of every customer of a features frame (as `churn_features` builds it)."""
        self._fitted()
        x = _check_features(X)
        return pd.Series(self.pipeline_.predict_proba(_design(x))[:, 1], index=x.index, name="churn_risk")

    def score(self, X: pd.DataFrame, y: Any) -> float:  # noqa: N803 - scikit-learn's name
        """Area under the ROC curve of the predicted risks against the labels."""
        from sklearn.metrics import roc_auc_score

        return float(roc_auc_score(np.asarray(y).astype(int), self.predict(X).to_numpy()))


def _check_features(X: Any) -> pd.DataFrame:  # noqa: N803 - scikit-learn's name
    if not isinstance(X, pd.DataFrame):
        raise ModelError(
            f"churn features must be a pandas DataFrame, got {type(X).__name__}; build them with "
            "segmentum.models.churn.churn_features(ctx, at)"
        )
    missing = [c for c in FEATURES if c not in X.columns]
    if missing:
        raise ModelError(
            f"the churn features lack column(s) {', '.join(missing)}; churn_features(ctx, at) builds "
            f"{', '.join(FEATURES)}"
        )
    x = X[list(FEATURES)]
    bad = int((~np.isfinite(x.to_numpy(float))).any(axis=1).sum())
    if bad:
        raise ModelError(f"the churn features are missing or not finite for {bad:,} customers")
    return x


@dataclass
class ChurnRisk:
    """One churn-risk fit of a workspace: the model, when it was trained and every customer's risk."""

    model: ChurnRiskModel
    as_of: datetime
    trained_on: datetime  # the features date of the training customers (as_of - horizon)
    horizon_days: int
    risk: pd.Series  # churn_risk per customer at as_of
    active: pd.Series  # churn_active: whether the customer is active at as_of
    train_auc: float
    validation_auc: float | None  # a model trained one horizon earlier, scored on the last horizon

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `segmentum churn fit`."""
        m = self.model
        return {
            "as_of": self.as_of,
            "trained_on": self.trained_on,
            "horizon_days": self.horizon_days,
            "customers_trained": m.n_customers_,
            "churn_rate_trained": m.churn_rate_,
            "train_auc": self.train_auc,
            "validation_auc": self.validation_auc,
            "customers_scored": len(self.risk),
            "mean_churn_risk": float(self.risk.mean()),
            "coefficients": {k: float(v) for k, v in m.coefficients_.items()},
        }


def fit_churn_risk(
    ctx: Context,
    as_of: AsOf = "latest",
    *,
    horizon_days: int = 90,
    inactivity_days: int = 90,
    basis: str = "auto",
    C: float = 1.0,  # noqa: N803 - scikit-learn's name
) -> ChurnRisk:
    """Fit the churn-risk model on the workspace's past and score every customer at `as_of`.

    Trained on the features at `as_of - horizon_days` of the customers active then, labelled by whether
    they were still active at `as_of`; checked out of time by a model trained one horizon earlier. Stored
    by `segmentum.models.persist.write_model_churn`.

    Parameters
    ----------
    horizon_days:
        The churn window to predict (default 90 days).
    inactivity_days:
        Days without a qualifying order after which a buyer without subscription is inactive (default 90).
    basis:
        'auto', 'subscriptions' or 'orders' (see the module docstring).
    """
    if isinstance(horizon_days, bool) or not (isinstance(horizon_days, int) and horizon_days > 0):
        raise ModelError(f"horizon_days must be a whole number of days > 0, got {horizon_days!r}")
    basis = resolve_basis(ctx.store, basis)
    instant = resolve_as_of(ctx, as_of)
    horizon = timedelta(days=horizon_days)
    cutoff = instant - horizon
    train, y, active_now = churn_training_set(
        ctx, cutoff, instant, basis=basis, inactivity_days=inactivity_days
    )
    if not learnable(y):
        raise ModelError(
            f"cannot learn churn: {len(y)} customers were active on {cutoff:%Y-%m-%d} and "
            f"{int(y.sum()) if len(y) else 0} of them churned by {instant:%Y-%m-%d}; at least {MIN_TRAINING} "
            "customers, both churned and retained ones, are needed. Hint: a longer history, a later as_of or "
            "another --horizon-days"
        )
    model = ChurnRiskModel(C=C).fit(train, y)
    validation_auc: float | None = None
    earlier, y_earlier, _ = churn_training_set(
        ctx, cutoff - horizon, cutoff, basis=basis, inactivity_days=inactivity_days
    )
    if learnable(y_earlier):
        validation_auc = ChurnRiskModel(C=C).fit(earlier, y_earlier).score(train, y)
    now = churn_features(ctx, instant)
    return ChurnRisk(
        model=model,
        as_of=instant,
        trained_on=cutoff,
        horizon_days=horizon_days,
        risk=model.predict(now),
        active=pd.Series(now.index.isin(list(active_now)), index=now.index, name="churn_active"),
        train_auc=model.score(train, y),
        validation_auc=validation_auc,
    )


def churn_report(
    ctx: Context,
    *,
    as_of: AsOf = "latest",
    period: str = "month",
    segmentation: str | None = None,
    run_id: int | None = None,
    inactivity_days: int = 90,
    basis: str = "auto",
    periods: int | None = 24,
) -> dict[str, Any]:
    """Everything `segmentum churn` shows: rates, their trend, survival summary and reasons."""
    rates = churn_rates(
        ctx,
        as_of=as_of,
        period=period,
        segmentation=segmentation,
        run_id=run_id,
        inactivity_days=inactivity_days,
        basis=basis,
        periods=periods,
    )
    curves = survival_curves(
        ctx,
        as_of=as_of,
        segmentation=segmentation,
        run_id=run_id,
        inactivity_days=inactivity_days,
        basis=basis,
    )
    return {
        "basis": rates.attrs.get("basis"),
        "period": period,
        "as_of": resolve_as_of(ctx, as_of),
        "rates": rates,
        "trend": churn_trend(rates),
        "survival": median_lifetime(curves),
        "reasons": churn_reasons(ctx, as_of=as_of),
    }
