"""Fixtures of the runs tests: a small shop in a real workspace (tests/runs_helpers.py), and workspaces with canonical
tables loaded from Python rows by plain SQL (engine_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import load_rows, write_definitions

from runs_helpers import make_shop
from segmentum.workspace import Workspace


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = make_shop(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture
def make_ws(tmp_path: Path) -> Callable[..., Workspace]:
    opened: list[Workspace] = []

    def make(
        definitions: str = "",
        tables: dict[str, list[dict[str, Any]]] | None = None,
        builtins: list[str] | None = None,
        name: str = "ws",
    ) -> Workspace:
        ws = Workspace.init(tmp_path / name, name="test")
        write_definitions(ws, definitions, builtins)
        ws = Workspace(ws.root)
        opened.append(ws)
        for table, rows in (tables or {}).items():
            load_rows(ws, table, rows)
        return ws

    yield make
    for ws in opened:
        ws.close()
