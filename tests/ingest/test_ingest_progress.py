"""Ingest reports its progress to a callback (segmentum.progress), whatever the reader: per step, the count
done never goes back and ends at the step's total; reading counts bytes (rows for a workbook), storing rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from segmentum.ingest import readers
from segmentum.ingest.load import ingest
from segmentum.progress import BYTES
from segmentum.workspace import Workspace

ROWS = [(f"o{i}", f"c{i % 7}", f"2024-01-{1 + i % 28:02d}", f"{10 + i}") for i in range(40)]


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    workspace = Workspace.init(tmp_path / "ws", name="progress")
    yield workspace
    workspace.close()


def _steps(calls: list[tuple[int, int | None, str, str]]) -> list[list[tuple[int, int | None, str, str]]]:
    """The calls cut into steps, a step being the calls of one label."""
    steps: list[list[tuple[int, int | None, str, str]]] = []
    for call in calls:
        if not steps or steps[-1][-1][2] != call[2]:
            steps.append([])
        steps[-1].append(call)
    return steps


def _ingest_with_progress(ws: Workspace, path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    monkeypatch.setattr(readers, "BATCH_ROWS", 7)  # several batches, so several calls while reading
    calls: list[tuple[int, int | None, str, str]] = []
    report = ingest(
        ws, "orders", path, progress=lambda d, t, label, unit="": calls.append((d, t, label, unit))
    )
    assert report.rows_read == report.rows_stored + report.rows_quarantined
    steps = _steps(calls)
    for step in steps:
        dones = [done for done, _, _, _ in step]
        assert dones == sorted(dones), step  # monotone
        assert step[-1][0] == step[-1][1], step  # ends at its total
        assert len({total for _, total, _, _ in step[:-1]}) <= 1, step
    reading, storing = steps[0], steps[-1]
    assert reading[0][0] == 0 and reading[0][2].startswith("reading")
    staged = storing[0][1]  # the rows the reader staged
    assert storing == [(0, staged, storing[0][2], ""), (staged, staged, storing[0][2], "")]
    assert storing[0][2] == f"checking and storing {staged:,} rows"
    return steps


def _csv(rows: list[tuple[str, ...]]) -> str:
    return "order_id,customer_id,ordered_at,amount\n" + "".join(",".join(r) + "\n" for r in rows)


def test_a_well_formed_csv_reports_its_bytes_and_rows(ws: Workspace, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(_csv(ROWS), encoding="utf-8")
    reading, storing = _ingest_with_progress(ws, path, monkeypatch)
    size = path.stat().st_size
    assert reading == [(0, size, "reading orders.csv", BYTES), (size, size, "reading orders.csv", BYTES)]
    assert storing[-1][:2] == (40, 40)


def test_the_line_by_line_csv_reader_reports_as_it_reads(ws: Workspace, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "orders.csv"
    broken = [*ROWS[:20], ('"stray', "c1", "2024-01-02", "5"), *ROWS[20:]]  # a stray quote: line by line
    path.write_text(_csv(broken), encoding="utf-8")
    reading, storing = _ingest_with_progress(ws, path, monkeypatch)
    size = path.stat().st_size
    assert len(reading) > 3  # the batches of the line reader report too
    assert {unit for *_, unit in reading} == {BYTES} and reading[-1][:2] == (size, size)


def test_json_lines_report_their_bytes(ws: Workspace, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "orders.jsonl"
    keys = ("order_id", "customer_id", "ordered_at", "amount")
    path.write_text(
        "".join(json.dumps(dict(zip(keys, r, strict=True))) + "\n" for r in ROWS), encoding="utf-8"
    )
    reading, storing = _ingest_with_progress(ws, path, monkeypatch)
    size = path.stat().st_size
    assert len(reading) > 3 and reading[-1] == (size, size, "reading orders.jsonl", BYTES)
    assert storing[-1][:2] == (40, 40)


def test_a_workbook_reports_its_rows(ws: Workspace, tmp_path: Path, monkeypatch) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["order_id", "customer_id", "ordered_at", "amount"])
    for row in ROWS:
        sheet.append([row[0], row[1], row[2], float(row[3])])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    reading, storing = _ingest_with_progress(ws, path, monkeypatch)
    assert len(reading) > 3 and {unit for *_, unit in reading} == {""}  # rows, not bytes
    assert reading[-1][:2] == (41, 41)  # the header and 40 rows
    assert storing[-1][:2] == (40, 40)
