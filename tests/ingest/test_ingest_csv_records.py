"""CSV records are counted against the file's physical lines: a stray quote never merges records (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentum.errors import IngestError
from segmentum.ingest.load import ingest, quarantined_rows
from segmentum.workspace import Workspace

HEADER = ["order_id", "customer_id", "ordered_at", "amount"]


def orders_file(path: Path, rows: int, *, sep: str = ",", edit: dict[int, list[str]] | None = None) -> Path:
    """An orders file of `rows` records, record i on physical line i + 1; `edit` replaces lines by number."""
    lines = [sep.join(HEADER)]
    for line in range(2, rows + 2):
        lines.append(sep.join([f"o{line}", f"c{line}", "2024-01-02", "10.5"]))
    for number, fields in (edit or {}).items():
        lines[number - 1] = sep.join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stored_values(ws: Workspace) -> list[tuple[str, str]]:
    return ws.store.con.execute("SELECT order_id, customer_id FROM orders ORDER BY order_id").fetchall()


def test_a_stray_quote_on_line_4_of_150000_rows_quarantines_that_line_only(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = orders_file(tmp_path / "orders.csv", 150_000, edit={4: ["o4", '"c4', "2024-01-02", "10.5"]})
    report = ingest(workspace, "orders", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (150_000, 149_999, 1)
    bad = quarantined_rows(workspace, ingest_id=report.ingest_id)
    assert [(r["line"], r["raw"]) for r in bad] == [(4, 'o4,"c4,2024-01-02,10.5')]
    assert "unbalanced quote" in bad[0]["reason"]
    longest = workspace.store.con.execute("SELECT max(length(customer_id)) FROM orders").fetchone()[0]
    assert longest <= len("c150001")  # no value swallowed other records
    assert workspace.store.con.execute("SELECT count(*) FROM orders WHERE order_id = 'o150001'").fetchone()[0]


@pytest.mark.parametrize("sep", [",", "\t"], ids=["csv", "tsv"])
def test_a_quote_closing_on_the_next_line_quarantines_both_lines(
    workspace: Workspace, tmp_path: Path, sep: str
) -> None:
    path = orders_file(
        tmp_path / ("orders.tsv" if sep == "\t" else "orders.csv"),
        2_000,
        sep=sep,
        edit={4: ["o4", '"c4', "2024-01-02", "10.5"], 5: ["o5", 'c5"', "2024-01-02", "10.5"]},
    )
    report = ingest(workspace, "orders", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (2_000, 1_998, 2)
    assert [r["line"] for r in quarantined_rows(workspace, ingest_id=report.ingest_id)] == [4, 5]
    assert not workspace.store.con.execute(
        "SELECT count(*) FROM orders WHERE contains(customer_id, chr(10))"
    ).fetchone()[0]


@pytest.mark.parametrize("sep", [",", "\t"], ids=["csv", "tsv"])
def test_a_stray_quote_in_the_last_line_and_a_partner_far_away(
    workspace: Workspace, tmp_path: Path, sep: str
) -> None:
    path = orders_file(
        tmp_path / "orders.txt",
        1_000,
        sep=sep,
        edit={10: ["o10", '"c10', "2024-01-02", "10.5"], 900: ["o900", 'c900"', "2024-01-02", "10.5"]},
    )
    with path.open("a", encoding="utf-8") as fh:
        fh.write(sep.join(["o9999", '"c9999', "2024-01-02", "1"]) + "\n")
    report = ingest(workspace, "orders", path, delimiter=sep)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (1_001, 999, 2)
    assert [r["line"] for r in quarantined_rows(workspace, ingest_id=report.ingest_id)] == [10, 1002]
    # 890 lines further on, a quote inside an unquoted value is a character of it (as in any CSV reader)
    assert ("o900", 'c900"') in stored_values(workspace)


def test_quoted_values_with_line_breaks_are_one_record_and_later_lines_keep_their_numbers(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,address,created_at\n"  # 1
        'c1,"12 Main St\nApt 5",2024-01-01\n'  # 2-3
        "c2,Kyiv,2024-01-01\n"  # 4
        "\n"  # 5: blank
        'c3,"a, b\n\nc",2024-01-01\n'  # 6-8
        "c4,Lviv,not a date\n",  # 9
        encoding="utf-8",
    )
    report = ingest(workspace, "customers", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (4, 3, 1)
    assert [r["line"] for r in quarantined_rows(workspace, ingest_id=report.ingest_id)] == [9]
    rows = dict(workspace.store.con.execute("SELECT customer_id, address FROM customers").fetchall())
    assert rows["c1"] == "12 Main St\nApt 5"
    assert rows["c3"] == "a, b\n\nc"


def test_line_numbers_of_the_fast_reader_count_blank_and_crlf_lines(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    body = ["order_id,customer_id,ordered_at,amount"]
    body += [f"o{i},c{i},2024-01-02,1" for i in range(2, 6)]  # lines 2-5
    body += ["", ""]  # lines 6-7
    body += ["o8,c8,2024-01-02,x"]  # line 8: bad amount
    body += [f"o{i},c{i},2024-01-02,1" for i in range(9, 12)]
    body += ["", "o13,c13,yesterday,1"]  # line 13: bad date
    path.write_bytes(("\r\n".join(body) + "\r\n").encode())
    report = ingest(workspace, "orders", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (9, 7, 2)
    assert [r["line"] for r in quarantined_rows(workspace, ingest_id=report.ingest_id)] == [8, 13]


def test_cr_only_line_breaks(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(b"order_id,customer_id,ordered_at,amount\ro1,c1,2024-01-02,1\ro2,c2,2024-01-02,x\r")
    report = ingest(workspace, "orders", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (2, 1, 1)
    assert [r["line"] for r in quarantined_rows(workspace, ingest_id=report.ingest_id)] == [3]


def test_a_late_undecodable_byte_is_reported_at_its_true_line(workspace: Workspace, tmp_path: Path) -> None:
    path = orders_file(tmp_path / "orders.csv", 80_000)
    data = path.read_bytes().split(b"\n")
    data[80_000] = data[80_000].replace(b"c80001", b"c80001\xff")  # physical line 80,001
    path.write_bytes(b"\n".join(data))
    with pytest.raises(IngestError, match=r"orders.csv:80001: .*line 80001 as utf-8.*--encoding cp1252"):
        ingest(workspace, "orders", path)
    assert not workspace.store.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'"
    ).fetchone()[0]


def test_an_undecodable_byte_of_a_declared_encoding_is_reported_at_its_true_line(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "orders.csv"
    lines = [b"order_id,customer_id,ordered_at,amount"] + [
        b"o%d,c%d,2024-01-02,1" % (i, i) for i in range(3000)
    ]
    lines[2500] = lines[2500] + b"\x98"  # undefined in Windows-1251
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(IngestError, match=r"orders.csv:2501: .*as cp1251"):
        ingest(workspace, "orders", path, encoding="cp1251")


def test_a_latin1_file_hint_names_latin1_and_cp1252(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes(
        b"customer_id,name\n" + b"".join(b"c%d,plain\n" % i for i in range(120_000)) + b"c,Jos\xe9\n"
    )
    with pytest.raises(IngestError) as info:
        ingest(workspace, "customers", path)
    assert "latin-1" in str(info.value) and "cp1252" in str(info.value)
    report = ingest(workspace, "customers", path, encoding="latin-1", mode="replace")
    assert report.rows_stored == 120_001
    assert (
        workspace.store.con.execute("SELECT name FROM customers WHERE customer_id = 'c'").fetchone()[0]
        == "José"
    )


def test_wide_files_are_typed_in_batches_that_stay_aligned(workspace: Workspace, tmp_path: Path) -> None:
    """Columns are typed 16 at a time and put side by side by row position: every value stays in its row, and
    a value that is no number turns only its own column into text."""
    width, rows = 40, 3_000
    path = tmp_path / "customers.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(["customer_id", *(f"x{i}" for i in range(width))]) + "\n")
        for row in range(rows):
            cells = [str(row * 100 + i) for i in range(width)]
            if row == 2_777:
                cells[35] = "2024-01-01"  # not a number: x35 is then text, nothing is quarantined
            fh.write(f"c{row}," + ",".join(cells) + "\n")
    report = ingest(workspace, "customers", path)
    assert (report.rows_read, report.rows_stored, report.rows_quarantined) == (rows, rows, 0)
    con = workspace.store.con
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'customers'"
        ).fetchall()
    )
    assert types["x0"] == "BIGINT" and types["x35"] == "VARCHAR" and types["x39"] == "BIGINT"
    misplaced = " OR ".join(
        f"x{i}::VARCHAR <> (substr(customer_id, 2)::BIGINT * 100 + {i})::VARCHAR"
        for i in range(width)
        if i != 35
    )
    assert con.execute(f"SELECT count(*) FROM customers WHERE {misplaced}").fetchone()[0] == 0
    assert con.execute("SELECT x35 FROM customers WHERE customer_id = 'c2777'").fetchone()[0] == "2024-01-01"


def test_line_numbers_hold_when_duckdb_may_reorder_rows(workspace: Workspace, tmp_path: Path) -> None:
    workspace.store.con.execute("SET preserve_insertion_order = false")
    path = orders_file(tmp_path / "orders.csv", 3_000, edit={2_500: ["o2500", "c2500", "2024-01-02", "x"]})
    report = ingest(workspace, "orders", path)
    assert [r["line"] for r in quarantined_rows(workspace, ingest_id=report.ingest_id)] == [2_500]
