"""Fixtures for engine tests: a workspace with canonical tables loaded from Python rows by plain SQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from segmentum.data.schema import TABLES
from segmentum.workspace import Workspace


def load_rows(ws: Workspace, table: str, rows: list[dict[str, Any]], types: dict[str, str] | None = None) -> None:
    """Create a canonical table with the schema types of its known columns and insert rows."""
    spec = TABLES[table]
    columns: list[str] = []
    for row in rows:
        for c in row:
            if c not in columns:
                columns.append(c)
    for c in spec.required:
        if c not in columns:
            columns.append(c)
    types = types or {}
    decl = ", ".join(f'"{c}" {types.get(c) or spec.type_of(c) or "VARCHAR"}' for c in columns)
    con = ws.store.cursor()
    con.execute(f"CREATE OR REPLACE TABLE main.{table} ({decl})")
    if rows:
        placeholders = ", ".join("?" for _ in columns)
        con.executemany(f"INSERT INTO main.{table} VALUES ({placeholders})",
                        [[row.get(c) for c in columns] for row in rows])


def write_definitions(ws: Workspace, text: str, builtins: list[str] | None = None) -> None:
    (ws.root / "definitions" / "test.yml").write_text(text, encoding="utf-8")
    config = ws.root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    lines.append(f"builtins: [{', '.join(builtins or [])}]")
    config.write_text("\n".join(lines) + "\n")
    ws.config = type(ws.config).model_validate({**ws.config.model_dump(exclude={"builtin_settings"}),
                                                "builtins": builtins or []})


@pytest.fixture
def make_ws(tmp_path: Path) -> Callable[..., Workspace]:
    opened: list[Workspace] = []

    def make(definitions: str = "", tables: dict[str, list[dict[str, Any]]] | None = None,
             builtins: list[str] | None = None, name: str = "ws") -> Workspace:
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
