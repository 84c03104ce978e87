"""The per-customer purchase summary that buy-till-you-die models fit (frequency, recency, T, monetary value).

Computed in SQL inside DuckDB from `main.orders`, so a million customers never pass through pandas row by row;
only the summary (one row per customer) comes back. Semantics follow Fader, Hardie & Lee (2005) and the
lifetimes `summary_data_from_transaction_data` convention:

- a purchase is a qualifying order (DESIGN.md: `amount >= 0`, status not cancelled or returned); zero-value
  purchases count;
- all purchases of a customer on one calendar day are one purchase whose value is their sum;
- the calibration period ends at the END of `calibration_end` (inclusive); customers whose first purchase is
  later are left out;
- `frequency` = number of repeat purchase days, `recency` = last minus first purchase day, `T` = calibration end
  date minus first purchase day, both in time units; `monetary_value` = mean value of the repeat purchase days
  (0 when there is none), in the workspace currency (`compile.rules.money_sql`); a day whose orders have no rate
  is a purchase day without value, left out of the mean;
- with `holdout_end`: `frequency_holdout` = purchase days in (calibration_end, holdout_end], `monetary_holdout`
  = their mean value (0 when none), `duration_holdout` = holdout length in time units.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segmentum.clock import TIME_UNITS
from segmentum.compile.rules import money_sql, qualifying_sql
from segmentum.errors import ModelError

if TYPE_CHECKING:
    import duckdb

    from segmentum.context import Context

# Days in one time unit. A month is the mean Gregorian month (365.25 / 12 = 30.4375 days) so that durations in
# months are exact multiples of days and do not depend on which months the period crosses.

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def unit_days(time_unit: str) -> float:
    """Days in one `time_unit` ('day', 'week' or 'month')."""
    try:
        return TIME_UNITS[time_unit]
    except KeyError:
        raise ModelError(
            f"time unit {time_unit!r} is not supported; allowed: {', '.join(TIME_UNITS)} "
            "(a month is 365.25/12 days)"
        ) from None


def as_date(value: date | datetime | str, what: str) -> date:
    """A calendar day from a date, a datetime (its day) or an ISO text `YYYY-MM-DD`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text[:10]) if len(text) >= 10 else date.fromisoformat(text)
        except ValueError:
            pass
    raise ModelError(f"{what} {value!r} is not a date; give it as YYYY-MM-DD, e.g. 1997-09-30")


def _is_latest(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "latest"


def _latest_day(con: duckdb.DuckDBPyConnection) -> date:
    """`latest` (as `--as-of latest`): the day of the newest qualifying order."""
    row = con.execute(f"SELECT max(ordered_at) FROM main.orders WHERE {qualifying_sql()}").fetchone()
    if not row or row[0] is None:
        raise ModelError(
            "calibration end 'latest' needs at least one qualifying order; the orders table has none"
        )
    return row[0].date()


def purchase_summary(
    ctx: Context,
    *,
    calibration_end: date | datetime | str,
    holdout_end: date | datetime | str | None = None,
    time_unit: str = "week",
) -> pd.DataFrame:
    """Per-customer frequency / recency / T / monetary value from `main.orders`, computed in DuckDB.

    Parameters
    ----------
    ctx:
        The workspace (`segmentum.context.Context`) whose `main.orders` is summarised.
    calibration_end:
        Last day of the calibration period (inclusive, to the end of the day); `"latest"`: the day of the newest
        qualifying order (predictions as of now, no holdout).
    holdout_end:
        Last day of the holdout period (inclusive); adds `frequency_holdout`, `monetary_holdout`,
        `duration_holdout`.
    time_unit:
        'day', 'week' (7 days) or 'month' (365.25/12 days) for recency, T and duration_holdout.

    Returns
    -------
    pandas.DataFrame indexed by `customer_id` (sorted), with float columns; `attrs` records the time unit and
    the period ends.
    """
    days = unit_days(time_unit)
    con = ctx.store.cursor()
    if not ctx.store.table_exists("orders"):
        raise ModelError(
            "the workspace has no orders table; CLV needs purchases: load them with "
            "`segmentum ingest orders FILE` (or order_items)"
        )
    cal = _latest_day(con) if _is_latest(calibration_end) else as_date(calibration_end, "calibration end")
    hold = as_date(holdout_end, "holdout end") if holdout_end is not None else None
    if hold is not None and hold <= cal:
        raise ModelError(
            f"holdout end {hold} is not after calibration end {cal}; the holdout period is "
            f"(calibration end, holdout end], so give a later holdout end"
        )
    last_day = hold or cal
    holdout_sql = ""
    if hold is not None:
        holdout_sql = """,
            count(*) FILTER (WHERE d > $cal)::DOUBLE AS frequency_holdout,
            coalesce(avg(v) FILTER (WHERE d > $cal), 0)::DOUBLE AS monetary_holdout,
            (date_diff('day', $cal, $hold) / $days)::DOUBLE AS duration_holdout"""
    # One pass over purchase days per customer, no self-join: the first day's value is taken out of the
    # calibration sum with arg_min_null (the first day's even when it has none), in exact DECIMAL. A day whose
    # orders have no rate has no value (v null): it is a purchase day, and the monetary value is the mean of
    # the repeat days that have one. Day boundaries are compared on timestamps (< next
    # midnight) so the last day is included to its very end.
    orders = money_sql(ctx.store, ctx.config.currency)  # the monetary value in the workspace currency
    sql = f"""
        WITH p AS (
            SELECT customer_id, CAST(ordered_at AS DATE) AS d, sum(amount) AS v
            FROM {orders.relation}
            WHERE {orders.qualifying()} AND customer_id IS NOT NULL AND ordered_at IS NOT NULL
              AND ordered_at < CAST($last_day AS TIMESTAMP) + INTERVAL 1 DAY
            GROUP BY 1, 2
        ), c AS (
            SELECT customer_id,
                min(d) FILTER (WHERE d <= $cal) AS first_day,
                max(d) FILTER (WHERE d <= $cal) AS last_day,
                count(*) FILTER (WHERE d <= $cal) - 1 AS repeats,
                arg_min_null(v, d) FILTER (WHERE d <= $cal) AS first_value,
                sum(v) FILTER (WHERE d <= $cal) - coalesce(first_value, 0) AS repeat_value,
                count(v) FILTER (WHERE d <= $cal) - CAST(first_value IS NOT NULL AS INTEGER) AS valued
                {holdout_sql}
            FROM p
            GROUP BY customer_id
        )
        SELECT * EXCLUDE (first_day, last_day, repeats, first_value, repeat_value, valued),
            repeats::DOUBLE AS frequency,
            (date_diff('day', first_day, last_day) / $days)::DOUBLE AS recency,
            (date_diff('day', first_day, $cal) / $days)::DOUBLE AS "T",
            CASE WHEN valued > 0 THEN (repeat_value / valued)::DOUBLE ELSE 0 END AS monetary_value
        FROM c
        WHERE first_day IS NOT NULL
        ORDER BY customer_id
    """
    params: dict[str, Any] = {"cal": cal, "last_day": last_day, "days": days}
    if hold is not None:
        params["hold"] = hold
    frame = con.execute(sql, params).df()
    frame["customer_id"] = frame["customer_id"].astype(object)
    columns = [
        *SUMMARY_COLUMNS,
        *(["frequency_holdout", "monetary_holdout", "duration_holdout"] if hold else []),
    ]
    frame = frame.set_index("customer_id")[columns]
    frame.attrs.update(
        {
            "time_unit": time_unit,
            "calibration_end": cal.isoformat(),
            "holdout_end": hold.isoformat() if hold else None,
        }
    )
    return frame


def check_summary(summary: pd.DataFrame, *, monetary: bool = False) -> None:
    """Raise ModelError, in domain words, when a summary cannot come from real purchase histories."""
    if not isinstance(summary, pd.DataFrame):
        raise ModelError(
            f"a purchase summary must be a pandas DataFrame, got {type(summary).__name__}; "
            "build one with segmentum.models.summary.purchase_summary(...)"
        )
    needed = ["frequency", "monetary_value"] if monetary else ["frequency", "recency", "T"]
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise ModelError(
            f"the purchase summary lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, summary.columns))}. "
            "Hint: purchase_summary(...) builds frequency, recency, T and monetary_value"
        )
    if len(summary) == 0:
        raise ModelError(
            "the purchase summary has no customers: no qualifying purchase on or before the calibration end; "
            "choose a later calibration end or load orders"
        )
    problems: list[str] = []

    def count(mask: Any, text: str) -> None:
        n = int(np.count_nonzero(mask))
        if n:
            problems.append(f"{text} for {n:,} customer{'s' if n != 1 else ''}")

    x = summary["frequency"].to_numpy(dtype=float)
    count(~np.isfinite(x), "frequency is missing or not finite")
    count(x < 0, "frequency is negative")
    count(np.isfinite(x) & (x != np.round(x)), "frequency is not a whole number of repeat purchases")
    if monetary:
        m = summary["monetary_value"].to_numpy(dtype=float)
        count(~np.isfinite(m), "monetary value is missing or not finite")
        count(m < 0, "monetary value is negative")
    else:
        t_x = summary["recency"].to_numpy(dtype=float)
        big_t = summary["T"].to_numpy(dtype=float)
        count(~np.isfinite(t_x), "recency is missing or not finite")
        count(~np.isfinite(big_t), "T is missing or not finite")
        count(t_x < 0, "recency is negative")
        count(t_x > big_t, "recency is larger than T")
        count((x == 0) & (t_x != 0), "recency is not 0 although there is no repeat purchase")
        count((x > 0) & (t_x == 0), "recency is 0 although there are repeat purchases on later days")
    if problems:
        raise ModelError(
            "the purchase summary is inconsistent: "
            + "; ".join(problems)
            + ". Hint: recency and T are measured from each customer's first purchase; build the summary with "
            "purchase_summary(...)"
        )
