"""Every money read of the store is in the workspace currency (DESIGN section 5.1, principle 8): the customer
360, profiles and Pareto (`customer_values_sql`), CLV's summary, churn and clustering features, task values,
segment sizes and uplift revenue read `compile.rules.money_sql`, compiled from the run's own rule `money_at`.
Expected figures come from the decimal module (`test_currencies._reference`) and differ from the raw sums."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from engine_helpers import load_rows
from hypothesis import HealthCheck, given, settings
from test_currencies import AS_OF, MICRO, ORDERS, RATES, _money, _reference, _workspace, convert, shops

from segmentum.compile import rules
from segmentum.workspace import Workspace

EXPECTED = _reference(ORDERS, RATES)  # customer -> (sum, avg, count) of qualifying orders, converted
RAW = {  # the same sums of the amounts as given (what the reads summed before)
    c: sum((o["amount"] for o in ORDERS if o["customer_id"] == c and o["amount"] >= 0), Decimal(0))
    for c in EXPECTED
}


@pytest.fixture
def ws(make_ws) -> Workspace:
    return _workspace(make_ws)


def test_the_reference_differs_from_the_raw_sums() -> None:
    # otherwise the tests below could not tell a converted read from a raw one
    assert EXPECTED["a"][0] == convert("10", "1.5") + convert("3", "2") + 7 + 5 == Decimal(33)
    assert RAW["a"] == 25 and EXPECTED["e"][0] == 20 and RAW["e"] == 120
    assert EXPECTED["b"][0] is None and RAW["b"] == 10  # b's only order has no rate: no money, one order


def test_money_sql_sums_like_the_reference_and_the_run(ws: Workspace) -> None:
    orders = rules.money_sql(ws.store, ws.config.currency)
    assert orders.relation != "main.orders" and rules.GIVEN_AMOUNT in orders.columns
    rows = ws.store.query(
        f"SELECT customer_id, sum(amount), count(*) FROM {orders.relation} WHERE {orders.qualifying()} "
        "GROUP BY customer_id"
    )
    got = {c: (_money(s), n) for c, s, n in rows}
    # b's order without a rate still qualifies (by its given amount), as in a run: counted, not summed
    assert got == {c: (_money(s), n) for c, (s, _avg, n) in EXPECTED.items()}
    from segmentum.runs.execute import run

    frame = run(ws, as_of=AS_OF, preview=True).frame
    assert frame is not None
    spent = {str(r["customer_id"]): _money(r["spent"]) for r in frame.to_dict("records")}
    assert {c: s for c, (s, _n) in got.items()} == {c: spent[c] for c in got}


def test_money_sql_is_compiled_once_per_columns_and_again_when_they_change(ws: Workspace) -> None:
    """Pages (customer 360, tasks) ask for it on every request: compiled once while the tables' columns stay
    (the rates themselves are read when the SQL runs), again when a column changes."""
    rules._converted_sql.cache_clear()
    first = rules.money_sql(ws.store, ws.config.currency)
    assert rules.money_sql(ws.store, ws.config.currency) == first
    assert rules._converted_sql.cache_info().misses == 1 and rules._converted_sql.cache_info().hits == 1
    # a new rate is seen without compiling again: b's order (no rate before) is now converted
    ws.store.cursor().execute("INSERT INTO main.rates VALUES ('EUR', DATE '2024-01-01', 3)")
    again = rules.money_sql(ws.store, ws.config.currency)
    assert rules._converted_sql.cache_info().misses == 1
    assert _money(dict(ws.store.query(f"SELECT order_id, amount FROM {again.relation}"))["b1"]) == 30
    ws.store.cursor().execute("ALTER TABLE main.orders ADD COLUMN coupon VARCHAR")
    changed = rules.money_sql(ws.store, ws.config.currency)
    assert "coupon" in changed.columns and "coupon" not in first.columns
    assert rules._converted_sql.cache_info().misses == 2


def test_order_items_carry_their_orders_rate(ws: Workspace) -> None:
    items = rules.money_sql(ws.store, ws.config.currency, "order_items")
    rows = dict(ws.store.query(f"SELECT order_id, unit_price FROM {items.relation}"))
    assert _money(rows["a2"]) == convert("1.5", "2") and rows["b1"] is None


def test_without_rates_the_reads_are_the_plain_tables(make_ws) -> None:
    plain = _workspace(make_ws, rates=False)
    assert rules.money_sql(plain.store, plain.config.currency).relation == "main.orders"
    assert rules.money_sql(plain.store, plain.config.currency, "order_items").relation == "main.order_items"
    assert rules.money_sql(plain.store, None).relation == "main.orders"
    from segmentum.views.customers import purchases

    assert _money(purchases(plain, "a")["revenue"]) == RAW["a"]  # today's numbers


def test_customer_360_revenue(ws: Workspace) -> None:
    from segmentum.views.customers import purchases

    a, b = purchases(ws, "a"), purchases(ws, "b")
    assert _money(a["revenue"]) == EXPECTED["a"][0] != RAW["a"] and a["orders"] == 4
    assert b["revenue"] is None and b["orders"] == 1


def test_profile_values(ws: Workspace) -> None:
    from segmentum.analysis.base import customer_values_sql

    rows = ws.store.cursor().execute(
        f"SELECT customer_id, revenue, orders FROM ({customer_values_sql(ws)})",
        {"as_of": datetime(2024, 3, 1)},
    )
    got = {c: (_money(r), n) for c, r, n in rows.fetchall()}
    assert got["a"] == (EXPECTED["a"][0], 4) and got["e"] == (Decimal(20), 2)


def test_clv_summary_monetary_value(ws: Workspace) -> None:
    from segmentum.models.summary import purchase_summary

    summary = purchase_summary(ws, calibration_end="2024-03-01", time_unit="day")
    # a bought on four days; the repeat days' mean value, converted: (6 + 7 + 5) / 3 (raw: (3 + 7 + 5) / 3)
    repeat = [convert("3", "2"), Decimal(7), Decimal(5)]
    assert summary.loc["a", "monetary_value"] == pytest.approx(float(sum(repeat) / 3))
    assert summary.loc["a", "monetary_value"] != pytest.approx(5.0)
    # e's first day (CHF, no rate) is a purchase without value: its repeat day's 20 is the mean, whole
    assert summary.loc["e", "frequency"] == 1 and summary.loc["e", "monetary_value"] == pytest.approx(20.0)
    # b's only day has no value and no repeat: 0, as any customer without repeats
    assert summary.loc["b", "frequency"] == 0 and summary.loc["b", "monetary_value"] == 0


def test_churn_and_clustering_features(ws: Workspace) -> None:
    from segmentum.models.churn import churn_features
    from segmentum.models.features import customer_frame

    churn = churn_features(ws, datetime(2024, 3, 1))
    assert churn.loc["a", "monetary"] == pytest.approx(float(EXPECTED["a"][0]))
    assert churn.loc["e", "monetary"] == pytest.approx(20.0)
    frame, _ = customer_frame(ws.store, ["monetary"], currency=ws.config.currency, use_run=False)
    frame = frame.set_index("customer_id")
    assert float(frame.loc["a", "monetary"]) == pytest.approx(float(EXPECTED["a"][0]))
    assert float(frame.loc["e", "monetary"]) == pytest.approx(20.0)


def test_task_value(ws: Workspace) -> None:
    from segmentum.actions.tasks import create_tasks
    from segmentum.views.tasks import tasks

    create_tasks(ws, ["a", "e"], "Call them")
    values = {t["customer_id"]: _money(t["value"]) for t in tasks(ws)["tasks"]}
    assert values == {"a": EXPECTED["a"][0], "e": Decimal(20)}


def test_segment_sizes_without_a_revenue_trait_match_the_run(ws: Workspace) -> None:
    from segmentum.runs.execute import run
    from segmentum.runs.sizes import segment_sizes

    result = run(ws, as_of=AS_OF)  # `spent` is a revenue trait: sizes computed from the converted traits
    in_pass = result.sizes.set_index("name")
    stored = segment_sizes(ws.store, result.run_id, ws.config.currency).set_index("name")
    expected = sum((s for s, _a, _n in EXPECTED.values() if s is not None), Decimal(0))
    big = sum((s for c, (s, _a, _n) in EXPECTED.items() if s is not None and s >= 10), Decimal(0))
    assert _money(stored.loc["big", "revenue"]) == _money(in_pass.loc["big", "revenue"]) == big
    assert stored.loc["big", "revenue_share"] == pytest.approx(float(big / expected))


def test_behaviour_changes_order_size(ws: Workspace) -> None:
    from segmentum.analysis.behaviour import behaviour_changes

    frame = behaviour_changes(ws, as_of="2024-03-01", period="30d").set_index("customer_id")
    # a's orders before 31 Jan are a1 and a2, in EUR: (15 + 6) / 2 (raw: (10 + 3) / 2)
    previous = (convert("10", "1.5") + convert("3", "2")) / 2
    assert frame.loc["a", "avg_previous"] == pytest.approx(float(previous))


def test_uplift_revenue_rows(ws: Workspace) -> None:
    from segmentum.analysis.uplift import _rows_sql

    # the rows a `revenue: orders.amount` (or order_items.unit_price) measure sums in each customer's window
    orders = dict(
        ws.store.query(f"SELECT customer_id, sum(amount) FROM ({_rows_sql(ws, 'orders')}) GROUP BY 1")
    )
    assert _money(orders["a"]) == EXPECTED["a"][0] and _money(orders["e"]) == 20
    items = dict(ws.store.query(f"SELECT order_id, unit_price FROM ({_rows_sql(ws, 'order_items')})"))
    assert _money(items["a2"]) == convert("1.5", "2") and items["b1"] is None


@pytest.fixture(scope="module")
def bare_ws(tmp_path_factory: pytest.TempPathFactory):
    ws = Workspace.init(tmp_path_factory.mktemp("money") / "ws", name="test")
    yield ws
    ws.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shop=shops())
def test_each_order_is_converted_like_a_plain_python_reference(bare_ws: Workspace, shop) -> None:
    orders, rates = shop
    load_rows(
        bare_ws, "orders", orders, columns=["order_id", "customer_id", "ordered_at", "amount", "currency"]
    )
    load_rows(bare_ws, "rates", rates, columns=["currency", "day", "rate"])
    relation = rules.money_sql(bare_ws.store, bare_ws.config.currency)
    got = {
        o: (_money(a), _money(g))
        for o, a, g in bare_ws.store.query(
            f"SELECT order_id, amount, {rules.GIVEN_AMOUNT} FROM {relation.relation}"
        )
    }
    for o in orders:
        code = (o["currency"] or "").strip().upper()
        known = [r for r in rates if r["currency"] == code and r["day"] <= o["ordered_at"].date()]
        if code in ("", "USD"):
            expected: Decimal | None = o["amount"]
        elif known:
            rate = max(known, key=lambda r: r["day"])["rate"]
            expected = (o["amount"] * rate).quantize(MICRO, rounding=ROUND_HALF_EVEN)
        else:
            expected = None
        assert got[o["order_id"]] == (expected, o["amount"]), o
