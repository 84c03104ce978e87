"""Real time after a batch run of some definitions only (`run --only`, `backfill --only`): the population
values of the other definitions come from the newest batch run that computed them (issue 14 item 9: every
micro-batch failed with `unsupported operand type(s) for +: 'IntegerColumn' and 'NullColumn'`)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from engine_helpers import write_definitions

from segmentum.runs.backfill import backfill
from segmentum.runs.execute import run
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

DEFS = """
traits:
  spent: {sum: orders.amount}
  n: {count: orders}
  half: {expr: "ntile(spent, 2)"}
  points: {expr: "half + n"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "points >= 4"}
      - {name: silver, where: "points >= 3"}
    else: bronze
  busy:
    segments:
      - {name: often, where: "n >= 3"}
    else: seldom
"""
CUSTOMERS = [f"c{i:02d}" for i in range(12)]
TOUCHED = ["c00", "c03", "c07", "c11"]


def _orders() -> list[dict]:
    rows = []
    for i, customer in enumerate(CUSTOMERS):
        for k in range(1 + i % 4):  # 1 to 4 orders, on different days and amounts
            rows.append(
                {
                    "order_id": f"o{i}-{k}",
                    "customer_id": customer,
                    "ordered_at": datetime(2024, 1 + (i + k) % 3, 1 + (7 * i + 3 * k) % 27),
                    "amount": 10 + (37 * i + 11 * k) % 200,
                }
            )
    return rows


@pytest.fixture
def ws(make_ws) -> Workspace:
    return make_ws(
        DEFS,
        {"customers": [{"customer_id": c} for c in CUSTOMERS], "orders": _orders()},
        builtins=["rfm", "value"],
    )


def _rows(memberships: pd.DataFrame, customers: list[str]) -> list[tuple[str, str]]:
    mine = memberships[memberships.customer_id.isin(customers)]
    return sorted(zip(mine.customer_id, mine.name, strict=True))


def test_a_micro_batch_after_an_only_run_gives_the_memberships_of_a_full_batch(ws: Workspace) -> None:
    full = run(ws, as_of="2024-03-31")
    only = run(ws, as_of="2024-03-31", only=["busy"])
    assert snapshot.latest_run(ws.store).run_id == only.run_id  # the run --only is the latest
    assert "rfm_score" not in snapshot.traits(ws.store, only.run_id).columns

    rt = run(ws, as_of="2024-03-31", customers=TOUCHED)

    assert rt.status == "complete" and rt.kind == "realtime"
    # nothing changed since the full run, at the same as_of: a full batch's answer for these customers
    assert _rows(rt.memberships(), TOUCHED) == _rows(full.memberships(), TOUCHED)
    assert {n for _, n in _rows(rt.memberships(), TOUCHED)} >= {"tier.gold", "busy.often"}
    expected = full.traits(TOUCHED).set_index("customer_id")
    got = rt.traits().set_index("customer_id")
    for trait in ("half", "points", "rfm_r", "rfm_f", "rfm_m", "rfm_score"):
        assert got[trait].tolist() == expected[trait].tolist(), trait


def test_a_micro_batch_after_a_backfill_with_only(ws: Workspace) -> None:
    full = run(ws, as_of="2024-03-31")
    history = backfill(ws, date(2024, 1, 1), date(2024, 3, 31), "1m", only=["busy"])
    assert snapshot.latest_run(ws.store).run_id == history[-1].run_id

    rt = run(ws, as_of="2024-03-31", customers=TOUCHED)

    assert _rows(rt.memberships(), TOUCHED) == _rows(full.memberships(), TOUCHED)


def test_population_values_come_from_the_newest_run_that_computed_them(ws: Workspace) -> None:
    january = run(ws, as_of="2024-01-31")
    march = run(ws, as_of="2024-03-31", only=["rfm"])
    sources = snapshot.population_sources(ws.store, ["customer_id", "half", "rfm_r", "not_a_column"])
    assert sources == {march.run_id: ["customer_id", "rfm_r"], january.run_id: ["half"]}


def test_a_population_trait_no_batch_run_computed_is_a_typed_null(ws: Workspace) -> None:
    run(ws, as_of="2024-03-31")
    # a new population trait, and a trait doing arithmetic on it, added after the last batch run
    edited = DEFS.replace(
        '  points: {expr: "half + n"}\n',
        '  points: {expr: "half + n"}\n  quarter: {expr: "ntile(spent, 4)"}\n  later: {expr: "quarter + n"}\n',
    )
    edited += 'segments:\n  early: {where: "later >= 2"}\n'
    write_definitions(ws, edited, ["rfm", "value"])

    rt = run(ws, as_of="2024-03-31", customers=TOUCHED, definitions=Workspace(ws.root).definitions())

    traits = rt.traits()
    # unknown until a batch run computes it over everyone; never computed over the four customers
    assert traits["quarter"].isna().all() and traits["later"].isna().all()
    assert rt.memberships("early").empty  # a comparison with null is false
