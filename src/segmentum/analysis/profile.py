"""Segment profiles: size, value, behaviour, who they are, and what distinguishes them (lift + significance)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from segmentum.analysis.base import customer_values_sql, execute, frame, resolve_run
from segmentum.analysis.experience import answer_texts, nps_settings
from segmentum.compile.rules import qualifying_sql
from segmentum.errors import NotFoundError, did_you_mean
from segmentum.sql import one
from segmentum.store.tables import META, qualified, traits_table
from segmentum.views.catalog import check_segment  # the one check that a segment exists

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.spec.loader import Definitions

SIGNIFICANCE = 0.05
CHURN_WINDOW_DAYS = 365  # the profile's churn rate covers the year before the run
MAX_CATEGORY_VALUES = 50  # text attributes with more distinct values (names, emails) are not profiled


def _members_sql(name_param: str = "$name") -> str:
    return f"SELECT customer_id FROM segmentum.memberships WHERE run_id = $run_id AND name = {name_param}"


def _base_sql() -> str:
    return "SELECT DISTINCT customer_id FROM segmentum.memberships WHERE run_id = $run_id"


def profile(
    ws: Context,
    name: str,
    *,
    run_id: int | None = None,
    top: int = 10,
    definitions: Definitions | None = None,
) -> dict[str, Any]:
    """Everything about one segment (`segment` or `segmentation.segment`) in a complete run.

    `definitions` (already loaded) saves reloading them when profiling many segments.
    """
    run_id, as_of = resolve_run(ws, run_id)
    check_segment(ws, name, run_id=run_id)
    params = {"run_id": run_id, "name": name, "as_of": as_of}
    values = customer_values_sql(ws)
    summary = frame(
        ws,
        f"""
        WITH base AS ({_base_sql()}), members AS ({_members_sql()}), v AS ({values}),
        seg AS (
            SELECT count(*) AS customers, sum(coalesce(v.revenue, 0)) AS revenue, sum(coalesce(v.orders, 0)) AS orders,
                   avg(coalesce(v.orders, 0)) AS avg_orders,
                   avg(date_diff('day', v.last_order_at::DATE, $as_of::DATE)) AS avg_recency_days
            FROM members m LEFT JOIN v USING (customer_id)),
        tot AS (SELECT count(*) AS customers, sum(coalesce(v.revenue, 0)) AS revenue
                FROM base b LEFT JOIN v USING (customer_id))
        SELECT seg.*, tot.customers AS base_customers, tot.revenue AS base_revenue FROM seg, tot
    """,
        params,
    ).iloc[0]
    size = int(summary["customers"])
    base = int(summary["base_customers"])
    # an empty segment sums to null (NaN in the frame): its revenue and orders are 0
    revenue = _num(summary["revenue"]) or 0.0
    base_revenue = _num(summary["base_revenue"]) or 0.0
    orders = int(_num(summary["orders"]) or 0)
    result: dict[str, Any] = {
        "name": name,
        "run_id": run_id,
        "as_of": as_of,
        "size": size,
        "share": size / base if base else 0.0,
        "revenue": revenue,
        "revenue_share": revenue / base_revenue if base_revenue else 0.0,
        "avg_order_value": revenue / orders if orders else None,
        "avg_orders": _num(summary["avg_orders"]),
        "avg_recency_days": _num(summary["avg_recency_days"]),
    }
    result.update(_definition_info(ws, name, definitions))
    result["top_categories"] = _top_items(ws, params, "category", top)
    result["top_products"] = _top_items(ws, params, "product_id", top)
    result["attributes"] = _categorical_lift(ws, params)
    result["numeric"] = _numeric_lift(ws, params, run_id)
    result["distinguishing"] = _distinguishing(result["attributes"], result["numeric"], top)
    result.update(_experience(ws, params))
    return result


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _definition_info(ws: Context, name: str, definitions: Definitions | None) -> dict[str, Any]:
    """Description, offer, channel and recommended action from the definitions (built-in docs as fallback)."""
    info: dict[str, Any] = {"description": None, "offer": None, "channel": None, "action": None}
    try:
        seg = (definitions or ws.definitions()).segment(name)
    except Exception:  # noqa: BLE001 - definitions may have changed since the run; the profile still stands
        return info
    info.update(description=seg.description, offer=seg.offer, channel=seg.channel, action=seg.action)
    if seg.builtin and not (info["action"] and info["channel"]):
        from segmentum.spec.builtins import load_builtin

        docs = load_builtin(seg.builtin).docs.get(seg.segment, {})
        info["action"] = info["action"] or docs.get("action")
        info["channel"] = info["channel"] or docs.get("channel")
        info["offer"] = info["offer"] or docs.get("offer")
    return info


def _top_items(ws: Context, params: dict[str, Any], column: str, top: int) -> pd.DataFrame:
    columns = ws.store.columns("order_items")
    if column not in columns or not ws.store.table_exists("orders"):
        return pd.DataFrame(columns=[column, "customers", "revenue", "segment_share", "base_share", "lift"])
    return frame(
        ws,
        f"""
        WITH members AS ({_members_sql()}), base AS ({_base_sql()}),
        q AS (SELECT order_id FROM main.orders WHERE ordered_at <= $as_of AND {qualifying_sql()}),
        items AS (SELECT i.customer_id, i.{column} AS value, round(i.quantity * i.unit_price, 6) AS line_value
                  FROM main.order_items i JOIN q USING (order_id) WHERE i.{column} IS NOT NULL),
        seg AS (SELECT value, count(DISTINCT customer_id) AS customers, sum(line_value) AS revenue
                FROM items WHERE customer_id IN (SELECT customer_id FROM members) GROUP BY value),
        everyone AS (SELECT value, count(DISTINCT customer_id) AS customers
                     FROM items WHERE customer_id IN (SELECT customer_id FROM base) GROUP BY value),
        sizes AS (SELECT (SELECT count(*) FROM members) AS n_seg, (SELECT count(*) FROM base) AS n_base)
        SELECT seg.value AS {column}, seg.customers, seg.revenue::DOUBLE AS revenue,
               seg.customers / nullif(n_seg, 0) AS segment_share,
               everyone.customers / nullif(n_base, 0) AS base_share,
               (seg.customers / nullif(n_seg, 0)) / nullif(everyone.customers / nullif(n_base, 0), 0) AS lift
        FROM seg JOIN everyone USING (value), sizes
        ORDER BY seg.revenue DESC NULLS LAST, seg.value LIMIT {int(top)}
    """,
        params,
    )


def _categorical_columns(ws: Context) -> list[str]:
    """Text and boolean customer attributes with few distinct values (one query for all of them)."""
    candidates = [
        c
        for c, kind in ws.store.columns("customers").items()
        if c != "customer_id" and kind in ("VARCHAR", "BOOLEAN")
    ]
    if not candidates:
        return []
    counts = one(
        ws.store.cursor().execute(
            "SELECT "
            + ", ".join(f'approx_count_distinct("{c}")' for c in candidates)
            + " FROM main.customers"
        )
    )
    return [c for c, n in zip(candidates, counts, strict=True) if 0 < n <= MAX_CATEGORY_VALUES]


def _categorical_lift(ws: Context, params: dict[str, Any]) -> pd.DataFrame:
    """Per attribute value: share in the segment vs in everyone, lift and a two-proportion z-test p-value."""
    columns = _categorical_columns(ws) if ws.store.table_exists("customers") else []
    if not columns:
        return pd.DataFrame(columns=["attribute", "value", "segment_share", "base_share", "lift", "p_value"])
    unions = " UNION ALL ".join(
        f"SELECT '{c}' AS attribute, \"{c}\"::VARCHAR AS value, customer_id FROM main.customers "
        f'WHERE "{c}" IS NOT NULL'
        for c in columns
    )
    df = frame(
        ws,
        f"""
        WITH members AS ({_members_sql()}), base AS ({_base_sql()}), a AS ({unions}),
        seg AS (SELECT attribute, value, count(*) AS k FROM a WHERE customer_id IN (SELECT customer_id FROM members)
                GROUP BY ALL),
        everyone AS (SELECT attribute, value, count(*) AS k FROM a WHERE customer_id IN (SELECT customer_id FROM base)
                     GROUP BY ALL)
        SELECT everyone.attribute, everyone.value, coalesce(seg.k, 0) AS segment_count, everyone.k AS base_count,
               (SELECT count(*) FROM members) AS n_seg, (SELECT count(*) FROM base) AS n_base
        FROM everyone LEFT JOIN seg USING (attribute, value)
    """,
        params,
    )
    if df.empty:
        return pd.DataFrame(columns=["attribute", "value", "segment_share", "base_share", "lift", "p_value"])
    n1 = df["n_seg"].astype(float)
    n0 = df["n_base"].astype(float)
    p1 = df["segment_count"] / n1.replace(0, np.nan)
    p0 = df["base_count"] / n0.replace(0, np.nan)
    df["segment_share"] = p1
    df["base_share"] = p0
    df["lift"] = p1 / p0.replace(0, np.nan)
    # segment vs the rest of the base (the segment is part of the base)
    rest_n = (n0 - n1).clip(lower=1)
    p_rest = (df["base_count"] - df["segment_count"]) / rest_n
    pooled = df["base_count"] / n0
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1.clip(lower=1) + 1 / rest_n))
    z = (p1 - p_rest) / se.replace(0, np.nan)
    df["p_value"] = 2 * stats.norm.sf(np.abs(z))
    return (
        df[["attribute", "value", "segment_share", "base_share", "lift", "p_value"]]
        .sort_values(["attribute", "segment_share"], ascending=[True, False])
        .reset_index(drop=True)
    )


def _numeric_lift(ws: Context, params: dict[str, Any], run_id: int) -> pd.DataFrame:
    """Per numeric trait and attribute: mean in the segment vs everyone, lift, Welch t-test p-value."""
    sources: list[tuple[str, str, list[str]]] = []
    traits = traits_table(run_id)
    if ws.store.table_exists(traits, schema=META):
        cols = [
            c
            for c, t in ws.store.columns(traits, schema=META).items()
            if c != "customer_id" and _is_numeric(t) and not c.startswith("__")
        ]
        sources.append((qualified(traits), "trait", cols))
    if ws.store.table_exists("customers"):
        cols = [c for c, t in ws.store.columns("customers").items() if c != "customer_id" and _is_numeric(t)]
        sources.append(("main.customers", "attribute", cols))
    rows = []
    for table, kind, cols in sources:
        if not cols:
            continue
        # one narrow pass: unpivot to (customer, feature, value) and aggregate per feature and side
        doubles = ", ".join(f'"{c}"::DOUBLE AS "{c}"' for c in cols)
        names = ", ".join(f'"{c}"' for c in cols)
        stats_frame = frame(
            ws,
            f"""
            WITH base AS ({_base_sql()}), members AS ({_members_sql()}),
            x AS (SELECT customer_id, {doubles} FROM {table}),
            long AS (UNPIVOT x ON {names} INTO NAME feature VALUE v),
            t AS (SELECT long.*, m.customer_id IS NOT NULL AS seg
                  FROM long JOIN base b USING (customer_id) LEFT JOIN members m USING (customer_id))
            SELECT feature, avg(v) FILTER (WHERE seg) AS m1, stddev_samp(v) FILTER (WHERE seg) AS s1,
                   count(v) FILTER (WHERE seg) AS n1, avg(v) AS m0, avg(v) FILTER (WHERE NOT seg) AS m2,
                   stddev_samp(v) FILTER (WHERE NOT seg) AS s2, count(v) FILTER (WHERE NOT seg) AS n2
            FROM t GROUP BY feature
        """,
            params,
        ).set_index("feature")
        for c in cols:
            if c not in stats_frame.index:
                continue
            r = stats_frame.loc[c]
            m1, m0, m2 = _num(r["m1"]), _num(r["m0"]), _num(r["m2"])
            s1, s2 = _num(r["s1"]), _num(r["s2"])
            n1, n2 = int(r["n1"] or 0), int(r["n2"] or 0)
            p_value = None
            if n1 > 1 and n2 > 1 and None not in (m1, s1, m2, s2) and (s1 > 0 or s2 > 0):  # type: ignore[operator]
                p_value = float(stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False).pvalue)
            rows.append(
                {
                    "feature": c,
                    "kind": kind,
                    "segment_mean": m1,
                    "base_mean": m0,
                    "lift": (m1 / m0) if m1 is not None and m0 else None,
                    "p_value": p_value,
                }
            )
    return pd.DataFrame(rows, columns=["feature", "kind", "segment_mean", "base_mean", "lift", "p_value"])


def _is_numeric(kind: str) -> bool:
    kind = kind.upper()
    return any(
        kind.startswith(t)
        for t in (
            "DECIMAL",
            "DOUBLE",
            "FLOAT",
            "BIGINT",
            "INTEGER",
            "HUGEINT",
            "SMALLINT",
            "REAL",
            "TINYINT",
            "UBIGINT",
            "UINTEGER",
        )
    )


def _distinguishing(attributes: pd.DataFrame, numeric: pd.DataFrame, top: int) -> pd.DataFrame:
    """The features that set the segment apart: significant, ranked by how far the lift is from 1."""
    rows = []
    for r in attributes.itertuples():
        if (
            r.p_value is not None
            and not pd.isna(r.p_value)
            and r.p_value < SIGNIFICANCE
            and r.lift
            and r.lift > 0
        ):
            rows.append(
                {
                    "feature": f"{r.attribute} = {r.value}",
                    "segment": r.segment_share,
                    "base": r.base_share,
                    "lift": r.lift,
                    "p_value": r.p_value,
                }
            )
    for r in numeric.itertuples():
        if (
            r.p_value is not None
            and not pd.isna(r.p_value)
            and r.p_value < SIGNIFICANCE
            and r.lift
            and r.lift > 0
        ):
            rows.append(
                {
                    "feature": f"{r.feature} (mean)",
                    "segment": r.segment_mean,
                    "base": r.base_mean,
                    "lift": r.lift,
                    "p_value": r.p_value,
                }
            )
    df = pd.DataFrame(rows, columns=["feature", "segment", "base", "lift", "p_value"])
    if df.empty:
        return df
    df["strength"] = np.abs(np.log(df["lift"].astype(float)))
    return (
        df.sort_values(["strength", "feature"], ascending=[False, True])
        .head(top)
        .drop(columns="strength")
        .reset_index(drop=True)
    )


def _experience(ws: Context, params: dict[str, Any]) -> dict[str, Any]:
    """NPS and CSAT of the segment (latest answer per customer up to as_of) and its churn rate (`_churn_rate`)."""
    out: dict[str, Any] = {"nps": None, "csat": None, "churn_rate": None}
    if ws.store.table_exists("responses"):
        # the same questions and score lists as the nps built-in and the experience metrics
        settings = nps_settings(ws)
        scores = {k: answer_texts(settings[f"{k}_scores"]) for k in ("promoter", "passive", "detractor")}
        row = execute(
            ws,
            f"""
            WITH members AS ({_members_sql()}),
            latest AS (
                SELECT customer_id, question, arg_max(answer, answered_at) AS answer FROM main.responses
                WHERE answered_at <= $as_of AND question IN ($nps_question, $csat_question)
                  AND customer_id IN (SELECT customer_id FROM members) GROUP BY ALL),
            nps AS (SELECT answer FROM latest WHERE question = $nps_question)
            SELECT (SELECT count(*) FILTER (WHERE list_contains($promoter || $passive || $detractor, answer)) FROM nps),
                   (SELECT count(*) FILTER (WHERE list_contains($promoter, answer)) FROM nps),
                   (SELECT count(*) FILTER (WHERE list_contains($detractor, answer)) FROM nps),
                   (SELECT avg(TRY_CAST(answer AS DOUBLE)) FROM latest WHERE question = $csat_question)
        """,
            {
                **params,
                **scores,
                "nps_question": str(settings["nps_question"]),
                "csat_question": str(settings["csat_question"]),
            },
        ).fetchone()
        if row and row[0]:
            out["nps"] = 100.0 * (row[1] - row[2]) / row[0]
        out["csat"] = _num(row[3]) if row else None
    if out["csat"] is None and "csat" in ws.store.columns("tickets"):
        row = execute(
            ws,
            f"""
            WITH members AS ({_members_sql()})
            SELECT avg(csat) FROM main.tickets WHERE opened_at <= $as_of
              AND customer_id IN (SELECT customer_id FROM members)""",
            params,
        ).fetchone()
        out["csat"] = _num(row[0]) if row else None
    out["churn_rate"] = _churn_rate(ws, params)
    return out


def _churn_rate(ws: Context, params: dict[str, Any]) -> float | None:
    """Churn of the segment's customers over the year before the run: `segmentum churn`'s rule and defaults
    (`churn_rates` with one period), so a change of plan is no churn here either; None without the data."""
    from segmentum.models.churn import churn_rates

    if not (ws.store.table_exists("orders") or ws.store.table_exists("subscriptions")):
        return None
    as_of = params["as_of"]
    members = [r[0] for r in execute(ws, _members_sql(), params).fetchall()]
    rates = churn_rates(
        ws, as_of=as_of, bounds=[as_of - timedelta(days=CHURN_WINDOW_DAYS), as_of], customers=members
    )
    overall = rates[rates["segment"].isna()]
    return _num(overall["churn_rate"].iloc[0]) if len(overall) else None


def compare(ws: Context, names: list[str], *, run_id: int | None = None) -> pd.DataFrame:
    """Two or more segments side by side: size, share, revenue share, order value, frequency, recency, NPS."""
    if len(names) < 2:
        raise NotFoundError("compare needs at least two segments")
    rows = []
    for name in names:
        p = profile(ws, name, run_id=run_id, top=3)
        rows.append(
            {
                k: p[k]
                for k in (
                    "name",
                    "size",
                    "share",
                    "revenue",
                    "revenue_share",
                    "avg_order_value",
                    "avg_orders",
                    "avg_recency_days",
                    "nps",
                    "csat",
                    "churn_rate",
                )
            }
        )
    return pd.DataFrame(rows)


def crosstab(ws: Context, rows: str, columns: str, *, run_id: int | None = None) -> pd.DataFrame:
    """Customers and revenue by two dimensions, each a segmentation (`rfm`) or a customer attribute (`industry`).

    Returns a long table (row value, column value, customers, revenue, share of customers).
    """
    run_id, as_of = resolve_run(ws, run_id)
    params = {"run_id": run_id, "as_of": as_of}
    dims = [_dimension_sql(ws, run_id, d) for d in (rows, columns)]
    return frame(
        ws,
        f"""
        WITH base AS ({_base_sql()}), v AS ({customer_values_sql(ws)}),
        r AS ({dims[0]}), c AS ({dims[1]})
        SELECT coalesce(r.value, '(none)') AS "{rows}", coalesce(c.value, '(none)') AS "{columns}",
               count(*) AS customers, sum(coalesce(v.revenue, 0))::DOUBLE AS revenue,
               count(*) / (SELECT count(*) FROM base) AS share
        FROM base b LEFT JOIN r USING (customer_id) LEFT JOIN c USING (customer_id) LEFT JOIN v USING (customer_id)
        GROUP BY ALL ORDER BY 1, 2
    """,
        params,
    )


def _dimension_sql(ws: Context, run_id: int, dimension: str) -> str:
    from segmentum.analysis.base import segmentations

    if dimension in segmentations(ws, run_id):
        return (
            f"SELECT customer_id, segment AS value FROM segmentum.memberships "
            f"WHERE run_id = $run_id AND segmentation = '{dimension}'"
        )
    columns = ws.store.columns("customers")
    if dimension in columns:
        return f'SELECT customer_id, "{dimension}"::VARCHAR AS value FROM main.customers'
    raise NotFoundError(
        f"'{dimension}' is neither a segmentation of run {run_id} nor a customer attribute"
        f"{did_you_mean(dimension, [*segmentations(ws, run_id), *columns])}"
    )
