"""Semantics of the definition language as the DuckDB engine computes them (DESIGN.md section 5)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from segmentum.errors import NotFoundError
from segmentum.runs.execute import run
from segmentum.runs.explain import explain

D = datetime


def _rows(result: Any) -> dict[str, dict[str, Any]]:
    df = result.traits()
    out = {}
    for record in df.to_dict(orient="records"):
        out[record["customer_id"]] = {
            k: (None if (not isinstance(v, str) and pd.isna(v)) else v) for k, v in record.items()
        }
    return out


def _members(result: Any, name: str) -> set[str]:
    return set(result.memberships(name).customer_id)


CUSTOMERS = [{"customer_id": c} for c in ("a", "b", "c", "d")]


def test_windows_cover_as_of_minus_n_days_exclusive_to_as_of_inclusive(make_ws):
    as_of = "2024-03-31"  # 2024-03-31 23:59:59.999999
    orders = [
        {
            "order_id": "1",
            "customer_id": "a",
            "ordered_at": D(2024, 1, 1, 23, 59, 59),
            "amount": 1,
        },  # out of 90d
        {
            "order_id": "2",
            "customer_id": "a",
            "ordered_at": D(2024, 1, 2, 0, 0, 0),
            "amount": 2,
        },  # 90d starts here
        {"order_id": "3", "customer_id": "a", "ordered_at": D(2024, 3, 31, 23, 59, 59), "amount": 4},
        {"order_id": "4", "customer_id": "a", "ordered_at": D(2024, 4, 1), "amount": 8},  # after as_of
    ]
    ws = make_ws(
        """
traits:
  n90: {count: orders, within: 90d}
  s90: {sum: orders.amount, within: 90d}
  all_time: {count: orders}
  prev: {count: orders, between: [180d, 89d]}
""",
        {"customers": CUSTOMERS, "orders": orders},
    )
    rows = _rows(run(ws, as_of=as_of))
    assert rows["a"]["n90"] == 2
    assert rows["a"]["s90"] == Decimal("6")
    assert rows["a"]["all_time"] == 3
    # between [180d, 89d]: 2023-10-03 23:59:59.999999 < ts <= 2024-01-02 23:59:59.999999
    assert rows["a"]["prev"] == 2


def test_month_windows_clamp_to_the_end_of_the_month(make_ws):
    orders = [
        {"order_id": "1", "customer_id": "a", "ordered_at": D(2024, 2, 29, 23, 59, 59), "amount": 1},
        {"order_id": "2", "customer_id": "a", "ordered_at": D(2024, 3, 1), "amount": 1},
    ]
    ws = make_ws(
        "traits:\n  m1: {count: orders, within: 1m}\n  y1: {count: orders, within: 1y}\n",
        {"customers": CUSTOMERS, "orders": orders},
    )
    # as_of 2024-03-31 23:59:59.999999 - 1 month = 2024-02-29 23:59:59.999999 (clamped)
    rows = _rows(run(ws, as_of="2024-03-31"))
    assert rows["a"]["m1"] == 1
    assert rows["a"]["y1"] == 2


def test_only_qualifying_orders_count_unless_all_orders(make_ws):
    orders = [
        {"order_id": "1", "customer_id": "a", "ordered_at": D(2024, 1, 1), "amount": 10, "status": None},
        {
            "order_id": "2",
            "customer_id": "a",
            "ordered_at": D(2024, 1, 2),
            "amount": 0,
            "status": "completed",
        },
        {
            "order_id": "3",
            "customer_id": "a",
            "ordered_at": D(2024, 1, 3),
            "amount": 20,
            "status": "Cancelled",
        },
        {
            "order_id": "4",
            "customer_id": "a",
            "ordered_at": D(2024, 1, 4),
            "amount": 30,
            "status": "returned",
        },
        {"order_id": "5", "customer_id": "a", "ordered_at": D(2024, 1, 5), "amount": -5, "status": None},
    ]
    items = [
        {
            "order_id": "1",
            "line": 1,
            "customer_id": "a",
            "ordered_at": D(2024, 1, 1),
            "product_id": "p",
            "quantity": 1,
            "unit_price": 10,
        },
        {
            "order_id": "3",
            "line": 1,
            "customer_id": "a",
            "ordered_at": D(2024, 1, 3),
            "product_id": "q",
            "quantity": 2,
            "unit_price": 10,
        },
    ]
    ws = make_ws(
        """
traits:
  n: {count: orders}
  s: {sum: orders.amount}
  n_all: {count: orders, all_orders: true}
  s_all: {sum: orders.amount, all_orders: true}
  items: {count: order_items}
  items_all: {count: order_items, all_orders: true}
""",
        {"customers": CUSTOMERS, "orders": orders, "order_items": items},
    )
    row = _rows(run(ws, as_of="2024-12-31"))["a"]
    assert (row["n"], row["s"]) == (2, Decimal("10"))
    assert (row["n_all"], row["s_all"]) == (5, Decimal("55"))
    assert (row["items"], row["items_all"]) == (1, 2)


def test_aggregates_over_no_rows_are_null_except_counts(make_ws):
    ws = make_ws(
        """
traits:
  n: {count: orders}
  nd: {count_distinct: orders.channel}
  s: {sum: orders.amount}
  a: {avg: orders.amount}
  mx: {max: orders.ordered_at}
  md: {mode: orders.channel}
  f: {first: orders.channel}
""",
        {
            "customers": CUSTOMERS,
            "orders": [
                {
                    "order_id": "1",
                    "customer_id": "a",
                    "ordered_at": D(2024, 1, 1),
                    "amount": 3,
                    "channel": "web",
                }
            ],
        },
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    assert rows["b"] == {
        "customer_id": "b",
        "n": 0,
        "nd": 0,
        "s": None,
        "a": None,
        "mx": None,
        "md": None,
        "f": None,
    }
    assert rows["a"]["a"] == pytest.approx(3.0) and isinstance(rows["a"]["a"], float)


def test_mode_ties_go_to_the_smallest_value_and_first_last_ties_to_the_key(make_ws):
    t = D(2024, 1, 1)
    orders = [
        {"order_id": "o2", "customer_id": "a", "ordered_at": t, "amount": 1, "channel": "web"},
        {"order_id": "o1", "customer_id": "a", "ordered_at": t, "amount": 1, "channel": "app"},
        {"order_id": "o3", "customer_id": "a", "ordered_at": D(2023, 1, 1), "amount": 1, "channel": None},
        {"order_id": "o4", "customer_id": "b", "ordered_at": t, "amount": 1, "channel": "z"},
        {"order_id": "o5", "customer_id": "b", "ordered_at": t, "amount": 1, "channel": "z"},
        {"order_id": "o6", "customer_id": "b", "ordered_at": t, "amount": 1, "channel": "a"},
    ]
    ws = make_ws(
        """
traits:
  md: {mode: orders.channel}
  f: {first: orders.channel}
  l: {last: orders.channel}
""",
        {"customers": CUSTOMERS, "orders": orders},
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    assert rows["a"]["md"] == "app"  # web 1, app 1: tie -> smallest
    assert rows["b"]["md"] == "z"  # most frequent wins over smaller
    # first/last skip null values; ties on time go by order_id: o1 before o2
    assert rows["a"]["f"] == "app"
    assert rows["a"]["l"] == "web"


def test_days_since_previous_is_over_qualifying_orders_before_the_window(make_ws):
    orders = [
        {"order_id": "1", "customer_id": "a", "ordered_at": D(2023, 1, 1, 23), "amount": 1},
        {
            "order_id": "2",
            "customer_id": "a",
            "ordered_at": D(2023, 6, 1),
            "amount": 1,
            "status": "cancelled",
        },
        {"order_id": "3", "customer_id": "a", "ordered_at": D(2024, 1, 2, 1), "amount": 1},
        {"order_id": "4", "customer_id": "a", "ordered_at": D(2024, 1, 5), "amount": 1},
    ]
    ws = make_ws(
        """
traits:
  gap: {max: orders.days_since_previous, within: 30d}
  firsts: {count: orders, where: "days_since_previous is null"}
  long_gaps: {count: orders, where: "days_since_previous > 300", within: 30d}
""",
        {"customers": CUSTOMERS, "orders": orders},
    )
    row = _rows(run(ws, as_of="2024-01-10"))["a"]
    assert row["gap"] == 366  # 2023-01-01 -> 2024-01-02, calendar days; the cancelled order is not seen
    assert row["firsts"] == 1
    assert row["long_gaps"] == 1


def test_true_division_and_division_by_zero(make_ws):
    ws = make_ws(
        """
traits:
  n: {count: orders}
  half: {expr: "n / 2"}
  by_zero: {expr: "n / 0"}
segments:
  zero_div: {where: "n / 0 > 0 or n / 0 <= 0"}
""",
        {
            "customers": CUSTOMERS,
            "orders": [{"order_id": "1", "customer_id": "a", "ordered_at": D(2024, 1, 1), "amount": 1}],
        },
    )
    result = run(ws, as_of="2024-12-31")
    rows = _rows(result)
    assert rows["a"]["half"] == 0.5
    assert rows["a"]["by_zero"] is None
    assert _members(result, "zero_div") == set()


def test_two_valued_logic_null_comparisons_are_false_and_not_makes_them_true(make_ws):
    customers = [
        {"customer_id": "a", "income": 10, "email_opt_in": None},
        {"customer_id": "b", "income": None, "email_opt_in": True},
        {"customer_id": "c", "income": 6, "email_opt_in": False},
    ]
    ws = make_ws(
        """
segments:
  rich: {where: "income > 5"}
  not_rich: {where: "not (income > 5)"}
  in_list: {where: "income in (10, 11)"}
  not_in_list: {where: "income not in (10, 11)"}
  betw: {where: "income between 1 and 7"}
  opted: {where: "email_opt_in"}
  not_opted: {where: "not email_opt_in"}
  unknown_income: {where: "income is null"}
""",
        {"customers": customers},
    )
    r = run(ws, as_of="2024-12-31")
    assert _members(r, "rich") == {"a", "c"}
    assert _members(r, "not_rich") == {"b"}
    assert _members(r, "in_list") == {"a"}
    assert _members(r, "not_in_list") == {"c"}  # null operand: false
    assert _members(r, "betw") == {"c"}
    assert _members(r, "opted") == {"b"}
    assert _members(r, "not_opted") == {"a", "c"}  # a null boolean is false, so not null is true
    assert _members(r, "unknown_income") == {"b"}


def test_decimal_arithmetic_stays_exact(make_ws):
    orders = [
        {"order_id": "1", "customer_id": "a", "ordered_at": D(2024, 1, 1), "amount": Decimal("0.1")},
        {"order_id": "2", "customer_id": "a", "ordered_at": D(2024, 1, 1), "amount": Decimal("0.2")},
    ]
    ws = make_ws(
        """
traits:
  s: {sum: orders.amount}
segments:
  exact: {where: "s = 0.3"}
  scaled: {where: "100 * s < 30.000001 and 100 * s >= 30"}
""",
        {"customers": CUSTOMERS, "orders": orders},
    )
    r = run(ws, as_of="2024-12-31")
    assert _rows(r)["a"]["s"] == Decimal("0.3")
    assert _members(r, "exact") == {"a"}
    assert _members(r, "scaled") == {"a"}


def test_percent_rank_ties_share_the_lowest_rank_and_nulls_are_left_out(make_ws):
    customers = [
        {"customer_id": c, "income": v} for c, v in [("a", 10), ("b", 20), ("c", 20), ("d", 30), ("e", None)]
    ]
    ws = make_ws(
        'traits:\n  pr: {expr: "percent_rank(income)"}\n  nt: {expr: "ntile(income, 3)"}\n',
        {"customers": customers},
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    assert [rows[c]["pr"] for c in "abcd"] == [0.0, 1 / 3, 1 / 3, 1.0]
    assert rows["e"]["pr"] is None
    # 4 values in 3 buckets: sizes 2, 1, 1; ties broken by customer_id
    assert [rows[c]["nt"] for c in "abcd"] == [1, 1, 2, 3]
    assert rows["e"]["nt"] is None


def test_percent_rank_of_a_single_value_is_zero(make_ws):
    ws = make_ws(
        'segments:\n  top: {where: "percent_rank(income) >= 0"}\n',
        {"customers": [{"customer_id": "a", "income": 5}, {"customer_id": "b", "income": None}]},
    )
    assert _members(run(ws, as_of="2024-12-31"), "top") == {"a"}


@pytest.mark.parametrize("n", [1, 2, 5, 7, 10, 11])
@pytest.mark.parametrize("k", [1, 3, 4])
def test_ntile_gives_the_first_n_mod_k_buckets_one_extra(make_ws, n, k):
    customers = [{"customer_id": f"c{i:02d}", "income": i % 4} for i in range(n)]
    ws = make_ws(f'traits:\n  nt: {{expr: "ntile(income, {k})"}}\n', {"customers": customers})
    rows = _rows(run(ws, as_of="2024-12-31"))
    ordered = sorted(customers, key=lambda c: (c["income"], c["customer_id"]))
    q, r = divmod(n, k)
    expected, i = {}, 0
    for bucket in range(1, k + 1):
        for _ in range(q + (1 if bucket <= r else 0)):
            expected[ordered[i]["customer_id"]] = bucket
            i += 1
    assert {c: rows[c]["nt"] for c in rows} == expected


def test_created_at_filters_the_runs_customers(make_ws):
    customers = [
        {"customer_id": "a", "created_at": D(2024, 1, 1)},
        {"customer_id": "b", "created_at": D(2025, 1, 1)},
        {"customer_id": "c", "created_at": None},
    ]
    ws = make_ws('segments:\n  everyone: {where: "true"}\n', {"customers": customers})
    r = run(ws, as_of="2024-12-31")
    assert set(r.traits().customer_id) == {"a", "c"}
    assert _members(r, "everyone") == {"a", "c"}


def test_a_customer_exists_from_first_seen_at_the_earliest_of_created_at_and_their_timestamps(make_ws):
    """DESIGN.md section 4: first_seen_at = min(created_at, every timestamp of theirs in any table); a run holds
    the customers whose first_seen_at is null or at/before as_of, and ranks only those."""
    customers = [
        {"customer_id": "a", "created_at": D(2024, 1, 1)},
        {"customer_id": "b", "created_at": D(2025, 1, 1)},  # created later, but ordered before as_of
        {"customer_id": "c", "created_at": None},  # never seen anywhere: always exists
        {"customer_id": "d", "created_at": None},  # first seen by an order after as_of
        {"customer_id": "e", "created_at": D(2025, 1, 1)},  # created later, but opened a ticket before
        {"customer_id": "f", "created_at": D(2025, 6, 1)},  # created later, seen only after as_of
    ]
    orders = [
        {"order_id": "1", "customer_id": "a", "ordered_at": D(2024, 2, 1), "amount": 20},
        {"order_id": "2", "customer_id": "b", "ordered_at": D(2024, 6, 1), "amount": 10},
        {"order_id": "3", "customer_id": "d", "ordered_at": D(2025, 2, 1), "amount": 5},
        {"order_id": "4", "customer_id": "f", "ordered_at": D(2025, 3, 1), "amount": 5},
    ]
    tickets = [{"ticket_id": "t1", "customer_id": "e", "opened_at": D(2024, 12, 31, 10)}]
    ws = make_ws(
        "traits:\n  n: {count: orders}\n"
        'segments:\n  everyone: {where: "true"}\n  upper: {where: "percent_rank(n) >= 0.6"}\n',
        {"customers": customers, "orders": orders, "tickets": tickets},
    )
    r = run(ws, as_of="2024-12-31")
    assert set(r.traits().customer_id) == {"a", "b", "c", "e"}
    assert _members(r, "everyone") == {"a", "b", "c", "e"}
    # percent_rank over the run's four customers: n = 0, 0, 1, 1 -> a and b at (3 - 1) / 3 = 0.667; with d
    # counted too (n = 0) they would be at 0.75 and the hidden rank column would differ
    assert r.compiled is not None
    pop = next(c for c in r.compiled.hidden if c.startswith("__pop_"))
    stored = ws.store.query(f'SELECT customer_id, "{pop}" FROM segmentum.traits_{r.run_id}')
    assert {cid: round(v, 4) for cid, v in stored} == {"a": 0.6667, "b": 0.6667, "c": 0.0, "e": 0.0}
    later = run(ws, as_of="2025-02-01")  # d's order is at 2025-02-01 00:00: seen by then; f is not yet
    assert set(later.traits().customer_id) == {"a", "b", "c", "d", "e"}


def test_customers_derived_from_the_data_appear_at_their_first_row(make_ws):
    """Without a customers table every id of the tables is a customer, from its first row on (a refund or an
    event counts as being seen); the real-time path (a subset of ids) follows the same rule."""
    orders = [
        {"order_id": "1", "customer_id": "x", "ordered_at": D(2024, 1, 5), "amount": 10},
        {"order_id": "2", "customer_id": "y", "ordered_at": D(2024, 3, 1), "amount": 10},
        {
            "order_id": "3",
            "customer_id": "w",
            "ordered_at": D(2024, 1, 20),
            "amount": 10,
            "status": "cancelled",
        },
    ]
    events = [{"event_id": "e1", "customer_id": "z", "event": "login", "occurred_at": D(2024, 1, 10)}]
    ws = make_ws(
        'traits:\n  n: {count: orders}\nsegments:\n  never_bought: {where: "n = 0"}\n',
        {"orders": orders, "events": events},
    )
    january = run(ws, as_of="2024-01-31")
    assert set(january.traits().customer_id) == {"x", "w", "z"}
    assert _members(january, "never_bought") == {"w", "z"}  # y is not a prospect before they appeared
    march = run(ws, as_of="2024-03-31")
    assert set(march.traits().customer_id) == {"x", "y", "w", "z"}
    touched = run(ws, as_of="2024-01-31", customers=["x", "y"])
    assert set(touched.traits().customer_id) == {"x"}
    # explain evaluates the same customers: y is not one of them yet
    assert explain(ws, "y", "never_bought", as_of="2024-03-31").member is False
    with pytest.raises(NotFoundError, match="first seen after as_of"):
        explain(ws, "y", "never_bought", as_of="2024-01-31")


def test_segmentation_first_match_wins_and_everyone_is_in_exactly_one(make_ws):
    customers = [{"customer_id": c, "income": v} for c, v in [("a", 6000), ("b", 600), ("c", 6), ("d", None)]]
    ws = make_ws(
        """
segmentations:
  tier:
    segments:
      - {name: vip, where: "income >= 5000"}
      - {name: regular, where: "income >= 500"}
    else: low
""",
        {"customers": customers},
    )
    r = run(ws, as_of="2024-12-31")
    m = r.memberships()
    assert dict(zip(m.customer_id, m.name, strict=True)) == {
        "a": "tier.vip",
        "b": "tier.regular",
        "c": "tier.low",
        "d": "tier.low",
    }


def test_in_segment_refers_to_standalone_segments_and_segmentation_segments(make_ws):
    customers = [{"customer_id": c, "income": v} for c, v in [("a", 6000), ("b", 600), ("c", 6)]]
    ws = make_ws(
        """
segments:
  rich: {where: "income >= 500"}
  rich_not_vip: {where: "in_segment('rich') and not in_segment('tier.vip')"}
segmentations:
  tier:
    segments:
      - {name: vip, where: "income >= 5000"}
""",
        {"customers": customers},
    )
    r = run(ws, as_of="2024-12-31")
    assert _members(r, "rich_not_vip") == {"b"}
    assert _members(r, "tier.other") == {"b", "c"}


def test_functions(make_ws):
    customers = [
        {"customer_id": "a", "income": Decimal("-2.5"), "country": "Ua", "created_at": D(2024, 1, 1, 23)}
    ]
    ws = make_ws(
        """
traits:
  r0: {expr: "round(income)"}
  r1: {expr: "round(2.25, 1)"}
  ab: {expr: "abs(income)"}
  lo: {expr: "lower(country)"}
  up: {expr: "upper(country)"}
  co: {expr: "coalesce(null, income, 1)"}
  le: {expr: "least(3, 1, 2)"}
  gr: {expr: "greatest(3, 1, 2)"}
  cl: {expr: "ceil(income)"}
  fl: {expr: "floor(income)"}
  db: {expr: "days_between(created_at, as_of)"}
segments:
  liked: {where: "country like 'U%' and country not like '%x'"}
""",
        {"customers": customers},
    )
    r = run(ws, as_of="2024-01-03")
    row = _rows(r)["a"]
    assert row["r0"] == -3  # half away from zero
    assert row["r1"] == Decimal("2.3")
    assert row["ab"] == Decimal("2.5")
    assert (row["lo"], row["up"]) == ("ua", "UA")
    assert row["co"] == Decimal("-2.5")
    assert (row["le"], row["gr"]) == (1, 3)
    assert (row["cl"], row["fl"]) == (-2, -3)
    assert row["db"] == 2
    assert _members(r, "liked") == {"a"}


def test_event_properties_are_read_as_text_and_compare_with_numbers(make_ws):
    events = [
        {
            "event_id": "1",
            "customer_id": "a",
            "event": "cart_add",
            "occurred_at": D(2024, 1, 1),
            "properties": '{"value": 25, "product_id": "p1"}',
        },
        {
            "event_id": "2",
            "customer_id": "a",
            "event": "cart_add",
            "occurred_at": D(2024, 1, 2),
            "properties": '{"value": 5, "product_id": "p2"}',
        },
        {
            "event_id": "3",
            "customer_id": "b",
            "event": "page_view",
            "occurred_at": D(2024, 1, 2),
            "properties": None,
        },
    ]
    ws = make_ws(
        """
traits:
  big_adds: {count: events, where: "event = 'cart_add' and properties.value > 10"}
  p1_adds: {count: events, where: "properties.product_id = 'p1'"}
""",
        {"customers": CUSTOMERS, "events": events},
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    assert (rows["a"]["big_adds"], rows["a"]["p1_adds"]) == (1, 1)
    assert (rows["b"]["big_adds"], rows["b"]["p1_adds"]) == (0, 0)


def _p_k_score(values: list[Any], value: Any, bins: int) -> int:
    """DESIGN.md section 6 read literally: P_k = smallest value whose cumulative share >= k/bins."""
    ordered = sorted(values)
    n = len(ordered)
    score = 1
    for k in range(1, bins):
        p_k = next(v for v in ordered if bins * sum(1 for w in ordered if w <= v) >= k * n)
        if value > p_k:
            score += 1
    return score


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3, 4, 5],
        [1, 1, 1, 1, 1],
        [1, 1, 2, 2, 3, 9, 9, 9],
        list(range(13)),
        [5, 3],
        [7],
        [0, 0, 0, 1, 100, 100, 2, 3, 3, 3, 3],
    ],
)
@pytest.mark.parametrize("bins", [2, 3, 5])
def test_quantile_score_equals_the_design_definition_of_p_k(make_ws, values, bins):
    customers = [{"customer_id": f"c{i:02d}", "income": v} for i, v in enumerate(values)]
    customers.append({"customer_id": "zz", "income": None})
    ws = make_ws(
        f"""
traits:
  s: {{score: income, bins: {bins}}}
  sd: {{score: income, bins: {bins}, descending: true}}
""",
        {"customers": customers},
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    for c in customers[:-1]:
        assert rows[c["customer_id"]]["s"] == _p_k_score(values, c["income"], bins)
        assert rows[c["customer_id"]]["sd"] == _p_k_score([-v for v in values], -c["income"], bins)
    assert rows["zz"]["s"] is None


def test_score_with_cuts_and_where(make_ws):
    customers = [{"customer_id": c, "income": v} for c, v in [("a", 0), ("b", 100), ("c", 101), ("d", 1000)]]
    ws = make_ws(
        """
traits:
  s: {score: income, cuts: [100, 500]}
  sd: {score: income, cuts: [100, 500], descending: true}
  sw: {score: income, bins: 2, where: "income > 0"}
""",
        {"customers": customers},
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    assert [rows[c]["s"] for c in "abcd"] == [1, 1, 2, 3]
    assert [rows[c]["sd"] for c in "abcd"] == [3, 3, 2, 1]
    assert [rows[c]["sw"] for c in "abcd"] == [None, 1, 1, 2]


def test_cumulative_and_total_are_exact_and_ordered_by_value_then_customer_id(make_ws):
    customers = [
        {"customer_id": c, "income": v}
        for c, v in [("a", Decimal("10.5")), ("b", Decimal("30")), ("c", Decimal("10.5")), ("d", None)]
    ]
    ws = make_ws(
        """
traits:
  before: {cumulative: income}
  before_asc: {cumulative: income, order: asc}
  total: {total: income}
""",
        {"customers": customers},
    )
    rows = _rows(run(ws, as_of="2024-12-31"))
    assert [rows[c]["before"] for c in "bacd"] == [0, Decimal("30"), Decimal("40.5"), Decimal("51")]
    assert [rows[c]["before_asc"] for c in "dacb"] == [0, 0, Decimal("10.5"), Decimal("21")]
    assert {rows[c]["total"] for c in "abcd"} == {Decimal("51")}


def test_design_section_5_example(make_ws):
    orders = [
        {"order_id": "1", "customer_id": "a", "ordered_at": D(2024, 3, 1), "amount": 6000},
        {"order_id": "2", "customer_id": "b", "ordered_at": D(2024, 2, 1), "amount": 700},
        {"order_id": "3", "customer_id": "c", "ordered_at": D(2024, 1, 1), "amount": 100},
        {"order_id": "4", "customer_id": "c", "ordered_at": D(2023, 12, 1), "amount": 100},
        {"order_id": "5", "customer_id": "c", "ordered_at": D(2023, 11, 1), "amount": 100},
    ]
    items = [
        {
            "order_id": "1",
            "line": 1,
            "customer_id": "a",
            "ordered_at": D(2024, 3, 1),
            "product_id": "p",
            "quantity": 1,
            "unit_price": 6000,
            "category": "tv",
        }
    ]
    events = [
        {"event_id": "e", "customer_id": "d", "event": "cart_add", "occurred_at": D(2024, 3, 30)},
        {"event_id": "f", "customer_id": "b", "event": "cart_add", "occurred_at": D(2024, 1, 30)},
    ]
    ws = make_ws(
        """
traits:
  revenue_365d:        {sum: orders.amount, within: 365d}
  orders_total:        {count: orders}
  last_order_at:       {max: orders.ordered_at}
  days_since_order:    {expr: "days_between(last_order_at, as_of)"}
  cart_adds_7d:        {count: events, where: "event = 'cart_add'", within: 7d}
  last_cart_add_at:    {max: events.occurred_at, where: "event = 'cart_add'"}
  orders_prev_90d:     {count: orders, between: [180d, 90d]}
  orders_90d:          {count: orders, within: 90d}
  top_category_365d:   {mode: order_items.category, within: 365d}
segments:
  big_spenders: {where: "revenue_365d >= 1000"}
  cart_abandoners:
    where: "cart_adds_7d > 0 and (last_order_at is null or last_order_at < last_cart_add_at)"
  top_20_percent: {where: "percent_rank(revenue_365d) >= 0.8"}
  slowing_down: {where: "orders_prev_90d >= 2 and orders_90d <= orders_prev_90d / 2"}
segmentations:
  value_tier:
    segments:
      - {name: vip, where: "revenue_365d >= 5000"}
      - {name: regular, where: "revenue_365d >= 500"}
    else: low
""",
        {"customers": CUSTOMERS, "orders": orders, "order_items": items, "events": events},
    )
    r = run(ws, as_of="2024-03-31")
    rows = _rows(r)
    assert rows["a"]["days_since_order"] == 30
    assert rows["a"]["top_category_365d"] == "tv"
    assert _members(r, "big_spenders") == {"a"}
    assert _members(r, "cart_abandoners") == {"d"}
    assert _members(r, "top_20_percent") == {"a"}
    # c: 2 orders in (as_of-180d, as_of-90d], 0 in the last 90 days
    assert _members(r, "slowing_down") == {"c"}
    assert _members(r, "value_tier.vip") == {"a"}
    assert _members(r, "value_tier.regular") == {"b"}
    assert _members(r, "value_tier.low") == {"c", "d"}


def test_aggregates_over_an_absent_table_are_empty_and_typed(make_ws):
    ws = make_ws(
        """
traits:
  tickets_n: {count: tickets}
  csat: {avg: tickets.csat}
  last_ticket: {max: tickets.opened_at}
segments:
  unhappy: {where: "csat < 3 or last_ticket > as_of or tickets_n > 0"}
""",
        {"customers": CUSTOMERS},
    )
    r = run(ws, as_of="2024-12-31")
    assert _rows(r)["a"] == {"customer_id": "a", "tickets_n": 0, "csat": None, "last_ticket": None}
    assert _members(r, "unhappy") == set()
