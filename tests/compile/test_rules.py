"""compile/rules.py is the one home of the qualifying-order rule: its Ibis form and its SQL form select the same
orders, and every caller (the engine's traits, segment sizes, the analyses, the models) counts the same ones."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import ibis
import pytest

import segmentum
from segmentum.analysis.base import customer_values_sql
from segmentum.compile import rules
from segmentum.models.churn import churn_features
from segmentum.models.features import customer_frame
from segmentum.runs.execute import run
from segmentum.runs.sizes import segment_sizes
from segmentum.workspace import Workspace

AS_OF = datetime(2024, 3, 31, 23, 59, 59, 999999)
ORDERS = [  # order_id, customer, ordered_at, amount, status
    ("o1", "a", "2024-01-01 10:00", 10, None),  # null status: completed
    ("o2", "a", "2024-01-02 10:00", 0, "completed"),  # a zero-value purchase counts
    ("o3", "a", "2024-01-03 10:00", 20, "Cancelled"),  # case does not matter
    ("o4", "a", "2024-01-04 10:00", 30, "returned"),
    ("o5", "a", "2024-01-05 10:00", -5, None),  # a refund
    ("o6", "b", "2024-02-01 10:00", 100, "pending"),  # any other status counts
    ("o7", "b", "2024-02-02 10:00", 7, "RETURNED"),
    ("o8", "c", "2024-02-03 10:00", -1, "completed"),
    ("o9", "c", "2024-04-02 10:00", 50, None),  # after as_of
]
QUALIFYING = {"o1", "o2", "o6", "o9"}
DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
  orders_n: {count: orders}
segments:
  everyone: {where: "orders_n >= 0"}
"""


def _workspace(root: Path, *, status: bool = True) -> Workspace:
    ws = Workspace.init(root, name="rules")
    config = root / "segmentum.yml"
    config.write_text(
        "\n".join(ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:"))
        + "\nbuiltins: []\n"
    )
    (root / "definitions" / "test.yml").write_text(DEFINITIONS)
    ws = Workspace(root)
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6)" + (", status VARCHAR)" if status else ")")
    )
    rows = [(o, c, ts, amount, *((s,) if status else ())) for o, c, ts, amount, s in ORDERS]
    con.executemany(f"INSERT INTO main.orders VALUES ({', '.join('?' * len(rows[0]))})", rows)
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    con.executemany("INSERT INTO main.customers VALUES (?)", [["a"], ["b"], ["c"]])
    return ws


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = _workspace(tmp_path / "ws")
    yield ws
    ws.close()


def test_the_sql_form_is_compiled_from_the_ibis_predicate_and_selects_the_same_orders(ws: Workspace) -> None:
    con = ws.store.cursor()
    by_sql = {
        r[0]
        for r in con.execute(f"SELECT order_id FROM main.orders WHERE {rules.qualifying_sql()}").fetchall()
    }
    orders = ws.store.ibis().table("orders", database="main")
    by_ibis = set(orders.filter(rules.qualifying(orders)).order_id.to_pyarrow().to_pylist())
    assert by_sql == by_ibis == QUALIFYING


def test_an_alias_qualifies_every_column_of_the_sql_form() -> None:
    sql = rules.qualifying_sql(alias="o")
    names = re.findall(r'(\w+\.)?"(amount|status)"', sql)
    assert names and all(prefix == "o." for prefix, _ in names)


def test_without_a_status_column_only_the_amount_decides(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", status=False)
    try:
        columns = ws.store.columns("orders")
        sql = rules.qualifying_sql(columns)
        assert "status" not in sql
        got = {r[0] for r in ws.store.query(f"SELECT order_id FROM main.orders WHERE {sql}")}
        assert got == {o for o, _, _, amount, _ in ORDERS if amount >= 0}
        orders = ws.store.ibis().table("orders", database="main")
        assert set(orders.filter(rules.qualifying(orders)).order_id.to_pyarrow().to_pylist()) == got
    finally:
        ws.close()


def _expected_revenue() -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for order_id, customer, ts, amount, _ in ORDERS:
        if order_id in QUALIFYING and datetime.fromisoformat(ts) <= AS_OF:
            out[customer] = out.get(customer, Decimal(0)) + Decimal(amount)
    return out


@pytest.mark.parametrize("status", [True, False], ids=["with-status", "without-status"])
def test_every_caller_counts_the_same_qualifying_orders(tmp_path: Path, status: bool) -> None:
    ws = _workspace(tmp_path / "ws", status=status)
    try:
        if status:
            want = _expected_revenue()
        else:  # without a status column only refunds are left out
            want = {}
            for _, customer, ts, amount, _ in ORDERS:
                if amount >= 0 and datetime.fromisoformat(ts) <= AS_OF:
                    want[customer] = want.get(customer, Decimal(0)) + Decimal(amount)
        result = run(ws, as_of=AS_OF)
        traits = result.traits().set_index("customer_id")
        engine = {c: Decimal(v) for c, v in traits["spent"].items() if v is not None}
        assert engine == want
        sizes = segment_sizes(ws.store, result.run_id, ws.config.currency).set_index("name")
        assert Decimal(str(sizes.loc["everyone", "revenue"])) == sum(want.values())
        if status:  # the SQL callers below assume the canonical table (ingest always adds `status`)
            values = ws.store.cursor().execute(customer_values_sql(ws), {"as_of": AS_OF}).fetchall()
            assert {c: Decimal(r) for c, r, *_ in values} == want
            frame, _ = customer_frame(
                ws.store, ["monetary"], currency=ws.config.currency, run_id=result.run_id
            )
            monetary = frame.set_index("customer_id")["monetary"]
            assert {c: Decimal(str(v)) for c, v in monetary.items() if v} == {
                c: v for c, v in want.items() if v
            }
            features = churn_features(ws, AS_OF)
            assert features["frequency"].to_dict() == {
                c: float(
                    sum(1 for o, cc, ts, _, _ in ORDERS if cc == c and o in QUALIFYING and ts < "2024-04")
                )
                for c in "abc"
            }
    finally:
        ws.close()


def test_no_module_but_rules_spells_the_excluded_statuses() -> None:
    """A second copy of the rule is how the copies drifted (schema.py's SQL text, the compiler's tuple)."""
    root = Path(segmentum.__file__).parent
    pattern = re.compile(r"""['"]cancelled['"]\s*,\s*['"]returned['"]""")
    copies = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "rules.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert copies == []
    assert not hasattr(__import__("segmentum.schema").schema, "QUALIFYING_ORDER_SQL")


def test_the_rule_compiles_for_another_dialect_too() -> None:
    """The Ibis predicate is what Spark runs; it must stay engine-neutral."""
    table = ibis.table({"amount": "decimal(38, 6)", "status": "string"}, name="orders")
    sql = ibis.to_sql(table.filter(rules.qualifying(table)), dialect="pyspark")
    assert "cancelled" in sql and "returned" in sql


SUBSCRIPTIONS = [  # id, customer, started_at, cancelled_at
    ("x1", "x", "2024-01-10 09:00", "2024-03-31 20:00"),  # a new plan the next morning, across April 1
    ("x2", "x", "2024-04-01 08:00", None),
    ("y1", "y", "2024-01-10 09:00", "2024-04-30 20:00"),  # its new plan starts after as_of: unknown yet
    ("y2", "y", "2024-05-01 08:00", None),
    ("z1", "z", "2024-01-10 09:00", "2024-03-15 09:00"),  # churned in March
    ("w1", "w", "2024-01-10 09:00", "2024-02-29 10:00"),  # 26 hours without a plan, across March 1: churn
    ("w2", "w", "2024-03-01 12:00", None),
]


def test_a_change_of_plan_within_a_day_is_not_churn_even_across_a_period_boundary(tmp_path: Path) -> None:
    from segmentum.models.churn import churn_rates

    ws = Workspace.init(tmp_path / "ws", name="plans")
    try:
        con = ws.store.cursor()
        con.execute(
            "CREATE TABLE main.subscriptions (subscription_id VARCHAR, customer_id VARCHAR, "
            "started_at TIMESTAMP, cancelled_at TIMESTAMP)"
        )
        con.executemany("INSERT INTO main.subscriptions VALUES (?, ?, ?, ?)", SUBSCRIPTIONS)
        rates = churn_rates(ws, as_of=datetime(2024, 4, 30, 23, 59, 59, 999999), basis="subscriptions")
        got = {str(r.period_start): (r.active_start, r.churned) for r in rates.itertuples()}
        assert got == {
            "2024-01-01": (0, 0),
            "2024-02-01": (4, 1),  # w
            "2024-03-01": (3, 1),  # z; x changed plan overnight and is still a customer on April 1
            "2024-04-01": (3, 1),  # y: nothing at as_of says a new plan follows
        }
    finally:
        ws.close()


# ------------------------------------------------------------------------------------ who exists at a moment

SEEN_CUSTOMERS = [  # customer, created_at
    ("a", "2024-01-01 09:00"),
    ("ev", "2024-04-01 09:00"),  # the CRM record came later: first seen by an event on 10 February
    ("tk", None),  # no created_at: first seen by a ticket on 15 February
    ("fut", "2024-06-01 09:00"),  # after the data's end, nothing else
]
SEEN_ROWS = {  # table -> (time column, [(customer, timestamp)])
    "orders": ("ordered_at", [("a", "2024-01-05 10:00"), ("ev", "2024-03-20 10:00")]),
    "events": ("occurred_at", [("ev", "2024-02-10 10:00")]),
    "tickets": ("opened_at", [("tk", "2024-02-15 10:00")]),
}


def _expected_existing(at: datetime, *, with_customers: bool) -> set[str]:
    """Computed here from the rows above, not by segmentum: the earliest of created_at and every timestamp."""
    seen: dict[str, list[datetime]] = {}
    for customer, created in SEEN_CUSTOMERS if with_customers else []:
        seen.setdefault(customer, []).extend([datetime.fromisoformat(created)] if created else [])
    for _, rows in SEEN_ROWS.values():
        for customer, ts in rows:
            if with_customers and customer not in {c for c, _ in SEEN_CUSTOMERS}:
                continue
            seen.setdefault(customer, []).append(datetime.fromisoformat(ts))
    return {c for c, times in seen.items() if not times or min(times) <= at}


def _seen_workspace(root: Path, *, with_customers: bool) -> Workspace:
    ws = _workspace(root)
    con = ws.store.cursor()
    con.execute("DELETE FROM main.orders")
    con.execute("DROP TABLE main.customers")
    if with_customers:
        con.execute("CREATE TABLE main.customers (customer_id VARCHAR, created_at TIMESTAMP)")
        con.executemany("INSERT INTO main.customers VALUES (?, ?)", SEEN_CUSTOMERS)
    for i, (customer, ts) in enumerate(SEEN_ROWS["orders"][1]):
        con.execute("INSERT INTO main.orders VALUES (?, ?, ?, 10, NULL)", [f"s{i}", customer, ts])
    con.execute("CREATE TABLE main.events (customer_id VARCHAR, occurred_at TIMESTAMP, name VARCHAR)")
    con.executemany("INSERT INTO main.events VALUES (?, ?, 'page_view')", SEEN_ROWS["events"][1])
    con.execute("CREATE TABLE main.tickets (customer_id VARCHAR, opened_at TIMESTAMP)")
    con.executemany("INSERT INTO main.tickets VALUES (?, ?)", SEEN_ROWS["tickets"][1])
    return ws


@pytest.mark.parametrize("with_customers", [True, False], ids=["customers-table", "derived-customers"])
def test_churn_features_and_the_clustering_frame_hold_who_exists_as_a_run_does(
    tmp_path: Path, with_customers: bool
) -> None:
    """A customer first seen by an event or a ticket (no order, no or a later created_at) exists for the churn
    features and the clustering frame from that moment on and not before, as in a run (DESIGN section 4)."""
    ws = _seen_workspace(tmp_path / "ws", with_customers=with_customers)
    try:
        for at in (datetime(2024, 2, 1), datetime(2024, 2, 12), datetime(2024, 3, 1)):
            want = _expected_existing(at, with_customers=with_customers)
            assert set(churn_features(ws, at).index) == want, at
            assert set(run(ws, as_of=at).traits()["customer_id"]) == want, at
        assert "tk" not in _expected_existing(datetime(2024, 2, 12), with_customers=with_customers)
        assert {"ev", "tk"} <= _expected_existing(datetime(2024, 3, 1), with_customers=with_customers)
        # without a run the frame is taken at the data's end (20 March): `ev` exists from its event although
        # its record was created later, `tk` from its ticket, `fut` not at all
        frame, _ = customer_frame(ws.store, ["events_90d"], currency=ws.config.currency, use_run=False)
        want = _expected_existing(datetime(2024, 3, 20, 23, 59, 59, 999999), with_customers=with_customers)
        assert set(frame["customer_id"]) == want == {"a", "ev", "tk"}
    finally:
        ws.close()


def test_the_sql_forms_of_first_seen_are_compiled_from_the_ibis_rule(tmp_path: Path) -> None:
    ws = _seen_workspace(tmp_path / "ws", with_customers=True)
    try:
        sql = rules.first_seen_sql(ws.store)
        assert sql is not None
        got = dict(ws.store.cursor().execute(sql).fetchall())
        assert got == {
            "a": datetime(2024, 1, 1, 9),
            "ev": datetime(2024, 2, 10, 10),
            "tk": datetime(2024, 2, 15, 10),
            "fut": datetime(2024, 6, 1, 9),
        }
        condition = rules.exists_at_sql("first_seen_at", "$at")
        assert condition == "((first_seen_at IS NULL) OR (first_seen_at <= $at))"
    finally:
        ws.close()
