"""The fact tables rewritten in customer order, so that a micro-batch reads only its customers' row groups.

A micro-batch (`segmentum.runs.realtime`) evaluates a few hundred to a few thousand customers, and its query
reads `orders`, `order_items` and `events` for them. DuckDB skips a row group whose customer_id min/max holds
none of the touched ids (zonemaps; the micro-batch pushes its ids into the scans), which prunes only when a row
group holds few customers: tables sorted by customer and written in small row groups (the store's
`ROW_GROUP_SIZE`, with which the store is attached while it rewrites them). Ingest and the event API append in arrival order, so `compact` rewrites each table
`ORDER BY customer_id, <time>` and records how many rows it held; rows appended since (the tail) are read in
full, as before, until the next compaction. Results never depend on it: the rows are the same, only their
physical order changes.

The rewrite is one transaction for all the tables (a new table filled in order, the old one dropped, the new
one renamed; DDL is transactional in DuckDB): a crash leaves the store as it was. It needs the store to
itself for its duration (a writer appending to a table being rewritten would conflict), so `segmentum
compact` runs it while nothing else writes (the CLI holds the store's file lock).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from segmentum.faults import crash_point
from segmentum.schema import EVENTS, ORDER_ITEMS, ORDERS, TableSpec
from segmentum.sql import ident, literal
from segmentum.store.connection import Store
from segmentum.store.tables import COMPACTIONS_TABLE, qualified

__all__ = [
    "CLUSTERED",
    "TAIL_SHARE",
    "Compaction",
    "TableLayout",
    "compact",
    "compacted_row_group_size",
    "layout",
]

# The tables a micro-batch reads by customer, in the order they are rewritten.
CLUSTERED: tuple[TableSpec, ...] = (ORDERS, ORDER_ITEMS, EVENTS)
# A table is rewritten again when the rows appended since its last rewrite exceed this share of it: the tail is
# read whole by every micro-batch, the rewrite costs a sort of the whole table.
TAIL_SHARE = 0.1
_SCRATCH = "_segmentum_compact_"  # the new table's name while it is filled, in schema main
DUCKDB_ROW_GROUP_SIZE = 122_880  # DuckDB's own default (recorded as 0)


@dataclass(frozen=True)
class TableLayout:
    """A fact table's physical order: its rows, how many of them are in customer order (the first
    `sorted_rows`, as of the last rewrite), and the row group size they were written with."""

    table: str
    rows: int
    sorted_rows: int
    row_group_size: int | None
    compacted_at: datetime | None

    @property
    def tail(self) -> int:
        """Rows appended since the last rewrite (read whole by a micro-batch)."""
        return max(0, self.rows - self.sorted_rows)

    def needs_compaction(self, row_group_size: int | None, share: float = TAIL_SHARE) -> bool:
        if self.rows == 0:
            return False
        # 0 recorded: written with DuckDB's default size
        if self.compacted_at is None or (self.row_group_size or None) != (row_group_size or None):
            return True
        return self.tail > share * self.rows


@dataclass(frozen=True)
class Compaction:
    """What one `compact` did to one table."""

    table: str
    rows: int
    seconds: float
    skipped: bool  # nothing to do: in order already (within TAIL_SHARE) or empty


def layout(store: Store) -> list[TableLayout]:
    """Each present fact table of `CLUSTERED`: its rows and how much of it is in customer order."""
    cur = store.cursor()
    recorded = {
        r[0]: r[1:]
        for r in cur.execute(
            f"SELECT table_name, rows, row_group_size, compacted_at FROM {qualified(COMPACTIONS_TABLE)}"
        ).fetchall()
    }
    out: list[TableLayout] = []
    for spec in CLUSTERED:
        if not store.table_exists(spec.name):
            continue
        rows = cur.execute(f"SELECT count(*) FROM main.{ident(spec.name)}").fetchone()
        sorted_rows, size, at = recorded.get(spec.name, (0, None, None))
        out.append(TableLayout(spec.name, int(rows[0]) if rows else 0, int(sorted_rows), size, at))
    return out


def compacted_row_group_size(store: Store) -> int | None:
    """The largest row group size the present fact tables were last rewritten in customer order with, or None
    when one of them never was (its reads by customer prune little). One small read: a micro-batch asks."""
    rows = store.query(f"SELECT table_name, row_group_size FROM {qualified(COMPACTIONS_TABLE)}")
    sizes = dict(rows)
    present = [s.name for s in CLUSTERED if store.table_exists(s.name)]
    if not present or any(name not in sizes for name in present):
        return None
    return max(int(sizes[name]) or DUCKDB_ROW_GROUP_SIZE for name in present)


def compact(store: Store, *, force: bool = False, share: float = TAIL_SHARE) -> list[Compaction]:
    """Rewrite the fact tables whose tail exceeds `share` (every one with rows when `force`) in customer order,
    in one transaction; returns what was done to each present table."""
    todo = [t for t in layout(store) if t.rows and (force or t.needs_compaction(store.row_group_size, share))]
    done: dict[str, Compaction] = {}
    if todo:
        # written in the store's small row groups (only the fact tables: see connection.ROW_GROUP_SIZE)
        with store.writing_row_groups(store.row_group_size), store.transaction(store.cursor()) as cur:
            for i, table in enumerate(todo):
                mark = time.perf_counter()
                rows = _rewrite(cur, next(s for s in CLUSTERED if s.name == table.table), store)
                seconds = time.perf_counter() - mark
                cur.execute(
                    f"INSERT OR REPLACE INTO {qualified(COMPACTIONS_TABLE)} "
                    "(table_name, rows, row_group_size, compacted_at, seconds) VALUES (?, ?, ?, ?, ?)",
                    [table.table, rows, store.row_group_size or 0, _now(), round(seconds, 3)],
                )
                done[table.table] = Compaction(table.table, rows, round(seconds, 3), skipped=False)
                if i == 0:
                    crash_point("mid_compaction")  # one table rewritten, the transaction not committed
        # the dropped tables' blocks are free for reuse from the next checkpoint on (the file does not shrink);
        # now if no other write is under way, else DuckDB's own checkpoint does it later
        with contextlib.suppress(duckdb.TransactionException):
            store.cursor().execute("CHECKPOINT")
    return [done.get(t.table) or Compaction(t.table, t.rows, 0.0, skipped=True) for t in layout(store)]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the store's other bookkeeping times


def _rewrite(cur: duckdb.DuckDBPyConnection, spec: TableSpec, store: Store) -> int:
    """`main.<table>` replaced by its rows in customer order (same columns, types and comments); returns the
    rows written. Runs inside the caller's transaction."""
    name = spec.name
    columns = store.columns(name)
    # within a customer, by time, then as they were stored: the same order on every rewrite
    keys = ["customer_id", *([spec.time_column] if spec.time_column in columns else []), "rowid"]
    scratch = _SCRATCH + name
    cur.execute(f"DROP TABLE IF EXISTS main.{ident(scratch)}")
    cur.execute(
        f"CREATE TABLE main.{ident(scratch)} AS SELECT * FROM main.{ident(name)} "
        f"ORDER BY {', '.join(ident(k) if k != 'rowid' else k for k in keys)}"
    )
    comments = cur.execute(
        "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? AND comment IS NOT NULL",
        [name],
    ).fetchall()
    table_comment = cur.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchone()
    cur.execute(f"DROP TABLE main.{ident(name)}")
    cur.execute(f"ALTER TABLE main.{ident(scratch)} RENAME TO {ident(name)}")
    if table_comment and table_comment[0]:
        cur.execute(f"COMMENT ON TABLE main.{ident(name)} IS {literal(table_comment[0])}")
    for column, comment in comments:
        cur.execute(f"COMMENT ON COLUMN main.{ident(name)}.{ident(column)} IS {literal(comment)}")
    row = cur.execute(f"SELECT count(*) FROM main.{ident(name)}").fetchone()
    return int(row[0]) if row else 0
