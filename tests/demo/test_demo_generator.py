"""The demo business generator: deterministic, consistent, and its personas behave as intended."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentum.demo import generator as demo
from segmentum.demo.generator import DemoError, generate_demo, write_demo_parquet
from segmentum.schema import TABLES

END = datetime(2026, 10, 31, 23, 59, 59)


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return generate_demo(4000, seed=7)


@pytest.fixture(scope="module")
def con(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for name, table in tables.items():
        c.register(name, table)
    return c


def one(con: duckdb.DuckDBPyConnection, sql: str):  # noqa: ANN201
    return con.execute(sql).fetchone()[0]


def test_every_canonical_table_with_its_required_columns(tables: dict[str, pa.Table]) -> None:
    # DESIGN 5.1's attribute history, identities and rates are tables a workspace may add; the demo has none
    generated = {
        name: spec for name, spec in TABLES.items() if name not in ("customer_changes", "identities", "rates")
    }
    assert set(tables) == set(generated)
    for name, spec in generated.items():
        missing = set(spec.required) - set(tables[name].column_names)
        assert not missing, f"{name} lacks {missing}"
        assert tables[name].num_rows > 0, name
    assert tables["customers"].num_rows == 4000
    assert pa.types.is_decimal(tables["orders"].schema.field("amount").type)
    assert tables["orders"].schema.field("amount").type.scale == 2


def test_same_seed_gives_identical_tables_and_another_seed_does_not() -> None:
    first, second = generate_demo(600, seed=3), generate_demo(600, seed=3)
    for name in first:
        assert first[name].equals(second[name]), name
    other = generate_demo(600, seed=4)
    assert not other["orders"].equals(first["orders"])


def test_parquet_files_hold_the_same_data_as_generate_demo(tmp_path: Path) -> None:
    paths = write_demo_parquet(tmp_path, 700, seed=5)
    expected = generate_demo(700, seed=5)
    for name, path in paths.items():
        assert pq.read_table(path).equals(expected[name]), name


def test_chunks_keep_keys_unique_and_references_intact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "CHUNK", 300)
    data = generate_demo(1000, seed=11)
    c = duckdb.connect()
    for name, table in data.items():
        c.register(name, table)
    assert one(c, "SELECT count(DISTINCT customer_id) FROM customers") == 1000
    assert one(c, "SELECT count(*) - count(DISTINCT order_id) FROM orders") == 0
    assert (
        one(c, "SELECT count(*) FROM orders WHERE customer_id NOT IN (SELECT customer_id FROM customers)")
        == 0
    )


def test_keys_are_unique(con: duckdb.DuckDBPyConnection) -> None:
    for table, key in [
        ("customers", "customer_id"),
        ("orders", "order_id"),
        ("order_items", "order_id, line"),
        ("events", "event_id"),
        ("tickets", "ticket_id"),
        ("subscriptions", "subscription_id"),
        ("responses", "customer_id, question, answered_at"),
    ]:
        dupes = one(con, f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)")
        assert dupes == 0, table


def test_every_fact_belongs_to_a_known_customer(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("orders", "order_items", "events", "responses", "tickets", "subscriptions"):
        orphans = one(
            con, f"SELECT count(*) FROM {table} WHERE customer_id NOT IN (SELECT customer_id FROM customers)"
        )
        assert orphans == 0, table


def test_order_amount_is_the_sum_of_its_items(con: duckdb.DuckDBPyConnection) -> None:
    mismatched = one(
        con,
        """
        SELECT count(*) FROM orders o JOIN (
            SELECT order_id, sum(quantity * unit_price) AS total, any_value(customer_id) AS cid,
                   min(ordered_at) AS t, max(ordered_at) AS t2 FROM order_items GROUP BY order_id) i USING (order_id)
        WHERE o.amount <> i.total OR o.customer_id <> i.cid OR o.ordered_at <> i.t OR i.t <> i.t2""",
    )
    assert mismatched == 0
    assert (
        one(con, "SELECT count(*) FROM orders WHERE order_id NOT IN (SELECT order_id FROM order_items)") == 0
    )
    # exact cents, never float noise
    assert one(con, "SELECT min(amount) FROM orders") > Decimal("0")


def test_data_span_two_years_ending_on_the_fixed_end(con: duckdb.DuckDBPyConnection) -> None:
    for table, column in [
        ("orders", "ordered_at"),
        ("events", "occurred_at"),
        ("responses", "answered_at"),
        ("tickets", "opened_at"),
        ("subscriptions", "started_at"),
    ]:
        assert one(con, f"SELECT max({column}) FROM {table}") <= END, table
        if table != "subscriptions":  # an account's subscription may predate the data
            assert one(con, f"SELECT min({column}) FROM {table}") >= datetime(2024, 11, 1), table
    assert one(con, "SELECT max(ordered_at) FROM orders").date() >= date(2026, 10, 30)
    late = one(
        con,
        "SELECT count(*) FROM orders o JOIN customers c USING (customer_id) WHERE o.ordered_at < c.created_at",
    )
    assert late == 0


def test_events_use_the_design_names_and_valid_json(con: duckdb.DuckDBPyConnection) -> None:
    names = {r[0] for r in con.execute("SELECT DISTINCT event FROM events").fetchall()}
    assert {
        "page_view",
        "login",
        "cart_add",
        "cart_remove",
        "checkout",
        "email_sent",
        "email_open",
        "email_click",
        "email_unsubscribe",
        "support_contact",
        "sales_contact",
        "feature_used",
    } <= names
    assert (
        one(con, "SELECT count(*) FROM events WHERE properties IS NOT NULL AND NOT json_valid(properties)")
        == 0
    )
    outcomes = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT properties->>'outcome' FROM events WHERE event IN ('support_contact', 'sales_contact')"
        ).fetchall()
    }
    assert outcomes == {"resolved", "unresolved", "positive", "negative"}
    assert (
        one(
            con,
            "SELECT count(*) FROM events WHERE event = 'feature_used' AND (properties->>'feature') IS NULL",
        )
        == 0
    )
    assert (
        one(con, "SELECT count(*) FROM events WHERE event = 'cart_add' AND (properties->>'cart_id') IS NULL")
        == 0
    )


def persona_orders(con: duckdb.DuckDBPyConnection) -> dict[str, tuple]:
    rows = con.execute("""
        SELECT c.persona, count(DISTINCT c.customer_id), count(o.order_id), max(o.ordered_at), min(o.ordered_at),
               avg(o.amount)
        FROM customers c LEFT JOIN orders o USING (customer_id) GROUP BY 1""").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_personas_of_the_shop_behave_as_intended(con: duckdb.DuckDBPyConnection) -> None:
    stats = persona_orders(con)
    per_customer = {p: s[1] / s[0] for p, s in stats.items()}
    assert (
        per_customer["prospect"] == 0 and per_customer["browser"] == 0 and per_customer["lead_account"] == 0
    )
    assert per_customer["one_time"] == 1
    assert per_customer["loyal"] > 10 * per_customer["one_time"]
    assert per_customer["bargain_hunter"] > per_customer["big_spender"]
    assert stats["big_spender"][4] > 3 * stats["bargain_hunter"][4]  # average order amount
    assert (END - stats["lapsing"][2]).days >= 120  # nothing in the last 120 days ...
    assert (END - stats["churned"][2]).days > 365  # ... and nothing for more than a year
    assert (END - stats["new"][3]).days <= 30  # first order in the last 30 days


def test_lapsing_customers_were_active_before(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("""
        SELECT count(*), count(*) FILTER (WHERE n >= 2) FROM (
            SELECT c.customer_id, count(o.order_id) AS n FROM customers c JOIN orders o USING (customer_id)
            WHERE c.persona = 'lapsing' GROUP BY 1)""").fetchone()
    assert row[0] > 0 and row[0] == row[1]


def test_browsers_abandon_carts_and_prospects_do_not_shop(con: duckdb.DuckDBPyConnection) -> None:
    browsers_with_carts = one(
        con,
        """
        SELECT avg(((SELECT count(*) FROM events e WHERE e.customer_id = c.customer_id AND e.event = 'cart_add') > 0)::INT)
        FROM customers c WHERE persona = 'browser'""",
    )
    assert browsers_with_carts == 1
    recent = one(
        con,
        """
        SELECT avg(((SELECT count(*) FROM events e WHERE e.customer_id = c.customer_id AND e.event = 'cart_add'
                    AND e.occurred_at > TIMESTAMP '2026-10-24 23:59:59') > 0)::INT)
        FROM customers c WHERE persona = 'browser'""",
    )
    assert recent > 0.4
    prospect_carts = one(
        con,
        """
        SELECT count(*) FROM events e JOIN customers c USING (customer_id)
        WHERE c.persona = 'prospect' AND e.event IN ('cart_add', 'checkout')""",
    )
    assert prospect_carts == 0


def test_declining_and_growing_customers_change_against_their_previous_period(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rows = dict(
        con.execute("""
        WITH w AS (
            SELECT c.persona, c.customer_id,
                count(o.order_id) FILTER (WHERE o.ordered_at > TIMESTAMP '2026-08-02 23:59:59') AS last_90,
                count(o.order_id) FILTER (WHERE o.ordered_at > TIMESTAMP '2026-05-04 23:59:59'
                                          AND o.ordered_at <= TIMESTAMP '2026-08-02 23:59:59') AS prev_90
            FROM customers c LEFT JOIN orders o USING (customer_id)
            WHERE c.persona IN ('declining', 'growing') GROUP BY 1, 2)
        SELECT persona, avg(CASE WHEN persona = 'declining' THEN (prev_90 >= 2 AND last_90 <= prev_90 / 2)::INT
                                 ELSE (last_90 > prev_90)::INT END) FROM w GROUP BY 1""").fetchall()
    )
    assert rows["declining"] > 0.7
    assert rows["growing"] > 0.7


def test_b2b_accounts_have_firmographics_subscriptions_and_usage(con: duckdb.DuckDBPyConnection) -> None:
    share = one(con, "SELECT avg((customer_type = 'b2b')::INT) FROM customers")
    assert 0.07 < share < 0.13
    assert (
        one(
            con,
            "SELECT count(*) FROM customers WHERE customer_type = 'b2b' AND (company IS NULL OR industry IS NULL "
            "OR employees IS NULL OR account_owner IS NULL OR lifecycle_stage IS NULL)",
        )
        == 0
    )
    assert (
        one(
            con,
            "SELECT count(*) FROM subscriptions s JOIN customers c USING (customer_id) "
            "WHERE c.persona = 'lead_account' OR c.customer_type = 'b2c'",
        )
        == 0
    )
    onboarding_start = one(
        con,
        "SELECT min(s.started_at) FROM subscriptions s JOIN customers c USING (customer_id) "
        "WHERE c.persona = 'onboarding_account'",
    )
    assert (END - onboarding_start).days <= 61
    usage = dict(
        con.execute("""
        SELECT c.persona, count(e.event_id) / count(DISTINCT c.customer_id)
        FROM customers c LEFT JOIN events e ON e.customer_id = c.customer_id AND e.event = 'feature_used'
             AND e.occurred_at > TIMESTAMP '2026-08-02 23:59:59'
        WHERE c.persona IN ('key_account', 'churning_account') GROUP BY 1""").fetchall()
    )
    assert usage["key_account"] > 2 * usage["churning_account"]
    cancelled = one(
        con,
        "SELECT avg((cancelled_at IS NOT NULL AND cancel_reason <> 'upgrade')::INT) "
        "FROM subscriptions s JOIN customers c USING (customer_id) WHERE c.persona = 'churning_account'",
    )
    assert cancelled > 0.4


def test_surveys_answer_in_their_scales(con: duckdb.DuckDBPyConnection) -> None:
    nps = dict(
        con.execute("""
        SELECT c.persona, avg(answer::INT) FROM responses r JOIN customers c USING (customer_id)
        WHERE question = 'nps' GROUP BY 1""").fetchall()
    )
    assert nps["key_account"] > 8.5 and nps["churning_account"] < 6.5 and nps["loyal"] > nps["churned"]
    assert (
        one(con, "SELECT count(*) FROM responses WHERE question = 'nps' AND answer::INT NOT BETWEEN 0 AND 10")
        == 0
    )
    assert (
        one(con, "SELECT count(*) FROM responses WHERE question = 'csat' AND answer::INT NOT BETWEEN 1 AND 5")
        == 0
    )
    priorities = {
        r[0]
        for r in con.execute("SELECT DISTINCT answer FROM responses WHERE question = 'priority'").fetchall()
    }
    assert priorities == {"price", "quality", "speed", "service"}
    price_share = dict(
        con.execute("""
        SELECT c.persona, avg((answer = 'price')::INT) FROM responses r JOIN customers c USING (customer_id)
        WHERE question = 'priority' GROUP BY 1""").fetchall()
    )
    assert price_share["bargain_hunter"] > 2 * price_share["big_spender"]


def test_tickets_are_answered_after_they_are_opened(con: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            con,
            "SELECT count(*) FROM tickets WHERE first_response_at < opened_at OR resolved_at < first_response_at",
        )
        == 0
    )
    assert one(con, "SELECT count(*) FROM tickets WHERE csat NOT BETWEEN 1 AND 5") == 0


def test_customers_carry_the_attributes_of_the_design(tables: dict[str, pa.Table]) -> None:
    columns = set(tables["customers"].column_names)
    assert set(TABLES["customers"].columns) <= columns
    assert {"persona", "customer_type"} <= columns
    assert set(tables["customers"].column("language").unique().to_pylist()) == {"uk", "pl", "de", "en", "ru"}
    assert "Europe/Kyiv" in tables["customers"].column("timezone").unique().to_pylist()
    assert pa.types.is_list(tables["customers"].schema.field("interests").type)


@pytest.mark.parametrize("customers", [0, -5, 2.5, True])
def test_a_bad_number_of_customers_is_refused(customers: object) -> None:
    with pytest.raises(DemoError, match="customers must be a whole number"):
        generate_demo(customers)  # type: ignore[arg-type]


@pytest.mark.parametrize("customers", [1, 3])
def test_tiny_demos_keep_the_schema_of_big_ones(customers: int, tables: dict[str, pa.Table]) -> None:
    for seed in range(4):
        small = generate_demo(customers, seed=seed)
        for name, table in small.items():
            assert table.schema == tables[name].schema, (name, seed)
