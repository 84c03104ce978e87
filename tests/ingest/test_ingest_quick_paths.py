"""The quick paths of typing (issue 16) read every value as the general rules do: a plain decimal cast at once,
an ISO date column parsed in place, trimming only values with a space at an edge, the fast CSV staging's line
numbers. Each case mixes values that take the quick path with values that do not."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from segmentum.ingest.load import IngestReport, ingest, quarantined_rows
from segmentum.workspace import Workspace

NBSP = "\u00a0"


def _load(tmp_path: Path, body: str) -> tuple[Workspace, IngestReport]:
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,customer_id,ordered_at,amount\n" + body, encoding="utf-8")
    ws = Workspace.init(tmp_path / "ws")  # time zone UTC
    return ws, ingest(ws, "orders", csv)


def _stored(ws: Workspace) -> dict[str, tuple[object, ...]]:
    rows = ws.store.con.execute("SELECT order_id, customer_id, ordered_at, amount FROM orders").fetchall()
    return {r[0]: r[1:] for r in rows}


def test_amounts_read_alike_on_the_quick_path_and_off_it(tmp_path: Path) -> None:
    day = "2024-01-02"
    store, report = _load(
        tmp_path,
        f"a,c,{day},12.5\n"  # quick
        f"b,c,{day},-3.25\n"  # quick, negative
        f"c,c,{day},0012.50\n"  # quick, leading zeros
        f"d,c,{day},1234567890123.5\n"  # 13 digits before the point: the general rules
        f'e,c,{day},"1,234.5"\n'  # thousands separator
        f"f,c,{day}, 7.5{NBSP}\n"  # spaces at the edges are trimmed
        f"g,c,{day},1.1234565\n"  # 7 decimals: rounded half-even, with a warning
        f"h,c,{day},+4\n"  # a sign the quick path does not take
        f"i,c,{day},1e3\n"  # exponent
        f"k,c,{day},abc\n",
    )
    stored = _stored(store)
    amounts = {k: v[2] for k, v in stored.items()}
    assert amounts == {
        "a": Decimal("12.5"),
        "b": Decimal("-3.25"),
        "c": Decimal("12.5"),
        "d": Decimal("1234567890123.5"),
        "e": Decimal("1234.5"),
        "f": Decimal("7.5"),
        "g": Decimal("1.123456"),
        "h": Decimal("4"),
        "i": Decimal("1000"),
    }
    assert report.rows_quarantined == 1
    [bad] = quarantined_rows(store)
    assert (bad["line"], bad["column"]) == (11, "amount")
    assert bad["reason"].startswith("cannot read 'abc' as a number")
    assert any("rounded half-even" in w for w in report.warnings)


def test_decimal_comma_files_do_not_take_the_quick_path(tmp_path: Path) -> None:
    # 12.500 is twelve thousand five hundred where the decimal mark is a comma
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order_id;customer_id;ordered_at;amount\na;c;2024-01-02;12.500\nb;c;2024-01-02;3,25\n"
        "c;c;2024-01-02;1.234,5\n",
        encoding="utf-8",
    )
    store = Workspace.init(tmp_path / "ws")
    ingest(store, "orders", csv)
    assert {k: v[2] for k, v in _stored(store).items()} == {
        "a": Decimal("12500"),
        "b": Decimal("3.25"),
        "c": Decimal("1234.5"),
    }


def test_an_iso_column_is_parsed_in_place_and_a_stray_format_falls_back_to_detection(tmp_path: Path) -> None:
    body = (
        "a,c,2024-01-02 10:00:00,1\n"  # quick
        "b,c,2024-01-02T10:00,1\n"  # quick, T separator
        "c,c,2024-01-02 10:00:00+02:00,1\n"  # an offset: converted to the workspace's zone (UTC)
        "d,c,2024-1-2,1\n"  # ISO, single digits
        f"e,c,{NBSP}2024-01-03 ,1\n"  # trimmed
    )
    store, report = _load(tmp_path, body)
    assert report.rows_quarantined == 0
    assert {k: v[1] for k, v in _stored(store).items()} == {
        "a": dt.datetime(2024, 1, 2, 10),
        "b": dt.datetime(2024, 1, 2, 10),
        "c": dt.datetime(2024, 1, 2, 8),
        "d": dt.datetime(2024, 1, 2),
        "e": dt.datetime(2024, 1, 3),
    }
    assert "dates in 'ordered_at': yyyy-mm-dd" in report.notes

    (tmp_path / "mixed").mkdir()
    store2, report2 = _load(tmp_path / "mixed", body + "f,c,03.01.2024,1\n")
    assert report2.rows_stored == 5 and report2.rows_quarantined == 1
    [bad] = quarantined_rows(store2)
    assert bad["line"] == 7
    assert "cannot read '03.01.2024' as a date (expected yyyy-mm-dd" in bad["reason"]
    assert any(
        n.startswith("dates in 'ordered_at': yyyy-mm-dd (1 distinct values unreadable)")
        for n in report2.notes
    )


@pytest.mark.parametrize("blank_lines", [0, 2])
def test_fast_staging_keeps_line_numbers(tmp_path: Path, blank_lines: int) -> None:
    rows = [f"o{i},c,2024-01-02,{'bad' if i == 5 else i}" for i in range(10)]
    rows[3:3] = [""] * blank_lines  # blank lines before o3 are no records but count as lines
    store, report = _load(tmp_path, "\n".join(rows) + "\n")
    assert report.rows_stored == 9
    [bad] = quarantined_rows(store)
    assert bad["line"] == 7 + blank_lines
    stored = store.store.con.execute("SELECT order_id FROM orders").fetchall()
    assert [r[0] for r in stored] == [f"o{i}" for i in range(10) if i != 5]  # file order


@pytest.mark.parametrize("dates", ["iso", "dmy"])
def test_wide_files_keep_each_row_together_across_typing_batches(tmp_path: Path, dates: str) -> None:
    # more columns than one typing statement takes: the batches are put side by side by position, sorted by
    # line where a date lookup is joined (dmy) and in the staged order where nothing reorders them (iso)
    extras = [f"x{k}" for k in range(20)]
    lines = ["order_id,customer_id,ordered_at,amount," + ",".join(extras)]
    for i in range(300):
        day = f"2024-01-{1 + i % 28:02d}" if dates == "iso" else f"{1 + i % 28:02d}.01.2024"
        amount = "oops" if i % 37 == 5 else f"{i}.5"
        lines.append(f"o{i},c{i % 7},{day},{amount}," + ",".join(f"o{i}-{k}" for k in range(20)))
    csv = tmp_path / "wide.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws = Workspace.init(tmp_path / "ws")
    report = ingest(ws, "orders", csv)
    bad = [i for i in range(300) if i % 37 == 5]
    assert (report.rows_stored, report.rows_quarantined) == (300 - len(bad), len(bad))
    assert [r["line"] for r in quarantined_rows(ws, limit=None)] == [i + 2 for i in bad]
    got = ws.store.con.execute(
        f"SELECT order_id, amount, ordered_at, {', '.join(extras)} FROM orders"
    ).fetchall()
    assert [r[0] for r in got] == [f"o{i}" for i in range(300) if i not in bad]  # file order
    for order_id, amount, ordered_at, *rest in got:
        i = int(order_id[1:])
        assert amount == Decimal(f"{i}.5")
        assert ordered_at == dt.datetime(2024, 1, 1 + i % 28)
        assert rest == [f"{order_id}-{k}" for k in range(20)]
