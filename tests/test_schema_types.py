"""schema.is_numeric_type: the one rule of "a numeric column" (the loader's sum/avg check, profiles, ingest)."""

from __future__ import annotations

import duckdb

from segmentum.schema import is_numeric_type

NUMBERS = [
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL(38,6)",
    "DECIMAL(4,1)",
]
NOT_NUMBERS = ["VARCHAR", "DATE", "TIMESTAMP", "INTERVAL", "BOOLEAN", "INTEGER[]", "DOUBLE[]", "JSON"]


def _duckdb_types(types: list[str]) -> list[str]:
    """The type names DuckDB reports for columns of these types (as `duckdb_columns()` gives them)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t (" + ", ".join(f"c{i} {t}" for i, t in enumerate(types)) + ")")
    names = [
        r[0]
        for r in con.execute(
            "SELECT data_type FROM duckdb_columns() WHERE table_name = 't' ORDER BY column_index"
        ).fetchall()
    ]
    con.close()
    return names


def test_every_duckdb_number_type_is_numeric_and_nothing_else_is() -> None:
    assert all(is_numeric_type(t) for t in _duckdb_types(NUMBERS))
    # INTERVAL starts like INT and a list of integers like INTEGER: neither is one number
    assert not any(is_numeric_type(t) for t in _duckdb_types(NOT_NUMBERS))
    assert is_numeric_type("decimal(18, 2)") and is_numeric_type(" numeric ")
