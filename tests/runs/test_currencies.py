"""Currencies (DESIGN section 5.1): an order in another currency is converted at the rate of the latest `day`
at or before its date, `amount * rate` rounded half-even to 6 decimals; an order with no rate is skipped by money
traits and still counts for the others. Expected values are computed here with the decimal module."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pytest
from engine_helpers import load_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentum.compile import rules
from segmentum.runs.execute import compiled_sql, run
from segmentum.workspace import Workspace

AS_OF = "2024-03-01"
DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
  avg_order: {avg: orders.amount}
  biggest: {max: orders.amount}
  saved: {sum: orders.discount}
  with_refunds: {sum: orders.amount, all_orders: true}
  orders_n: {count: orders}
  all_n: {count: orders, all_orders: true}
  last_at: {max: orders.ordered_at}
  first_at: {min: orders.ordered_at}
  items_value: {sum: order_items.unit_price}
  units: {sum: order_items.quantity}
  lines: {count: order_items}
segments:
  big: {where: "spent >= 10"}
"""
MICRO = Decimal("0.000001")


def convert(amount: str, rate: str) -> Decimal:
    """The reference: exact product, rounded half-even to 6 decimals."""
    return (Decimal(amount) * Decimal(rate)).quantize(MICRO, rounding=ROUND_HALF_EVEN)


# workspace currency USD (Workspace.init's default); EUR has gaps between its days, GBP one day, CHF none
RATES = [
    {"currency": "EUR", "day": date(2024, 1, 10), "rate": Decimal("1.5")},
    {"currency": "EUR", "day": date(2024, 1, 20), "rate": Decimal("2")},
    {"currency": "EUR", "day": date(2024, 2, 1), "rate": Decimal("0.5")},
    {"currency": "GBP", "day": date(2024, 1, 15), "rate": Decimal("1.25")},
]


def _order(oid: str, customer: str, at: datetime, amount: str, currency: str | None, **more: Any) -> dict:
    return {
        "order_id": oid,
        "customer_id": customer,
        "ordered_at": at,
        "amount": Decimal(amount),
        "currency": currency,
        **more,
    }


ORDERS = [
    # a: exactly on a rate day (midnight), in a gap (the latest earlier day), the workspace's own currency in
    # lower case, and no currency at all
    _order("a1", "a", datetime(2024, 1, 10, 0, 0), "10", "EUR", discount=Decimal("2")),
    _order("a2", "a", datetime(2024, 1, 25, 13, 0), "3", "eur"),
    _order("a3", "a", datetime(2024, 2, 5), "7", "usd"),
    _order("a4", "a", datetime(2024, 2, 6), "5", None),
    # b: the only order is a second before the first EUR rate day: skipped by money traits, counted by the rest
    _order("b1", "b", datetime(2024, 1, 9, 23, 59, 59), "10", "EUR", discount=Decimal("1")),
    # c: exact ties at the 6th decimal go to the even neighbour
    _order("c1", "c", datetime(2024, 2, 3), "1.000001", "EUR"),  # 0.5000005 -> 0.500000
    _order("c2", "c", datetime(2024, 2, 4), "1.000003", "EUR"),  # 0.5000015 -> 0.500002
    _order("c3", "c", datetime(2024, 2, 5), "-0.000003", "EUR", status="returned"),  # -0.0000015 -> -0.000002
    # d: a tie upward (2.5000025 -> 2.500002) and an empty currency (taken as is)
    _order("d1", "d", datetime(2024, 1, 15, 8), "2.000002", "GBP"),
    _order("d2", "d", datetime(2024, 1, 16), "4", ""),
    # e: a currency without any rate and a refund in it: neither is summed; the USD order is
    _order("e1", "e", datetime(2024, 2, 1), "100", "CHF"),
    _order("e2", "e", datetime(2024, 2, 2), "-5", "CHF"),
    _order("e3", "e", datetime(2024, 2, 3), "20", "USD"),
]
ITEMS = [
    {"order_id": "a2", "line": 1, "customer_id": "a", "ordered_at": datetime(2024, 1, 25, 13, 0),
     "product_id": "p", "quantity": Decimal("2"), "unit_price": Decimal("1.5")},
    {"order_id": "b1", "line": 1, "customer_id": "b", "ordered_at": datetime(2024, 1, 9, 23, 59, 59),
     "product_id": "p", "quantity": Decimal("1"), "unit_price": Decimal("10")},
]  # fmt: skip


def _workspace(make_ws, rates: bool = True) -> Workspace:
    tables = {"orders": ORDERS, "order_items": ITEMS, "customers": [{"customer_id": c} for c in "abcdez"]}
    if rates:
        tables["rates"] = RATES
    return make_ws(DEFINITIONS, tables, name="ws" if rates else "no_rates")


def _traits(ws: Workspace, as_of: str = AS_OF, engine: str = "duckdb") -> dict[str, dict[str, Any]]:
    frame = run(ws, as_of=as_of, engine=engine, preview=True).frame
    assert frame is not None
    return {str(r["customer_id"]): r for r in frame.to_dict("records")}


def _money(value: Any) -> Decimal | None:
    return None if value is None or value != value else Decimal(str(value)).quantize(MICRO)


def test_orders_in_other_currencies_are_converted_at_the_latest_rate_on_or_before_their_date(make_ws) -> None:
    ws = _workspace(make_ws)
    t = _traits(ws)
    a1, a2 = convert("10", "1.5"), convert("3", "2")
    assert (a1, a2) == (Decimal("15.000000"), Decimal("6.000000"))
    assert _money(t["a"]["spent"]) == a1 + a2 + 7 + 5
    assert _money(t["a"]["saved"]) == convert("2", "1.5")  # the discount is money too
    assert _money(t["a"]["biggest"]) == a1
    assert t["a"]["avg_order"] == pytest.approx(float((a1 + a2 + 12) / 4))
    # order lines are in their order's currency: a2's line at a2's rate
    assert _money(t["a"]["items_value"]) == convert("1.5", "2")
    assert _money(t["a"]["units"]) == 2  # quantities are no money: never converted
    assert t["a"]["__seg__big"] and not t["b"]["__seg__big"]  # segments read the converted traits


def test_an_order_without_a_rate_is_skipped_by_money_traits_and_counted_by_the_others(make_ws) -> None:
    t = _traits(_workspace(make_ws))
    b, z = t["b"], t["z"]  # b's only order precedes the first EUR day; z never ordered
    assert b["orders_n"] == 1 and b["all_n"] == 1 and b["lines"] == 1
    assert b["last_at"] == b["first_at"] == datetime(2024, 1, 9, 23, 59, 59)
    for money in ("spent", "avg_order", "biggest", "saved", "with_refunds", "items_value"):
        assert _money(b[money]) is None, money
        assert _money(b[money]) == _money(z[money]), money  # the value of a sum over no rows
    assert _money(b["units"]) == 1
    # e: CHF has no rate at all; the CHF refund is no qualifying order, and has no amount either
    assert _money(t["e"]["spent"]) == 20 and t["e"]["orders_n"] == 2 and t["e"]["all_n"] == 3
    assert _money(t["e"]["with_refunds"]) == 20


def test_ties_at_the_sixth_decimal_are_rounded_half_even(make_ws) -> None:
    t = _traits(_workspace(make_ws))
    assert convert("1.000001", "0.5") == Decimal("0.500000")
    assert convert("1.000003", "0.5") == Decimal("0.500002")
    assert convert("-0.000003", "0.5") == Decimal("-0.000002")
    assert convert("2.000002", "1.25") == Decimal("2.500002")
    assert _money(t["c"]["spent"]) == Decimal("0.500000") + Decimal("0.500002")
    assert _money(t["c"]["with_refunds"]) == Decimal("1.000002") - Decimal("0.000002")
    assert _money(t["d"]["spent"]) == Decimal("2.500002") + 4
    assert _money(t["d"]["biggest"]) == 4


def test_the_real_time_path_converts_like_the_batch(make_ws) -> None:
    ws = _workspace(make_ws)
    batch = _traits(ws)
    run(ws, as_of=AS_OF)  # real time takes population values from a batch run
    live = run(ws, as_of=AS_OF, customers=["a", "b", "c"], preview=True).frame
    assert live is not None
    rows = {str(r["customer_id"]): r for r in live.to_dict("records")}
    assert set(rows) == {"a", "b", "c"}
    for customer in rows:
        for trait in ("spent", "saved", "items_value", "orders_n"):
            assert _money(rows[customer][trait]) == _money(batch[customer][trait]), (customer, trait)


def test_the_rule_rounds_half_even_on_its_own() -> None:
    import ibis

    rows = ["0.0000005", "0.0000015", "-0.0000025", "2.5000025", "1.2345674999", "7.0000005001", "-3.0000035"]
    t = ibis.memtable({"x": rows}).select(x=ibis._.x.cast("decimal(30, 12)"))
    con = ibis.duckdb.connect()
    got = [Decimal(str(v)) for v in con.execute(t.select(y=rules.half_even(t.x)))["y"]]
    assert got == [Decimal(r).quantize(MICRO, rounding=ROUND_HALF_EVEN) for r in rows]


def test_without_a_rates_table_amounts_are_taken_as_they_are_and_nothing_is_joined(make_ws) -> None:
    ws = _workspace(make_ws, rates=False)
    t = _traits(ws)
    assert _money(t["a"]["spent"]) == 10 + 3 + 7 + 5
    assert _money(t["b"]["spent"]) == 10
    assert _money(t["e"]["spent"]) == 120
    sql = compiled_sql(ws)
    assert "rates" not in sql and "__rate" not in sql
    converting = _workspace(make_ws, rates=True)
    for dialect in ("duckdb", "pyspark", "postgres"):  # `segmentum sql` shows the conversion in each
        assert "__rate" in compiled_sql(converting, dialect=dialect), dialect


def test_a_backfill_converts_each_order_at_the_rate_of_its_own_date(make_ws) -> None:
    from segmentum.runs.backfill import backfill

    ws = _workspace(make_ws)
    results = backfill(ws, date(2024, 1, 1), date(2024, 2, 29), "1m")
    spent = {
        r.as_of.date(): dict(ws.store.query(f"SELECT customer_id, spent FROM segmentum.traits_{r.run_id}"))
        for r in results
    }
    january, february = spent[date(2024, 1, 31)], spent[date(2024, 2, 29)]
    # at the end of January a2 (25 Jan) is converted at the 20 Jan rate; the 1 Feb rate day, there by then,
    # changes nothing for it in February: a rate is keyed by the order's date
    assert _money(january["a"]) == convert("10", "1.5") + convert("3", "2")
    assert _money(february["a"]) == convert("10", "1.5") + convert("3", "2") + 12
    assert "c" not in january and _money(february["c"]) == Decimal("1.000002")
    assert _money(january["d"]) == convert("2.000002", "1.25") + 4


def test_the_run_warns_once_with_the_count_of_orders_without_a_rate(make_ws) -> None:
    ws = _workspace(make_ws)
    result = run(ws, as_of=AS_OF)
    lines = [w for w in result.warnings if "no rate" in w]
    assert len(lines) == 1
    # b1 (EUR before the first day), e1 and e2 (CHF): 3 orders of 2 customers, the earliest on 9 January
    assert lines[0].startswith("3 order(s) of 2 customer(s) have no rate")
    assert "CHF (2), EUR (1)" in lines[0] and "2024-01-09" in lines[0]
    assert "segmentum ingest rates" in lines[0]
    early = run(ws, as_of="2024-01-31", preview=True)
    assert any(w.startswith("1 order(s) of 1 customer(s)") for w in early.warnings)
    assert not [w for w in run(_workspace(make_ws, rates=False), as_of=AS_OF).warnings if "no rate" in w]


def test_missing_rates_summary() -> None:
    summary = rules.MissingRates(3, 2, {"CHF": 2, "EUR": 1}, date(2024, 1, 9))
    assert "CHF (2), EUR (1), the earliest on 2024-01-09" in summary.message()


# ---------------------------------------------------------------------------------------------- reference

CURRENCIES = ["USD", "usd", None, "", "EUR", "eur", "GBP", "CHF"]
amounts = st.decimals(min_value=Decimal("-50"), max_value=Decimal("5000"), places=6, allow_nan=False)
rates_st = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("90"), places=6, allow_nan=False)


@st.composite
def shops(draw: st.DrawFn) -> tuple[list[dict], list[dict]]:
    orders = [
        _order(
            f"o{i}",
            draw(st.sampled_from("abcd")),
            datetime(2024, 1, 1 + draw(st.integers(0, 27)), draw(st.integers(0, 23))),
            str(draw(amounts)),
            draw(st.sampled_from(CURRENCIES)),
        )
        for i in range(draw(st.integers(1, 14)))
    ]
    rates = []
    for code in ("EUR", "GBP"):
        for day in sorted(draw(st.sets(st.integers(1, 28), max_size=5))):
            rates.append({"currency": code, "day": date(2024, 1, day), "rate": draw(rates_st)})
    return orders, rates


def _reference(orders: list[dict], rates: list[dict]) -> dict[str, tuple[Decimal | None, float | None, int]]:
    """customer -> (sum, avg, count) of qualifying orders, in plain Python."""
    out: dict[str, list] = {}
    for o in orders:
        if o["amount"] < 0:
            continue
        values = out.setdefault(o["customer_id"], [[], 0])
        values[1] += 1
        code = (o["currency"] or "").strip().upper()
        if code in ("", "USD"):
            values[0].append(o["amount"])
            continue
        known = [r for r in rates if r["currency"] == code and r["day"] <= o["ordered_at"].date()]
        if known:
            rate = max(known, key=lambda r: r["day"])["rate"]
            values[0].append((o["amount"] * rate).quantize(MICRO, rounding=ROUND_HALF_EVEN))
    return {
        c: (sum(v, Decimal(0)) if v else None, float(sum(v) / len(v)) if v else None, n)
        for c, (v, n) in out.items()
    }


@pytest.fixture(scope="module")
def reference_ws(tmp_path_factory: pytest.TempPathFactory):
    from engine_helpers import write_definitions

    ws = Workspace.init(tmp_path_factory.mktemp("currencies") / "ws", name="test")
    write_definitions(
        ws,
        "traits:\n  spent: {sum: orders.amount}\n  avg_order: {avg: orders.amount}\n"
        "  orders_n: {count: orders}\n",
    )
    ws = Workspace(ws.root)
    yield ws
    ws.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shop=shops())
def test_sums_and_averages_match_a_plain_python_reference(reference_ws: Workspace, shop) -> None:
    orders, rates = shop
    load_rows(
        reference_ws,
        "orders",
        orders,
        columns=["order_id", "customer_id", "ordered_at", "amount", "currency"],
    )
    load_rows(reference_ws, "rates", rates, columns=["currency", "day", "rate"])
    load_rows(reference_ws, "customers", [{"customer_id": c} for c in "abcd"])
    got = _traits(reference_ws, as_of="2024-02-01")
    for customer, (total, mean, n) in _reference(orders, rates).items():
        row = got[customer]
        assert _money(row["spent"]) == total, (customer, row)
        assert row["orders_n"] == n
        if mean is None:
            assert row["avg_order"] is None or row["avg_order"] != row["avg_order"]
        else:
            assert row["avg_order"] == pytest.approx(mean, rel=1e-9)


def test_the_no_column_error_lists_the_data_columns_not_the_compilers_helpers(make_ws) -> None:
    """With rates, orders carry the given amount in a helper column (rules.GIVEN_AMOUNT): a `where` naming a
    canonical column this store's orders lack (channel) lists the data's columns only."""
    from segmentum.errors import DefinitionError

    ws = _workspace(make_ws)
    (ws.root / "definitions" / "bad.yml").write_text(
        "traits:\n  web: {sum: orders.amount, where: \"channel = 'web'\"}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        run(ws, as_of=AS_OF, preview=True)
    message = str(caught.value)
    assert "the data has no column 'channel'" in message, message
    listed = message.split("(columns: ", 1)[1]
    assert "amount" in listed and "currency" in listed, message
    assert "__" not in listed, message
