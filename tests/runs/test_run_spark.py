"""DuckDB and Spark give identical traits and memberships, row for row, on the same definitions and data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from segmentum.runs.execute import run

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BROAD = """
traits:
  revenue_365d:        {sum: orders.amount, within: 365d}
  orders_total:        {count: orders}
  channels:            {count_distinct: orders.channel}
  avg_order:           {avg: orders.amount}
  first_order_at:      {min: orders.ordered_at}
  last_order_at:       {max: orders.ordered_at}
  first_channel:       {first: orders.channel}
  last_channel:        {last: orders.channel, all_orders: true}
  days_since_order:    {expr: "days_between(last_order_at, as_of)"}
  cart_adds_7d:        {count: events, where: "event = 'cart_add'", within: 7d}
  big_cart_adds:       {count: events, where: "event = 'cart_add' and properties.value > 20"}
  last_cart_add_at:    {max: events.occurred_at, where: "event = 'cart_add'"}
  orders_prev_90d:     {count: orders, between: [180d, 90d]}
  orders_90d:          {count: orders, within: 90d}
  orders_3m:           {count: orders, within: 3m}
  top_category_365d:   {mode: order_items.category, within: 365d}
  items_value:         {sum: order_items.unit_price, where: "quantity >= 2"}
  max_gap:             {max: orders.days_since_previous}
  refunds:             {sum: orders.amount, where: "amount < 0", all_orders: true}
  ratio:               {expr: "revenue_365d / orders_total"}
  by_zero:             {expr: "orders_total / 0"}
  pr:                  {expr: "percent_rank(revenue_365d)"}
  nt:                  {expr: "ntile(revenue_365d, 4)"}
  rounded:             {expr: "round(avg_order, 2)"}
  income_score:        {score: income, bins: 4}
  revenue_score:       {score: revenue_365d, cuts: [10, 100, 1000], descending: true}
  cum:                 {cumulative: revenue_365d, where: "revenue_365d > 0"}
  tot:                 {total: revenue_365d}
  tags:                {expr: "coalesce(lower(country), 'none')"}
segments:
  big_spenders: {where: "revenue_365d >= 1000"}
  cart_abandoners:
    where: "cart_adds_7d > 0 and (last_order_at is null or last_order_at < last_cart_add_at)"
  top_20_percent: {where: "percent_rank(revenue_365d) >= 0.8"}
  slowing_down: {where: "orders_prev_90d >= 2 and orders_90d <= orders_prev_90d / 2"}
  named: {where: "country in ('UA', 'PL') and not (income between 10 and 20) or country like 'D%'"}
  pareto: {where: "100 * cum < 80 * tot"}
  vip_or_named: {where: "in_segment('value_tier.vip') or in_segment('named')"}
segmentations:
  value_tier:
    segments:
      - {name: vip, where: "revenue_365d >= 5000"}
      - {name: regular, where: "revenue_365d >= 500"}
    else: low
"""


def _data(seed: int = 7, customers: int = 60) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1)
    cust = [
        {
            "customer_id": f"c{i:03d}",
            "country": rng.choice(["UA", "PL", "DE", None]),
            "income": rng.choice([None, 5, 10, 15, 20, 25]),
            "created_at": rng.choice([None, start, datetime(2025, 1, 1)]),
        }
        for i in range(customers)
    ]
    orders, items, events = [], [], []
    for i in range(customers * 5):
        c = rng.choice(cust)["customer_id"]
        ts = start + timedelta(days=rng.randint(0, 560), hours=rng.choice([0, 9, 23]))
        amount = rng.choice(
            [Decimal("-20"), Decimal("0"), Decimal("9.99"), Decimal("100.001"), Decimal("2500.5")]
        )
        order_id = f"o{i:05d}"
        orders.append(
            {
                "order_id": order_id,
                "customer_id": c,
                "ordered_at": ts,
                "amount": amount,
                "status": rng.choice([None, "completed", "cancelled", "returned"]),
                "channel": rng.choice([None, "web", "app", "store"]),
            }
        )
        for line in range(rng.randint(0, 2)):
            items.append(
                {
                    "order_id": order_id,
                    "line": line + 1,
                    "customer_id": c,
                    "ordered_at": ts,
                    "product_id": f"p{rng.randint(1, 5)}",
                    "quantity": rng.choice([1, 2, 3]),
                    "unit_price": rng.choice([Decimal("1.5"), Decimal("10"), Decimal("0.001")]),
                    "category": rng.choice(["a", "b", "c", None]),
                }
            )
    for i in range(customers * 4):
        c = rng.choice(cust)["customer_id"]
        ts = start + timedelta(days=rng.randint(500, 560), minutes=rng.randint(0, 2000))
        events.append(
            {
                "event_id": f"e{i:05d}",
                "customer_id": c,
                "event": rng.choice(["cart_add", "page_view"]),
                "occurred_at": ts,
                "properties": f'{{"value": {rng.choice([5, 25, 50])}}}',
            }
        )
    return {"customers": cust, "orders": orders, "order_items": items, "events": events}


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for column in a.columns:
        left, right = a[column].tolist(), b[column].tolist()
        for x, y in zip(left, right, strict=True):
            if isinstance(x, float) or isinstance(y, float):
                if pd.isna(x) or pd.isna(y):
                    assert pd.isna(x) and pd.isna(y), (column, x, y)
                else:
                    assert abs(float(x) - float(y)) <= 1e-9 * max(1.0, abs(float(x))), (column, x, y)
            elif x is None or y is None or (not isinstance(x, str) and pd.isna(x)):
                assert (x is None or pd.isna(x)) and (y is None or pd.isna(y)), (column, x, y)
            else:
                assert x == y, (column, x, y)


def test_duckdb_and_spark_agree_row_for_row_on_a_broad_set_of_definitions(make_ws):
    ws = make_ws(BROAD, _data(), builtins=["rfm", "abc", "lifecycle"])
    duck = run(ws, as_of="2024-07-14", engine="duckdb")
    spark = run(ws, as_of="2024-07-14", engine="spark")
    _same_frames(duck.traits(), spark.traits())
    _same_frames(duck.memberships(), spark.memberships())
    assert spark.transitions.empty  # same definitions, same data: nothing moved
    assert len(duck.memberships()) > 0


def test_spark_engine_is_recorded_and_sizes_match(make_ws):
    ws = make_ws(BROAD, _data(seed=11, customers=30), builtins=["rfm"])
    spark = run(ws, as_of="latest", engine="spark")
    duck = run(ws, as_of="latest", engine="duckdb")
    assert spark.engine == "spark"
    assert spark.sizes.to_dict(orient="records") == duck.sizes.to_dict(orient="records")
