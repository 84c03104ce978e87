"""Attribute history (DESIGN section 5.1): a run sees each customer attribute as of its as_of, so backfills,
migrations and triggers see "moved region" honestly; `ingest customers --mode upsert` records the changes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd

from runs_helpers import make_shop, write_definitions
from segmentum.actions import list_outbox
from segmentum.analysis.migration import migration
from segmentum.ingest.load import ingest_frame
from segmentum.workspace import Workspace

GEO = """
segmentations:
  geo:
    segments:
      - {name: us, where: "region = 'US'"}
      - {name: eu, where: "region = 'EU'"}
    else: unknown
triggers:
  moved_to_us:
    on: move
    from: geo.eu
    to: geo.us
    do:
      - task: {title: "Welcome {{ customer.customer_id }} to the US desk", due: 1d}
"""
# customer, region now; then the changes (customer, value, changed_at)
CUSTOMERS = [("a", "US"), ("b", "EU"), ("c", "EU"), ("d", None)]
CHANGES = [
    ("a", "EU", datetime(2024, 1, 1)),
    ("a", "US", datetime(2024, 2, 15)),  # a moves EU -> US in February
    ("c", "EU", datetime(2024, 3, 1)),  # c's region is first known in March
]


def _geo_shop(tmp_path: Path) -> Workspace:
    ws = make_shop(tmp_path / "ws")
    con = ws.store.cursor()
    con.execute("CREATE OR REPLACE TABLE main.customers (customer_id VARCHAR, region VARCHAR)")
    con.executemany("INSERT INTO main.customers VALUES (?, ?)", CUSTOMERS)
    con.execute(
        "CREATE TABLE main.customer_changes (customer_id VARCHAR, attribute VARCHAR, value VARCHAR, "
        "changed_at TIMESTAMP)"
    )
    con.executemany("INSERT INTO main.customer_changes VALUES (?, 'region', ?, ?)", CHANGES)
    write_definitions(ws, GEO)
    return ws


def _expected_region(customer: str, as_of: datetime) -> str | None:
    """The rule in plain Python: the latest change at or before as_of; none yet -> null; no changes -> now."""
    mine = [(at, value) for c, value, at in CHANGES if c == customer]
    if not mine:
        return dict(CUSTOMERS)[customer]
    due = [value for at, value in sorted(mine) if at <= as_of]
    return due[-1] if due else None


def test_a_monthly_backfill_sees_each_region_as_of_its_month_and_the_migration_shows_the_move(
    tmp_path: Path,
) -> None:
    ws = _geo_shop(tmp_path)
    runs = ws.backfill(date(2024, 1, 1), date(2024, 3, 31), "1m")
    labels = {"US": "us", "EU": "eu", None: "unknown"}
    for result in runs:
        rows = dict(
            ws.store.query(
                "SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = ? AND segmentation = 'geo'",
                [result.run_id],
            )
        )
        assert rows == {c: labels[_expected_region(c, result.as_of)] for c in _customers_at(result.as_of)}
    january, february = runs[0].run_id, runs[1].run_id
    moves = migration(ws, "geo", from_run=january, to_run=february, who=("eu", "us"))
    flows = {(r.from_segment, r.to_segment): int(r.customers) for r in moves["flows"].itertuples()}
    assert flows[("eu", "us")] == 1 and list(moves["customers"]["customer_id"]) == ["a"]
    assert {k: v for k, v in flows.items() if k[0] != k[1] and "(new)" not in k} == {("eu", "us"): 1}


def _customers_at(as_of: datetime) -> set[str]:
    """Who exists at as_of: first seen (first order, or first change) at or before it."""
    from runs_helpers import ORDERS

    seen = [(c, at) for c, at, _ in ORDERS] + [(c, at) for c, _, at in CHANGES]
    return {c for c, at in seen if at <= as_of}


def test_a_trigger_on_the_move_fires_once(tmp_path: Path) -> None:
    ws = _geo_shop(tmp_path)
    ws.run(as_of="2024-01-31", deliver=False)
    moved = ws.run(as_of="2024-02-29", deliver=False)
    ws.run(as_of="2024-03-31", deliver=False)  # a is still in the US: no second move
    fired = [r["idempotency_key"] for r in list_outbox(ws) if r["trigger"] == "moved_to_us"]
    assert fired == [f"moved_to_us:a:{moved.run_id}:0"]


def test_an_upsert_of_customers_records_the_changes_it_makes(tmp_path: Path) -> None:
    ws = make_shop(tmp_path / "ws")
    first = pd.DataFrame(
        {"customer_id": ["a", "b"], "region": ["EU", "EU"], "created_at": ["2023-06-01", "2023-07-01"]}
    )
    ingest_frame(ws, "customers", first, mode="replace")
    moved = pd.DataFrame(
        {"customer_id": ["a", "b"], "region": ["US", "EU"], "updated_at": ["2024-02-15 10:00", "2024-02-16"]}
    )
    ingest_frame(ws, "customers", moved, mode="upsert")
    rows = ws.store.query(
        "SELECT customer_id, attribute, value, changed_at FROM main.customer_changes ORDER BY customer_id, changed_at"
    )
    # b's region did not change: nothing recorded; a's old value is kept from its created_at
    assert rows == [
        ("a", "region", "EU", datetime(2023, 6, 1)),
        ("a", "region", "US", datetime(2024, 2, 15, 10)),
    ]
    write_definitions(ws, GEO)
    january = ws.run(as_of="2024-01-31", deliver=False)
    march = ws.run(as_of="2024-03-31", deliver=False)
    state = {
        run.run_id: dict(
            ws.store.query(
                "SELECT customer_id, segment FROM segmentum.memberships WHERE run_id = ? AND segmentation = 'geo' "
                "AND customer_id IN ('a', 'b')",
                [run.run_id],
            )
        )
        for run in (january, march)
    }
    assert state[january.run_id] == {"a": "eu", "b": "eu"} and state[march.run_id] == {"a": "us", "b": "eu"}
