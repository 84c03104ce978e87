"""A batch run's sizes computed while it is written equal the sizes read back from the stored run."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from segmentum.runs.execute import run
from segmentum.runs.sizes import revenue_trait, segment_sizes
from segmentum.spec.loader import Definitions

SEGMENTS = """
segments:
  big: {where: "spent_365d >= 100"}
  nobody: {where: "spent_365d >= 1000000"}
  cancellers: {where: "cancels >= 1"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent_365d >= 500"}
      - {name: silver, where: "spent_365d >= 100"}
    else: bronze
"""
TRAITS = """
traits:
  spent_365d: {sum: orders.amount, within: 365d}
  cancels: {count: orders, where: "status = 'cancelled'", all_orders: true}
"""
REVENUE = "  revenue: {sum: orders.amount, description: what sizes count}\n"


def _order(i: int, customer: str, amount: float, day: datetime, status: str | None = None) -> dict:
    return {
        "order_id": f"o{i}",
        "customer_id": customer,
        "ordered_at": day,
        "amount": amount,
        "status": status,
    }


ORDERS = [
    _order(1, "a", 600, datetime(2024, 1, 5)),
    _order(2, "a", 80.5, datetime(2022, 3, 1)),  # outside the window: revenue, not spent_365d
    _order(3, "b", 150, datetime(2024, 1, 10)),
    _order(4, "b", 999, datetime(2024, 1, 11), "cancelled"),  # not qualifying: no revenue
    _order(5, "c", 50, datetime(2024, 1, 20)),
    _order(6, "c", -20, datetime(2024, 1, 21)),  # a refund: not qualifying
    _order(7, "d", 700, datetime(2024, 3, 1)),  # after as_of
    _order(8, "e", 120.25, datetime(2024, 1, 2), "returned"),
]


@pytest.fixture(params=["with a revenue trait", "without"])
def ws(request, make_ws):
    traits = TRAITS + (REVENUE if request.param == "with a revenue trait" else "")
    return make_ws(
        traits + SEGMENTS,
        {"customers": [{"customer_id": c} for c in "abcdef"], "orders": ORDERS},
    )


def test_the_sizes_of_a_run_equal_those_of_the_stored_run(ws):
    result = run(ws, as_of="2024-01-31")
    stored = segment_sizes(ws.store, result.run_id, ws.config.currency)
    assert len(stored) > 0 and stored["revenue"].sum() > 0
    pd.testing.assert_frame_equal(result.sizes, stored)
    later = run(ws, as_of="2024-12-31")  # d's order counts now
    pd.testing.assert_frame_equal(later.sizes, segment_sizes(ws.store, later.run_id, ws.config.currency))
    assert later.sizes.set_index("name")["revenue"].sum() != result.sizes.set_index("name")["revenue"].sum()


def test_only_a_plain_sum_of_order_amounts_is_revenue(make_ws):
    ws = make_ws(TRAITS + REVENUE.replace("revenue:", "zz_revenue:") + SEGMENTS)
    assert revenue_trait(ws.definitions()) == "zz_revenue"
    for other in (
        "{sum: orders.amount, within: 365d}",
        "{sum: orders.amount, all_orders: true}",
        "{sum: orders.amount, where: \"channel = 'web'\"}",
        "{sum: orders.amount, between: [60d, 30d]}",
        "{max: orders.amount}",
        "{sum: order_items.quantity}",
    ):
        (ws.root / "definitions" / "test.yml").write_text(f"traits:\n  r: {other}\n")
        defs: Definitions = ws.definitions()
        assert revenue_trait(defs) is None, other
