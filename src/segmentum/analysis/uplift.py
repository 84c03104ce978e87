"""Did a trigger's action work? Treated vs hold-out customers after the transition (DESIGN.md section 5.2).

The one home of the uplift statistics; `segmentum uplift TRIGGER` and `GET /v1/triggers/{name}/uplift` only
call `uplift`.

Who is compared: every customer with a recorded transition of the trigger (`segmentum.trigger_transitions`)
that acted or was held out (suppressed customers and transitions inside the cooldown are in neither group),
at their first such transition t, in their group then (hash of trigger and customer: actions/policy.py).
Treated means *meant to be treated*: a customer whose email a cap stopped stays treated (intent to treat), so
the hold-out stays a fair comparison. Each customer's outcome is measured in the window `t < ts <= t + within`
of the trigger's `measure`; a customer whose window has not ended by `as_of` (default: the end of the data) is
still inside it and left out of the comparison.

- conversion: the customer's rows of the table in the window satisfy `count(TABLE) OP N` (orders and
  order_items: qualifying orders only); the difference of the two rates with a 95 % two-proportion
  (Wald, unpooled) z interval: `d ± z_0.975 · sqrt(p_t(1-p_t)/n_t + p_c(1-p_c)/n_c)`;
- revenue per customer: the sum of the column over the window (0 when none); the difference of the means
  with a 95 % Welch interval: `d ± t_0.975,ν · sqrt(s_t²/n_t + s_c²/n_c)`, ν by Welch–Satterthwaite.

An interval that spans zero (or a group of fewer than 2 customers) reads "not enough customers yet to tell".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.actions.policy import ACTED, CONTROL, HOLDOUT, TREATED, shift
from segmentum.compile.rules import money_sql
from segmentum.errors import ActionError, NotFoundError, did_you_mean
from segmentum.schema import TABLES
from segmentum.sql import ident
from segmentum.store import META

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.spec.models import Measure

CONFIDENCE = 0.95
NOT_ENOUGH = "not enough customers yet to tell"


@dataclass
class Interval:
    """A difference (treated − control) with its 95 % confidence interval."""

    difference: float
    low: float
    high: float
    method: str

    @property
    def spans_zero(self) -> bool:
        return self.low <= 0 <= self.high


@dataclass
class Group:
    customers: int  # compared (their window has ended)
    inside_window: int  # still inside the window: not compared yet
    conversions: int | None = None
    conversion_rate: float | None = None
    revenue_per_customer: float | None = None
    revenue_sd: float | None = None


@dataclass
class Uplift:
    trigger: str
    as_of: datetime
    within: str
    holdout: str | float | None
    conversion_rule: str | None
    revenue_column: str | None
    treated: Group
    control: Group
    conversion: Interval | None = None
    revenue: Interval | None = None
    verdicts: dict[str, str] = field(default_factory=dict)  # measure -> plain-language reading

    @property
    def verdict(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.verdicts.items())

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict
        for key in ("conversion", "revenue"):
            if out[key] is not None:
                out[key]["spans_zero"] = getattr(self, key).spans_zero
        return out


# -------------------------------------------------------------------------------------------- statistics


def proportion_interval(x_t: int, n_t: int, x_c: int, n_c: int) -> Interval | None:
    """Two-proportion z interval of p_t − p_c (None when a group is empty)."""
    from scipy import stats

    if n_t < 1 or n_c < 1:
        return None
    p_t, p_c = x_t / n_t, x_c / n_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
    d = p_t - p_c
    return Interval(d, d - z * se, d + z * se, "two-proportion z interval")


def welch_interval(treated: list[float], control: list[float]) -> Interval | None:
    """Welch interval of mean_t − mean_c (None when a group has fewer than 2 values)."""
    from scipy import stats

    n_t, n_c = len(treated), len(control)
    if n_t < 2 or n_c < 2:
        return None
    m_t, m_c = sum(treated) / n_t, sum(control) / n_c
    v_t = sum((v - m_t) ** 2 for v in treated) / (n_t - 1)
    v_c = sum((v - m_c) ** 2 for v in control) / (n_c - 1)
    a, b = v_t / n_t, v_c / n_c
    se = math.sqrt(a + b)
    d = m_t - m_c
    if se == 0:
        return Interval(d, d, d, "Welch t interval")
    df = (a + b) ** 2 / (a**2 / (n_t - 1) + b**2 / (n_c - 1))
    t = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df))
    return Interval(d, d - t * se, d + t * se, "Welch t interval")


def reading(interval: Interval | None, *, percent: bool) -> str:
    """The plain-language verdict of one measure."""
    if interval is None or interval.spans_zero:
        return NOT_ENOUGH
    show = (lambda v: f"{v * 100:+.1f} points") if percent else (lambda v: f"{v:+,.2f} per customer")
    ci = f"95 % CI {show(interval.low)} to {show(interval.high)}"
    if interval.low > 0:
        return f"the action works: {show(interval.difference)} for treated customers ({ci})"
    return f"the action does harm: {show(interval.difference)} for treated customers ({ci})"


# -------------------------------------------------------------------------------------------------- data


def _rows_sql(ws: Context, table: str) -> str:
    """The rows of a canonical table that count: qualifying orders (and their items), all others."""
    store = ws.store
    orders = money_sql(store, ws.config.currency)  # revenue measures in the workspace currency
    if table == "orders":
        return f"SELECT * FROM {orders.relation} WHERE {orders.qualifying()}"
    if table == "order_items" and store.table_exists("orders"):
        items = money_sql(store, ws.config.currency, "order_items")
        return (
            f"SELECT i.* FROM {items.relation} i WHERE i.order_id IN (SELECT order_id FROM {orders.relation} "
            f"WHERE {orders.qualifying()})"
        )
    return f"SELECT * FROM main.{ident(table)}"


def _windows(ws: Context, trigger: str, as_of: datetime, within: str) -> pd.DataFrame:
    """customer_id, grp, t (first transition that acted or was held out), end (t + within)."""
    rows = ws.store.query(
        f"""SELECT customer_id, arg_min(grp, as_of), min(as_of) FROM {META}.trigger_transitions
            WHERE trigger = ? AND outcome IN ('{ACTED}', '{HOLDOUT}') AND as_of <= ?
            GROUP BY customer_id ORDER BY customer_id""",
        [trigger, as_of],
    )
    frame = pd.DataFrame(rows, columns=["customer_id", "grp", "t"])
    frame["end"] = [shift(t, within) for t in frame["t"]]
    return frame


def _outcomes(ws: Context, frame: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Per customer of `frame`: n (rows of the conversion table) and revenue in the window."""
    out = frame[["customer_id"]].copy()
    cur = ws.store.cursor()
    cur.register("_segmentum_windows", frame[["customer_id", "t", "end"]])
    try:
        parts = measure.conversion_parts
        if parts is not None:
            out["n"] = _per_customer(ws, cur, parts[0], "count(*)", frame["customer_id"])
        if measure.revenue is not None:
            table, _, column = measure.revenue.partition(".")
            out["revenue"] = _per_customer(
                ws, cur, table, f"sum(x.{ident(column)})::DOUBLE", frame["customer_id"]
            )
    finally:
        cur.unregister("_segmentum_windows")
    return out


def _per_customer(ws: Context, cur: Any, table: str, aggregate: str, ids: pd.Series) -> list[float]:
    """`aggregate` over each customer's rows of `table` inside their window, in the order of `ids`."""
    if not ws.store.table_exists(table):
        return [0.0] * len(ids)
    ts = ident(str(TABLES[table].time_column))
    rows = cur.execute(
        f"""SELECT w.customer_id, {aggregate} FROM _segmentum_windows w
            JOIN ({_rows_sql(ws, table)}) x ON x.customer_id = w.customer_id AND x.{ts} > w.t AND x.{ts} <= w."end"
            GROUP BY w.customer_id"""
    ).fetchall()
    found = {str(r[0]): float(r[1] or 0) for r in rows}
    return [found.get(str(cid), 0.0) for cid in ids]


def _satisfies(n: float, op: str, threshold: int) -> bool:
    return {
        ">=": n >= threshold,
        ">": n > threshold,
        "=": n == threshold,
        "<=": n <= threshold,
        "<": n < threshold,
    }[op]


# ------------------------------------------------------------------------------------------------ report


def uplift(ws: Context, trigger: str, *, as_of: str | datetime | None = None) -> Uplift:
    """Treated vs control customers of `trigger` after their transition (see the module's docstring).

    `as_of` (default `latest`, the end of the data): windows that end later are still open."""
    defs = ws.definitions()
    found = defs.triggers.get(trigger)
    if found is None:
        raise NotFoundError(
            f"no trigger '{trigger}'{did_you_mean(trigger, defs.triggers)}; triggers: "
            f"{', '.join(sorted(defs.triggers)) or 'none'}"
        )
    spec = found.spec
    if spec.measure is None:
        raise ActionError(
            f"{found.location}: trigger '{trigger}' has no measure; add e.g. "
            'measure: {revenue: orders.amount, conversion: "count(orders) >= 1", within: 30d}'
        )
    measure = spec.measure
    moment, _ = ws.resolve_as_of(as_of if as_of is not None else "latest")
    frame = _windows(ws, trigger, moment, measure.within)
    closed = frame[frame["end"] <= moment].reset_index(drop=True)
    values = _outcomes(ws, closed, measure)
    report = Uplift(
        trigger,
        moment,
        measure.within,
        spec.holdout,
        measure.conversion,
        measure.revenue,
        Group(0, 0),
        Group(0, 0),
    )
    samples: dict[str, dict[str, list[float]]] = {}
    for name in (TREATED, CONTROL):
        mine = closed["grp"] == name
        group = Group(int(mine.sum()), int(((frame["grp"] == name) & (frame["end"] > moment)).sum()))
        samples[name] = {}
        parts = measure.conversion_parts
        if parts is not None:
            hits = [_satisfies(n, parts[1], parts[2]) for n in values.loc[mine, "n"]]
            group.conversions = sum(hits)
            group.conversion_rate = group.conversions / len(hits) if hits else None
        if measure.revenue is not None:
            revenue = [float(v) for v in values.loc[mine, "revenue"]]
            samples[name]["revenue"] = revenue
            if revenue:
                mean = sum(revenue) / len(revenue)
                group.revenue_per_customer = mean
                if len(revenue) > 1:
                    group.revenue_sd = math.sqrt(sum((v - mean) ** 2 for v in revenue) / (len(revenue) - 1))
        setattr(report, name, group)
    no_control = report.control.customers + report.control.inside_window == 0
    if measure.conversion_parts is not None:
        t, c = report.treated, report.control
        report.conversion = proportion_interval(
            t.conversions or 0, t.customers, c.conversions or 0, c.customers
        )
        report.verdicts["conversion"] = reading(report.conversion, percent=True)
    if measure.revenue is not None:
        report.revenue = welch_interval(samples[TREATED]["revenue"], samples[CONTROL]["revenue"])
        report.verdicts["revenue"] = reading(report.revenue, percent=False)
    if no_control:
        report.verdicts = {
            k: f"{NOT_ENOUGH}: no hold-out group (add `holdout: 10%` to the trigger)" for k in report.verdicts
        }
    return report
