"""Online Retail II loads as order_items with the built-in aliases; nothing is lost; derived orders are exact."""

from __future__ import annotations

import time
from decimal import Decimal

import duckdb
import pytest

from segmentum.ingest.load import ingest

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_online_retail_loads_with_every_line_accounted_for(workspace, shared_data):
    path = shared_data / "online_retail_ii_2009_2010.parquet"
    started = time.perf_counter()
    report = ingest(workspace, "order_items", path)
    elapsed = time.perf_counter() - started

    assert report.columns == {
        "Invoice": "order_id",
        "StockCode": "product_id",
        "Description": "product_name",
        "Quantity": "quantity",
        "InvoiceDate": "ordered_at",
        "Price": "unit_price",
        "Customer ID": "customer_id",
        "Country": "country",
    }
    assert report.rows_read == 525_461
    assert report.rows_read == report.rows_stored + report.rows_quarantined
    assert report.derived == ["orders", "customers"]
    cur = workspace.store.cursor()
    raw = duckdb.connect()
    raw_lines = f"read_parquet('{path}')"
    anonymous = raw.execute(f'SELECT count(*) FROM {raw_lines} WHERE "Customer ID" IS NULL').fetchone()[0]
    assert report.rows_quarantined == anonymous  # only the lines without Customer ID
    assert cur.execute("SELECT count(*) FROM order_items").fetchone()[0] == report.rows_stored
    reasons = cur.execute(
        "SELECT column_name, reason, count(*) FROM segmentum.quarantine GROUP BY ALL"
    ).fetchall()
    assert reasons == [("Customer ID", "missing required value", anonymous)]
    # quarantine lines point at the rows of the file (1-based row numbers of the Parquet file)
    line, raw_json = cur.execute(
        "SELECT line, raw FROM segmentum.quarantine ORDER BY line LIMIT 1"
    ).fetchone()
    first_anonymous = raw.execute(
        f"SELECT file_row_number + 1, \"Invoice\" FROM read_parquet('{path}', file_row_number = true) "
        'WHERE "Customer ID" IS NULL ORDER BY 1 LIMIT 1'
    ).fetchone()
    assert line == first_anonymous[0] and first_anonymous[1] in raw_json

    # keys are text without the spreadsheet's ".0"
    assert cur.execute("SELECT count(*) FROM order_items WHERE customer_id LIKE '%.%'").fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM customers").fetchone()[0] == 4383
    assert cur.execute("SELECT country FROM customers WHERE customer_id = '12347'").fetchone()[0] == "Iceland"

    # derived orders equal a direct computation on the raw file
    expected = raw.execute(
        f"""SELECT "Invoice", CAST("Customer ID" AS BIGINT)::VARCHAR, min("InvoiceDate")::TIMESTAMP,
                   sum(round(CAST("Quantity" AS DECIMAL(38, 6)) * CAST("Price" AS DECIMAL(38, 6)), 6))
            FROM {raw_lines} WHERE "Customer ID" IS NOT NULL GROUP BY ALL ORDER BY 1"""
    ).fetchall()
    got = cur.execute(
        "SELECT order_id, customer_id, ordered_at, amount FROM orders ORDER BY order_id"
    ).fetchall()
    assert len(got) == len(expected)
    assert got == [(a, b, c, Decimal(d)) for a, b, c, d in expected]
    # cancellations ("C" invoices) have negative amounts, so they are not qualifying orders
    assert cur.execute("SELECT bool_and(amount < 0) FROM orders WHERE order_id LIKE 'C%'").fetchone()[0]
    assert elapsed < 60, f"ingest took {elapsed:.1f} s"


def test_order_lines_get_their_position_within_the_order(workspace, shared_data):
    ingest(workspace, "order_items", shared_data / "online_retail_ii_2009_2010.parquet")
    cur = workspace.store.cursor()
    rows = cur.execute(
        "SELECT line, product_id FROM order_items WHERE order_id = '489434' ORDER BY line"
    ).fetchall()
    raw = (
        duckdb.connect()
        .execute(
            f"SELECT \"StockCode\" FROM read_parquet('{shared_data / 'online_retail_ii_2009_2010.parquet'}', "
            "file_row_number = true) WHERE \"Invoice\" = '489434' ORDER BY file_row_number"
        )
        .fetchall()
    )
    assert rows == [(i, code) for i, (code,) in enumerate(raw, start=1)]
    dupes = cur.execute(
        "SELECT count(*) FROM (SELECT order_id, line FROM order_items GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dupes.fetchone()[0] == 0
