"""One real workspace with four real runs, what the CLI printed for it, and the API with the dashboard served
over it by uvicorn on 127.0.0.1 (a CLI process opens the store itself, so the CLI runs before the server)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from views_support import FILTER, build_workspace, cli

from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.service.keys import KeyStore
from segmentum.workspace import Workspace
from servers import start_app as serve


@dataclass
class Shop:
    url: str
    ws: Workspace
    key: str
    cli: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("views") / "ws"
    ws = build_workspace(root)
    key = KeyStore(ws.store).create("read", "views test")[0]
    ws.close()
    printed: dict[str, Any] = {}
    out = root / "low.csv"
    cli(root, "members", "value_tier.low", "-o", str(out))
    printed["members"] = [
        r["customer_id"] for r in csv.DictReader(out.open(newline="", encoding="utf-8-sig"))
    ]
    filtered = cli(root, "members", "value_tier.low", "--filter", FILTER, "--format", "csv").stdout
    printed["filtered"] = [r["customer_id"] for r in csv.DictReader(io.StringIO(filtered))]
    printed["customer"] = json.loads(cli(root, "customer", "c001", "--format", "json").stdout)
    ws = Workspace(root)
    server, thread, url = serve(create_app(ws, extra_routers=web_routers(), realtime=False))
    try:
        yield Shop(url, ws, key, printed)
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()
