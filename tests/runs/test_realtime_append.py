"""`EventWriter.append`: which of a request's customers are new is a look-up of the customer_id index, not a scan
of every customer; new customers are created once, listed as automatic, and erased ones come back as before."""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from segmentum.runs.realtime import EventRow, EventWriter
from segmentum.store.customers import CUSTOMER_ID_INDEX, customer_count, existing_customers
from segmentum.store.erase import forget
from segmentum.workspace import Workspace

T = datetime(2024, 5, 1, 10, 0)
KNOWN = [f"c{i:03d}" for i in range(200)] + ["O'Brien", "with space", "Клиент-7"]


@pytest.fixture
def ws(make_ws) -> Workspace:
    return make_ws(
        tables={
            "customers": [{"customer_id": c, "country": "UK"} for c in KNOWN],
            "events": [{"customer_id": "c001", "event": "login", "occurred_at": T}],
        }
    )


def _writer(ws: Workspace) -> EventWriter:
    return EventWriter(ws.store, ZoneInfo(ws.config.timezone))


def _events(ids: list[str]) -> list[EventRow]:
    return [EventRow(c, "page_view", T) for c in ids]


def _customers(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers ORDER BY ALL")]


def _auto(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.store.query("SELECT customer_id FROM segmentum.auto_customers ORDER BY ALL")]


def _scan_types(ws: Workspace, ids: list[str], tmp_path: Path) -> set[str]:
    """How DuckDB read `main.customers` when `existing_customers` ran for `ids` (its profile: the choice between
    the index and a scan is made when the query runs, so EXPLAIN without ANALYZE does not show it)."""
    profile = tmp_path / "profile.json"
    cur = ws.store.cursor()
    cur.execute("PRAGMA enable_profiling = 'json'")
    cur.execute(f"PRAGMA profiling_output = '{profile}'")
    existing_customers(cur, ids)
    cur.execute("PRAGMA disable_profiling")
    found: set[str] = set()

    def walk(node: dict) -> None:
        info = node.get("extra_info") or {}
        if node.get("operator_name") in ("TABLE_SCAN", "SEQ_SCAN") and info.get("Table", "").endswith(
            "customers"
        ):
            found.add(info.get("Type", ""))
        for child in node.get("children", []):
            walk(child)

    walk(json.loads(profile.read_text()))
    return found


def test_an_append_looks_its_customers_up_in_the_index_instead_of_scanning_every_customer(
    ws: Workspace, tmp_path: Path
) -> None:
    _writer(ws).append(_events(["c001"]))
    indexes = ws.store.query(
        "SELECT table_name FROM duckdb_indexes() WHERE index_name = ?", [CUSTOMER_ID_INDEX]
    )
    assert indexes == [("customers",)]
    request = [*KNOWN[:90], "new-1", "new-2", "O'Brien"]  # a request's worth of ids
    assert _scan_types(ws, request, tmp_path) == {"Index Scan"}


def test_a_request_creates_each_new_customer_once_and_lists_it_as_automatic(ws: Workspace) -> None:
    writer = _writer(ws)
    result = writer.append(_events(["c002", "new-1", "c002", "new-1", "O'Brien", "new-2", "Клиент-7"]))
    assert (result.accepted, result.customers, result.new_customers) == (7, 5, 2)
    assert result.customer_ids == sorted({"c002", "new-1", "O'Brien", "new-2", "Клиент-7"})
    assert _customers(ws) == sorted([*KNOWN, "new-1", "new-2"])
    assert _auto(ws) == ["new-1", "new-2"]
    again = writer.append(_events(["new-1", "c003", "O'Brien"]))
    assert again.new_customers == 0
    assert _customers(ws).count("new-1") == 1 and _auto(ws) == ["new-1", "new-2"]
    stored = ws.store.query("SELECT count(*) FROM main.events WHERE event = 'page_view'")[0][0]
    assert stored == 10


def test_a_customer_file_loaded_later_replaces_a_customer_an_event_created(
    ws: Workspace, tmp_path: Path
) -> None:
    _writer(ws).append(_events(["new-1"]))
    source = tmp_path / "more_customers.csv"
    source.write_text("customer_id,country\nnew-1,FR\n")
    report = ws.ingest("customers", source, mode="append")
    assert (report.rows_stored, report.rows_quarantined) == (1, 0)
    assert ws.store.query("SELECT country FROM main.customers WHERE customer_id = 'new-1'") == [("FR",)]
    assert _auto(ws) == []


def test_the_index_answers_as_a_scan_does_for_any_mix_of_ids(ws: Workspace) -> None:
    _writer(ws).append(_events(["c001"]))  # creates the index
    rng = random.Random(7)
    cur = ws.store.cursor()
    for size in (1, 5, 100, 3000):  # 3,000 ids: past DuckDB's index-scan threshold, answered by a scan
        ids = [rng.choice(KNOWN) if rng.random() < 0.5 else f"x{rng.randrange(10**6)}" for _ in range(size)]
        expected = {
            r[0]
            for r in cur.execute(
                "SELECT customer_id FROM main.customers WHERE customer_id IN (SELECT unnest(?))", [ids]
            ).fetchall()
        }
        assert existing_customers(cur, ids) == expected
    assert existing_customers(cur, []) == set()


def test_an_event_for_an_erased_customer_creates_the_customer_again(ws: Workspace) -> None:
    writer = _writer(ws)
    writer.append(_events(["c005"]))
    forget(ws, "c005")  # deletes the row and rewrites the store file
    assert "c005" not in _customers(ws)
    result = writer.append(_events(["c005"]))
    assert result.new_customers == 1
    assert _customers(ws).count("c005") == 1 and _auto(ws) == ["c005"]
    indexes = ws.store.query(
        "SELECT count(*) FROM duckdb_indexes() WHERE index_name = ?", [CUSTOMER_ID_INDEX]
    )
    assert indexes == [(1,)]  # the rewritten file kept it


def test_ids_known_from_memory_are_taken_as_customers_and_only_the_others_are_looked_up(
    ws: Workspace,
) -> None:
    """`known` (the server's replica) answers for some ids: those are not looked up in the store, so an id it
    vouches for is never created; the ids it does not know are looked up, the new ones created once."""
    asked: list[str] = []

    def known(customer_id: str) -> bool:
        asked.append(customer_id)
        return customer_id in {"c001", "vouched-for"}

    writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone), known=known)
    result = writer.append(_events(["c001", "vouched-for", "c002", "brand-new", "brand-new"]))
    assert sorted(asked) == ["brand-new", "c001", "c002", "vouched-for"]  # each distinct id once
    assert (result.accepted, result.customers, result.new_customers) == (5, 4, 1)
    customers = _customers(ws)
    assert "vouched-for" not in customers  # taken on `known`'s word: no look-up, no insert
    assert customers.count("brand-new") == 1 and customers.count("c002") == 1
    assert _auto(ws) == ["brand-new"]
    stored = ws.store.query("SELECT count(*) FROM main.events WHERE event = 'page_view'")
    assert stored == [(5,)]


def test_after_an_operation_replaced_the_customers_the_writer_indexes_them_again(
    ws: Workspace, tmp_path: Path
) -> None:
    writer = _writer(ws)
    writer.append(_events(["new-1"]))
    source = tmp_path / "customers.csv"
    source.write_text("customer_id,country\nc001,DE\nc002,DE\n")
    with writer.exclusive("ingest"):
        ws.ingest("customers", source, mode="replace")  # CREATE OR REPLACE TABLE: the index goes with it
    assert ws.store.query("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'customers'") == [(0,)]
    # the replace derived again the customers only other tables name: c001 (its event) and new-1
    assert _customers(ws) == ["c001", "c002", "new-1"]
    result = writer.append(_events(["c002", "new-1", "c150", "new-3"]))
    assert result.new_customers == 2
    assert _customers(ws) == ["c001", "c002", "c150", "new-1", "new-3"]
    assert ws.store.query("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'customers'") == [(1,)]


def test_customer_count_follows_the_customers_table_and_is_0_without_one(ws: Workspace, make_ws) -> None:
    """The count `compact` sizes its row groups by (`row_group_size_for`): the table's rows, the customers an
    event creates included; a store with no customers table has none."""
    assert customer_count(ws.store) == len(KNOWN)
    _writer(ws).append(_events(["c001", "new-1", "new-2"]))
    assert customer_count(ws.store) == len(KNOWN) + 2
    assert customer_count(make_ws(name="empty").store) == 0
