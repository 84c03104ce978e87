"""A real workspace for the read-model tests (a module with a unique name: `conftest` clashes across folders).

60 customers in three countries with orders through 2024 and four real batch runs:

- run 1 at 2024-06-30 and run 2 at 2024-12-31;
- run 3 at 2023-12-31, computed after them (as a backfill does): nobody has bought yet, so `big_spenders`
  is computed and empty;
- run 4 at 2025-01-15 with `--only value_tier`: it does not compute `big_spenders`.

An export trigger writes the members of `value_tier.low` after every run; one customer has a task; a
dashboard user exists.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from segmentum.service import users as auth
from segmentum.workspace import Workspace

USER, PASSWORD = "anna", "correct horse battery"
FILTER = "country = 'PL' and revenue_365d > 100"
SHOP_YML = """\
traits:
  revenue_365d: {sum: orders.amount, within: 365d}
  orders_total: {count: orders}
segments:
  big_spenders:
    description: Spent at least 1000 in the last year
    where: "revenue_365d >= 1000"
segmentations:
  value_tier:
    segments:
      - {name: vip, where: "revenue_365d >= 1500"}
      - {name: regular, where: "revenue_365d >= 300"}
      - {name: low, where: "true"}
triggers:
  low_list:
    on: enter
    segment: value_tier.low
    do:
      - export: {path: "exports/low_{{ run.run_id }}.csv"}
"""
RUNS = (
    {"as_of": "2024-06-30 23:59:59"},
    {"as_of": "2024-12-31 23:59:59"},
    {"as_of": "2023-12-31 23:59:59"},
    {"as_of": "2025-01-15 23:59:59", "only": ["value_tier"]},
)


def build_workspace(root: Path) -> Workspace:
    rng = random.Random(11)
    ws = Workspace.init(root, name="views-test")
    (ws.root / "definitions" / "shop.yml").write_text(SHOP_YML, encoding="utf-8")
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(60)],
            # a quote in a value: filters must match it as text, never run it
            "name": ["O'Brien" if i == 7 else f"Customer {i}" for i in range(60)],
            "email": [f"c{i}@example.com" for i in range(60)],
            "country": [("UA", "PL", "DE")[i % 3] for i in range(60)],
            "created_at": [datetime(2023, 1, 1) + timedelta(days=i) for i in range(60)],
        }
    )
    orders = []
    for i in range(60):
        for k in range(rng.randint(1, 8)):
            day = datetime(2024, 1, 1) + timedelta(days=rng.randint(0 if i < 40 else 190, 360))
            amount = rng.randint(200, 900) if i < 20 else rng.randint(10, 150)
            orders.append(
                {
                    "order_id": f"o{i:03d}_{k}",
                    "customer_id": f"c{i:03d}",
                    "ordered_at": day,
                    "amount": float(amount),
                }
            )
    ws.ingest_frame("customers", customers)
    ws.ingest_frame("orders", pd.DataFrame(orders))
    for options in RUNS:
        ws.run(**options)
    ws.store.cursor().execute(
        "INSERT INTO segmentum.tasks (id, title, description, assignee, due_at, status, customer_id, created_at) "
        "VALUES (nextval('segmentum.task_seq'), 'Call c001', 'Slipping', 'anna', '2025-01-20', 'open', 'c001', "
        "'2025-01-16 09:00:00')"
    )
    auth.add_user(ws.store, USER, PASSWORD)
    return ws


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`segmentum ARGS --workspace ROOT` as a real process (it opens the store itself: close it here first)."""
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args, "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result


@dataclass
class Served:
    url: str
    ws: Workspace
    key: str
