"""Shared fixtures: real workspaces in temporary folders, the shared real data when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh, empty workspace with a real DuckDB store."""
    ws = Workspace.init(tmp_path / "ws", name="test")
    yield ws
    ws.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


CUSTOMERS = [
    ("c1", "UA", "software"),
    ("c2", "UA", "transport"),
    ("c3", "PL", "software"),
    ("c4", "DE", None),
]
ORDERS = [  # order_id, customer, day, amount, status
    ("o1", "c1", "2024-01-05", 100, None),
    ("o2", "c1", "2024-02-05", 300, None),
    ("o3", "c2", "2024-02-10", 50, None),
    ("o4", "c3", "2024-02-11", 20, "cancelled"),
    ("o5", "c3", "2024-02-12", 30, None),
    ("o6", "c1", "2024-05-01", 999, None),  # after both runs' as_of: invisible
]
RUNS = {1: "2024-01-31 23:59:59", 2: "2024-02-29 23:59:59"}
MEMBERS = {  # run -> customer -> value_tier segment
    1: {"c1": "vip", "c2": "low", "c3": "low", "c4": "low"},
    2: {"c1": "vip", "c2": "vip", "c3": "low", "c4": "low"},
}
ABC = {2: {"c1": "A", "c2": "B", "c3": "C", "c4": "none"}}


@pytest.fixture
def handmade_snapshot(tmp_path: Path) -> Workspace:
    """A real store holding two complete runs written by hand (value_tier in both, abc in the second)."""
    ws = Workspace.init(tmp_path / "ws")
    con = ws.store.con
    con.execute("CREATE TABLE customers (customer_id VARCHAR, country VARCHAR, industry VARCHAR)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?)", CUSTOMERS)
    con.execute(
        "CREATE TABLE orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
    for run_id, as_of in RUNS.items():
        con.execute(
            "INSERT INTO segmentum.runs (run_id, as_of, status, kind, customers) "
            "VALUES (?, ?, 'complete', 'batch', 4)",
            [run_id, as_of],
        )
        con.execute(f"CREATE TABLE segmentum.traits_{run_id} (customer_id VARCHAR, spend DECIMAL(38, 6))")
        for customer, segment in MEMBERS[run_id].items():
            add_memberships(
                con,
                "VALUES (?, ?, 'value_tier', ?, ?)",
                [run_id, customer, segment, f"value_tier.{segment}"],
            )
        for customer, segment in ABC.get(run_id, {}).items():
            add_memberships(
                con,
                "VALUES (?, ?, 'abc', ?, ?)",
                [run_id, customer, segment, f"abc.{segment}"],
            )
    con.executemany(
        "INSERT INTO segmentum.traits_2 VALUES (?, ?)", [("c1", 400), ("c2", 50), ("c3", 30), ("c4", 0)]
    )
    yield ws
    ws.close()
