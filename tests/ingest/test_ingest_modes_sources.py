"""Ingest modes, key normalisation, derived tables and every kind of source."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from segmentum.errors import IngestError
from segmentum.ingest.load import ingest, ingest_frame, quarantined_rows
from segmentum.workspace import Workspace


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(ws: Workspace, sql: str) -> list[tuple]:
    return ws.store.cursor().execute(sql).fetchall()


def test_append_quarantines_keys_already_stored_or_seen_earlier(workspace: Workspace, tmp_path: Path) -> None:
    first = write(tmp_path / "a.csv", "customer_id,name\n1,Ann\n2,Bob\n")
    second = write(tmp_path / "b.csv", "customer_id,name\n2,Bobby\n3,Cid\n3,Cyd\n")
    ingest(workspace, "customers", first)
    report = ingest(workspace, "customers", second)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 1, 2)
    assert rows(workspace, "SELECT customer_id, name FROM customers ORDER BY 1") == [
        ("1", "Ann"),
        ("2", "Bob"),
        ("3", "Cid"),
    ]
    reasons = {(q["line"], q["reason"].split(":")[0]) for q in quarantined_rows(workspace, table="customers")}
    assert reasons == {(2, "duplicate key"), (4, "duplicate key")}
    assert "already stored" in quarantined_rows(workspace, ingest_id=report.ingest_id)[-1]["reason"] or any(
        "already stored" in q["reason"] for q in quarantined_rows(workspace, ingest_id=report.ingest_id)
    )


def test_upsert_last_row_wins_and_replace_replaces(workspace: Workspace, tmp_path: Path) -> None:
    ingest(workspace, "customers", write(tmp_path / "a.csv", "customer_id,name\n1,Ann\n2,Bob\n"))
    report = ingest(
        workspace,
        "customers",
        write(tmp_path / "b.csv", "customer_id,name,city\n2,Bobby,Kyiv\n3,Cid,\n3,Cyd,Lviv\n"),
        mode="upsert",
    )
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 3, 0)
    assert rows(workspace, "SELECT customer_id, name, city FROM customers ORDER BY 1") == [
        ("1", "Ann", None),
        ("2", "Bobby", "Kyiv"),
        ("3", "Cyd", "Lviv"),
    ]
    ingest(
        workspace,
        "customers",
        write(tmp_path / "c.csv", "customer_id,email\n9,x@example.com\n"),
        mode="replace",
    )
    assert rows(workspace, "SELECT * FROM customers") == [("9", "x@example.com")]


def test_ids_from_spreadsheets_are_the_same_id(workspace: Workspace, tmp_path: Path) -> None:
    ingest(workspace, "customers", write(tmp_path / "a.csv", "customer_id\n17850\n"))
    report = ingest(workspace, "customers", write(tmp_path / "b.csv", "customer_id\n17850.0\n 17851.00 \n"))
    assert (report.rows_stored, report.rows_quarantined) == (1, 1)
    assert rows(workspace, "SELECT customer_id FROM customers ORDER BY 1") == [("17850",), ("17851",)]


def test_a_failed_load_leaves_the_store_as_it_was(workspace: Workspace, tmp_path: Path) -> None:
    ingest(workspace, "customers", write(tmp_path / "a.csv", "customer_id,name\n1,Ann\n"))
    before = rows(workspace, "SELECT count(*) FROM segmentum.ingests")
    with pytest.raises(IngestError):
        ingest(workspace, "customers", write(tmp_path / "b.csv", "name\nBob\n"))
    assert rows(workspace, "SELECT * FROM customers") == [("1", "Ann")]
    assert rows(workspace, "SELECT count(*) FROM segmentum.ingests") == before


def test_derived_orders_follow_later_order_items_and_give_way_to_real_orders(
    workspace: Workspace, tmp_path: Path
) -> None:
    items = "order_id,customer_id,ordered_at,product_id,quantity,unit_price\n"
    ingest(
        workspace,
        "order_items",
        write(tmp_path / "i1.csv", items + "1,a,2024-01-02 10:00,p,2,1.5\n1,a,2024-01-01,p,2,1.5\n"),
    )
    ingest(workspace, "order_items", write(tmp_path / "i2.csv", items + "2,b,2024-02-01,q,1,10\n"))
    assert rows(
        workspace, "SELECT order_id, customer_id, ordered_at, amount, status FROM orders ORDER BY 1"
    ) == [
        ("1", "a", dt.datetime(2024, 1, 1), Decimal("6"), None),
        ("2", "b", dt.datetime(2024, 2, 1), Decimal("10"), None),
    ]
    # identical lines are all stored, numbered by position within their order
    assert rows(workspace, "SELECT order_id, line FROM order_items ORDER BY 1, 2") == [
        ("1", 1),
        ("1", 2),
        ("2", 1),
    ]
    report = ingest(
        workspace,
        "orders",
        write(
            tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount,status\n7,a,2024-03-01,99,completed\n"
        ),
    )
    assert any("derived" in w for w in report.warnings)
    assert rows(workspace, "SELECT order_id, amount FROM orders") == [("7", Decimal("99"))]
    ingest(workspace, "order_items", write(tmp_path / "i3.csv", items + "3,c,2024-04-01,q,1,10\n"))
    assert rows(workspace, "SELECT order_id FROM orders") == [("7",)]  # real orders are never re-derived


def test_customers_created_from_events_give_way_to_the_customer_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    ingest(
        workspace,
        "events",
        write(
            tmp_path / "e.csv",
            "customer_id,event,occurred_at,country\n"
            "a,login,2024-01-01,UA\na,login,2024-02-01,PL\nb,login,2024-01-01,\n",
        ),
    )
    assert rows(workspace, "SELECT customer_id, country FROM customers ORDER BY 1") == [
        ("a", "PL"),
        ("b", None),
    ]
    report = ingest(workspace, "customers", write(tmp_path / "c.csv", "customer_id,name\na,Ann\nc,Cid\n"))
    assert (report.rows_stored, report.rows_quarantined) == (2, 0)
    assert rows(workspace, "SELECT customer_id, name FROM customers ORDER BY 1") == [
        ("a", "Ann"),
        ("b", None),
        ("c", "Cid"),
    ]
    again = ingest(workspace, "customers", write(tmp_path / "d.csv", "customer_id,name\na,Anna\n"))
    assert again.rows_quarantined == 1  # now a real customer row: a duplicate in append mode


def test_events_get_ids_and_properties_are_json(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        {
            "customer_id": 1,
            "event": "cart_add",
            "occurred_at": "2024-01-01T10:00:00",
            "properties": {"cart_id": "c1", "value": 9.5},
        },
        {"customer_id": "2", "event": "login", "occurred_at": "2024-01-02 11:00"},
        "not an object",
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n\n", encoding="utf-8")
    report = ingest(workspace, "events", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (4, 2, 2)
    got = rows(
        workspace,
        "SELECT length(event_id), customer_id, properties->>'cart_id', (properties->>'value')::DOUBLE FROM events "
        "ORDER BY 2",
    )
    # ids derived from the row's content and occurrence (DESIGN section 4): an md5 in hex
    assert got == [(32, "1", "c1", 9.5), (32, "2", None, None)]
    assert [(q["line"], q["reason"][:12]) for q in quarantined_rows(workspace)] == [
        (3, "not a JSON o"),
        (4, "not valid JS"),
    ]


def test_excel_workbook(workspace: Workspace, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Invoice", "Customer ID", "InvoiceDate", "Price", "Quantity", "StockCode"])
    sheet.append(["536365", 17850.0, dt.datetime(2010, 12, 1, 8, 26), 2.55, 6, "85123A"])
    sheet.append(["536366", None, dt.datetime(2010, 12, 1, 8, 28), 1.85, 6, "22633"])
    sheet.append(["536367", 13047, "01.12.2010", "3,39", 2, 84879])
    path = tmp_path / "retail.xlsx"
    book.save(path)
    report = ingest(workspace, "order_items", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 1, 2)
    assert rows(
        workspace, "SELECT order_id, customer_id, ordered_at, unit_price, product_id FROM order_items"
    ) == [("536365", "17850", dt.datetime(2010, 12, 1, 8, 26), Decimal("2.55"), "85123A")]
    assert [(q["line"], q["column"]) for q in quarantined_rows(workspace)] == [
        (3, "Customer ID"),
        (4, "InvoiceDate"),
    ]


def test_sqlite_and_duckdb_urls(workspace: Workspace, tmp_path: Path) -> None:
    lite = tmp_path / "crm.db"
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE clients (client_id INTEGER, full_name TEXT, signup_date TEXT)")
    con.executemany(
        "INSERT INTO clients VALUES (?, ?, ?)", [(1, "Ann", "2024-01-01"), (2, "Bob", "bad date")]
    )
    con.commit()
    con.close()
    report = ingest(workspace, "customers", f"sqlite:///{lite}?table=clients")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (2, 1, 1)
    assert rows(workspace, "SELECT customer_id, name, created_at FROM customers") == [
        ("1", "Ann", dt.datetime(2024, 1, 1))
    ]
    duck = tmp_path / "wh.duckdb"
    with duckdb.connect(str(duck)) as d:
        d.execute(
            "CREATE TABLE subs AS SELECT 's1' AS subscription_id, 1 AS customer_id, "
            "TIMESTAMP '2024-01-05 00:00' AS started_at, 49.99::DOUBLE AS mrr"
        )
    report = ingest(workspace, "subscriptions", f"duckdb:///{duck}?table=subs")
    assert report.rows_stored == 1
    assert rows(workspace, "SELECT subscription_id, customer_id, mrr FROM subscriptions") == [
        ("s1", "1", Decimal("49.99"))
    ]
    with pytest.raises(IngestError, match="table"):
        ingest(workspace, "subscriptions", f"duckdb:///{duck}")


def test_parquet_with_typed_columns(workspace: Workspace, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2"],
            "customer_id": [1.0, float("nan")],
            "opened_at": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00"]).tz_localize("UTC"),
            "csat": [4.0, 5.0],
        }
    )
    frame.to_parquet(tmp_path / "t.parquet")
    ws = Workspace.init(tmp_path / "kyiv", timezone="Europe/Kyiv")
    try:
        report = ingest(ws, "tickets", tmp_path / "t.parquet")
        assert (report.rows_stored, report.rows_quarantined) == (1, 1)
        assert rows(ws, "SELECT ticket_id, customer_id, opened_at, csat FROM tickets") == [
            ("t1", "1", dt.datetime(2024, 1, 1, 12), 4.0)
        ]
    finally:
        ws.close()


def test_ingest_frame_keeps_types(workspace: Workspace) -> None:
    frame = pd.DataFrame(
        {
            "order_id": ["1", "2", "2"],
            "customer_id": [10, 11, 11],
            "ordered_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "amount": [10.5, 0.1234567, 3.0],
            "channel": ["web", "shop", "web"],
        }
    )
    report = workspace.ingest_frame("orders", frame, source_name="demo")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 2, 1)
    assert report.warnings and "rounded half-even" in report.warnings[0]
    assert rows(workspace, "SELECT order_id, customer_id, amount, channel FROM orders ORDER BY 1") == [
        ("1", "10", Decimal("10.5"), "web"),
        ("2", "11", Decimal("0.123457"), "shop"),
    ]
    assert quarantined_rows(workspace)[0]["source"] == "demo"
    assert ingest_frame(workspace, "orders", frame, mode="replace").rows_stored == 2


def test_workspace_ingest_and_the_ingest_log(workspace: Workspace, tmp_path: Path) -> None:
    report = workspace.ingest("customers", write(tmp_path / "c.csv", "CustomerID;Страна\n1;UA\n"))
    assert report.columns == {"CustomerID": "customer_id", "Страна": "country"}
    log = rows(
        workspace,
        "SELECT ingest_id, table_name, mode, rows_read, rows_stored, rows_quarantined FROM segmentum.ingests",
    )
    assert log == [(report.ingest_id, "customers", "append", 1, 1, 0)]


def test_unreadable_sources_are_clear_errors(workspace: Workspace, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        ingest(workspace, "customers", tmp_path / "missing.csv")
    with pytest.raises(IngestError, match="empty"):
        ingest(workspace, "customers", write(tmp_path / "empty.csv", ""))
    with pytest.raises(IngestError, match="unknown table 'customer'.*did you mean 'customers'"):
        ingest(workspace, "customer", tmp_path / "x.csv")
    with pytest.raises(IngestError, match="Parquet"):
        ingest(workspace, "customers", write(tmp_path / "bad.parquet", "not parquet"))
    with pytest.raises(IngestError, match="--map"):
        ingest(
            workspace, "customers", write(tmp_path / "c.csv", "a,b\n1,2\n"), mapping={"nope": "customer_id"}
        )


def test_replacing_customers_keeps_every_customer_seen_elsewhere(
    workspace: Workspace, tmp_path: Path
) -> None:
    ingest(
        workspace,
        "orders",
        write(
            tmp_path / "o.csv", "order_id,customer_id,ordered_at,amount\n1,a,2024-01-01,5\n2,b,2024-01-02,6\n"
        ),
    )
    report = ingest(
        workspace, "customers", write(tmp_path / "c.csv", "customer_id,name\nb,Bob\nz,Zoe\n"), mode="replace"
    )
    assert report.derived == ["customers"]
    assert rows(workspace, "SELECT customer_id, name FROM customers ORDER BY 1") == [
        ("a", None),
        ("b", "Bob"),
        ("z", "Zoe"),
    ]


def test_orders_always_have_a_status_column(tmp_path: Path) -> None:
    """Input without `status` still gives the stored table the column (null = completed)."""
    ws = Workspace.init(tmp_path / "ws")
    source = tmp_path / "orders.csv"
    source.write_text("order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,10\n")
    ws.ingest("orders", source)
    assert ws.store.columns("orders")["status"] == "VARCHAR"
    assert ws.store.query("SELECT status FROM main.orders") == [(None,)]
    ws.close()
