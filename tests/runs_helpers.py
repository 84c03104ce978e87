"""A small shop in a real workspace: customers, orders across three months, a segment and a segmentation (shared
by the tests of runs, the report and the API)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from segmentum.workspace import Workspace

DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
segments:
  big: {where: "spent >= 100"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 500"}
      - {name: silver, where: "spent >= 100"}
    else: bronze
"""
# customer, ordered_at, amount: b becomes big in February, c gold in March
ORDERS = [
    ("a", datetime(2024, 1, 5), 600),
    ("b", datetime(2024, 1, 10), 50),
    ("b", datetime(2024, 2, 10), 100),
    ("c", datetime(2024, 1, 20), 20),
    ("c", datetime(2024, 3, 3), 700),
    ("d", datetime(2024, 3, 9), 5),
]


def make_shop(root: Path, definitions: str = DEFINITIONS) -> Workspace:
    ws = Workspace.init(root, name="runs-test")
    config = root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    config.write_text("\n".join([*lines, "builtins: []"]) + "\n")
    write_definitions(ws, definitions)
    ws = Workspace(root)
    set_orders(ws, ORDERS)
    return ws


def write_definitions(ws: Workspace, text: str) -> None:
    (ws.root / "definitions" / "shop.yml").write_text(text, encoding="utf-8")


def set_orders(ws: Workspace, orders: list[tuple[str, datetime, int]]) -> None:
    con = ws.store.cursor()
    con.execute(
        "CREATE OR REPLACE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.executemany(
        "INSERT INTO main.orders VALUES (?, ?, ?, ?, NULL)",
        [(f"o{i}", c, ts, amount) for i, (c, ts, amount) in enumerate(orders)],
    )
    con.execute("CREATE OR REPLACE TABLE main.customers (customer_id VARCHAR)")
    con.executemany("INSERT INTO main.customers VALUES (?)", [[c] for c in sorted({o[0] for o in orders})])
