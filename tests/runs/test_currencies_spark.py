"""Currencies give the same traits and members on DuckDB and Spark, row for row and to the last digit: the
rate lookup, the half-even rounding of `amount * rate` and the skipping of orders without a rate."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from test_currencies import DEFINITIONS, ITEMS, MICRO, ORDERS, RATES, _money, _order, _reference
from test_run_spark import _same_frames

from segmentum.runs.execute import run

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _random_shop(seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    orders = [
        _order(
            f"r{i}",
            f"c{rng.randrange(30)}",
            datetime(2024, 1, 1) + timedelta(hours=rng.randrange(24 * 59)),
            # amounts and rates of six decimals whose products often end in a 5 at the 7th decimal
            f"{rng.randrange(-2000, 900000) / 1000:.3f}{rng.choice(['', '001', '003', '5'])}",
            rng.choice(["USD", "usd", None, "", "EUR", "eur", "GBP", "CHF"]),
            discount=Decimal(rng.randrange(0, 500)) / 100,
        )
        for i in range(400)
    ]
    rates = [
        {"currency": code, "day": date(2024, 1, 3) + timedelta(days=d), "rate": Decimal(rng.choice(choices))}
        for code, choices in (
            ("EUR", ["0.5", "1.5", "41.123457", "0.000003"]),
            ("GBP", ["1.25", "2.5", "0.75"]),
        )
        for d in sorted(rng.sample(range(55), 12))
    ]
    return orders, rates


def _frames(ws, as_of: str):
    duck = run(ws, as_of=as_of, engine="duckdb", preview=True).frame
    spark = run(ws, as_of=as_of, engine="spark", preview=True).frame
    assert duck is not None and spark is not None
    return duck.sort_values("customer_id").reset_index(drop=True), spark.sort_values(
        "customer_id"
    ).reset_index(drop=True)


def test_currencies_agree_on_duckdb_and_spark(make_ws) -> None:
    customers = [{"customer_id": c} for c in "abcdez"]
    ws = make_ws(
        DEFINITIONS, {"orders": ORDERS, "order_items": ITEMS, "customers": customers, "rates": RATES}
    )
    duck, spark = _frames(ws, "2024-03-01")
    _same_frames(duck, spark)
    orders, rates = _random_shop(17)
    other = make_ws(DEFINITIONS, {"orders": orders, "rates": rates}, name="random")
    for as_of in ("2024-01-20", "2024-03-01"):
        duck, spark = _frames(other, as_of)
        _same_frames(duck, spark)
        # exact decimals, not floats within a tolerance
        assert [str(v) for v in duck["spent"]] == [str(v) for v in spark["spent"]]
    # at the end of the data both equal the plain-Python reference, over data where ties do occur
    expected = _reference(orders, rates)
    for row in spark.to_dict("records"):
        assert _money(row["spent"]) == expected.get(row["customer_id"], (None,))[0], row["customer_id"]
    ties = 0
    for o in orders:
        code = (o["currency"] or "").upper()
        known = [r for r in rates if r["currency"] == code and r["day"] <= o["ordered_at"].date()]
        if known and abs(o["amount"] * max(known, key=lambda r: r["day"])["rate"]) % MICRO == MICRO / 2:
            ties += 1
    assert ties >= 3  # conversions that end exactly half-way at the 7th decimal
