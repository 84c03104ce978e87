"""The order rows a server holds in memory by customer (`runs.held_rows`, issue 20): a micro-batch that gathers
its customers' orders and items from them stages exactly what the scan stages, so its traits and memberships
equal a full evaluation's; a table that changed is scanned until it is loaded again, a server forgets them at
an ingest, and rows over the budget are never held."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from segmentum.runs.execute import run
from segmentum.runs.held_rows import HeldRows, _gather, _read
from segmentum.runs.realtime import Evaluator
from segmentum.store.identities import link
from segmentum.workspace import Workspace

DEFS = """
traits:
  paid: {sum: orders.amount, where: "status = 'paid'"}
  orders_n: {count: orders}
  units: {sum: order_items.quantity}
  kinds: {count_distinct: order_items.category}
  pages: {count: events}
segments:
  buyer: {where: "paid >= 100"}
  many: {where: "orders_n >= 5"}
"""
T0 = datetime(2024, 3, 31, 12)
# a Cyrillic id and one that is another's prefix: the held ids are searched as UTF-8 bytes
CUSTOMERS = [f"c{i}" for i in range(1, 41)] + ["клієнт-1", "anon-1"]
TOUCHED = ["c1", "c4", "c10", "клієнт-1", "newcomer", "a-much-longer-id-than-any-stored-one"]
BIG = 1 << 30  # bytes: everything fits


def _tables() -> dict[str, list[dict[str, Any]]]:
    orders, items = [], []
    for n, customer in enumerate(CUSTOMERS):
        for k in range(n % 7):  # c7, c14, ... none
            order = {
                "order_id": f"o{n}-{k}",
                "customer_id": customer,
                "ordered_at": datetime(2024, 1, 1) + timedelta(days=n + 3 * k),
                "amount": 10 + (n * 7 + k * 13) % 90,
                "status": "cancelled" if (n + k) % 4 == 0 else "paid",
            }
            orders.append(order)
            for line in range(1 + k % 3):
                items.append(
                    {
                        "order_id": order["order_id"],
                        "customer_id": customer,
                        "ordered_at": order["ordered_at"],
                        "product_id": f"p{line}",
                        "quantity": 1 + line,
                        "unit_price": 5,
                        "category": ["toys", "books", "garden"][(n + line) % 3],
                    }
                )
    # c4's item in an order of c10, a customer the micro-batch may not touch (its qualifying order is fetched)
    items.append({**items[-1], "customer_id": "c4", "product_id": "q", "quantity": 9} | {"order_id": "o9-0"})
    return {
        "customers": [{"customer_id": c} for c in CUSTOMERS],
        "orders": orders,
        "order_items": items,
        "events": [
            {
                "event_id": f"e{i}",
                "customer_id": c,
                "event": "page",
                "occurred_at": datetime(2024, 3, 1 + i % 20),
            }
            for i, c in enumerate(CUSTOMERS * 2)
        ],
    }


@pytest.fixture
def ws(make_ws) -> Workspace:
    ws = make_ws(DEFS, _tables())
    link(ws.store, "anon-1", "c10", T0 - timedelta(days=3))  # anon-1's orders are c10's
    run(ws, as_of=T0 - timedelta(days=1))  # the batch run real time builds on
    return ws


def _frame(df: pd.DataFrame) -> list[dict]:
    df = df.sort_values("customer_id").reset_index(drop=True).astype(object)
    return df.where(df.notna(), None).to_dict("records")


def _equals_full_evaluation(evaluator: Evaluator, touched: list[str], as_of: datetime) -> None:
    ws = evaluator.ctx
    result = evaluator.evaluate(touched, as_of)
    full = run(ws, as_of=as_of, preview=True)
    columns = ["customer_id", "paid", "orders_n", "units", "kinds", "pages"]
    assert _frame(result.traits(touched)[columns]) == _frame(full.traits(touched)[columns])
    got, expected = result.memberships(), full.memberships()
    expected = expected[expected.customer_id.isin(touched)]
    assert sorted(zip(got.customer_id, got.name, strict=True)) == sorted(
        zip(expected.customer_id, expected.name, strict=True)
    )


def _held(ws: Workspace, budget: int = BIG) -> tuple[Evaluator, HeldRows]:
    held = HeldRows(ws.store, budget)
    return Evaluator(ws, held=held), held


def test_a_micro_batch_gathering_the_held_rows_equals_a_full_evaluation(ws: Workspace) -> None:
    """The first micro-batch scans and asks for the rows; once they are loaded, micro-batches gather the
    orders and items of their customers (and of the aliases linked to them) from memory, with the same
    result as a full evaluation: a Cyrillic id, a customer without orders, an id the store never saw."""
    evaluator, held = _held(ws)
    _equals_full_evaluation(evaluator, TOUCHED, T0)
    assert evaluator.gathered == ()
    with_customer = "SELECT count(*) FROM main.{} WHERE customer_id IS NOT NULL"
    assert held.wait(30) == {
        t: ws.store.query(with_customer.format(t))[0][0] for t in ("orders", "order_items")
    }
    assert held.loads == 2
    for touched in (TOUCHED, ["c10"], ["anon-1", "c4"], CUSTOMERS):
        _equals_full_evaluation(evaluator, touched, T0 + timedelta(minutes=5))
        assert evaluator.gathered == ("order_items", "orders")
    assert held.loads == 2  # nothing loaded again


# what each change does to c4's orders: one more, one less, the same number in a new table with amounts doubled
CHANGES = {
    "appended": "INSERT INTO main.orders BY NAME SELECT 'o-new' AS order_id, 'c4' AS customer_id, "
    "TIMESTAMP '2024-03-01' AS ordered_at, 500 AS amount, 'paid' AS status",
    "deleted": "DELETE FROM main.orders WHERE order_id = 'o3-0'",
    "replaced": "CREATE OR REPLACE TABLE main.orders AS SELECT * REPLACE "
    "(CASE WHEN customer_id = 'c4' THEN amount * 2 ELSE amount END AS amount) FROM main.orders",
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_table_changed_since_its_rows_were_held_is_scanned_until_loaded_again(
    ws: Workspace, change: str
) -> None:
    evaluator, held = _held(ws)
    evaluator.evaluate(["c4"], T0)
    assert held.wait(30)
    before = ws.store.query("SELECT count(*), sum(amount) FROM main.orders")
    ws.store.cursor().execute(CHANGES[change])
    assert ws.store.query("SELECT count(*), sum(amount) FROM main.orders") != before
    as_of = T0 + timedelta(minutes=5)
    _equals_full_evaluation(evaluator, ["c4", "c10"], as_of)
    assert "orders" not in evaluator.gathered  # scanned: the held rows are out of date
    held.wait(30)
    _equals_full_evaluation(evaluator, ["c4", "c10"], as_of)
    assert evaluator.gathered == ("order_items", "orders")


def test_a_server_holds_no_rows_while_it_ingests_and_loads_them_again_after(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upsert keeps the number of orders but changes one: while the ingest runs the server holds, serves and
    loads no rows (a load then would read the orders as they were); its next micro-batch scans and asks for
    them again."""
    from segmentum.ingest import load as load_mod
    from segmentum.service.runtime import Runtime

    runtime = Runtime(ws, realtime=False)
    assert runtime.held is not None and runtime.evaluator.held is runtime.held
    runtime._evaluate(["c2"], T0)
    assert runtime.held.wait(30)
    during: list[Any] = []
    real_ingest = load_mod.ingest

    def ingest(*args: Any, **kwargs: Any) -> Any:
        report = real_ingest(*args, **kwargs)
        assert runtime.held is not None
        runtime.held.request(runtime.evaluator.staged_columns(""))  # what a micro-batch asks: refused
        during.append((runtime.held.held(), runtime.held.status()["loading"]))
        return report

    monkeypatch.setattr(load_mod, "ingest", ingest)
    (amount,) = ws.store.query("SELECT amount FROM main.orders WHERE order_id = 'o1-0'")[0]
    source = tmp_path / "orders.csv"
    source.write_text(
        f"order_id,customer_id,ordered_at,amount,status\no1-0,c2,2024-01-02 00:00:00,{amount + 1000},paid\n"
    )
    count = ws.store.query("SELECT count(*) FROM main.orders")[0][0]
    runtime.command("ingest", {"table": "orders", "path": str(source), "mode": "upsert"})
    assert ws.store.query("SELECT count(*) FROM main.orders")[0][0] == count
    assert during == [({}, False)]
    assert runtime.held.held() == {}
    result = runtime._evaluate(["c2"], T0 + timedelta(minutes=5))
    assert runtime.evaluator.gathered == ()
    paid = result.traits(["c2"])["paid"].iloc[0]
    assert paid == run(ws, as_of=T0 + timedelta(minutes=5), preview=True).traits(["c2"])["paid"].iloc[0]
    assert paid >= 1000
    assert runtime.held.wait(30)


def test_rows_over_the_budget_are_not_held_and_not_read_again(ws: Workspace) -> None:
    evaluator, held = _held(ws, budget=1_000)
    _equals_full_evaluation(evaluator, TOUCHED, T0)
    assert held.wait(30) == {}
    _equals_full_evaluation(evaluator, TOUCHED, T0)
    assert evaluator.gathered == ()
    assert held.loads == 0 and held._loading is not None and not held._loading.is_alive()
    loading = held._loading
    evaluator.evaluate(["c4"], T0)
    assert held._loading is loading  # refused: not read again until the rows are forgotten


def test_the_gather_finds_exactly_the_customers_asked_for(ws: Workspace) -> None:
    """Ids searched as fixed-width bytes: a prefix of a stored id, a longer one, an unknown one, none at all."""
    cur = ws.store.cursor()
    held = _read(cur, "orders", ("order_id", "customer_id", "amount"))
    for keys in (["c1"], ["c1", "c10", "c2"], ["c", "c1000", "zzz", "клієнт-1"], [], ["a" * 200]):
        expected = cur.execute(
            "SELECT order_id, customer_id, amount FROM main.orders WHERE customer_id IN (SELECT unnest(?::VARCHAR[])) "
            "ORDER BY ALL",
            [keys],
        ).fetchall()
        got = _gather(held, keys)
        assert got.column_names == ["order_id", "customer_id", "amount"]
        assert sorted(got.to_pylist(), key=lambda r: tuple(map(str, r.values()))) == sorted(
            ({"order_id": o, "customer_id": c, "amount": a} for o, c, a in expected),
            key=lambda r: tuple(map(str, r.values())),
        )
