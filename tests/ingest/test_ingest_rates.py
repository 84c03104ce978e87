"""The `rates` table (DESIGN section 5.1): `segmentum ingest rates FILE` with its quarantine, what `coverage`,
`run` and `explain` say about orders without a rate, and the ingest help naming every canonical table."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from test_ingest_text_files import segmentum

from segmentum.analysis.coverage import coverage
from segmentum.ingest.load import ingest, quarantined_rows
from segmentum.schema import TABLES
from segmentum.workspace import Workspace

RATES_CSV = """Currency,Date,Rate
eur,2024-01-10,1.5
EUR,2024-01-20,2
USD,2024-01-01,0
GBP,2024-01-02,-1.25
GBP,2024-01-03,
JPY,not a day,0.25
EUR,2024-01-10,1.6
,2024-01-01,41
chf,2024-01-01,1.12345678
"""
ORDERS_CSV = """order_id,customer_id,ordered_at,amount,currency
o1,a,2024-01-12 10:00,10,eur
o2,a,2024-01-09 10:00,4,EUR
o3,b,2024-01-02 10:00,7,usd
o4,b,2024-01-05 10:00,3,GBP
o5,c,2024-01-25 10:00,5,
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_rates_are_stored_upper_cased_and_bad_rows_quarantined_with_what_where_and_how(
    workspace: Workspace, tmp_path: Path
) -> None:
    report = ingest(workspace, "rates", _write(tmp_path / "rates.csv", RATES_CSV))
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (9, 3, 6)
    stored = workspace.store.query("SELECT currency, day, rate FROM main.rates ORDER BY currency, day")
    assert stored == [
        ("CHF", dt.date(2024, 1, 1), Decimal("1.123457")),  # 6 decimals, half-even, with a warning
        ("EUR", dt.date(2024, 1, 10), Decimal("1.500000")),
        ("EUR", dt.date(2024, 1, 20), Decimal("2.000000")),
    ]
    assert any("more than 6 decimals" in w for w in report.warnings)
    reasons = {q["line"]: (q["column"], q["reason"]) for q in quarantined_rows(workspace, table="rates")}
    assert set(reasons) == {4, 5, 6, 7, 8, 9}
    assert reasons[4][0] == "Rate" and reasons[4][1].startswith(
        "rate 0.000000 is not allowed: a rate must be positive"
    )
    assert "load it again" in reasons[4][1]
    assert reasons[5][0] == "Rate" and reasons[5][1].startswith("rate -1.250000 is not allowed")
    assert reasons[6] == ("Rate", "missing required value")
    assert reasons[7][0] == "Date" and reasons[7][1].startswith("cannot read 'not a day' as a date")
    # eur and EUR of one day are one key: the second is a duplicate of line 2
    assert reasons[8][1].startswith("duplicate key: line 2")
    assert reasons[9] == ("Currency", "missing key")
    # rates name no customer: loading them creates none
    assert workspace.store.query("SELECT count(*) FROM main.customers") == [(0,)]


def test_order_currencies_are_stored_upper_cased(workspace: Workspace, tmp_path: Path) -> None:
    ingest(workspace, "orders", _write(tmp_path / "orders.csv", ORDERS_CSV))
    assert workspace.store.query("SELECT order_id, currency FROM main.orders ORDER BY 1") == [
        ("o1", "EUR"),
        ("o2", "EUR"),
        ("o3", "USD"),
        ("o4", "GBP"),
        ("o5", None),
    ]


def test_coverage_run_and_explain_report_the_orders_without_a_rate(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws = workspace
    ingest(ws, "orders", _write(tmp_path / "orders.csv", ORDERS_CSV))
    before = coverage(ws)
    assert before.missing_rates is None  # no rates table: nothing is converted, nothing skipped
    ingest(ws, "rates", _write(tmp_path / "rates.csv", RATES_CSV))
    (ws.root / "definitions" / "money.yml").write_text(
        "traits:\n  spent: {sum: orders.amount}\nsegments:\n  big: {where: 'spent >= 10'}\n", encoding="utf-8"
    )
    report = coverage(Workspace(ws.root))
    missing = report.missing_rates
    assert missing is not None
    # o2 (EUR a day before the first EUR day) and o4 (GBP: its only rows were quarantined)
    assert (missing.orders, missing.customers) == (2, 2)
    assert missing.currencies == {"EUR": 1, "GBP": 1}
    assert missing.earliest == dt.date(2024, 1, 5)
    rates_row = next(t for t in report.tables if t.table == "rates")
    assert (rates_row.present, rates_row.rows, rates_row.customers) == (True, 3, 0)
    out = segmentum("coverage", "-w", str(ws.root), "--format", "json")
    data = json.loads(out.stdout)
    assert data["missing_rates"]["orders"] == 2
    assert "segmentum ingest rates FILE" in data["missing_rates"]["message"]
    table = segmentum("coverage", "-w", str(ws.root), "--section", "tables")
    assert "2 order(s) of 2 customer(s) have no rate" in table.stderr
    ran = segmentum("run", "-w", str(ws.root), "--as-of", "2024-01-31")
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.count("have no rate") == 1
    assert "EUR (1), GBP (1), the earliest on 2024-01-05" in " ".join(ran.stderr.split())
    why = segmentum("explain", "a", "big", "-w", str(ws.root), "--format", "json")
    explained = json.loads(why.stdout)
    assert explained["member"] is True
    assert explained["checks"][0]["values"] == {"spent": 15.0}  # 10 EUR at 1.5; o2 skipped
    assert explained["notes"] == [
        "1 order(s) in EUR converted to USD at their day's rate",
        "1 order(s) in EUR have no rate at or before their date: money traits skip them "
        "(load rates with `segmentum ingest rates FILE`)",
    ]


def test_the_ingest_help_names_every_canonical_table() -> None:
    out = segmentum("ingest", "--help")
    text = " ".join(out.stdout.replace("│", " ").split())
    for name in TABLES:
        assert name in text, name
