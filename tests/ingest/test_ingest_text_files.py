"""Text exports: encodings, delimiters, decimal commas, thousands separators, date formats, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from segmentum.errors import IngestError, SegmentumError
from segmentum.ingest.load import ingest, quarantined_rows
from segmentum.workspace import Workspace

SUMMARY = re.compile(r"^([\d,]+) rows read, ([\d,]+) stored, ([\d,]+) quarantined$", re.M)


def segmentum_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point, error boundary included (slow: a fresh interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args], capture_output=True, text=True, timeout=120
    )


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def segmentum(*args: str) -> Outcome:
    """The CLI in this process (typer's CliRunner); errors end as exit code 1 as at the console."""
    from typer.testing import CliRunner

    from segmentum.cli.main import app

    result = CliRunner().invoke(app, list(args))
    stderr = result.stderr
    if isinstance(result.exception, SegmentumError):
        stderr += f"Error: {result.exception}\n"
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, stderr)


def summary_numbers(text: str) -> tuple[int, int, int]:
    match = SUMMARY.search(text)
    assert match, text
    return tuple(int(g.replace(",", "")) for g in match.groups())  # type: ignore[return-value]


CP1251_EXPORT = (
    "Номер замовлення;Клієнт;Дата;Сума;Статус;Місто\r\n"
    "A-1;17850;01.02.2024 10:15;1 234,50;виконано;Київ\r\n"
    "A-2;17850,0;15.03.2024;\u00a0999\u00a0000,50;;Львів\r\n"
    "A-3;Іван Петренко;31.12.2023 23:59:59;12,5;скасовано;Одеса\r\n"
    "A-4;;01.01.2024;5;;\r\n"
    "A-5;Олена;1.13.2024;5;;\r\n"
    "A-6;Олена;02.01.2024;1 000,25;;Харків\r\n"
)


def test_windows_1251_semicolon_file_loads_with_only_map(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workspace.init(ws, timezone="Europe/Kyiv").close()
    path = tmp_path / "export.csv"
    path.write_bytes(CP1251_EXPORT.encode("cp1251"))
    result = segmentum(
        "ingest",
        "orders",
        str(path),
        "--map",
        "Дата=ordered_at",
        "--map",
        "Сума=amount",
        "--workspace",
        str(ws),
    )
    assert result.returncode == 0, result.stderr
    assert summary_numbers(result.stdout) == (6, 4, 2)
    with Workspace(ws) as w:
        rows = (
            w.store.cursor()
            .execute(
                "SELECT order_id, customer_id, ordered_at, amount, status, city FROM orders ORDER BY order_id"
            )
            .fetchall()
        )
        quarantine = quarantined_rows(w)
    assert rows == [
        ("A-1", "17850", dt.datetime(2024, 2, 1, 10, 15), Decimal("1234.5"), "виконано", "Київ"),
        ("A-2", "17850", dt.datetime(2024, 3, 15), Decimal("999000.5"), None, "Львів"),
        (
            "A-3",
            "Іван Петренко",
            dt.datetime(2023, 12, 31, 23, 59, 59),
            Decimal("12.5"),
            "скасовано",
            "Одеса",
        ),
        ("A-6", "Олена", dt.datetime(2024, 1, 2), Decimal("1000.25"), None, "Харків"),
    ]
    assert [(q["line"], q["column"]) for q in quarantine] == [(5, "Клієнт"), (6, "Дата")]
    assert "missing required value" in quarantine[0]["reason"]
    assert "'1.13.2024'" in quarantine[1]["reason"] and "dd.mm.yyyy" in quarantine[1]["reason"]
    assert json.loads(quarantine[1]["raw"])["Клієнт"] == "Олена"  # Cyrillic intact in the raw row too


def test_customers_are_created_from_orders_with_their_latest_city(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(CP1251_EXPORT.encode("cp1251"))
    with Workspace.init(tmp_path / "ws") as ws:
        report = ingest(ws, "orders", path, mapping={"Дата": "ordered_at", "Сума": "amount"})
        assert report.derived == ["customers"]
        customers = ws.store.cursor().execute("SELECT customer_id, city FROM customers ORDER BY 1").fetchall()
    assert customers == [("17850", "Львів"), ("Іван Петренко", "Одеса"), ("Олена", "Харків")]


def test_ambiguous_dates_stop_and_ask_for_date_format(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\n1,a,01/02/2024,5\n2,b,03/04/2024 10:00,6\n"
        "3,c,12/11/2023,7\n",
        encoding="utf-8",
    )
    with Workspace.init(tmp_path / "ws") as ws:
        with pytest.raises(IngestError) as info:
            ingest(ws, "orders", path)
        message = str(info.value)
        assert "--date-format" in message and "'01/02/2024'" in message
        assert "dd/mm/yyyy" in message and "mm/dd/yyyy" in message
        assert not ws.store.table_exists("orders")  # nothing half-loaded
        report = ingest(ws, "orders", path, date_format="mm/dd/yyyy")
        assert report.rows_stored == 3
        got = ws.store.cursor().execute("SELECT ordered_at FROM orders ORDER BY order_id").fetchall()
    assert [r[0] for r in got] == [
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 3, 4, 10),
        dt.datetime(2023, 12, 11),
    ]


@pytest.mark.slow
def test_cli_ambiguous_dates_is_one_error_line(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workspace.init(ws).close()
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,ordered_at,amount\n1,a,01/02/2024,5\n", encoding="utf-8")
    result = segmentum_process("ingest", "orders", str(path), "--workspace", str(ws))
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "--date-format" in result.stderr
    assert "Traceback" not in result.stderr


def test_one_unambiguous_value_decides_the_whole_column(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\n1,a,01/02/2024,5\n2,b,3/25/2024 7:05 PM,6\n",
        encoding="utf-8",
    )
    with Workspace.init(tmp_path / "ws") as ws:
        report = ingest(ws, "orders", path)
        got = ws.store.cursor().execute("SELECT ordered_at FROM orders ORDER BY order_id").fetchall()
    assert report.rows_stored == 2
    assert [r[0] for r in got] == [dt.datetime(2024, 1, 2), dt.datetime(2024, 3, 25, 19, 5)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["20240102", "20231231"], [dt.datetime(2024, 1, 2), dt.datetime(2023, 12, 31)]),
        (["2024-01-02", "2023-12-31T08:30:00"], [dt.datetime(2024, 1, 2), dt.datetime(2023, 12, 31, 8, 30)]),
        (["13.01.2024 08:00", "02.01.2024"], [dt.datetime(2024, 1, 13, 8), dt.datetime(2024, 1, 2)]),
        (["2024/01/02", "2023/12/31"], [dt.datetime(2024, 1, 2), dt.datetime(2023, 12, 31)]),
    ],
)
def test_date_formats_are_detected(tmp_path: Path, values: list[str], expected: list[dt.datetime]) -> None:
    path = tmp_path / "orders.csv"
    body = "".join(f"{i},c{i},{v},1\n" for i, v in enumerate(values))
    path.write_text("order_id,customer_id,ordered_at,amount\n" + body, encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws:
        ingest(ws, "orders", path)
        got = ws.store.cursor().execute("SELECT ordered_at FROM orders ORDER BY order_id").fetchall()
    assert [r[0] for r in got] == expected


def test_offsets_are_converted_to_the_workspace_time_zone(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,event,occurred_at\n"
        "a,login,2024-07-01T09:00:00Z\n"
        "a,login,2024-01-15 12:00:00+01:00\n"
        "a,login,2024-07-01 09:00:00\n",
        encoding="utf-8",
    )
    with Workspace.init(tmp_path / "ws", timezone="Europe/Kyiv") as ws:
        report = ingest(ws, "events", path)
        got = (
            ws.store.cursor()
            .execute("SELECT event_id, occurred_at FROM events ORDER BY occurred_at")
            .fetchall()
        )
    assert report.rows_stored == 3
    # summer: UTC+3; winter: UTC+2; no offset: already wall-clock time in the workspace zone
    assert [r[1] for r in got] == [
        dt.datetime(2024, 1, 15, 13),
        dt.datetime(2024, 7, 1, 9),
        dt.datetime(2024, 7, 1, 12),
    ]
    assert len({r[0] for r in got}) == 3  # ids derived from the content (DESIGN section 4)


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("cp1251", b""),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, bom: bytes) -> None:
    text = "customer_id\tname\tcity\r\n1\tМарія Іваненко\tЖитомир\r\n2\tJosé Müller\t\r\n"
    if encoding == "cp1251":
        text = text.replace("José Müller", "Жозе")
    path = tmp_path / "customers.tsv"
    path.write_bytes(bom + text.encode(encoding))
    with Workspace.init(tmp_path / "ws") as ws:
        report = ingest(ws, "customers", path)
        rows = (
            ws.store.cursor().execute("SELECT customer_id, name, city FROM customers ORDER BY 1").fetchall()
        )
    assert report.rows_stored == 2, report.notes
    assert rows[0] == ("1", "Марія Іваненко", "Житомир")
    assert rows[1][1] in ("José Müller", "Жозе")


@pytest.mark.parametrize(
    ("text", "options", "expected"),
    [
        ("1,234.50|2.5|1 000", {}, ["1234.5", "2.5", "1000"]),
        ("1.234,50|2,5|1\u00a0000|1\u202f000,5", {}, ["1234.5", "2.5", "1000", "1000.5"]),
        ("1'234.50|0.001|-3", {"thousands": "'"}, ["1234.5", "0.001", "-3"]),
        ("1,234|2,000", {"decimal": ","}, ["1.234", "2"]),
        ("1.234|2.000", {}, ["1234", "2000"]),  # ';'-separated and undecided: the European convention
    ],
)
def test_decimal_marks_and_thousands_separators(
    tmp_path: Path, text: str, options: dict, expected: list[str]
) -> None:
    path = tmp_path / "orders.txt"
    lines = [f"{i};c;2024-01-01;{v}" for i, v in enumerate(text.split("|"))]
    path.write_text("order_id;customer_id;ordered_at;amount\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws:
        ingest(ws, "orders", path, **options)
        got = ws.store.cursor().execute("SELECT amount FROM orders ORDER BY order_id").fetchall()
    assert [r[0] for r in got] == [Decimal(e) for e in expected]


def test_more_than_six_decimals_are_rounded_half_even_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,product_id,quantity,unit_price\n"
        "1,a,2024-01-01,p,1,0.0000125\n"
        "1,a,2024-01-01,p,1,0.0000135\n"
        "1,a,2024-01-01,p,2,1e-7\n"
        "2,b,2024-01-02,p,1.5,0.001\n",
        encoding="utf-8",
    )
    with Workspace.init(tmp_path / "ws") as ws:
        report = ingest(ws, "order_items", path)
        got = (
            ws.store.cursor().execute("SELECT unit_price FROM order_items ORDER BY order_id, line").fetchall()
        )
        orders = ws.store.cursor().execute("SELECT order_id, amount FROM orders ORDER BY 1").fetchall()
    assert report.rows_quarantined == 0
    assert [r[0] for r in got] == [Decimal("0.000012"), Decimal("0.000014"), Decimal("0"), Decimal("0.001")]
    assert any("rounded half-even" in w and "3 value(s)" in w for w in report.warnings)
    assert orders == [("1", Decimal("0.000026")), ("2", Decimal("0.0015"))]


def test_cli_json_output_holds_only_the_report(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workspace.init(ws).close()
    path = tmp_path / "c.csv"
    path.write_text("Customer ID,Country\n1,UA\n,PL\n", encoding="utf-8")
    result = segmentum("ingest", "customers", str(path), "--workspace", str(ws), "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows_read"], report["rows_stored"], report["rows_quarantined"]) == (2, 1, 1)
    assert summary_numbers(result.stderr) == (2, 1, 1)
    listing = segmentum("quarantine", "--workspace", str(ws), "--format", "json")
    rows = json.loads(listing.stdout)
    assert [(r["table"], r["source"], r["line"], r["column"], r["reason"]) for r in rows] == [
        ("customers", str(path), 3, "Customer ID", "missing key")
    ]
    csv_listing = segmentum("quarantine", "--workspace", str(ws), "--format", "csv", "--table", "customers")
    assert csv_listing.stdout.splitlines()[0] == "ingest_id,table,source,line,column,reason,raw"


def test_cli_exits_non_zero_when_nothing_is_stored_or_strict(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    Workspace.init(ws).close()
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,name\n,a\n,b\n", encoding="utf-8")
    result = segmentum("ingest", "customers", str(bad), "--workspace", str(ws))
    assert result.returncode == 1
    assert summary_numbers(result.stdout) == (2, 0, 2)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("customer_id,name\n1,a\n,b\n", encoding="utf-8")
    result = segmentum("ingest", "customers", str(mixed), "--workspace", str(ws), "--strict")
    assert result.returncode == 1 and "--strict" in result.stderr
    assert summary_numbers(result.stdout) == (2, 1, 1)
    ok = tmp_path / "ok.csv"
    ok.write_text("customer_id,name\n2,a\n", encoding="utf-8")
    assert segmentum("ingest", "customers", str(ok), "--workspace", str(ws), "--strict").returncode == 0


def test_ragged_rows_and_multiline_fields_keep_the_line_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        'customer_id,name,note\n1,a,"two\nlines"\n2,b\n3,c,x,y\n4,d,\n\n5,e,z,\n', encoding="utf-8"
    )
    with Workspace.init(tmp_path / "ws") as ws:
        report = ingest(ws, "customers", path)
        stored = ws.store.cursor().execute("SELECT customer_id, note FROM customers ORDER BY 1").fetchall()
        quarantine = [(q["line"], q["reason"][:17]) for q in quarantined_rows(ws)]
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (5, 3, 2)
    assert stored == [("1", "two\nlines"), ("4", None), ("5", "z")]
    assert quarantine == [(4, "expected 3 fields"), (5, "expected 3 fields")]


def test_missing_required_column_names_the_columns_found(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("id,who,when\n1,a,2024-01-01\n", encoding="utf-8")
    with Workspace.init(tmp_path / "ws") as ws, pytest.raises(IngestError) as info:
        ingest(ws, "orders", path)
    message = str(info.value)
    assert "order_id" in message and "'who'" in message and "--map" in message


def test_detections_can_be_overridden(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    # koi8-r bytes and a colon delimiter: neither is what detection would pick
    path.write_bytes("customer_id:name\n1:Пётр\n".encode("koi8-r"))
    with Workspace.init(tmp_path / "ws") as ws:
        report = ingest(ws, "customers", path, encoding="koi8-r", delimiter=":")
        assert report.rows_stored == 1
        assert ws.store.cursor().execute("SELECT name FROM customers").fetchone()[0] == "Пётр"
        with pytest.raises(IngestError, match="unknown encoding"):
            ingest(ws, "customers", path, encoding="klingon")
