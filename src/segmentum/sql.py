"""The one quoting helper: identifiers and text literals written into SQL text.

Values reach queries as bound parameters wherever DuckDB allows it; these are for the places where it does
not (identifiers, DDL, ATTACH paths, literals inside generated views).
"""

from __future__ import annotations


def ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + str(name).replace('"', '""') + '"'


def qualified(*parts: str) -> str:
    """`schema.table` (or any dotted path) with every part quoted."""
    return ".".join(ident(p) for p in parts)


def literal(text: str) -> str:
    """`text` as a single-quoted SQL string literal (embedded quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"
