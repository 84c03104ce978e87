"""Traits over `orders.days_since_previous` are aggregated apart from the other order traits, and when all of
them have a window, only the customers with an order in it are ordered (issue 16: the hand-written SQL's
shape). The values must stay those of the definition: the gap before each qualifying order to the qualifying
order before it, whenever that was, computed here by hand over random orders."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from segmentum.runs.execute import run

AS_OF = datetime(2024, 6, 30, 23, 59, 59, 999999)
DEFS = """
traits:
  gap_30d: {max: orders.days_since_previous, within: 30d}
  long_gaps_90d: {count: orders, where: "days_since_previous > 20", within: 90d}
  recent: {count: orders, within: 30d}
  spent: {sum: orders.amount}
"""
# with a gap trait without a window, every customer's orders are ordered (no shortcut): both shapes are checked
UNBOUNDED = (
    DEFS
    + """  firsts: {count: orders, where: "days_since_previous is null"}
"""
)


def _orders(rng: random.Random, ids: list[str]) -> list[dict]:
    rows = []
    for i in range(400):
        rows.append(
            {
                "order_id": f"o{i:04d}",
                "customer_id": rng.choice(ids),
                "ordered_at": AS_OF - timedelta(hours=rng.randrange(0, 400 * 24)),
                "amount": rng.choice([-5, 10, 20, 30]),
                "status": rng.choice([None, "paid", "cancelled", "returned"]),
            }
        )
    return rows


def _expected(orders: list[dict], ids: list[str]) -> dict[str, dict]:
    def qualifying(o: dict) -> bool:
        return o["amount"] >= 0 and (o["status"] is None or o["status"] not in ("cancelled", "returned"))

    out = {}
    for c in ids:
        rows = sorted(
            (o for o in orders if o["customer_id"] == c and qualifying(o)),
            key=lambda o: (o["ordered_at"], o["order_id"]),
        )
        gaps = [None] + [
            (b["ordered_at"].date() - a["ordered_at"].date()).days
            for a, b in zip(rows, rows[1:], strict=False)
        ]
        in30 = [g for o, g in zip(rows, gaps, strict=False) if o["ordered_at"] > AS_OF - timedelta(days=30)]
        in90 = [g for o, g in zip(rows, gaps, strict=False) if o["ordered_at"] > AS_OF - timedelta(days=90)]
        out[c] = {
            "gap_30d": max((g for g in in30 if g is not None), default=None),
            "long_gaps_90d": sum(1 for g in in90 if g is not None and g > 20),
            "recent": len(in30),
            "spent": sum(o["amount"] for o in rows) if rows else None,
            "firsts": 1 if rows else 0,  # read only where defined
        }
    return out


@pytest.mark.parametrize("definitions", [DEFS, UNBOUNDED], ids=["windowed", "unbounded"])
def test_gap_traits_equal_the_gaps_computed_by_hand(make_ws, definitions):
    rng = random.Random(16)
    ids = [f"c{i:02d}" for i in range(40)]
    orders = _orders(rng, ids)
    ws = make_ws(definitions, {"customers": [{"customer_id": c} for c in ids], "orders": orders})
    df = run(ws, as_of=AS_OF).traits()
    expected = _expected(orders, ids)
    names = [n for n in expected["c00"] if n in df.columns]
    got = {
        r["customer_id"]: {k: (None if r[k] is None or r[k] != r[k] else int(r[k])) for k in names}
        for r in df.to_dict(orient="records")
    }
    expected = {c: {k: v[k] for k in names} for c, v in expected.items()}
    assert got == expected
    # the data hold both kinds the shortcut separates: customers with and without an order in the 30 days
    assert any(v["recent"] for v in expected.values()) and any(
        not v["recent"] and v["spent"] for v in expected.values()
    )
