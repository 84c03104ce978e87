"""The one quoting helper: identifiers and text literals written into SQL text.

Values reach queries as bound parameters wherever DuckDB allows it; these are for the places where it does
not (identifiers, DDL, ATTACH paths, literals inside generated views).
"""

from __future__ import annotations

from typing import Any


def ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """`schema.table` (or any dotted path) with every part quoted."""
    return ".".join(ident(p) for p in parts)


def literal(text: str) -> str:
    """`text` as a single-quoted SQL string literal (embedded quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def one(cursor: Any) -> tuple[Any, ...]:
    """The single row of a query that always answers one (an aggregate without GROUP BY, `nextval`)."""
    row = cursor.fetchone()
    if row is None:  # cannot happen for such a query; say so rather than fail on `None[0]`
        raise RuntimeError("a query that always returns one row returned none")
    return tuple(row)
