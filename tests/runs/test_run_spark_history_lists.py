"""Attribute history and static lists give the same members on DuckDB and Spark, row for row."""

from __future__ import annotations

from datetime import datetime

import pytest
from test_run_spark import _same_frames

from segmentum.runs.execute import run
from segmentum.service import lists

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
segments:
  large_company: {where: "employees >= 100"}
  reachable_big: {where: "spent >= 50 and not in_segment('dnc')"}
segmentations:
  geo:
    segments:
      - {name: us, where: "region = 'US'"}
      - {name: eu, where: "region = 'EU'"}
    else: unknown
"""


def test_history_and_lists_agree_on_duckdb_and_spark(make_ws) -> None:
    customers = [
        {"customer_id": f"c{i}", "region": ["US", "EU", None][i % 3], "employees": 10 * i} for i in range(12)
    ]
    orders = [
        {
            "order_id": f"o{i}",
            "customer_id": f"c{i % 12}",
            "ordered_at": datetime(2024, 1 + i % 6, 5),
            "amount": 20 + i,
        }
        for i in range(40)
    ]
    changes = [
        {"customer_id": "c1", "attribute": "region", "value": "EU", "changed_at": datetime(2024, 1, 1)},
        {"customer_id": "c1", "attribute": "region", "value": "US", "changed_at": datetime(2024, 4, 1)},
        {"customer_id": "c2", "attribute": "region", "value": "US", "changed_at": datetime(2024, 5, 1)},
        {"customer_id": "c5", "attribute": "employees", "value": "500", "changed_at": datetime(2024, 2, 1)},
        {"customer_id": "c11", "attribute": "employees", "value": "1", "changed_at": datetime(2024, 6, 30)},
    ]
    ws = make_ws(DEFINITIONS, {"customers": customers, "orders": orders, "customer_changes": changes})
    lists.add(ws, "dnc", ["c3", "c4", "nobody"])
    for as_of in ("2024-03-31", "2024-06-30"):
        duck = run(ws, as_of=as_of, engine="duckdb")
        spark = run(ws, as_of=as_of, engine="spark")
        _same_frames(duck.memberships(), spark.memberships())
    # the June run (every customer has ordered by then): c1 in the US since April, c2 since May, c11 small
    # since June 30, c5 large since February; the list's members that are customers
    june = duck.memberships()
    assert set(june[june["name"] == "dnc"]["customer_id"]) == {"c3", "c4"}
    geo = dict(june[june["segmentation"] == "geo"][["customer_id", "segment"]].itertuples(index=False))
    assert geo["c1"] == "us" and geo["c2"] == "us" and geo["c4"] == "eu"
    large = set(june[june["name"] == "large_company"]["customer_id"])
    assert large == {f"c{i}" for i in range(10, 11)} | {"c5"}
