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


def round6(product: str) -> str:
    """`round(product, 6)` of a DECIMAL(38,12) product of two money columns (`quantity * unit_price`): the same
    value, about 4x faster. DuckDB rounds a DECIMAL(38, s) by 128-bit division; a value under a million fits
    DECIMAL(18,12), whose rounding is 64-bit (both round half away from zero)."""
    return (
        f"CASE WHEN abs({product}) < 1000000 THEN round(({product})::DECIMAL(18,12), 6) "
        f"ELSE round({product}, 6) END"
    )
