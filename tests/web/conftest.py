"""A real workspace with two real runs (ingested through the real path) served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.service import users as auth
from segmentum.service.keys import KeyStore
from segmentum.workspace import Workspace
from servers import start_app

USER, PASSWORD = "anna", "correct horse battery"
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
      - {name: vip, where: "revenue_365d >= 1500", action: "Call them personally"}
      - {name: regular, where: "revenue_365d >= 300"}
      - {name: low, where: "true"}
"""
AS_OF = ("2024-06-30 23:59:59", "2024-12-31 23:59:59")


def build_workspace(root: Path) -> Workspace:
    """60 customers in three countries, orders through 2024, two batch runs, one open task, one user."""
    rng = random.Random(7)
    ws = Workspace.init(root, name="web-test")
    (ws.root / "definitions" / "shop.yml").write_text(SHOP_YML, encoding="utf-8")
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(60)],
            "name": [f"Customer {i}" for i in range(60)],
            "country": [("UA", "PL", "DE")[i % 3] for i in range(60)],
            "created_at": [datetime(2023, 1, 1) + timedelta(days=i) for i in range(60)],
        }
    )
    orders = []
    for i in range(60):
        # the first third buy a lot, the rest little; later customers start buying in the second half
        for k in range(rng.randint(1, 8)):
            day = datetime(2024, 1, 1) + timedelta(days=rng.randint(0 if i < 40 else 190, 360))
            amount = rng.randint(200, 900) if i < 20 else rng.randint(10, 150)
            orders.append(
                {
                    "order_id": f"o{i:03d}_{k}",
                    "customer_id": f"c{i:03d}",
                    "ordered_at": day,
                    "amount": float(amount),
                    "status": "cancelled" if k == 5 else "completed",
                }
            )
    ws.ingest_frame("customers", customers)
    ws.ingest_frame("orders", pd.DataFrame(orders))
    for as_of in AS_OF:
        ws.run(as_of=as_of)
    ws.store.cursor().execute(
        "INSERT INTO segmentum.tasks (id, title, description, assignee, due_at, status, customer_id, created_at) "
        "VALUES (nextval('segmentum.task_seq'), 'Call c001 about renewal', 'VIP slipping', 'anna', "
        "'2025-01-10', 'open', 'c001', now()::TIMESTAMP)"
    )
    auth.add_user(ws.store, USER, PASSWORD, role="write")  # edits definitions, completes tasks
    return ws


@dataclass
class Dashboard:
    url: str
    ws: Workspace
    api_key: str


@pytest.fixture(scope="session")
def start_server() -> Any:
    """`start(app)` -> (server, thread, url): a real uvicorn on a free port of 127.0.0.1."""
    return start_app


@pytest.fixture(scope="session", name="build_workspace")
def build_workspace_fixture() -> Any:
    """`build_workspace(root)`: this module's workspace, for tests that start their own server."""
    return build_workspace


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    ws = build_workspace(tmp_path_factory.mktemp("web") / "ws")
    key = KeyStore(ws.store).create("read", "dashboard test")[0]
    app = create_app(ws, extra_routers=web_routers(), realtime=False)
    server, thread, url = start_app(app)
    try:
        yield Dashboard(url, ws, key)
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()
