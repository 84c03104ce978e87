"""Fixtures for the built-in tests: workspaces whose store holds empty canonical tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from segmentum.schema import TABLES
from segmentum.store import CATALOG
from segmentum.workspace import Workspace


def create_tables(
    ws: Workspace, tables: Iterable[str], *, drop_columns: dict[str, list[str]] | None = None
) -> None:
    """Create empty canonical tables (all known columns, minus `drop_columns`) in the workspace store."""
    con = ws.store.cursor()
    for name in tables:
        spec = TABLES[name]
        dropped = set((drop_columns or {}).get(name, []))
        cols = ", ".join(f'"{c}" {t}' for c, t in spec.columns.items() if c not in dropped)
        con.execute(f"CREATE TABLE {CATALOG}.main.{name} ({cols})")


def enable_builtins(ws: Workspace, names: list[str], settings: dict[str, dict] | None = None) -> Workspace:
    """Rewrite segmentum.yml to enable `names` (with settings) and reopen the workspace."""
    import json

    lines = [f"name: test\nbuiltins: [{', '.join(names)}]\n"]
    for builtin, values in (settings or {}).items():
        lines.append(f"{builtin}: {json.dumps(values)}\n")
    (ws.root / "segmentum.yml").write_text("".join(lines), encoding="utf-8")
    ws.close()
    return Workspace(ws.root)


@pytest.fixture(scope="module")
def full_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One workspace per test module whose store has every canonical table and a model_clv table."""
    ws = Workspace.init(tmp_path_factory.mktemp("full") / "ws", name="test")
    create_tables(ws, TABLES)
    ws.store.cursor().execute(
        f"CREATE TABLE {CATALOG}.segmentum.model_clv (customer_id VARCHAR, p_alive DOUBLE, "
        "expected_purchases_90d DOUBLE, clv_12m DOUBLE)"
    )
    yield ws
    ws.close()


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[..., Workspace]:
    opened: list[Workspace] = []

    def make(
        tables: Iterable[str] = tuple(TABLES),
        names: list[str] | None = None,
        settings: dict[str, dict] | None = None,
        drop_columns: dict[str, list[str]] | None = None,
        model_clv: bool = False,
    ) -> Workspace:
        ws = Workspace.init(tmp_path / f"ws{len(opened)}", name="test")
        create_tables(ws, tables, drop_columns=drop_columns)
        if model_clv:
            ws.store.cursor().execute(
                f"CREATE TABLE {CATALOG}.segmentum.model_clv (customer_id VARCHAR, p_alive DOUBLE, "
                "expected_purchases_90d DOUBLE, clv_12m DOUBLE)"
            )
        ws = enable_builtins(ws, names or [], settings)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()


@pytest.fixture
def configure() -> Callable[..., Workspace]:
    """`configure(ws, names, settings)`: enable built-ins in an existing workspace and reopen it."""
    return enable_builtins
