"""What the run needs from an engine: the tables as Ibis tables, and the result as a DuckDB relation."""

from __future__ import annotations

from typing import Any, Protocol

import ibis.expr.types as ir

from segmentum.schema import TABLES
from segmentum.store import Store
from segmentum.store.catalog import model_tables


class Engine(Protocol):
    name: str

    def tables(self) -> dict[str, ir.Table]:
        """Canonical tables present and `model_*` tables, as Ibis tables of this engine."""

    def result_sql(self, expr: ir.Table, cur: Any) -> str:
        """A DuckDB SQL query (on cursor `cur` of the store) that yields the result rows of `expr`."""

    def to_sql(self, expr: ir.Table, dialect: str | None = None) -> str:
        """The SQL of `expr` in this engine's (or another) dialect."""

    def close(self) -> None: ...


def present_tables(store: Store) -> tuple[list[str], list[str]]:
    """(canonical tables present in schema main, model tables present in schema segmentum)."""
    canonical = [name for name in TABLES if store.table_exists(name)]
    return canonical, model_tables(store)
