"""A backfill compiles its definitions at most twice and moves the instants of that SQL to each later point
(runs/reuse.py): every point's traits and memberships must equal a run compiled in full at that point, month
ends of different lengths (calendar clamping) and every kind of window included."""

from __future__ import annotations

from datetime import date, datetime

from runs_helpers import make_shop, set_orders
from segmentum.runs.backfill import backfill, backfill_dates
from segmentum.runs.execute import run
from segmentum.runs.reuse import CompiledOnce, moved, timestamp_sql
from segmentum.store import snapshots as snapshot

DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
  month_spent: {sum: orders.amount, within: 1m}
  quarter_orders: {count: orders, within: 3m}
  before_last_month: {sum: orders.amount, between: [2m, 1m]}
  weeks_seen: {count: orders, within: 30d}
  active_months: {active_periods: orders, period: 1m, within: 3m}
  days_since_order: {expr: "days_between(last_order_at, as_of)"}
  last_order_at: {max: orders.ordered_at}
segments:
  big: {where: "spent >= 100"}
  recent: {where: "month_spent > 0"}
  loyal: {where: "active_months >= 2"}
  lapsed: {where: "days_since_order > 40 and before_last_month > 0"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "quarter_orders >= 2"}
      - {name: silver, where: "weeks_seen >= 1"}
    else: bronze
"""
ORDERS = [
    (customer, datetime(2024, month, day, hour), amount)
    for customer, month, day, hour, amount in [
        ("a", 1, 5, 10, 600),
        ("a", 2, 29, 23, 40),
        ("a", 3, 31, 12, 15),
        ("b", 1, 31, 23, 50),
        ("b", 2, 10, 8, 100),
        ("b", 4, 30, 20, 70),
        ("c", 1, 20, 9, 20),
        ("c", 3, 3, 9, 700),
        ("c", 3, 30, 9, 10),
        ("d", 2, 28, 23, 5),
        ("d", 5, 31, 23, 90),
        ("e", 4, 1, 0, 300),
        ("e", 6, 30, 23, 60),
    ]
]


def _shop(tmp_path, name):  # type: ignore[no-untyped-def]
    ws = make_shop(tmp_path / name, DEFINITIONS)
    set_orders(ws, ORDERS)
    return ws


def _rows(ws, run_id: int) -> tuple[list[tuple], list[tuple]]:  # type: ignore[no-untyped-def]
    traits = snapshot.traits(ws.store, run_id)
    traits = traits.sort_values("customer_id").reset_index(drop=True)
    members = snapshot.memberships(ws.store, run_id).sort_values(["name", "customer_id"])
    return (
        [tuple(r) for r in traits.astype(str).itertuples(index=False)],
        [tuple(r) for r in members.astype(str).itertuples(index=False)],
    )


def test_every_point_equals_a_run_compiled_in_full(tmp_path) -> None:  # type: ignore[no-untyped-def]
    reused, full = _shop(tmp_path, "reused"), _shop(tmp_path, "full")
    once = CompiledOnce()
    points = backfill_dates(date(2024, 1, 1), date(2024, 6, 30), "1m")
    assert len(points) == 6  # January to June: 31, 29, 31, 30, 31, 30 days
    for point in points:
        a = run(reused, as_of=point.isoformat(), details=False, compiled_once=once)
        b = run(full, as_of=point.isoformat(), details=False)
        assert a.as_of == b.as_of
        assert _rows(reused, a.run_id) == _rows(full, b.run_id), point
    # two compiled in full (the template and its check), the other four reused
    assert (once.compiled, once.reused, once.verified) == (2, 4, True)
    # the reuse is not vacuous: the windows move people between months
    recent = [
        set(snapshot.memberships(full.store, r.run_id, "recent").customer_id)
        for r in snapshot.batch_runs(full.store)
    ]
    assert len({frozenset(s) for s in recent}) > 3


def test_the_backfill_itself_reuses_and_matches(tmp_path) -> None:  # type: ignore[no-untyped-def]
    reused, full = _shop(tmp_path, "reused"), _shop(tmp_path, "full")
    results = backfill(reused, date(2024, 1, 15), date(2024, 5, 15), "1m")
    for result in results:
        other = run(full, as_of=result.as_of, details=False)
        assert _rows(reused, result.run_id) == _rows(full, other.run_id), result.as_of


def test_a_constant_equal_to_a_derived_instant_stops_the_reuse() -> None:
    # the first point's SQL holds a constant equal to its as_of besides the as_of itself: moving the text to the
    # second point moves the constant too, so the check (the second point compiled in full) fails
    a, b, c = (datetime(2024, m, d, 23, 59, 59, 999999) for m, d in ((1, 31), (2, 29), (3, 31)))
    compiled = object()
    once = CompiledOnce()
    key = ("same definitions",)

    def sql(as_of: datetime, constant: datetime) -> str:
        return f"SELECT x <= {timestamp_sql(as_of)} AND y <= {timestamp_sql(constant)}"

    once.offer(key, a, compiled, sql(a, a), {"1m"})  # type: ignore[arg-type]
    once.offer(key, b, compiled, sql(b, a), {"1m"})  # type: ignore[arg-type]
    assert once.verified is False and once.sql_for(key, c) is None
    # without the constant the same check passes, and a third point is moved, not compiled
    once = CompiledOnce()
    once.offer(key, a, compiled, f"SELECT {timestamp_sql(a)}", {"1m"})  # type: ignore[arg-type]
    once.offer(key, b, compiled, f"SELECT {timestamp_sql(b)}", {"1m"})  # type: ignore[arg-type]
    assert once.verified is True
    assert once.sql_for(key, c) == (f"SELECT {timestamp_sql(c)}", compiled)
    assert once.sql_for(("other definitions",), c) is None


def test_moved_refuses_two_derivations_that_meet() -> None:
    sql = "SELECT MAKE_TIMESTAMP(2024, 2, 29, 23, 59, 59.999999)"
    old, new = datetime(2024, 3, 31, 23, 59, 59, 999999), datetime(2024, 4, 30, 23, 59, 59, 999999)
    # 1m and 31d from 31 March both give 29 February 23:59:59.999999; from 30 April, 30 March and 30 March
    assert moved(sql, old, new, frozenset({"1m", "31d"})) is not None
    # 1m and 30d: from 31 March 29 Feb and 1 March; no meeting at old; at new 30 March and 31 March
    assert (
        moved(sql, old, new, frozenset({"1m", "30d"}))
        == "SELECT MAKE_TIMESTAMP(2024, 3, 30, 23, 59, 59.999999)"
    )
    # meeting at old, parting at new: 1m and 29d from 29 March 2024 (29 Feb, 29 Feb); from 30 April (30 Mar, 1 Apr)
    assert moved(sql, datetime(2024, 3, 29, 23, 59, 59, 999999), new, frozenset({"1m", "29d"})) is None
    # strict: an instant that stays put cannot be checked
    assert moved(sql, old, old, frozenset(), strict=True) is None
