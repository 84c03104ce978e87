"""Helpers for engine tests: canonical tables loaded from Python rows by plain SQL, definitions written."""

from __future__ import annotations

from typing import Any

from segmentum.schema import TABLES
from segmentum.workspace import Workspace


def load_rows(
    ws: Workspace,
    table: str,
    rows: list[dict[str, Any]],
    types: dict[str, str] | None = None,
    columns: list[str] | None = None,
) -> None:
    """Create a canonical table with the schema types of its known columns and insert rows."""
    spec = TABLES[table]
    columns = list(columns or [])
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
        con.executemany(
            f"INSERT INTO main.{table} VALUES ({placeholders})",
            [[row.get(c) for c in columns] for row in rows],
        )


def write_definitions(ws: Workspace, text: str, builtins: list[str] | None = None) -> None:
    (ws.root / "definitions" / "test.yml").write_text(text, encoding="utf-8")
    config = ws.root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    lines.append(f"builtins: [{', '.join(builtins or [])}]")
    config.write_text("\n".join(lines) + "\n")
    ws.config = type(ws.config).model_validate(
        {**ws.config.model_dump(exclude={"builtin_settings"}), "builtins": builtins or []}
    )
