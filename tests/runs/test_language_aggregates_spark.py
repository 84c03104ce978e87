"""DuckDB and Spark agree row for row on the second edition's aggregations (DESIGN.md 5.1)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from segmentum.runs.execute import run

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DEFINITIONS = """
traits:
  features: {count_distinct: events.properties.feature}
  feature_rows: {count: events.properties.feature, where: "event = 'feature_used'"}
  top_feature: {mode: events.properties.feature, within: 30d}
  first_feature: {first: events.properties.feature}
  last_feature: {last: events.properties.feature}
  max_feature: {max: events.properties.feature}
  value_sum: {sum: events.properties.value}
  value_avg: {avg: events.properties.value, within: 14d}
  value_median: {median: events.properties.value}
  value_p90: {percentile: {of: events.properties.value, p: 0.9}}
  value_sd: {stddev: events.properties.value}
  order_median: {median: orders.amount, within: 365d}
  order_p10: {percentile: {of: orders.amount, p: 0.1}}
  order_p75: {percentile: {of: orders.amount, p: 0.75}, all_orders: true}
  order_sd: {stddev: orders.amount}
  item_p50: {percentile: {of: order_items.unit_price, p: 0.5}, where: "quantity >= 2"}
  login_days: {active_periods: events, period: 1d, within: 14d, where: "event = 'login'"}
  login_weeks: {active_periods: events, period: 1w, within: 8w, where: "event = 'login'"}
  order_months: {active_periods: orders, period: 1m, within: 12m}
  item_years: {active_periods: order_items, period: 1y, within: 2y, where: "category = 'a'"}
  funnel: {sequence: ["event = 'cart_add'", "event = 'checkout'"], table: events, within: 30d, max_gap: 2d}
  funnel_any: {sequence: ["event = 'cart_add'", "event = 'checkout'"], table: events}
  three: {sequence: ["event = 'login'", "event = 'cart_add'", "event = 'checkout'"], table: events, max_gap: 1w}
  valued: {sequence: ["properties.value > 20", "event = 'checkout'"], table: events, max_gap: 3d}
  monthly: {sequence: ["amount < 50", "amount >= 50"], table: orders, max_gap: 6m}
  items_seq: {sequence: ["category = 'a'", "category = 'b'"], table: order_items, within: 2y, max_gap: 6m}
  gap_days: {expr: "days_between(funnel_any, as_of)"}
segments:
  converted: {where: "funnel is not null and login_weeks >= 2"}
  power: {where: "features >= 3 or value_p90 > 40"}
segmentations:
  regularity:
    segments:
      - {name: weekly, where: "login_weeks >= 6"}
      - {name: sometimes, where: "login_weeks >= 2"}
    else: rarely
"""

VALUES = [1, 5, 25, 50, "2.5", "40", True, None, "n/a", -3, 0, 12.25, "7e1"]
FEATURES = ["reports", "dashboards", "api", "", 7, None, "Reports", [1, 2], {"k": "v"}]


def _data(seed: int, customers: int = 40) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    as_of = datetime(2024, 3, 31, 12, 0)
    ids = [f"c{i:03d}" for i in range(customers)]
    events = []
    for i in range(customers * 12):
        props: dict = {}
        if rng.random() < 0.8:
            props["feature"] = rng.choice(FEATURES)
        if rng.random() < 0.8:
            props["value"] = rng.choice(VALUES)
        events.append(
            {
                "event_id": f"e{i:05d}",
                "customer_id": rng.choice(ids),
                "event": rng.choice(["login", "cart_add", "checkout", "feature_used", "page_view"]),
                # on a 6-hour grid: ties, rows exactly at a period bound and gaps exactly at max_gap occur
                "occurred_at": as_of - timedelta(hours=6 * rng.randint(-2, 4 * 40)),
                "properties": None if rng.random() < 0.05 else json.dumps(props),
            }
        )
    orders, items = [], []
    for i in range(customers * 5):
        customer = rng.choice(ids)
        at = as_of - timedelta(days=rng.randint(-3, 800), hours=rng.choice([0, 12]))
        order_id = f"o{i:05d}"
        orders.append(
            {
                "order_id": order_id,
                "customer_id": customer,
                "ordered_at": at,
                "amount": rng.choice(
                    [Decimal("-10"), Decimal("0"), Decimal("9.99"), Decimal("50"), Decimal("120.5")]
                ),
                "status": rng.choice([None, "completed", "cancelled", "returned"]),
            }
        )
        for line in range(rng.randint(0, 3)):
            items.append(
                {
                    "order_id": order_id,
                    "line": line + 1,
                    "customer_id": customer,
                    "ordered_at": at,
                    "product_id": f"p{rng.randint(1, 4)}",
                    "quantity": Decimal(rng.choice([1, 2, 3])),
                    "unit_price": rng.choice([Decimal("1.5"), Decimal("10"), Decimal("0.001")]),
                    "category": rng.choice(["a", "b", "c", None]),
                }
            )
    customers_rows = [{"customer_id": c} for c in ids]
    return {"customers": customers_rows, "events": events, "orders": orders, "order_items": items}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for column in a.columns:
        for x, y in zip(a[column].tolist(), b[column].tolist(), strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if pd.isna(x) or pd.isna(y):
                    assert pd.isna(x) and pd.isna(y), (column, x, y)
                else:
                    assert abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(x))), (column, x, y)
            elif x is None or y is None or (not isinstance(x, str) and pd.isna(x)):
                assert (x is None or pd.isna(x)) and (y is None or pd.isna(y)), (column, x, y)
            else:
                assert x == y, (column, x, y)


def test_duckdb_and_spark_agree_on_the_new_aggregations(make_ws) -> None:
    ws = make_ws(DEFINITIONS, _data(seed=5))
    duck = run(ws, as_of=datetime(2024, 3, 31, 12, 0), engine="duckdb")
    spark = run(ws, as_of=datetime(2024, 3, 31, 12, 0), engine="spark")
    duck_traits, spark_traits = duck.traits(), spark.traits()
    _same(duck_traits, spark_traits)
    _same(duck.memberships(), spark.memberships())
    # the data exercises every construct: not all null, and the numbers not all equal
    for name in ("features", "value_p90", "value_sd", "order_sd", "item_p50", "login_weeks", "order_months"):
        assert duck_traits[name].nunique() > 1, name
    for name in (
        "funnel",
        "funnel_any",
        "three",
        "valued",
        "monthly",
        "items_seq",
        "top_feature",
        "max_feature",
    ):
        assert duck_traits[name].notna().sum() > 0, name
    assert spark.transitions.empty
