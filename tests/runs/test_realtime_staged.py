"""A micro-batch's query reads staged copies of its customers' rows (issue 20): before the query, the touched
customers' rows of every canonical table the SQL reads (and those of their aliases linked at or before as_of)
are copied into temporary tables of the micro-batch's own cursor, plus the orders of other customers that
staged items belong to; the result equals a full evaluation's, and the copies never outlive the micro-batch."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

from segmentum.runs import execute as execute_mod
from segmentum.runs import realtime as realtime_mod
from segmentum.runs.execute import RunError, run
from segmentum.runs.realtime import STAGED, Evaluator, EventRow, EventWriter
from segmentum.store.identities import link
from segmentum.workspace import Workspace

DEFS = """
traits:
  paid: {sum: orders.amount}
  units: {sum: order_items.quantity}
  pages: {count: events}
  first_page: {min: events.occurred_at}
segments:
  buyer: {where: "paid >= 50"}
  browser: {where: "pages >= 2"}
"""
T0 = datetime(2024, 3, 31, 12)
CUSTOMERS = ["a", "b", "c", "d", "anon-1", "anon-2"]


def _tables() -> dict[str, list[dict[str, Any]]]:
    orders = [
        {"order_id": "oa", "customer_id": "a", "ordered_at": datetime(2024, 1, 5), "amount": 40},
        {"order_id": "ob", "customer_id": "b", "ordered_at": datetime(2024, 1, 6), "amount": 30},
        {"order_id": "oc", "customer_id": "c", "ordered_at": datetime(2024, 1, 7), "amount": 60},
        {"order_id": "od", "customer_id": "d", "ordered_at": datetime(2024, 1, 8), "amount": 70},
        # anon-1's guest order: b's from the link on (before as_of); anon-2's link comes after as_of
        {"order_id": "og1", "customer_id": "anon-1", "ordered_at": datetime(2024, 1, 9), "amount": 25},
        {"order_id": "og2", "customer_id": "anon-2", "ordered_at": datetime(2024, 1, 10), "amount": 90},
    ]
    items = [
        {"order_id": o["order_id"], "customer_id": o["customer_id"], "ordered_at": o["ordered_at"]}
        | {"product_id": "p", "quantity": 1, "unit_price": 5}
        for o in orders
    ]
    # a's item in d's order: a micro-batch of a must read d's order (qualifying), d not touched
    items.append(
        {
            "order_id": "od",
            "customer_id": "a",
            "ordered_at": datetime(2024, 1, 8),
            "product_id": "q",
            "quantity": 4,
            "unit_price": 2,
        }
    )
    events = [
        {"event_id": f"e{i}", "customer_id": c, "event": "page", "occurred_at": datetime(2024, 3, 1 + i)}
        for i, c in enumerate(["a", "b", "anon-1", "anon-1", "anon-2", "c", "c"])
    ]
    return {
        "customers": [{"customer_id": c} for c in CUSTOMERS],
        "orders": orders,
        "order_items": items,
        "events": events,
    }


@pytest.fixture
def ws(make_ws) -> Workspace:
    ws = make_ws(DEFS, _tables())
    link(ws.store, "anon-1", "b", T0 - timedelta(days=3))
    link(ws.store, "anon-2", "c", T0 + timedelta(days=3))
    run(ws, as_of=T0 - timedelta(days=1))  # the batch run real time builds on
    return ws


def _frame(df: pd.DataFrame) -> list[dict]:
    df = df.sort_values("customer_id").reset_index(drop=True).astype(object)
    return df.where(df.notna(), None).to_dict("records")


def _equals_full_evaluation(ws: Workspace, touched: list[str], as_of: datetime) -> None:
    result = Evaluator(ws).evaluate(touched, as_of)
    full = run(ws, as_of=as_of, preview=True)
    columns = ["customer_id", "paid", "units", "pages", "first_page"]
    assert _frame(result.traits(touched)[columns]) == _frame(full.traits(touched)[columns])
    got = result.memberships()
    expected = full.memberships()
    expected = expected[expected.customer_id.isin(touched)]
    assert sorted(zip(got.customer_id, got.name, strict=True)) == sorted(
        zip(expected.customer_id, expected.name, strict=True)
    )


def _staged_on(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str, bool]]:
    return cur.execute(
        "SELECT database_name, table_name, temporary FROM duckdb_tables() WHERE starts_with(table_name, ?) "
        "ORDER BY table_name",
        [STAGED],
    ).fetchall()


def test_an_alias_s_rows_linked_before_as_of_are_staged_with_its_customer_s(ws: Workspace) -> None:
    """b's micro-batch counts anon-1's order, item and pages (linked before as_of), c's not anon-2's (linked
    after); an event of the alias itself re-evaluates no customer of its own (as a full evaluation)."""
    _equals_full_evaluation(ws, ["b", "c"], T0)
    _equals_full_evaluation(ws, ["anon-1", "anon-2"], T0)
    result = Evaluator(ws).evaluate(["b"], T0)
    assert _frame(result.traits(["b"])[["customer_id", "paid", "pages"]]) == [
        {"customer_id": "b", "paid": 30 + 25, "pages": 1 + 2}
    ]


def test_a_link_made_after_the_day_s_compile_counts_at_once(ws: Workspace) -> None:
    """The day's SQL is compiled at two probe times (`SqlTemplate`); no link is due at either on 27 March, and
    anon-3 is linked to d at 22:00: a micro-batch at 23:00 counts anon-3's page for d, as a full evaluation
    does (before, the template left the links' join out and d had no page)."""
    evaluator = Evaluator(ws)
    evening = datetime(2024, 3, 27, 22)
    evaluator.evaluate(["d"], evening - timedelta(hours=1))  # the day's template, compiled before the link
    EventWriter(ws.store, ZoneInfo(ws.config.timezone)).append(
        [EventRow("anon-3", "page", datetime(2024, 3, 20))]
    )
    link(ws.store, "anon-3", "d", evening)
    as_of = evening + timedelta(hours=1)
    result = evaluator.evaluate(["d"], as_of)
    assert _frame(result.traits(["d"])[["customer_id", "pages"]]) == [{"customer_id": "d", "pages": 1}]
    _equals_full_evaluation(ws, ["d", "anon-3"], as_of)


def test_an_item_in_an_order_of_a_customer_not_touched_counts_through_that_order(ws: Workspace) -> None:
    _equals_full_evaluation(ws, ["a"], T0)
    _equals_full_evaluation(ws, ["a", "b", "c", "d"], T0)


@pytest.mark.parametrize("fails", [False, True])
def test_the_query_reads_only_staged_copies_that_go_with_the_micro_batch(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    """At the query: the SQL names no canonical table of `main` but `identities`; the staged tables are the
    cursor's own temporary tables (another cursor sees none, the store file holds none), with the touched
    customers' rows, their aliases' and the one order of another customer an item needs. After the
    micro-batch, committed or failed, they are gone."""
    cursors: list[duckdb.DuckDBPyConnection] = []
    real_cursor = ws.store.cursor
    monkeypatch.setattr(ws.store, "cursor", lambda: cursors.append(real_cursor()) or cursors[-1])
    seen: dict[str, Any] = {}
    real_create = execute_mod.create_traits_table

    def create(cur, run_id, source):  # the micro-batch's query, as it runs
        seen["main tables"] = sorted(
            t
            for t in ("customers", "orders", "order_items", "events", "identities")
            if f'"main"."{t}"' in source
        )
        seen["staged"] = _staged_on(cur)
        seen["other cursor"] = _staged_on(real_cursor())
        rows = {}
        for table in ("customers", "orders", "order_items", "events"):
            rows[table] = sorted(
                r[0]
                for r in cur.execute(f"SELECT DISTINCT customer_id FROM temp.main.{STAGED}{table}").fetchall()
            )
        rows["order ids"] = sorted(
            r[0] for r in cur.execute(f"SELECT order_id FROM temp.main.{STAGED}orders").fetchall()
        )
        seen["rows"] = rows
        if fails:
            raise RuntimeError("injected")
        return real_create(cur, run_id, source)

    monkeypatch.setattr(execute_mod, "create_traits_table", create)
    evaluator = Evaluator(ws)
    if fails:
        with pytest.raises(RunError, match="injected"):
            evaluator.evaluate(["a", "b"], T0)
    else:
        assert evaluator.evaluate(["a", "b"], T0).status == "complete"
    assert seen["main tables"] == ["identities"]
    staged = [f"{STAGED}{t}" for t in ("_keys", "customers", "events", "order_items", "orders")]
    assert seen["staged"] == [("temp", name, True) for name in staged]
    assert seen["other cursor"] == []
    assert seen["rows"] == {
        "customers": ["a", "anon-1", "b"],  # the alias's own row: the SQL drops it (linked)
        "orders": ["a", "anon-1", "b", "d"],  # d's order: a's item lies in it
        "order_items": ["a", "anon-1", "b"],
        "events": ["a", "anon-1", "b"],
        "order ids": ["oa", "ob", "od", "og1"],
    }
    assert cursors and all(_staged_on(c) == [] for c in cursors)
    assert ws.store.query(
        "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, ?) AND NOT temporary", [STAGED]
    ) == [(0,)]


def test_other_customers_orders_are_read_only_when_a_staged_item_needs_one(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The common case (every staged item's order is a staged customer's) reads `main.orders` once, pruned by
    customer; only a micro-batch with an item in another customer's order reads it for those orders."""
    fetched: list[int] = []
    real_release = realtime_mod._BoundEngine.release

    def release(self):  # noqa: ANN001, ANN202 - the engine of each micro-batch, as it ends
        fetched.append(self.orders_fetched)
        return real_release(self)

    monkeypatch.setattr(realtime_mod._BoundEngine, "release", release)
    evaluator = Evaluator(ws)
    evaluator.evaluate(["b", "c"], T0)
    evaluator.evaluate(["a"], T0)
    evaluator.evaluate(["a", "d"], T0)
    assert fetched == [0, 1, 0]


def test_money_in_another_currency_converts_through_the_staged_orders(make_ws) -> None:
    """An item is converted at its order's rate (`rules.money_at`): a's item lies in d's EUR order, d not
    touched; a micro-batch of a converts it as a full evaluation does (the rates are read from the store)."""
    from decimal import Decimal

    defs = "traits:\n  spent: {sum: orders.amount}\n  items_value: {sum: order_items.unit_price}\n"
    orders = [
        {"order_id": "a1", "customer_id": "a", "ordered_at": datetime(2024, 1, 12), "amount": Decimal("10")}
        | {"currency": "EUR"},
        {"order_id": "d1", "customer_id": "d", "ordered_at": datetime(2024, 1, 25), "amount": Decimal("7")}
        | {"currency": "EUR"},
    ]
    items = [
        {"order_id": o, "customer_id": "a", "ordered_at": datetime(2024, 1, 12), "product_id": "p"}
        | {"quantity": 1, "unit_price": Decimal(price)}
        for o, price in (("a1", "3"), ("d1", "1.000003"))
    ]
    rates = [
        {"currency": "EUR", "day": datetime(2024, 1, 10).date(), "rate": Decimal("1.5")},
        {"currency": "EUR", "day": datetime(2024, 1, 20).date(), "rate": Decimal("0.5")},
    ]
    ws = make_ws(
        defs,
        {
            "customers": [{"customer_id": c} for c in "ad"],
            "orders": orders,
            "order_items": items,
            "rates": rates,
        },
        name="money",
    )
    run(ws, as_of=T0 - timedelta(days=1))
    result = Evaluator(ws).evaluate(["a"], T0)
    full = run(ws, as_of=T0, preview=True)
    columns = ["customer_id", "spent", "items_value"]
    assert _frame(result.traits(["a"])[columns]) == _frame(full.traits(["a"])[columns])
    # 3 EUR at 1.5 and 1.000003 EUR at 0.5 (d's order's date), rounded half-even: 4.5 + 0.500002
    assert Decimal(str(result.traits(["a"])["items_value"].iloc[0])) == Decimal("5.000002")
