"""Every source gets the same checks; errors are honest and on one line (issue 15 items 12, 15, 17, 21, 22)."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentum.errors import IngestError
from segmentum.ingest.load import ingest, quarantined_rows
from segmentum.workspace import Workspace


def reasons(ws: Workspace, ingest_id: int | None) -> list[tuple[int, str]]:
    return [(r["line"], r["reason"]) for r in quarantined_rows(ws, ingest_id=ingest_id)]


def test_a_lone_surrogate_escape_in_json_lines_is_quarantined(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.jsonl"
    path.write_text(
        '{"customer_id": "c1", "name": "Ann"}\n'
        '{"customer_id": "c2", "name": "\\ud800"}\n'
        '{"customer_id": "c3", "name": "\\ud83d\\ude00"}\n',  # a proper pair: an emoji
        encoding="utf-8",
    )
    report = ingest(workspace, "customers", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 2, 1)
    [(line, reason)] = reasons(workspace, report.ingest_id)
    assert line == 2 and "lone UTF-16 surrogate" in reason
    names = dict(workspace.store.con.execute("SELECT customer_id, name FROM customers").fetchall())
    assert names == {"c1": "Ann", "c3": "\U0001f600"}


def test_a_bad_parquet_file_is_a_one_line_error(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    path.write_bytes(b"PAR1" + b"\x00garbage" * 20)
    with pytest.raises(IngestError) as info:
        ingest(workspace, "orders", path)
    message = str(info.value)
    assert "cannot read as Parquet" in message and "\n" not in message


def test_a_late_undecodable_byte_of_json_lines_is_reported_at_its_true_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    lines = [b'{"customer_id": "c%d"}' % i for i in range(1, 80_002)]
    lines[80_000] = b'{"customer_id": "c\xff"}'  # line 80,001
    path = tmp_path / "customers.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(IngestError, match=r"customers.jsonl:80001: .*line 80001"):
        ingest(workspace, "customers", path)


def nul_and_nan_sources(tmp_path: Path) -> dict[str, Path | str]:
    """The same three orders in each source kind: o1 fine, o2 with a NUL in a text value, o3 with a NaN amount."""
    table = pa.table(
        {
            "order_id": ["o1", "o2", "o3"],
            "customer_id": ["c1", "c\x002", "c3"],
            "ordered_at": ["2024-01-01", "2024-01-02", "2024-01-03"],
            "amount": [1.5, 2.0, float("nan")],
        }
    )
    parquet = tmp_path / "orders.parquet"
    pq.write_table(table, parquet)
    jsonl = tmp_path / "orders.jsonl"
    jsonl.write_text(
        "".join(json.dumps(r) + "\n" for r in table.to_pylist()).replace("Infinity", "x"), encoding="utf-8"
    )
    csv = tmp_path / "orders.csv"
    csv.write_bytes(
        b"order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,1.5\no2,c\x002,2024-01-02,2\no3,c3,2024-01-03,NaN\n"
    )
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE orders (order_id TEXT, customer_id TEXT, ordered_at TEXT, amount TEXT)")
    con.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [
            ("o1", "c1", "2024-01-01", "1.5"),
            ("o2", "c\x002", "2024-01-02", "2"),
            ("o3", "c3", "2024-01-03", "NaN"),
        ],
    )
    con.commit()
    con.close()
    return {"csv": csv, "parquet": parquet, "jsonl": jsonl, "sqlite": f"sqlite:///{db}?table=orders"}


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "sqlite"])
def test_every_source_gets_the_nul_and_nan_checks(workspace: Workspace, tmp_path: Path, kind: str) -> None:
    source = nul_and_nan_sources(tmp_path)[kind]
    report = ingest(workspace, "orders", source)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (3, 1, 2)
    got = reasons(workspace, report.ingest_id)
    assert [line for line, _ in got] == ([3, 4] if kind == "csv" else [2, 3])  # a CSV's header is line 1
    assert "NUL character" in got[0][1]
    assert "NaN" in got[1][1]
    assert workspace.store.con.execute("SELECT order_id FROM orders").fetchall() == [("o1",)]


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "sqlite"])
def test_declared_missing_values_apply_to_every_source(
    workspace: Workspace, tmp_path: Path, kind: str
) -> None:
    source = nul_and_nan_sources(tmp_path)[kind]
    report = ingest(workspace, "orders", source, na_values=["NaN"])
    # o3's amount is now missing, which a required column does not allow; the reason says so
    got = reasons(workspace, report.ingest_id)
    assert [line for line, _ in got] == ([3, 4] if kind == "csv" else [2, 3])
    assert "missing required value" in got[1][1]


def test_na_values_make_texts_missing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount,discount,channel\n"
        "o1,c1,2024-01-01,10,NA,web\n"
        "o2,c2,2024-01-02,20, N/A ,null\n"
        "o3,c3,2024-01-03,30,-,-\n"
        "o4,c4,2024-01-04,40,1.5,shop\n",
        encoding="utf-8",
    )
    without = ingest(workspace, "orders", path)
    assert without.rows_quarantined == 3  # NA, N/A and - are no numbers
    report = ingest(workspace, "orders", path, mode="replace", na_values="NA,N/A,null,-")
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (4, 4, 0)
    rows = workspace.store.con.execute("SELECT discount, channel FROM orders ORDER BY order_id").fetchall()
    assert rows == [(None, "web"), (None, None), (None, None), (Decimal("1.5"), "shop")]


def test_na_values_on_the_command_line(workspace: Workspace, tmp_path: Path) -> None:
    from test_ingest_text_files import segmentum

    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount,discount\no1,c1,2024-01-01,10,NA\no2,c2,2024-01-01,1,-\n"
    )
    root = str(workspace.root)
    workspace.close()
    result = segmentum("ingest", "orders", str(path), "-w", root, "--na-values", "NA", "--na-values", "-")
    assert result.returncode == 0, result.stderr
    assert "2 rows read, 2 stored, 0 quarantined" in result.stdout


def test_exponent_numbers_up_to_1e32_are_stored_exactly_beyond_an_honest_error(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\n"
        "o1,c1,2024-01-01,1e22\n"
        "o2,c1,2024-01-01,1.5E+31\n"
        "o3,c1,2024-01-01,9.99999999999999999999999999999999e31\n"
        "o4,c1,2024-01-01,1e32\n"
        "o5,c1,2024-01-01,2.5e-7\n",
        encoding="utf-8",
    )
    report = ingest(workspace, "orders", path)
    assert (report.rows_stored, report.rows_quarantined) == (4, 1)
    [(line, reason)] = reasons(workspace, report.ingest_id)
    assert line == 5 and "at most 32 digits before the decimal point" in reason and "'1e32'" in reason
    amounts = dict(workspace.store.con.execute("SELECT order_id, amount FROM orders").fetchall())
    assert amounts["o1"] == Decimal(10) ** 22
    assert amounts["o2"] == Decimal("1.5") * Decimal(10) ** 31
    assert amounts["o3"] == Decimal("99999999999999999999999999999999.9")  # the largest 32-digit number
    assert amounts["o5"] == Decimal("0")


def test_money_of_every_width_is_exact(workspace: Workspace, tmp_path: Path) -> None:
    """Short texts are parsed through DECIMAL(18, 6) (fast), long ones straight into DECIMAL(38, 6)."""
    values = [
        "123456789012",
        "-12345678901",
        "1234567890123.25",
        "0.000001",
        "-.5",
        "99999999999999999999999999999999",
    ]
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount\n"
        + "".join(f"o{i},c1,2024-01-01,{v}\n" for i, v in enumerate(values)),
        encoding="utf-8",
    )
    report = ingest(workspace, "orders", path)
    assert report.rows_stored == len(values)
    got = dict(workspace.store.con.execute("SELECT order_id, amount FROM orders").fetchall())
    assert [got[f"o{i}"] for i in range(len(values))] == [Decimal(v) for v in values]
