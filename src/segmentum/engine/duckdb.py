"""The default engine: the compiled expression runs as one SQL query inside the workspace store."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from segmentum.engine.base import present_tables
from segmentum.store import META, Store


class DuckDBEngine:
    """Runs inside the store (an Ibis backend over a cursor of its own); the result never leaves the database."""

    name = "duckdb"
    narrow_windows = True  # DuckDB materialises a CTE that is read twice

    def __init__(self, store: Store) -> None:
        self.store = store
        self.backend = store.ibis()

    def tables(self) -> dict[str, ir.Table]:
        canonical, models = present_tables(self.store)
        out = {name: self.backend.table(name, database="main") for name in canonical}
        out |= {name: self.backend.table(name, database=META) for name in models}
        return out

    def result_sql(self, expr: ir.Table, cur: Any) -> str:
        return self.to_sql(expr)

    def to_sql(self, expr: ir.Table, dialect: str | None = None) -> str:
        if dialect == "pyspark":
            _ = ibis.pyspark  # loading the backend registers the pyspark compiler's options
        return str(ibis.to_sql(expr, dialect=dialect or "duckdb"))

    def execute_arrow(self, expr: ir.Table) -> Any:
        return self.store.cursor().execute(self.to_sql(expr)).to_arrow_table()

    def close(self) -> None:
        pass
