"""Deleted rows given back without DuckDB's vacuum (issue 20).

DuckDB keeps a deleted row stored until its vacuum merges the row group holding it with the groups beside it, or
until every row of the group is deleted: a checkpoint drops such a group whole, vacuum or not. A server turns the
vacuum off (`Store.keep_row_groups`): it merged the small row groups `segmentum compact` writes, and one vacuuming
checkpoint held every write of a 1M-customer store for 4.7-6.9 s (BENCHMARKS.md "No staging indexes").

So a table that keeps deleting and appending rows (the live tables: a micro-batch replaces the row of each
customer it re-evaluated) is given its space back here, a few row groups at a time: the rows still live in a row
group that is mostly deleted rows are appended again at the table's end and deleted where they were. The group is
then all deleted rows, and the next checkpoint drops it. Each call moves at most `max_rows` rows, so what it adds
to the write that calls it stays bounded whatever the table's size; the groups with the fewest live rows go first.
Rows do not change, only where they lie: a table whose order matters (the fact tables `segmentum compact` writes
in customer order) is not reclaimed this way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from segmentum.sql import ident, literal
from segmentum.store.compact import CLUSTERED

if TYPE_CHECKING:
    from segmentum.store.connection import Store

__all__ = ["DEAD_SHARE", "reclaim_main_tables", "reclaim_row_groups", "row_groups"]

# a row group is reclaimed when more than this share of the rows it stores are deleted ones
DEAD_SHARE = 0.5


def row_groups(cur: Any, table: str) -> list[tuple[int, int, int]]:
    """The row groups of `table` (qualified) in storage order: (first rowid, rows stored, rows live). Rows stored
    count the deleted ones (`pragma_storage_info`: its first column's segments); a group's rowids are contiguous,
    after the groups before it."""
    stored = cur.execute(
        f"SELECT row_group_id, sum(count) FROM pragma_storage_info({literal(table)}) "
        "WHERE column_id = 0 AND column_path = '[0]' GROUP BY ALL ORDER BY row_group_id"
    ).fetchall()
    sizes = [int(rows) for _, rows in stored]
    if not sizes:
        return []
    starts = np.cumsum([0, *sizes])
    # each live row's group, from its rowid (a numpy pass over the rowids: a range join took 4 times as long)
    rowids = cur.execute(f"SELECT rowid FROM {table}").fetchnumpy()["rowid"]
    live = np.bincount(np.searchsorted(starts, rowids, side="right") - 1, minlength=len(sizes))
    return [(int(starts[i]), n, int(live[i])) for i, n in enumerate(sizes)]


def reclaim_row_groups(
    cur: Any, table: str, *, max_rows: int | None = None, dead_share: float = DEAD_SHARE
) -> int:
    """Move the live rows of `table`'s row groups that store more than `dead_share` deleted rows to its end, the
    groups with the fewest live rows first, at most `max_rows` rows in all (None: every such group); returns the
    rows moved. The last group is left: it is where appends go. Call it in a transaction of its own or before
    the transaction's other writes of `table` (the rowids are those of its committed rows)."""
    groups = row_groups(cur, table)
    sparse = sorted(
        (live, lo, lo + stored)
        for lo, stored, live in groups[:-1]
        if live > 0 and stored - live > dead_share * stored
    )
    ranges: list[tuple[int, int]] = []
    moved = 0
    for live, lo, hi in sparse:
        if max_rows is not None and moved + live > max_rows:
            break
        ranges.append((lo, hi))
        moved += live
    if not ranges:
        return 0
    where = " OR ".join(f"(rowid >= {lo} AND rowid < {hi})" for lo, hi in ranges)
    # appended rows take rowids past every committed one, so the delete finds only the rows where they were
    cur.execute(f"INSERT INTO {table} SELECT * FROM {table} WHERE {where}")
    cur.execute(f"DELETE FROM {table} WHERE {where}")
    return moved


def reclaim_main_tables(store: Store) -> dict[str, int]:
    """`reclaim_row_groups`, whole, on each table of schema main but the fact tables `segmentum compact` keeps in
    customer order (`store.compact.CLUSTERED`: its rewrite gives theirs back), in one transaction; returns the
    rows moved per table that had any. A server calls it after an ingest, whose upserts delete the stored
    version of each replaced row."""
    cur = store.cursor()
    ordered = {spec.name for spec in CLUSTERED}
    tables = [
        str(name)
        for (name,) in cur.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' ORDER BY table_name"
        ).fetchall()
        if name not in ordered
    ]
    moved: dict[str, int] = {}
    with store.transaction(cur):
        for table in tables:
            if n := reclaim_row_groups(cur, f"main.{ident(table)}"):
                moved[table] = n
    return moved
