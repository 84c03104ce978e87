"""DuckDB = Spark, row for row, on the second-edition functions: grouped ranks, calendar, if, was_in_segment
(whose past run may itself have run on either engine)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from engine_helpers import load_rows
from test_run_spark import _same_frames

from segmentum.runs.execute import run

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DEFS = """
traits:
  revenue: {sum: orders.amount}
  first_order_at: {min: orders.ordered_at}
  last_order_at: {max: orders.ordered_at}
  prb: {expr: "percent_rank_by(revenue, country)"}
  ntb: {expr: "ntile_by(revenue, 3, country)"}
  y: {expr: "year(last_order_at)"}
  mo: {expr: "month(first_order_at)"}
  dy: {expr: "day(last_order_at)"}
  wd: {expr: "weekday(last_order_at)"}
  hr: {expr: "hour(last_order_at)"}
  tw: {expr: "date_trunc('week', last_order_at)"}
  tq: {expr: "date_trunc('quarter', first_order_at)"}
  tm: {expr: "date_trunc('month', first_order_at)"}
  ty: {expr: "date_trunc('year', first_order_at)"}
  td: {expr: "date_trunc('day', last_order_at)"}
  tb: {expr: "date_trunc('month', born)"}
  hb: {expr: "hours_between(first_order_at, last_order_at)"}
  band: {expr: "if(revenue > 100, 'high', 'low')"}
  mixed: {expr: "if(revenue > 100, revenue, 0.5)"}
  weekend_orders: {count: orders, where: "weekday(ordered_at) >= 6"}
segments:
  top_third_in_country: {where: "ntile_by(revenue, 3, country) = 3"}
  top_in_country: {where: "percent_rank_by(revenue, country) >= 0.75"}
  was_big: {where: "was_in_segment('big', 30d)"}
  was_top: {where: "was_in_segment('tier.top', 1m)"}
  big: {where: "revenue > 100"}
segmentations:
  tier:
    segments:
      - {name: top, where: "revenue > 200"}
    else: rest
"""


def _data(seed: int = 5, customers: int = 40) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    start = datetime(2023, 1, 1)
    cust = [
        {
            "customer_id": f"c{i:03d}",
            "country": rng.choice(["UA", "PL", "DE", None]),
            "born": rng.choice([None, datetime(1990, 5, 17, 13, 0), datetime(2001, 12, 31, 23, 59, 59)]),
        }
        for i in range(customers)
    ]
    orders = []
    for i in range(customers * 4):
        c = rng.choice(cust)["customer_id"]
        ts = start + timedelta(
            days=rng.randint(0, 560), seconds=rng.randint(0, 86399), microseconds=rng.choice([0, 1, 999999])
        )
        orders.append(
            {
                "order_id": f"o{i:05d}",
                "customer_id": c,
                "ordered_at": ts,
                "amount": rng.choice(
                    [Decimal("0"), Decimal("9.99"), Decimal("50"), Decimal("100.001"), Decimal("150")]
                ),
                "status": None,
            }
        )
    return {"orders": orders, "customers": cust}


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_id", ignore_index=True)  # a preview's rows come in the engine's order


def test_duckdb_and_spark_agree_row_for_row_on_the_new_functions(make_ws) -> None:
    data = _data()
    ws = make_ws(DEFS, {"orders": data["orders"]})
    load_rows(ws, "customers", data["customers"], types={"born": "TIMESTAMP"})
    # the past runs was_in_segment reads: one on each engine
    run(ws, as_of="2024-03-31", engine="spark")
    run(ws, as_of="2024-05-31", engine="duckdb")
    for as_of in ("2024-05-01", "2024-07-14"):
        duck = run(ws, as_of=as_of, engine="duckdb", preview=True)
        spark = run(ws, as_of=as_of, engine="spark", preview=True)
        _same_frames(_sorted(duck.traits()), _sorted(spark.traits()))
        _same_frames(duck.memberships(), spark.memberships())
        assert len(duck.memberships("was_big")) > 0  # history was read
    assert len(duck.memberships("top_third_in_country")) > 0
