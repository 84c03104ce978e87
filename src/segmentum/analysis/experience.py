"""Experience metrics over time: NPS and CSAT per month (overall and per segment), first response time of
support tickets per segment, and churn rate per period.

- **NPS** of a period: each customer's latest valid answer to the NPS question given in that period (answers
  after `as_of` do not exist); a score is matched as written (`9`) or with a decimal zero (`9.0`) as in the
  `nps` built-in, anything else ('n/a', blank) is no answer and does not hide an earlier score. NPS = 100 x (promoters - detractors) / answering customers.
- **CSAT** of a period: each customer's latest valid answer to the CSAT question (1-5) in the period; mean score
  and the share of satisfied (the built-in's `satisfied_scores`, default 4-5).
- **First response**: tickets opened at or before `as_of`; hours from `opened_at` to `first_response_at`
  (median and 90th percentile, linear interpolation) over the tickets that have a first response, and the share
  that have one.
- Segments: per period, the customer's segment in the newest complete batch run at or before the period's start,
  else the reference run (as for churn); first response uses the reference run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.errors import ModelError
from segmentum.models.churn import PERIODS, churn_rates, segment_runs
from segmentum.models.data import builtin_settings, resolve_as_of

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.store import Store


def nps_settings(ws: Context) -> dict[str, Any]:
    """The nps built-in's settings (questions and score lists) with the workspace's overrides."""
    return builtin_settings(ws, "nps")


def answer_texts(scores: list[Any]) -> list[str]:
    """Scores as the answer texts that mean them (`9` and `9.0`: answers are stored as text)."""
    return [text for v in scores for text in (str(v), f"{v}.0")]


def _months(store: Store, table: str, column: str, as_of: Any, period: str, periods: int | None) -> list[Any]:
    if period not in PERIODS:  # also keeps the text out of the SQL unless it is a known unit
        raise ModelError(f"period {period!r} is not known; allowed: {', '.join(PERIODS)}")
    row = (
        store.cursor()
        .execute(f"SELECT min({column}) FROM main.{table} WHERE {column} <= ?", [as_of])
        .fetchone()
    )
    if not row or row[0] is None:
        return []
    rows = (
        store.cursor()
        .execute(
            f"SELECT CAST(range AS TIMESTAMP) FROM range(date_trunc('{period}', CAST(? AS TIMESTAMP)), "
            f"date_trunc('{period}', CAST(? AS TIMESTAMP)) + INTERVAL 1 {period}, INTERVAL 1 {period})",
            [row[0], as_of],
        )
        .fetchall()
    )
    bounds = [r[0] for r in rows]
    bounds = bounds[-periods:] if periods else bounds
    return bounds


def _per_period(
    ws: Context,
    sql: str,
    params: dict[str, Any],
    bounds: list[Any],
    segmentation: str | None,
    run_id: int | None,
    period: str,
) -> pd.DataFrame:
    """Run `sql` (rows customer_id, period_start, ...) grouped overall and per segment of the period's run."""
    store = ws.store
    if segmentation is not None:
        runs = segment_runs(ws, segmentation, bounds, run_id)
    else:
        runs = pd.DataFrame({"period_start": bounds, "segment_run_id": [None] * len(bounds)})
    cur = store.cursor()
    cur.register("_experience_periods", runs)
    try:
        seg = "coalesce(m.segment, '(not in run)')" if segmentation is not None else "CAST(NULL AS VARCHAR)"
        join = (
            "LEFT JOIN segmentum.memberships m ON m.run_id = p.segment_run_id AND m.customer_id = x.customer_id "
            "AND m.segmentation = $segmentation"
            if segmentation is not None
            else ""
        )
        sets = (
            "(period_start), (period_start, segment)"
            if segmentation is not None
            else "(period_start, segment)"
        )
        full = f"""WITH x AS ({sql}),
            y AS (SELECT x.*, {seg} AS segment FROM x JOIN _experience_periods p USING (period_start) {join})
            SELECT period_start, segment, {params.pop("_aggregates")}
            FROM y GROUP BY GROUPING SETS ({sets}) ORDER BY segment NULLS FIRST, period_start"""
        if segmentation is not None:
            params["segmentation"] = segmentation
        frame = cur.execute(full, {k: v for k, v in params.items() if f"${k}" in full}).df()
    finally:
        cur.unregister("_experience_periods")
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    return frame


def nps_over_time(
    ws: Context,
    *,
    as_of: Any = "latest",
    segmentation: str | None = None,
    run_id: int | None = None,
    period: str = "month",
    periods: int | None = 24,
) -> pd.DataFrame:
    """NPS per period, overall (segment null) and per segment: answered, promoters, passives, detractors, nps."""
    store = ws.store
    cols = ["period_start", "segment", "answered", "promoters", "passives", "detractors", "nps"]
    if not store.table_exists("responses"):
        return pd.DataFrame(columns=cols)
    s = nps_settings(ws)
    as_of = resolve_as_of(ws, as_of)
    bounds = _months(store, "responses", "answered_at", as_of, period, periods)
    if not bounds:
        return pd.DataFrame(columns=cols)
    sql = f"""SELECT customer_id, date_trunc('{period}', answered_at) AS period_start,
            arg_max(answer, answered_at) AS answer
        FROM main.responses WHERE answered_at <= $as_of AND answered_at >= $first AND question = $question
          AND list_contains($promoters || $passives || $detractors, answer)
        GROUP BY ALL"""
    params = {
        "as_of": as_of,
        "first": bounds[0],
        "question": str(s["nps_question"]),
        "promoters": answer_texts(s["promoter_scores"]),
        "passives": answer_texts(s["passive_scores"]),
        "detractors": answer_texts(s["detractor_scores"]),
        "_aggregates": """
        count(*) FILTER (WHERE list_contains($promoters, answer) OR list_contains($passives, answer)
                         OR list_contains($detractors, answer)) AS answered,
        count(*) FILTER (WHERE list_contains($promoters, answer)) AS promoters,
        count(*) FILTER (WHERE list_contains($passives, answer)) AS passives,
        count(*) FILTER (WHERE list_contains($detractors, answer)) AS detractors""",
    }
    frame = _per_period(ws, sql, params, bounds, segmentation, run_id, period)
    frame = frame[frame["answered"] > 0].reset_index(drop=True)
    frame["nps"] = 100.0 * (frame["promoters"] - frame["detractors"]) / frame["answered"]
    return frame[cols]


def csat_over_time(
    ws: Context,
    *,
    as_of: Any = "latest",
    segmentation: str | None = None,
    run_id: int | None = None,
    period: str = "month",
    periods: int | None = 24,
) -> pd.DataFrame:
    """CSAT per period, overall and per segment: answered, mean score, share satisfied."""
    store = ws.store
    cols = ["period_start", "segment", "answered", "csat", "satisfied_share"]
    if not store.table_exists("responses"):
        return pd.DataFrame(columns=cols)
    s = nps_settings(ws)
    as_of = resolve_as_of(ws, as_of)
    bounds = _months(store, "responses", "answered_at", as_of, period, periods)
    if not bounds:
        return pd.DataFrame(columns=cols)
    valid = (
        answer_texts(s["satisfied_scores"])
        + answer_texts(s["neutral_scores"])
        + answer_texts(s["dissatisfied_scores"])
    )
    sql = f"""SELECT customer_id, date_trunc('{period}', answered_at) AS period_start,
            CAST(arg_max(answer, answered_at) AS DOUBLE) AS score, list_contains($satisfied,
            arg_max(answer, answered_at)) AS satisfied
        FROM main.responses WHERE answered_at <= $as_of AND answered_at >= $first AND question = $question
          AND list_contains($valid, answer)
        GROUP BY ALL"""
    params = {
        "as_of": as_of,
        "first": bounds[0],
        "question": str(s["csat_question"]),
        "valid": valid,
        "satisfied": answer_texts(s["satisfied_scores"]),
        "_aggregates": "count(*) AS answered, avg(score) AS csat, avg(satisfied::INTEGER) AS satisfied_share",
    }
    return _per_period(ws, sql, params, bounds, segmentation, run_id, period)[cols]


def first_response(
    ws: Context, *, as_of: Any = "latest", segmentation: str | None = None, run_id: int | None = None
) -> pd.DataFrame:
    """First response time in hours per segment (overall first): tickets, responded share, median, p90."""
    store = ws.store
    cols = ["segment", "tickets", "responded", "responded_share", "median_hours", "p90_hours"]
    if not store.table_exists("tickets") or "first_response_at" not in store.columns("tickets"):
        return pd.DataFrame(columns=cols)
    as_of = resolve_as_of(ws, as_of)
    join, seg, sets = "", "CAST(NULL AS VARCHAR)", "(segment)"
    params: dict[str, Any] = {"as_of": as_of}
    if segmentation is not None:
        from segmentum.analysis.base import resolve_run

        ref, _ = resolve_run(ws, run_id)
        segment_runs(ws, segmentation, [], ref)  # checks that the segmentation exists
        join = (
            "LEFT JOIN segmentum.memberships m ON m.run_id = $run AND m.customer_id = t.customer_id "
            "AND m.segmentation = $segmentation"
        )
        seg, sets = "coalesce(m.segment, '(not in run)')", "(), (segment)"
        params.update(run=ref, segmentation=segmentation)
    sql = f"""WITH x AS (
            SELECT {seg} AS segment,
                CASE WHEN t.first_response_at IS NOT NULL AND t.first_response_at <= $as_of
                     THEN epoch(t.first_response_at - t.opened_at) / 3600.0 END AS hours
            FROM main.tickets t {join} WHERE t.opened_at <= $as_of)
        SELECT segment, count(*) AS tickets, count(hours) AS responded, count(hours) / count(*) AS responded_share,
            quantile_cont(hours, 0.5) AS median_hours, quantile_cont(hours, 0.9) AS p90_hours
        FROM x GROUP BY GROUPING SETS ({sets}) ORDER BY segment NULLS FIRST"""
    return store.cursor().execute(sql, params).df()[cols]


def experience(
    ws: Context,
    segmentation: str | None = None,
    *,
    as_of: Any = "latest",
    run_id: int | None = None,
    period: str = "month",
    periods: int | None = 24,
) -> dict[str, pd.DataFrame]:
    """NPS, CSAT, first response and churn rate, overall and per segment of `segmentation`."""
    if period not in PERIODS:
        raise ModelError(f"period {period!r} is not known; allowed: {', '.join(PERIODS)}")
    out = {
        "nps": nps_over_time(
            ws, as_of=as_of, segmentation=segmentation, run_id=run_id, period=period, periods=periods
        ),
        "csat": csat_over_time(
            ws, as_of=as_of, segmentation=segmentation, run_id=run_id, period=period, periods=periods
        ),
        "first_response": first_response(ws, as_of=as_of, segmentation=segmentation, run_id=run_id),
    }
    store = ws.store
    if store.table_exists("orders") or store.table_exists("subscriptions"):
        out["churn"] = churn_rates(
            ws, as_of=as_of, period=period, segmentation=segmentation, run_id=run_id, periods=periods
        )
    else:
        out["churn"] = pd.DataFrame(
            columns=["period_start", "period_end", "segment", "active_start", "churned", "churn_rate"]
        )
    return out
