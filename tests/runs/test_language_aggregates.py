"""The second edition's aggregations (DESIGN.md 5.1) on DuckDB: hand-made cases for every edge of the text, and
random data against a plain-Python reference. `test_language_aggregates_spark.py` checks Spark gives the same."""

from __future__ import annotations

import calendar
import itertools
import json
import re
import shutil
import statistics
import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from engine_helpers import load_rows, write_definitions
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from segmentum.runs.execute import run
from segmentum.workspace import Workspace

D = datetime


def traits(ws: Workspace, as_of: Any) -> dict[str, dict[str, Any]]:
    result = run(ws, as_of=as_of, preview=True)
    return {r["customer_id"]: r for r in result.traits().to_dict(orient="records")}


def null(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def event(i: int, customer: str, name: str, at: datetime, props: dict[str, Any] | str | None = None) -> dict:
    text = props if isinstance(props, str) or props is None else json.dumps(props)
    return {
        "event_id": f"e{i:03d}",
        "customer_id": customer,
        "event": name,
        "occurred_at": at,
        "properties": text,
    }


# ------------------------------------------------------------------------------------ property columns

PROPERTY_TRAITS = """
traits:
  features: {count_distinct: events.properties.feature}
  feature_rows: {count: events.properties.feature}
  top_feature: {mode: events.properties.feature}
  first_feature: {first: events.properties.feature}
  last_feature: {last: events.properties.feature}
  min_feature: {min: events.properties.feature}
  value_sum: {sum: events.properties.value}
  value_avg: {avg: events.properties.value}
  value_median: {median: events.properties.value}
  value_p90: {percentile: {of: events.properties.value, p: 0.9}}
  value_sd: {stddev: events.properties.value}
  used_reports: {count_distinct: events.properties.feature, where: "event = 'feature_used'", within: 7d}
  top_used: {mode: events.properties.feature, where: "event = 'feature_used'", within: 7d}
  last_used: {last: events.properties.feature, where: "event = 'feature_used'"}
"""


def test_property_values_are_json_text_and_numbers_skip_what_is_not_a_number(make_ws) -> None:
    rows = [
        event(1, "a", "feature_used", D(2024, 1, 1), {"feature": "reports", "value": 10}),
        event(2, "a", "feature_used", D(2024, 1, 2), {"feature": "reports", "value": "2.5"}),
        event(3, "a", "feature_used", D(2024, 1, 3), {"feature": 7, "value": True}),
        event(4, "a", "page_view", D(2024, 1, 4), {"feature": {"k": [1, "x"]}, "value": "n/a"}),
        event(5, "a", "page_view", D(2024, 1, 5), {"feature": None, "value": None}),
        event(6, "a", "page_view", D(2024, 1, 6), {"value": "1e1"}),
        event(7, "a", "page_view", D(2024, 1, 7), {"feature": "", "value": " 3"}),
        # b: every value skipped, c: no events at all, d: properties null
        event(8, "b", "page_view", D(2024, 1, 1), {"feature": "x", "value": "ten"}),
        event(9, "b", "page_view", D(2024, 1, 2), {"feature": "y", "value": False}),
        event(10, "d", "page_view", D(2024, 1, 2), None),
    ]
    ws = make_ws(PROPERTY_TRAITS, {"customers": [{"customer_id": c} for c in "abcd"], "events": rows})
    got = traits(ws, "2024-01-07")
    a = got["a"]
    # text: strings without quotes, other values their compact JSON text; null and a missing key are null
    assert a["features"] == 4  # reports, 7, {"k":[1,"x"]}, ''
    assert a["feature_rows"] == 5
    assert a["top_feature"] == "reports"
    assert a["first_feature"] == "reports" and a["last_feature"] == ""
    assert a["min_feature"] == ""
    # numbers: 10, '2.5' and '1e1'; true, 'n/a', null, ' 3' are skipped
    assert a["value_sum"] == pytest.approx(22.5)
    assert a["value_avg"] == pytest.approx(7.5)
    assert a["value_median"] == pytest.approx(10.0)
    assert a["value_p90"] == pytest.approx(float(np.quantile([10, 2.5, 10], 0.9)))
    assert a["value_sd"] == pytest.approx(statistics.stdev([10, 2.5, 10]))
    assert a["used_reports"] == 2  # 'reports' and 7 among feature_used events
    assert a["top_used"] == "reports" and a["last_used"] == "7"  # a JSON number's text
    assert null(got["b"]["top_used"]) and null(got["b"]["last_used"])
    b = got["b"]
    assert b["features"] == 2 and b["top_feature"] == "x"  # a tie goes to the smallest value
    for name in ("value_sum", "value_avg", "value_median", "value_p90", "value_sd"):
        assert null(b[name]), name  # every value skipped: null
    for customer in ("c", "d"):
        assert got[customer]["features"] == 0 and got[customer]["feature_rows"] == 0
        assert null(got[customer]["value_sum"]) and null(got[customer]["top_feature"])


def test_property_traits_over_an_absent_events_table_are_empty(make_ws) -> None:
    ws = make_ws(PROPERTY_TRAITS, {"customers": [{"customer_id": "a"}]})
    got = traits(ws, "2024-01-07")["a"]
    assert got["features"] == 0 and null(got["value_sum"]) and null(got["top_feature"])


# ------------------------------------------------------------------------------- median, percentile, stddev

QUANTILE_TRAITS = """
traits:
  med: {median: orders.amount}
  p0: {percentile: {of: orders.amount, p: 0}}
  p25: {percentile: {of: orders.amount, p: 0.25}}
  p90: {percentile: {of: orders.amount, p: 0.9}, within: 365d}
  p100: {percentile: {of: orders.amount, p: 1}}
  sd: {stddev: orders.amount}
  sd_all: {stddev: orders.amount, all_orders: true}
"""


def order(i: int, customer: str, at: datetime, amount: str, status: str | None = None) -> dict[str, Any]:
    return {
        "order_id": f"o{i:03d}",
        "customer_id": customer,
        "ordered_at": at,
        "amount": Decimal(amount),
        "status": status,
    }


def test_median_percentile_and_stddev_interpolate_like_numpy(make_ws) -> None:
    amounts = ["1", "2", "3", "10", "0.001"]
    rows = [order(i, "a", D(2024, 1, 1 + i), x) for i, x in enumerate(amounts)]
    rows += [order(10, "a", D(2024, 1, 20), "500", "cancelled")]  # not a qualifying order
    rows += [order(20, "b", D(2024, 1, 1), "7")]  # one row
    rows += [order(30, "c", D(2024, 1, 1), "4"), order(31, "c", D(2024, 1, 2), "4")]  # ties
    ws = make_ws(QUANTILE_TRAITS, {"customers": [{"customer_id": c} for c in "abcd"], "orders": rows})
    got = traits(ws, "2024-02-01")
    values = [float(x) for x in amounts]
    a = got["a"]
    assert a["med"] == pytest.approx(float(np.median(values)))
    for name, p in (("p0", 0), ("p25", 0.25), ("p90", 0.9), ("p100", 1)):
        assert a[name] == pytest.approx(float(np.quantile(values, p))), name
    assert a["sd"] == pytest.approx(statistics.stdev(values))
    assert a["sd_all"] == pytest.approx(statistics.stdev([*values, 500.0]))
    assert got["b"]["med"] == 7 and got["b"]["p90"] == 7
    assert null(got["b"]["sd"])  # sample stddev: null for fewer than 2 rows
    assert got["c"]["sd"] == 0 and got["c"]["p25"] == 4
    for name in ("med", "p0", "p90", "sd"):
        assert null(got["d"][name]), name  # null over no rows
    assert isinstance(a["med"], float)


# ------------------------------------------------------------------------------------------ active_periods

PERIOD_TRAITS = """
traits:
  weeks: {active_periods: events, period: 1w, within: 4w, where: "event = 'login'"}
  months: {active_periods: events, period: 1m, within: 3m}
  two_days: {active_periods: events, period: 2d, within: 6d}
  years: {active_periods: events, period: 1y, within: 2y}
  order_months: {active_periods: orders, period: 1m, within: 2m}
segments:
  regular: {where: "weeks >= 3"}
"""


def test_active_periods_bounds_are_exact(make_ws) -> None:
    as_of = D(2024, 3, 31, 12, 0)
    rows = [
        # a: a login exactly at as_of - 1w is in period 1 (upper bound inclusive), a login exactly at
        # as_of - 4w is outside (lower bound exclusive); two logins in one period count once
        event(1, "a", "login", as_of),
        event(2, "a", "login", as_of - timedelta(days=7)),
        event(3, "a", "login", as_of - timedelta(days=7, microseconds=1)),
        event(4, "a", "login", as_of - timedelta(days=28)),
        event(5, "a", "page_view", as_of - timedelta(days=20)),  # not a login
        event(6, "a", "login", as_of + timedelta(microseconds=1)),  # after as_of: does not exist
        # b: months from 31 March clamp to the month's end: bounds 29 Feb, 31 Jan, 31 Dec (12:00)
        event(10, "b", "x", D(2024, 2, 29, 12, 0)),  # exactly as_of - 1m: period 1
        event(11, "b", "x", D(2024, 1, 31, 12, 0, 0, 1)),  # just after as_of - 2m: period 1
        event(12, "b", "x", D(2023, 12, 31, 12, 0)),  # exactly as_of - 3m: outside
        # c: as_of - 1y is 31 March 2023 12:00 (just after it: period 0), as_of - 2y 31 March 2022 (just after
        # it: period 1)
        event(20, "c", "x", D(2023, 3, 31, 12, 0, 0, 1)),
        event(21, "c", "x", D(2022, 3, 31, 12, 0, 0, 1)),
        event(22, "c", "x", D(2023, 3, 31, 12, 0)),  # exactly as_of - 1y: period 1 again
    ]
    orders = [
        order(1, "b", D(2024, 3, 1), "5"),
        order(2, "b", D(2024, 2, 1), "-5"),  # a refund: not a qualifying order
        order(3, "b", D(2024, 1, 30), "5", "returned"),
    ]
    ws = make_ws(
        PERIOD_TRAITS, {"customers": [{"customer_id": c} for c in "abcd"], "events": rows, "orders": orders}
    )
    got = traits(ws, as_of)
    assert got["a"]["weeks"] == 2
    assert got["a"]["two_days"] == 1  # only the login at as_of is within 6 days (the others are 7+ days back)
    assert got["b"]["months"] == 1
    assert got["b"]["order_months"] == 1
    assert got["c"]["years"] == 2
    assert got["c"]["months"] == 0
    assert got["d"]["weeks"] == 0 and got["d"]["months"] == 0  # no rows: 0, not null


def test_active_periods_over_an_absent_table_is_zero(make_ws) -> None:
    ws = make_ws(PERIOD_TRAITS, {"customers": [{"customer_id": "a"}]})
    got = traits(ws, "2024-03-31")["a"]
    assert got["weeks"] == 0 and got["order_months"] == 0


# ----------------------------------------------------------------------------------------------- sequence

SEQUENCE_TRAITS = """
traits:
  funnel: {sequence: ["event = 'cart_add'", "event = 'checkout'"], table: events, within: 30d, max_gap: 2d}
  funnel_any: {sequence: ["event = 'cart_add'", "event = 'checkout'"], table: events}
  three: {sequence: ["event = 'a'", "event = 'b'", "event = 'c'"], table: events, max_gap: 1d}
  same: {sequence: ["event = 'a' or event = 'b'", "event = 'b'"], table: events}
  month_gap: {sequence: ["event = 'm1'", "event = 'm2'"], table: events, max_gap: 1m}
segments:
  did_checkout_after_cart: {where: "funnel is not null"}
"""


def test_sequence_edges(make_ws) -> None:
    as_of = D(2024, 3, 31, 23, 59, 59, 999999)
    t0 = D(2024, 3, 10, 9, 0)
    rows = [
        # a: a checkout exactly max_gap after the cart_add completes the chain
        event(1, "a", "cart_add", t0),
        event(2, "a", "checkout", t0 + timedelta(days=2)),
        # b: one microsecond too late for max_gap, but a later cart_add starts a chain that completes
        event(10, "b", "cart_add", t0),
        event(11, "b", "checkout", t0 + timedelta(days=2, microseconds=1)),
        event(12, "b", "cart_add", t0 + timedelta(days=3)),
        event(13, "b", "checkout", t0 + timedelta(days=4)),
        # c: equal timestamps are not a chain (t1 < t2 strictly)
        event(20, "c", "cart_add", t0),
        event(21, "c", "checkout", t0),
        # d: the first step is outside `within` (as_of - 30d exclusive); funnel_any sees all history
        event(30, "d", "cart_add", as_of - timedelta(days=30)),
        event(31, "d", "checkout", as_of - timedelta(days=29)),
        # e: checkout before cart_add only
        event(40, "e", "checkout", t0),
        event(41, "e", "cart_add", t0 + timedelta(hours=1)),
        # f: three steps, each within 1 day of the previous; the earliest completion is taken
        event(50, "f", "a", t0),
        event(51, "f", "b", t0 + timedelta(hours=23)),
        event(52, "f", "c", t0 + timedelta(hours=47)),
        event(53, "f", "c", t0 + timedelta(hours=30)),
        # g: three steps whose middle gap is too long, then a good chain from a later `a`
        event(60, "g", "a", t0),
        event(61, "g", "b", t0 + timedelta(hours=1)),
        event(62, "g", "c", t0 + timedelta(days=2)),
        event(63, "g", "a", t0 + timedelta(days=3)),
        event(64, "g", "b", t0 + timedelta(days=3, hours=1)),
        event(65, "g", "c", t0 + timedelta(days=3, hours=2)),
        # h: one row matching both steps serves only one of them: a single 'b' is no chain, two are
        event(70, "h", "b", t0),
        event(80, "i", "b", t0),
        event(81, "i", "b", t0 + timedelta(hours=5)),
        # j: months clamp: 31 Jan + 1m = 29 Feb 2024 (included), 1 Mar is too late
        event(90, "j", "m1", D(2024, 1, 31, 8, 0)),
        event(91, "j", "m2", D(2024, 2, 29, 8, 0)),
        event(92, "k", "m1", D(2024, 1, 31, 8, 0)),
        event(93, "k", "m2", D(2024, 2, 29, 8, 0, 0, 1)),
        # l: a step after as_of does not exist
        event(100, "l", "cart_add", as_of - timedelta(hours=1)),
        event(101, "l", "checkout", as_of + timedelta(microseconds=1)),
    ]
    ws = make_ws(
        SEQUENCE_TRAITS, {"customers": [{"customer_id": c} for c in "abcdefghijklm"], "events": rows}
    )
    got = traits(ws, as_of)

    def ts(customer: str, name: str) -> datetime | None:
        value = got[customer][name]
        return None if null(value) else pd.Timestamp(value).to_pydatetime()

    assert ts("a", "funnel") == t0 + timedelta(days=2)
    assert ts("b", "funnel") == t0 + timedelta(days=4)
    assert ts("b", "funnel_any") == t0 + timedelta(days=2, microseconds=1)
    assert ts("c", "funnel") is None and ts("c", "funnel_any") is None
    assert ts("d", "funnel") is None and ts("d", "funnel_any") == as_of - timedelta(days=29)
    assert ts("e", "funnel_any") is None
    assert ts("f", "three") == t0 + timedelta(hours=30)
    assert ts("g", "three") == t0 + timedelta(days=3, hours=2)
    assert ts("h", "same") is None
    assert ts("i", "same") == t0 + timedelta(hours=5)
    assert ts("j", "month_gap") == D(2024, 2, 29, 8, 0)
    assert ts("k", "month_gap") is None
    assert ts("l", "funnel_any") is None
    assert ts("m", "funnel_any") is None
    members = run(ws, as_of=as_of, preview=True).memberships()
    assert set(members[members.name == "did_checkout_after_cart"].customer_id) == {"a", "b"}


def test_sequence_over_orders_and_items_sees_qualifying_orders_at_their_own_times(make_ws) -> None:
    t0 = D(2024, 3, 1, 10, 0)
    orders = [
        order(1, "a", t0, "5"),
        order(2, "a", t0 + timedelta(days=1), "50", "cancelled"),  # not qualifying: its items do not count
        order(3, "a", t0 + timedelta(days=2), "50"),
    ]
    items = [
        {
            "order_id": "o001",
            "line": 1,
            "customer_id": "a",
            "ordered_at": t0,
            "product_id": "p1",
            "quantity": Decimal(1),
            "unit_price": Decimal(5),
            "category": "shoes",
        },
        {
            "order_id": "o002",
            "line": 1,
            "customer_id": "a",
            "ordered_at": t0 + timedelta(days=1),
            "product_id": "p2",
            "quantity": Decimal(1),
            "unit_price": Decimal(50),
            "category": "socks",
        },
        {
            "order_id": "o003",
            "line": 1,
            "customer_id": "a",
            "ordered_at": t0 + timedelta(days=2, hours=3),
            "product_id": "p2",
            "quantity": Decimal(1),
            "unit_price": Decimal(50),
            "category": "socks",
        },
    ]
    text = """
traits:
  big_after_small: {sequence: ["amount < 10", "amount >= 10"], table: orders}
  socks_after_shoes: {sequence: ["category = 'shoes'", "category = 'socks'"], table: order_items, max_gap: 2d}
  socks_after_shoes_3d: {sequence: ["category = 'shoes'", "category = 'socks'"], table: order_items, max_gap: 3d}
"""
    ws = make_ws(text, {"customers": [{"customer_id": "a"}], "orders": orders, "order_items": items})
    got = traits(ws, "2024-03-31")["a"]
    assert pd.Timestamp(got["big_after_small"]).to_pydatetime() == t0 + timedelta(days=2)
    # the cancelled order's item (one day after) does not count; the next item is 2 days 3 hours after
    assert null(got["socks_after_shoes"])
    assert pd.Timestamp(got["socks_after_shoes_3d"]).to_pydatetime() == t0 + timedelta(days=2, hours=3)


# ---------------------------------------------------------------------------------- explain, preview, sql

SHOWCASE = """
traits:
  funnel: {sequence: ["event = 'cart_add'", "event = 'checkout'"], table: events, within: 30d, max_gap: 2d}
  weeks: {active_periods: events, period: 1w, within: 4w}
  features: {count_distinct: events.properties.feature}
  value_p90: {percentile: {of: events.properties.value, p: 0.9}}
  value_sd: {stddev: events.properties.value}
  value_med: {median: events.properties.value}
segments:
  engaged: {where: "funnel is not null and weeks >= 1 and features >= 1 and value_p90 > 0"}
"""


def _showcase(make_ws):  # noqa: ANN202 - Workspace
    t0 = D(2024, 3, 20)
    rows = [
        event(1, "a", "cart_add", t0, {"feature": "x", "value": 1}),
        event(2, "a", "checkout", t0 + timedelta(days=1), {"feature": "y", "value": 3}),
        event(3, "b", "cart_add", t0, {"feature": "x", "value": 1}),
    ]
    return make_ws(SHOWCASE, {"customers": [{"customer_id": c} for c in "ab"], "events": rows})


def test_explain_shows_the_values_of_the_new_aggregations(make_ws) -> None:
    from segmentum.runs.explain import explain

    ws = _showcase(make_ws)
    run(ws, as_of="2024-03-31")
    yes = explain(ws, "a", "engaged")
    assert yes.member
    assert yes.checks[0].values["features"] == 2 and yes.checks[0].values["weeks"] == 1
    assert pd.Timestamp(yes.checks[0].values["funnel"]).to_pydatetime() == D(2024, 3, 21)
    no = explain(ws, "b", "engaged")
    assert not no.member
    failed = [c for c in no.checks if not c.held]
    assert any(c.condition == "funnel is not null" for c in failed)


def test_preview_of_an_edited_sequence_lists_who_enters_and_leaves(make_ws) -> None:
    from segmentum.runs.preview import preview

    ws = _showcase(make_ws)
    run(ws, as_of="2024-03-31")
    edited = SHOWCASE.replace(
        """["event = 'cart_add'", "event = 'checkout'"]""", """["event = 'checkout'", "event = 'cart_add'"]"""
    )
    result = preview(ws, overrides={"definitions/test.yml": edited})
    assert result.changed == {"engaged": "edited"}
    change = result.segments[0]
    assert change.left == ["a"] and change.entered == []


@pytest.mark.parametrize("dialect", ["duckdb", "pyspark", "postgres"])
def test_sql_compiles_every_new_aggregation_for_every_dialect(make_ws, dialect: str) -> None:
    from segmentum.runs.execute import compiled_sql

    ws = _showcase(make_ws)
    text = compiled_sql(ws, None, dialect=dialect, as_of="2024-03-31")
    quantile = {"duckdb": "QUANTILE_CONT", "pyspark": "PERCENTILE", "postgres": "PERCENTILE_CONT"}[dialect]
    assert quantile in text.upper()
    assert "STDDEV_SAMP" in text.upper()
    # the bounds of the weekly periods (as_of - 1w .. as_of - 4w) are literals computed in Python
    for day in (24, 17, 10, 3):
        assert f"2024-03-{day:02d}T23:59:59.999999" in text or f"MAKE_TIMESTAMP(2024, 3, {day}, 23" in text
    assert "SEMI" in text.upper() or "EXISTS" in text.upper()  # the sequence's max_gap step


def test_the_dashboard_editor_validation_reports_the_loader_errors(make_ws) -> None:
    from segmentum.errors import DefinitionError

    ws = _showcase(make_ws)
    bad = SHOWCASE.replace("period: 1w, within: 4w", "period: 1w, within: 30d")
    with pytest.raises(DefinitionError, match=r"test.yml:4:\d+: .*same unit"):
        ws.definitions(overrides={"definitions/test.yml": bad})


# ----------------------------------------------------------------------------- random data vs a reference

AS_OF = D(2024, 3, 31, 12, 0)
CUSTOMERS = ["c0", "c1", "c2", "c3"]
PROPS = [
    None,
    "{}",
    '{"f": "a", "v": 1}',
    '{"f": "b", "v": "2.5"}',
    '{"f": "a", "v": true}',
    '{"f": 3, "v": -4}',
    '{"f": null, "v": "x"}',
    '{"f": "", "v": 10}',
    '{"f": [1, 2], "v": 0.5}',
    '{"v": "1e1"}',
]
NUMBER = re.compile(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?")

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(CUSTOMERS[:3]),
            # hours back from as_of, on a coarse grid so that ties and gaps exactly at max_gap occur
            "back": st.integers(0, 24 * 70).map(lambda h: h - h % 6),
            "event": st.sampled_from(["a", "b", "c"]),
            "props": st.sampled_from(PROPS),
        }
    ),
    max_size=18,
)
GAPS = [None, "1d", "2d", "1w"]
WITHINS = [None, "3d", "30d"]
PERIODS = [("1d", "7d"), ("1w", "8w"), ("1m", "2m")]


def _text(props: str | None, key: str) -> str | None:
    if props is None:
        return None
    data = json.loads(props)
    value = data.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _number(text: str | None) -> float | None:
    return float(text) if text is not None and NUMBER.fullmatch(text) else None


def _months_back(ts: datetime, months: int) -> datetime:
    index = ts.year * 12 + ts.month - 1 - months
    year, month = divmod(index, 12)
    return ts.replace(year=year, month=month + 1, day=min(ts.day, calendar.monthrange(year, month + 1)[1]))


def _shift(ts: datetime, amount: int, unit: str) -> datetime:
    if unit == "d":
        return ts - timedelta(days=amount)
    if unit == "w":
        return ts - timedelta(weeks=amount)
    return _months_back(ts, amount if unit == "m" else 12 * amount)


def _ref_periods(times: list[datetime], period: str, within: str) -> int:
    size, unit = int(period[:-1]), period[-1]
    n = int(within[:-1]) // size
    edges = [_shift(AS_OF, j * size, unit) for j in range(n + 1)]
    return len({k for t in times for k in range(n) if edges[k + 1] < t <= edges[k]})


def _ref_sequence(rows: list[dict[str, Any]], steps: list[str], within: str | None, gap: str | None) -> Any:
    low = None if within is None else AS_OF - timedelta(days=int(within[:-1]))
    seen = [r for r in rows if r["at"] <= AS_OF and (low is None or r["at"] > low)]
    limit = None if gap is None else timedelta(days=int(gap[:-1]) * (7 if gap[-1] == "w" else 1))
    best = None
    for chain in itertools.product(*[[r["at"] for r in seen if r["event"] == s] for s in steps]):
        ordered = all(a < b for a, b in itertools.pairwise(chain))
        close = limit is None or all(b <= a + limit for a, b in itertools.pairwise(chain))
        if ordered and close and (best is None or chain[-1] < best):
            best = chain[-1]
    return best


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    rows=rows_strategy,
    p=st.sampled_from([0.0, 0.1, 0.5, 0.75, 1.0]),
    steps=st.lists(st.sampled_from(["a", "b", "c"]), min_size=2, max_size=3),
    gap=st.sampled_from(GAPS),
    within=st.sampled_from(WITHINS),
    periods=st.sampled_from(PERIODS),
)
def test_random_data_matches_the_reference(rows, p, steps, gap, within, periods) -> None:
    folder = Path(tempfile.mkdtemp(prefix="segmentum-langagg-"))
    try:
        data = [
            {**r, "i": i, "at": AS_OF - timedelta(hours=r["back"]) + timedelta(hours=3)}
            for i, r in enumerate(rows)
        ]  # +3h: some rows fall after as_of and must not count
        quoted = ", ".join(f"\"event = '{s}'\"" for s in steps)
        seq = f"{{sequence: [{quoted}], table: events" + (f", within: {within}" if within else "")
        seq += (f", max_gap: {gap}" if gap else "") + "}"
        text = f"""
traits:
  distinct_f: {{count_distinct: events.properties.f}}
  mode_f: {{mode: events.properties.f}}
  sum_v: {{sum: events.properties.v}}
  med_v: {{median: events.properties.v}}
  pct_v: {{percentile: {{of: events.properties.v, p: {p}}}}}
  sd_v: {{stddev: events.properties.v, where: "event != 'c'"}}
  periods: {{active_periods: events, period: {periods[0]}, within: {periods[1]}, where: "event = 'a'"}}
  seq: {seq}
"""
        ws = Workspace.init(folder / "ws")
        write_definitions(ws, text)
        ws = Workspace(ws.root)
        try:
            load_rows(ws, "customers", [{"customer_id": c} for c in CUSTOMERS])
            load_rows(
                ws,
                "events",
                [event(r["i"], r["customer_id"], r["event"], r["at"], r["props"]) for r in data],
            )
            got = traits(ws, AS_OF)
            # a customer exists from their first row (DESIGN section 4): one whose rows all follow as_of is not in
            # the run
            later = {r["customer_id"] for r in data} - {r["customer_id"] for r in data if r["at"] <= AS_OF}
            assert set(got) == set(CUSTOMERS) - later
            for customer in sorted(got):
                mine = [r for r in data if r["customer_id"] == customer and r["at"] <= AS_OF]
                fs = [t for r in mine if (t := _text(r["props"], "f")) is not None]
                vs = [n for r in mine if (n := _number(_text(r["props"], "v"))) is not None]
                sd_vs = [
                    n
                    for r in mine
                    if r["event"] != "c" and (n := _number(_text(r["props"], "v"))) is not None
                ]
                counts = {f: fs.count(f) for f in fs}
                expected = {
                    "distinct_f": len(set(fs)),
                    "mode_f": min(f for f in counts if counts[f] == max(counts.values())) if fs else None,
                    "sum_v": sum(vs) if vs else None,
                    "med_v": float(np.median(vs)) if vs else None,
                    "pct_v": float(np.quantile(vs, p)) if vs else None,
                    "sd_v": statistics.stdev(sd_vs) if len(sd_vs) >= 2 else None,
                    "periods": _ref_periods([r["at"] for r in mine if r["event"] == "a"], *periods),
                    "seq": _ref_sequence(mine, steps, within, gap),
                }
                for name, want in expected.items():
                    value = got[customer][name]
                    if want is None:
                        assert null(value), (customer, name, value)
                    elif isinstance(want, float):
                        assert value == pytest.approx(want, rel=1e-9, abs=1e-12), (
                            customer,
                            name,
                            value,
                            want,
                        )
                    elif isinstance(want, datetime):
                        assert pd.Timestamp(value).to_pydatetime() == want, (customer, name, value, want)
                    else:
                        assert value == want, (customer, name, value, want)
        finally:
            ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_the_real_time_path_gives_a_touched_customer_the_batch_values(make_ws) -> None:
    """Real time evaluates only the touched customers with the same expression: none of the new aggregations
    depends on other customers, so a subset gives exactly the batch values."""
    from segmentum.compile.compiler import RunCompiler
    from segmentum.engine.duckdb import DuckDBEngine

    ws = _showcase(make_ws)
    as_of = D(2024, 3, 31, 23, 59, 59, 999999)
    batch = traits(ws, as_of)
    engine = DuckDBEngine(ws.store)
    compiled = RunCompiler(ws.definitions(), engine.tables(), as_of, customer_ids=["a"]).compile()
    rows = engine.execute_arrow(compiled.expr).to_pylist()
    assert [r["customer_id"] for r in rows] == ["a"]
    for name in ("funnel", "weeks", "features", "value_p90", "value_sd", "value_med"):
        left, right = rows[0][name], batch["a"][name]
        if isinstance(right, pd.Timestamp):
            right = right.to_pydatetime()
        assert left == pytest.approx(right) if isinstance(left, float) else left == right, name
