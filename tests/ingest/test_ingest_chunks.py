"""A source of more rows than a chunk is checked and stored chunk by chunk, with the same outcome as in one piece:
the same stored rows, quarantine (with the file's line numbers), report and derived tables; decisions made once
per file; duplicate keys found across chunks and against the store; one transaction across the chunks."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentum.faults import ENV, EXIT_CODE
from segmentum.ingest.load import ingest
from segmentum.workspace import Workspace

ORDERS_CSV = """order_id,customer_id,ordered_at,amount,status,note
o1,c1,01.02.2024,10.5,,1
o2,c2,02.02.2024,20,NA,2
o3,c1,03.02.2024,12.3456789,,3
o4,c3,04.02.2024,7,cancelled,4
o100,c9,05.02.2024,1,,5
o5,c4,06.02.2024,9,,6
o6,c5,07.02.2024,8,,7
o3,c6,08.02.2024,5,,8

o7,c6,09.02.2024,4,,9
o8,c7,10.02.2024,3.0000001,,10
o100,c9,11.02.2024,2,,11
o9,c8,12.02.2024,abc,,12
o10,c8,01.03.2024,6,,13
o10,c8,02.03.2024,6,,14
o11,c2,03.03.2024,6,,15
o12,c3,04.03.2024,6,returned,16
o13,,05.03.2024,6,,17
o14,c9,06.03.2024,nope,,18
o5,c1,25.12.2024,1,,a note
"""
# The dates read as day/month only because of the last row (25.12.2024): decided per chunk, the first chunks'
# dates would be ambiguous. `note` holds numbers but for the last row's text: decided per chunk, its type would
# be a number and then text. o3 repeats across chunks, o10 within one, o5 in the first and the last chunk; o100
# is already stored and repeated later; rows 13, 19 and 20 cannot be stored.


def _workspace(root: Path) -> Workspace:
    ws = Workspace.init(root, name="test")
    seed = root.parent / "seed.csv"
    seed.write_text("order_id,customer_id,ordered_at,amount\no100,c9,2024-01-01,1\n")
    ingest(ws, "orders", seed)
    return ws


def _state(ws: Workspace, ingest_id: int | None) -> dict[str, Any]:
    con = ws.store.con
    return {
        table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("orders", "order_items", "customers", "events")
        if ws.store.table_exists(table)
    } | {
        "quarantine": con.execute(
            "SELECT line, column_name, reason, raw FROM segmentum.quarantine WHERE ingest_id = ? ORDER BY line",
            [ingest_id],
        ).fetchall(),
        "auto_customers": con.execute("SELECT * FROM segmentum.auto_customers ORDER BY ALL").fetchall(),
        "ingests": con.execute(
            "SELECT table_name, source, mode, rows_read, rows_stored, rows_quarantined FROM segmentum.ingests "
            "ORDER BY ingest_id"
        ).fetchall(),
        "columns": con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'main' "
            "ORDER BY ALL"
        ).fetchall(),
    }


def _both(
    tmp_path: Path, table: str, source: Path, seed: bool = True, **options: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(state, report) after loading `source` in one piece and in chunks of 3 rows, into fresh workspaces;
    and the chunked report."""
    results = []
    for name, chunk_rows in (("whole", None), ("chunks", 3)):
        root = tmp_path / name
        ws = _workspace(root) if seed else Workspace.init(root, name="test")
        steps: list[int] = []

        def progress(
            done: int, total: int | None, label: str, unit: str = "", steps: list[int] = steps
        ) -> None:
            if label.startswith("checking and storing"):
                steps.append(done)

        try:
            report = ingest(ws, table, source, chunk_rows=chunk_rows, progress=progress, **options)
            # in chunks, progress after each chunk but the last: the chunks were really taken
            assert len(steps) == (2 if chunk_rows is None else 1 + math.ceil(report.rows_read / chunk_rows))
            data = report.to_dict()
            data.pop("ingest_id")
            results.append((_state(ws, report.ingest_id), data))
        finally:
            ws.close()
    (whole, whole_report), (chunked, chunked_report) = results
    assert chunked == whole
    assert chunked_report == whole_report
    return chunked, chunked_report, whole_report


def test_a_csv_in_chunks_stores_and_quarantines_what_it_does_in_one_piece(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS_CSV)
    state, report, _ = _both(tmp_path, "orders", source, na_values=["NA"])
    assert (report["rows_read"], report["rows_stored"], report["rows_quarantined"]) == (19, 11, 8)
    reasons = {line: (column, reason) for line, column, reason, _ in state["quarantine"]}
    # the file's line numbers (a blank line at 10), not the chunk's
    assert sorted(reasons) == [6, 9, 13, 14, 16, 19, 20, 21]
    assert reasons[6][1].startswith("duplicate key: order_id is already stored")
    assert reasons[9][1] == "duplicate key: line 4 of this source has the same order_id"  # across chunks
    # o100 on line 6 was already stored: its repeat names line 6, as in one piece
    assert reasons[13][1] == "duplicate key: line 6 of this source has the same order_id"
    assert reasons[16][1] == "duplicate key: line 15 of this source has the same order_id"  # within a chunk
    assert (
        reasons[21][1] == "duplicate key: line 7 of this source has the same order_id"
    )  # first and last chunk
    assert reasons[14][0] == reasons[20][0] == "amount" and reasons[19][0] == "customer_id"
    assert ("orders", "note", "VARCHAR") in state["columns"]
    assert [w for w in report["warnings"] if "12.3456789" in w and w.startswith("2 value(s)")]
    assert "dates in 'ordered_at': dd.mm.yyyy" in report["notes"]
    assert (state["orders"][5][0], state["orders"][5][1], state["orders"][5][4]) == ("o2", "c2", None)


def test_a_parquet_file_in_chunks_is_read_chunk_by_chunk_with_the_same_outcome(tmp_path: Path) -> None:
    n = 17
    source = tmp_path / "items.parquet"
    amounts = [1.5] * n
    amounts[14] = math.nan  # rejected by the screening of a late chunk (row 15)
    pq.write_table(
        pa.table(
            {
                "order_id": [f"o{i % 5}" for i in range(n)],  # each order's rows spread over the chunks
                "customer_id": [f"c{i % 5}" if i != 11 else None for i in range(n)],
                "product_id": [f"p{i % 3}" for i in range(n)],
                "ordered_at": pa.array([1_700_000_000_000_000 + i for i in range(n)], pa.timestamp("us")),
                "quantity": [1] * n,
                "unit_price": amounts,
                "colour": ["red" if i != 16 else "NA" for i in range(n)],
            }
        ),
        source,
        row_group_size=4,
    )
    state, report, _ = _both(tmp_path, "order_items", source, seed=False, na_values=["NA"])
    assert (report["rows_read"], report["rows_stored"], report["rows_quarantined"]) == (17, 15, 2)
    assert [line for line, *_ in state["quarantine"]] == [12, 15]
    assert report["derived"] == ["orders", "customers"]
    # the generated line numbers continue across chunks: order o0 has rows 1, 6, 11, 16 of the file
    lines = sorted(r[1] for r in state["order_items"] if r[0] == "o0")
    assert lines == [1, 2, 3, 4]


def test_events_without_ids_get_the_same_ids_in_chunks(tmp_path: Path) -> None:
    source = tmp_path / "events.csv"
    rows = ["customer_id,event,occurred_at"] + [
        f"c{i % 2},view,2024-01-0{1 + i % 3} 10:00:00" for i in range(14)
    ]
    source.write_text("\n".join(rows) + "\n")
    state, report, _ = _both(tmp_path, "events", source, seed=False)
    assert report["rows_stored"] == 14 and len({r[0] for r in state["events"]}) == 14


def test_customers_appended_in_chunks_replace_the_automatic_ones_once(tmp_path: Path) -> None:
    source = tmp_path / "customers.csv"
    source.write_text("customer_id,country\nc9,UA\nc1,PL\nc2,DE\nc3,FR\nc9,US\nc4,UA\nc100,UA\nc1,UA\n")
    state, report, _ = _both(tmp_path, "customers", source)
    assert (report["rows_stored"], report["rows_quarantined"]) == (6, 2)
    assert ("c9", "UA") in [tuple(r[:2]) for r in state["customers"]]


def test_a_crash_after_a_late_chunk_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    before = _state(ws, None)
    ws.close()
    config = tmp_path / "ws" / "segmentum.yml"
    config.write_text(config.read_text() + "engine:\n  ingest_chunk_rows: 3\n")
    source = tmp_path / "orders.csv"
    source.write_text(ORDERS_CSV)
    env = dict(os.environ, **{ENV: "ingest_chunk"})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentum.cli.main",
            "ingest",
            "orders",
            str(source),
            "-w",
            str(tmp_path / "ws"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == EXIT_CODE, result.stderr
    assert "fault injected at ingest_chunk" in result.stderr
    ws = Workspace(tmp_path / "ws")
    try:
        assert _state(ws, None) == before
        # and without the fault the same workspace (its setting: chunks of 3 rows) loads the file
        steps: list[int] = []
        report = ingest(ws, "orders", source, na_values=["NA"], progress=lambda done, *_: steps.append(done))
        assert report.rows_stored == 11
        assert len(steps) > 8  # reading (2), then storing: 0, after each of 6 of the 7 chunks, and the end
    finally:
        ws.close()


def test_chunk_rows_must_be_positive(workspace: Workspace, tmp_path: Path) -> None:
    from segmentum.errors import IngestError

    source = tmp_path / "orders.csv"
    source.write_text(ORDERS_CSV)
    with pytest.raises(IngestError, match="chunk_rows must be at least 1"):
        ingest(workspace, "orders", source, chunk_rows=0)


@pytest.mark.parametrize("mode", ["replace", "upsert"])
def test_replace_and_upsert_in_chunks_as_in_one_piece(tmp_path: Path, mode: str) -> None:
    # the first chunk has no row to store (replace swaps at the first chunk that has one); o1 and o2 repeat
    # across chunks (upsert: the last row wins)
    source = tmp_path / "orders.jsonl"
    rows = [
        '{"order_id": "x1", "customer_id": "c1", "ordered_at": "nope", "amount": 1}',
        '{"order_id": "x2", "customer_id": "", "ordered_at": "2024-01-01", "amount": 1}',
        '{"order_id": "x3", "customer_id": "c1", "ordered_at": "2024-01-01", "amount": "abc"}',
        '{"order_id": "o1", "customer_id": "c1", "ordered_at": "2024-01-02", "amount": 1}',
        '{"order_id": "o2", "customer_id": "c2", "ordered_at": "2024-01-03", "amount": 2}',
        "not json",
        '{"order_id": "o1", "customer_id": "c3", "ordered_at": "2024-01-04", "amount": 3}',
        '{"order_id": "o3", "customer_id": "c3", "ordered_at": "2024-01-05", "amount": 4}',
        '{"order_id": "o2", "customer_id": "c4", "ordered_at": "2024-01-06", "amount": 5}',
    ]
    source.write_text("\n".join(rows) + "\n")
    state, report, _ = _both(tmp_path, "orders", source, mode=mode)
    assert [line for line, *_ in state["quarantine"]][:4] == [1, 2, 3, 6]
    stored = {r[0]: r[1] for r in state["orders"]}
    if mode == "upsert":
        assert report["rows_stored"] == 5 and stored["o1"] == "c3" and stored["o2"] == "c4"
        assert stored["o100"] == "c9"  # kept from before
    else:
        assert report["rows_stored"] == 3 and "o100" not in stored  # replaced
        assert [line for line, *_ in state["quarantine"]] == [1, 2, 3, 6, 7, 9]


def test_replace_in_chunks_with_nothing_to_store_leaves_the_table(tmp_path: Path) -> None:
    source = tmp_path / "orders.csv"
    source.write_text("order_id,customer_id,ordered_at,amount\n" + "".join(f"o{i},,x,1\n" for i in range(7)))
    state, report, _ = _both(tmp_path, "orders", source, mode="replace")
    assert report["rows_stored"] == 0 and [r[0] for r in state["orders"]] == ["o100"]
    assert any("left as it was" in w for w in report["warnings"])
