"""Helpers of the API tests (a module with a unique name: `conftest` clashes across test folders)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from segmentum.store import META
from segmentum.store.memberships import add as add_memberships
from segmentum.store.snapshots import write_live
from segmentum.workspace import Workspace
from servers import start_app as start_server  # noqa: F401 - the API tests' name for it


@dataclass
class LiveServer:
    url: str
    app: Any
    ws: Workspace
    keys: dict[str, str]

    def client(self, scope: str | None = "admin", **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[scope]}"} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


def seed_snapshot(ws: Workspace) -> None:
    """Two complete batch runs and one realtime run written as the run engine writes them (store contract)."""
    store = ws.store
    con = store.cursor()
    con.execute(
        "CREATE TABLE IF NOT EXISTS main.customers (customer_id VARCHAR, name VARCHAR, country VARCHAR)"
    )
    con.execute(
        "INSERT INTO main.customers VALUES ('c1', 'Ann', 'UA'), ('c2', 'Bob', 'PL'), ('c3', 'Cid', 'UA')"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS main.orders (order_id VARCHAR, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(
        "INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-05', 1500, NULL), "
        "('o2', 'c2', '2024-01-06', 20, NULL), ('o3', 'c3', '2024-02-01', 300, NULL)"
    )
    hashes = '{"value_tier": "h1", "big_spenders": "h2"}'
    runs = [
        (
            1,
            datetime(2024, 1, 31),
            "batch",
            {"c1": ("vip", True), "c2": ("low", False), "c3": ("low", False)},
        ),
        (
            2,
            datetime(2024, 2, 29),
            "batch",
            {"c1": ("vip", True), "c2": ("low", False), "c3": ("regular", False)},
        ),
        (3, datetime(2024, 3, 1, 10), "realtime", {"c2": ("regular", False)}),
    ]
    for run_id, as_of, kind, members in runs:
        assert con.execute(f"SELECT nextval('{META}.run_seq')").fetchone()[0] == run_id
        con.execute(
            f"INSERT INTO {META}.runs VALUES (?, ?, ?, ?, 'complete', 'duckdb', ?, 'all', ?, ?, NULL)",
            [run_id, as_of, as_of, as_of, kind, hashes, len(members)],
        )
        con.execute(
            f"CREATE TABLE {META}.traits_{run_id} (customer_id VARCHAR, revenue_365d DECIMAL(38, 6), "
            "orders_total BIGINT)"
        )
        for cid, (tier, big) in members.items():
            revenue = {"c1": 1500, "c2": 20 if run_id < 3 else 600, "c3": 300}[cid]
            con.execute(f"INSERT INTO {META}.traits_{run_id} VALUES (?, ?, 1)", [cid, revenue])
            add_memberships(
                con,
                "VALUES (?, ?, 'value_tier', ?, ?)",
                [run_id, cid, tier, f"value_tier.{tier}"],
            )
            if big:
                add_memberships(
                    con,
                    "VALUES (?, ?, NULL, 'big_spenders', 'big_spenders')",
                    [run_id, cid],
                )
        if kind == "realtime":  # a real-time run also replaces its customers' live rows (store contract)
            write_live(con, run_id, f"{META}.traits_{run_id}")
    # a failed run must never be read
    con.execute(f"SELECT nextval('{META}.run_seq')")
    con.execute(
        f"INSERT INTO {META}.runs VALUES (4, '2024-03-31', NULL, NULL, 'failed', 'duckdb', 'batch', "
        "'all', NULL, NULL, 'killed')"
    )
    add_memberships(con, "VALUES (4, 'c1', 'value_tier', 'low', 'value_tier.low')")
