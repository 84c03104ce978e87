"""What the run needs from an engine: the tables as Ibis tables, and the result as a DuckDB relation."""

from __future__ import annotations

from typing import Any, Protocol

import ibis.expr.types as ir

from segmentum.schema import TABLES
from segmentum.store import Store
from segmentum.store.catalog import model_tables
from segmentum.store.lists import names as list_names
from segmentum.store.tables import LIST_MEMBERS_TABLE


class Engine(Protocol):
    name: str
    # whether a relation the query reads twice is computed once (`RunCompiler`'s `narrow_windows`)
    narrow_windows: bool

    def tables(self) -> dict[str, ir.Table]:
        """Canonical tables present, `model_*` tables and the static lists' members, as Ibis tables of this
        engine."""

    def result_sql(self, expr: ir.Table, cur: Any) -> str:
        """A DuckDB SQL query (on cursor `cur` of the store) that yields the result rows of `expr`."""

    def to_sql(self, expr: ir.Table, dialect: str | None = None) -> str:
        """The SQL of `expr` in this engine's (or another) dialect."""

    def close(self) -> None: ...


def present_tables(store: Store) -> tuple[list[str], list[str]]:
    """(canonical tables present in schema main, tables of schema segmentum a run reads: the model tables
    present, and the members of static lists when any list is stored)."""
    canonical = [name for name in TABLES if store.table_exists(name)]
    stored = model_tables(store)
    if list_names(store):
        stored.append(LIST_MEMBERS_TABLE)
    return canonical, stored
