"""Replace swaps only on success; events without ids are stored once however often their file is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from segmentum.ingest.load import ingest, quarantined_rows
from segmentum.workspace import Workspace


def orders(ws: Workspace) -> list[tuple[str, str]]:
    return ws.store.con.execute("SELECT order_id, customer_id FROM orders ORDER BY order_id").fetchall()


@pytest.mark.parametrize(
    "body",
    ["order_id,customer_id,ordered_at,amount\n", "order_id,customer_id,ordered_at,amount\nx1,,nope,abc\n"],
    ids=["header-only", "no-valid-row"],
)
def test_replace_with_nothing_to_store_leaves_the_table_as_it_was(
    workspace: Workspace, tmp_path: Path, body: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,10\no2,c2,2024-01-02,20\n")
    ingest(workspace, "orders", good)
    bad = tmp_path / "bad.csv"
    bad.write_text(body)
    report = ingest(workspace, "orders", bad, mode="replace")
    assert report.rows_stored == 0
    assert report.rows_read == report.rows_quarantined == body.count("\n") - 1
    assert any("left as it was" in w for w in report.warnings)
    assert orders(workspace) == [("o1", "c1"), ("o2", "c2")]
    assert len(quarantined_rows(workspace, ingest_id=report.ingest_id)) == report.rows_quarantined
    # a replace that stores rows does swap
    ingest(workspace, "orders", good, mode="replace")
    assert orders(workspace) == [("o1", "c1"), ("o2", "c2")]


def test_the_cli_exits_1_and_keeps_the_table_on_a_failed_replace(
    workspace: Workspace, tmp_path: Path
) -> None:
    from test_ingest_text_files import segmentum

    good = tmp_path / "good.csv"
    good.write_text("order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,10\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,customer_id,ordered_at,amount\n")
    root = str(workspace.root)
    workspace.close()
    assert segmentum("ingest", "orders", str(good), "-w", root).returncode == 0
    result = segmentum("ingest", "orders", str(bad), "--mode", "replace", "-w", root)
    assert result.returncode == 1
    assert "could be stored" in result.stderr
    ws = Workspace(root)
    try:
        assert orders(ws) == [("o1", "c1")]
    finally:
        ws.close()


def test_events_without_ids_loaded_twice_are_stored_once(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    rows = [
        {"customer_id": "c1", "event": "login", "occurred_at": "2024-01-01 10:00"},
        {"customer_id": "c1", "event": "login", "occurred_at": "2024-01-01 10:00"},  # the same event twice
        {
            "customer_id": "c1",
            "event": "cart_add",
            "occurred_at": "2024-01-01 10:05",
            "properties": {"sku": "a"},
        },
        {"customer_id": "c2", "event": "login", "occurred_at": "2024-01-02 09:00"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first = ingest(workspace, "events", path)
    assert (first.rows_read, first.rows_stored, first.rows_quarantined) == (4, 4, 0)
    second = ingest(workspace, "events", path)
    assert (second.rows_read, second.rows_stored, second.rows_quarantined) == (4, 0, 4)
    reasons = {r["reason"] for r in quarantined_rows(workspace, ingest_id=second.ingest_id)}
    assert reasons == {"duplicate key: event_id is already stored (use --mode upsert to update stored rows)"}
    con = workspace.store.con
    assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (4, 4)
    # a file with one more event adds only that one
    path.write_text(path.read_text() + json.dumps(rows[0]) + "\n")
    third = ingest(workspace, "events", path)
    assert (third.rows_stored, third.rows_quarantined) == (1, 4)
    # the id depends on the content, not on the line or the load
    csv = tmp_path / "events.csv"
    csv.write_text("occurred_at,event,customer_id\n2024-01-02 09:00,login,c2\n")
    assert ingest(workspace, "events", csv).rows_quarantined == 1
