"""The store's file is written in `STORAGE_VERSION`'s format, not DuckDB's default (0.10.2's): in the old one
every checkpoint after an append to an indexed table rewrote the whole index in the old layout (issue 20)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from segmentum.store.connection import STORAGE_VERSION, Store


def _file_format(path: Path) -> str:
    """The format DuckDB reads in the file's header (attached as it is, with no option of ours)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS f (READ_ONLY)")
        (tags,) = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = 'f'").fetchone()
        return str(tags["storage_version"])
    finally:
        con.close()


def _indexed_events(path: Path, *, options: str = "") -> None:
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS f {options}")
    con.execute(
        "CREATE TABLE f.main.events AS SELECT 'C' || (i % 50) AS customer_id, i FROM range(1000) t(i)"
    )
    con.execute("CREATE INDEX events_customer_id ON f.main.events(customer_id)")
    con.close()


def test_a_new_store_is_written_in_the_current_format_through_every_attachment(tmp_path: Path) -> None:
    path = tmp_path / "segmentum.duckdb"
    store = Store(path)
    store.cursor().execute("CREATE TABLE main.t AS SELECT 1 AS a")
    with store.writing_row_groups(2048):  # attached again, with a row group size, and back
        store.cursor().execute("INSERT INTO main.t VALUES (2)")
    store.close()
    assert _file_format(path) == f"{STORAGE_VERSION}+"


def test_a_store_in_duckdbs_default_format_is_written_in_the_current_one_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "segmentum.duckdb"
    _indexed_events(path)
    assert _file_format(path) == "v1.0.0+"  # DuckDB's default: what every store before this change has
    store = Store(path)
    store.cursor().execute("INSERT INTO main.events VALUES ('C7', 1000)")
    store.cursor().execute("CHECKPOINT")
    store.close()
    assert _file_format(path) == f"{STORAGE_VERSION}+"
    store = Store(path, read_only=True)
    try:
        assert store.query("SELECT count(*) FROM main.events") == [(1001,)]
        assert store.query("SELECT count(*) FROM main.events WHERE customer_id = 'C7'") == [(21,)]
        assert [r[0] for r in store.query("SELECT index_name FROM duckdb_indexes()")] == [
            "events_customer_id"
        ]
    finally:
        store.close()


def test_a_store_a_newer_duckdb_wrote_in_a_later_format_opens_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "segmentum.duckdb"
    _indexed_events(path, options="(STORAGE_VERSION 'v1.5.0')")
    store = Store(path)
    store.cursor().execute("INSERT INTO main.events VALUES ('C7', 1000)")
    assert store.query("SELECT count(*) FROM main.events") == [(1001,)]
    store.close()
    assert _file_format(path) == "v1.5.0+"


def test_a_rewritten_store_is_in_the_current_format(tmp_path: Path) -> None:
    path = tmp_path / "segmentum.duckdb"
    _indexed_events(path)
    store = Store(path)
    store.rewrite()
    assert store.query("SELECT count(*) FROM main.events") == [(1000,)]
    store.close()
    assert _file_format(path) == f"{STORAGE_VERSION}+"
