"""The fact tables rewritten in customer order, so that a micro-batch reads only its customers' row groups.

A micro-batch (`segmentum.runs.realtime`) evaluates a few hundred to a few thousand customers, and stages the
rows of `orders`, `order_items` and `events` for them, one scan each with the touched ids pushed in. DuckDB
skips a row group whose customer_id min/max holds none of the touched ids (zonemaps), which prunes only when a
row group holds few customers: tables sorted by customer and written in small row groups. Tables hold very
different numbers of rows per customer (at 1M: events 58, order_items 17, orders 10), so one row count for
every table would put 280 customers in an events group and 1,650 in an orders group, and a micro-batch's 1,000
random customers would touch nearly every orders group. So each table gets its own size
(`row_group_size_for`): about `CUSTOMERS_PER_ROW_GROUP` customers a group, from the table's rows per customer
of the store (`main.customers`) at compaction time, a multiple of DuckDB's vector size (2,048 rows, also its
minimum) up to DuckDB's default of 122,880; `engine.row_group_size` in segmentum.yml fixes one size for
every table instead. The store is attached with that size only while it rewrites a table
(`Store.writing_row_groups`): every other table keeps DuckDB's default, which the batch run needs.

The compacted tables have no index on `customer_id`: staging scans them with the touched ids pushed in. Until
2026-12-04 `compact` built one on each ("staging indexes"), which a micro-batch of a small share of the
customers read its rows through. DuckDB (1.5) writes every index it has read or changed again in full at each
checkpoint (duckdb/duckdb#24848), and every write of the store waits for a checkpoint: at 1M customers
they made each of a server's checkpoints 0.4-0.5 s longer at 16-30 MB of log (0.62-0.76 s against 0.19-0.32 s),
for micro-batches no faster at 2,000 events/s (0.88-0.89 against 0.87 s a micro-batch); without them the
server's event -> membership p99 was 2.29-2.40 s against 3.48 s (BENCHMARKS.md "No staging indexes"). A store
that has them loses them when it is next opened (`tables._no_staging_indexes`).

The rewritten tables keep their columns' types, but store the wide decimals (money and quantities) uncompressed
(`_column_definitions`): a row fetched one by one through a staging index cost far less so, for more space.

Ingest and the event API append in arrival order, so `compact` rewrites each table `ORDER BY customer_id,
<time>` and records how many rows it held and the size it was written with; rows appended since (the tail) are
read in full, as before, until the next compaction. A table is rewritten again when its tail exceeds
`TAIL_SHARE` of it or when the size it would get now differs from the one it was written with. Results never
depend on it: the rows are the same, only their physical order changes.

The rewrite is one transaction for all the tables of one row group size (a new table filled in order, the old
one dropped, the new one renamed, its record written; DDL is transactional in DuckDB; the size is an option of
the store's attachment, which cannot change within a transaction): a crash leaves every table as it was or
rewritten with its record, never half of either. It needs the store to
itself for its duration (a writer appending to a table being rewritten would conflict), so `segmentum
compact` runs it while nothing else writes (the CLI holds the store's file lock; the server holds its event
writer). Compacting `customers` too was measured and not adopted (BENCHMARKS.md "Row groups sized per
table": its staging scan is under 0.2 s, and 1,000 random ids touch 87 % of its 2,048-row groups).
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from segmentum.faults import crash_point
from segmentum.schema import EVENTS, ORDER_ITEMS, ORDERS, TableSpec
from segmentum.sql import ident, literal
from segmentum.store.connection import Store
from segmentum.store.customers import customer_count
from segmentum.store.tables import COMPACTIONS_TABLE, qualified

__all__ = [
    "CLUSTERED",
    "TAIL_SHARE",
    "Compaction",
    "CUSTOMERS_PER_ROW_GROUP",
    "TableLayout",
    "compact",
    "compacted_customers_per_row_group",
    "layout",
    "row_group_size_for",
]

# The tables a micro-batch reads by customer, in the order they are rewritten.
CLUSTERED: tuple[TableSpec, ...] = (ORDERS, ORDER_ITEMS, EVENTS)
# A table is rewritten again when the rows appended since its last rewrite exceed this share of it: the tail is
# read whole by every micro-batch, the rewrite costs a sort of the whole table.
TAIL_SHARE = 0.1
_SCRATCH = "_segmentum_compact_"  # the new table's name while it is filled, in schema main
DUCKDB_ROW_GROUP_SIZE = (
    122_880  # DuckDB's own default (older records say 0), and the largest size it takes here
)
VECTOR_SIZE = 2_048  # DuckDB's: a row group size must be a multiple of it (so at least it)
# About how many customers a compacted row group holds, in every table: what a 16,384-row group of events held
# at 1M (58 events a customer), where staging's scans were measured to prune well; orders (10 a customer) then
# get 2,048-row groups, order items (17) 4,096 (BENCHMARKS.md "Row groups sized per table")
CUSTOMERS_PER_ROW_GROUP = 280


def row_group_size_for(rows: int, customers: int, fixed: int | None = None) -> int:
    """The row group size a table of `rows` rows over `customers` customers is compacted with: `fixed` when set
    (`engine.row_group_size`), else about CUSTOMERS_PER_ROW_GROUP customers' rows, rounded to a multiple of
    DuckDB's vector size, between that size and DuckDB's default."""
    if fixed:
        return int(fixed)
    if rows <= 0 or customers <= 0:
        return DUCKDB_ROW_GROUP_SIZE
    vectors = round(CUSTOMERS_PER_ROW_GROUP * rows / customers / VECTOR_SIZE)
    return min(DUCKDB_ROW_GROUP_SIZE, max(VECTOR_SIZE, vectors * VECTOR_SIZE))


@dataclass(frozen=True)
class TableLayout:
    """A fact table's physical order: its rows, how many of them are in customer order (the first
    `sorted_rows`, as of the last rewrite), the row group size they were written with, and the one a compaction
    would write it with now (`target_row_group_size`, `row_group_size_for`)."""

    table: str
    rows: int
    sorted_rows: int
    row_group_size: int | None
    compacted_at: datetime | None
    target_row_group_size: int = DUCKDB_ROW_GROUP_SIZE
    row_groups: int | None = None  # the table's row groups now (None: not counted)

    @property
    def merged(self) -> bool:
        """Whether DuckDB merged the table's compacted row groups since its rewrite: a checkpoint while the store
        is attached with a larger row group size (DuckDB's, after every compaction) merges adjacent row groups
        that fit in fewer of that size (its vacuum, up to `max_vacuum_tasks` per checkpoint), and the customers
        a group holds grow back. Appends only add row groups, so fewer than the sorted rows need is a merge."""
        if self.compacted_at is None or self.row_groups is None or not self.sorted_rows:
            return False
        written = self.row_group_size or DUCKDB_ROW_GROUP_SIZE
        return self.row_groups < (1 - TAIL_SHARE) * -(-self.sorted_rows // written)

    @property
    def tail(self) -> int:
        """Rows appended since the last rewrite (read whole by a micro-batch)."""
        return max(0, self.rows - self.sorted_rows)

    def needs_compaction(self, share: float = TAIL_SHARE) -> bool:
        """Never rewritten, written with another size than it would get now, its row groups merged since, or its
        tail over `share`."""
        if self.rows == 0:
            return False
        # 0 recorded: written with DuckDB's default size
        written = self.row_group_size or DUCKDB_ROW_GROUP_SIZE
        if self.compacted_at is None or written != self.target_row_group_size or self.merged:
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
    """Each present fact table of `CLUSTERED`: its rows, how much of it is in customer order, and the row group
    size a compaction would write it with now."""
    cur = store.cursor()
    recorded = {
        r[0]: r[1:]
        for r in cur.execute(
            f"SELECT table_name, rows, row_group_size, compacted_at FROM {qualified(COMPACTIONS_TABLE)}"
        ).fetchall()
    }
    customers = _customers(store)
    out: list[TableLayout] = []
    for spec in CLUSTERED:
        if not store.table_exists(spec.name):
            continue
        found = cur.execute(f"SELECT count(*) FROM main.{ident(spec.name)}").fetchone()
        rows = int(found[0]) if found else 0
        sorted_rows, size, at = recorded.get(spec.name, (0, None, None))
        if customers is not None:
            target = row_group_size_for(rows, customers, store.row_group_size)
        else:  # no customers table yet: the table's own customers (a scan; only a store without one pays it)
            target = row_group_size_for(rows, _distinct_customers(store, spec.name), store.row_group_size)
        out.append(
            TableLayout(spec.name, rows, int(sorted_rows), size, at, target, _row_groups(store, spec.name))
        )
    return out


def _row_groups(store: Store, table: str) -> int:
    """The table's row groups now (DuckDB's storage info of one column)."""
    found = store.query(
        f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info({literal('main.' + table)}) "
        "WHERE column_name = 'customer_id'"
    )
    return int(found[0][0])


def _customers(store: Store) -> int | None:
    """The store's customers (`main.customers`, a count DuckDB keeps), None when it has none: a row group's
    customer_id range spans this many customers' share of the id space, with or without rows of the table."""
    return customer_count(store) or None


def _distinct_customers(store: Store, table: str) -> int:
    found = store.query(f"SELECT count(DISTINCT customer_id) FROM main.{ident(table)}")
    return int(found[0][0])


def compacted_customers_per_row_group(store: Store) -> float | None:
    """About how many customers a row group of the present fact tables holds, at most over the tables (each
    table's size at its last compaction over its rows per customer then, with today's customers), or None when
    one of them was never rewritten in customer order (its reads by customer prune little). Small reads: a
    micro-batch asks."""
    recorded = {
        r[0]: (int(r[1]), int(r[2]) or DUCKDB_ROW_GROUP_SIZE)
        for r in store.query(f"SELECT table_name, rows, row_group_size FROM {qualified(COMPACTIONS_TABLE)}")
    }
    present = [s.name for s in CLUSTERED if store.table_exists(s.name)]
    if not present or any(name not in recorded for name in present):
        return None
    customers = _customers(store)
    if customers is None:  # nothing to stage by customer: any row group holds few of them
        return 0.0
    # a table smaller than a row group puts every customer in its one group
    return max(
        min(customers, size * customers / max(1, rows)) for rows, size in (recorded[name] for name in present)
    )


def compact(store: Store, *, force: bool = False, share: float = TAIL_SHARE) -> list[Compaction]:
    """Rewrite the fact tables that need it (`TableLayout.needs_compaction`; every one with rows when `force`) in
    customer order, each in its row group size, one transaction per size; returns what was done to each present
    table."""
    # what is in the WAL checkpointed first, in DuckDB's row groups: the row groups it merges then are seen
    # (`TableLayout.merged`), and the re-attachments below (each a checkpoint of the attachment they leave)
    # find nothing more to merge
    with contextlib.suppress(duckdb.TransactionException):  # another write under way: DuckDB's own later
        store.cursor().execute("CHECKPOINT")
    tables = layout(store)
    todo = [t for t in tables if t.rows and (force or t.needs_compaction(share))]
    done: dict[str, Compaction] = {}
    # each table in its own small row groups (only the fact tables: see connection.py). The size is an option of
    # the store's attachment, and re-attaching ends a transaction: one transaction per size, each checkpointed
    # while attached with it (`writing_row_groups`). Largest size first: a checkpoint merges adjacent row groups
    # that fit in fewer of the attachment's size, so a smaller size's checkpoint leaves the larger groups written
    # before it as they are, where a larger one would merge the smaller groups
    by_size: dict[int, list[TableLayout]] = {}
    for table in todo:
        by_size.setdefault(table.target_row_group_size, []).append(table)
    for size in sorted(by_size, reverse=True):
        with store.writing_row_groups(size), store.transaction(store.cursor()) as cur:
            for i, table in enumerate(by_size[size]):
                done[table.table] = _rewrite_recorded(cur, store, table.table, size)
                if i == 0:
                    crash_point("mid_compaction")  # one table rewritten, the transaction not committed
    return [done.get(t.table) or Compaction(t.table, t.rows, 0.0, skipped=True) for t in layout(store)]


def _rewrite_recorded(cur: duckdb.DuckDBPyConnection, store: Store, table: str, size: int) -> Compaction:
    """`_rewrite` of one table and its record (rows, row group size) in the caller's transaction."""
    mark = time.perf_counter()
    rows = _rewrite(cur, next(s for s in CLUSTERED if s.name == table), store)
    seconds = round(time.perf_counter() - mark, 3)
    cur.execute(
        f"INSERT OR REPLACE INTO {qualified(COMPACTIONS_TABLE)} "
        "(table_name, rows, row_group_size, compacted_at, seconds) VALUES (?, ?, ?, ?, ?)",
        [table, rows, size, _now(), seconds],
    )
    return Compaction(table, rows, seconds, skipped=False)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # naive UTC, as the store's other bookkeeping times


# DuckDB stores a DECIMAL of more than 18 digits (money and quantities: DECIMAL(38, 6)) as a 128-bit integer and
# bit-packs it; a micro-batch that fetched its customers' rows of it one by one (through the staging indexes
# `compact` built until 2026-12-04) paid 4.5x for a row of a bit-packed 128-bit column against the same values in
# 64 bits. Stored uncompressed (the type kept) at 1M customers: a 2,000-customer micro-batch 16 % less CPU, a
# batch run as fast, the store 0.82 GB (30 %) larger (BENCHMARKS.md "Money and quantities stored uncompressed");
# not measured again since micro-batches scan instead
WIDE_DECIMAL = re.compile(r"DECIMAL\((19|[2-3][0-9]),\s*\d+\)", re.IGNORECASE)


def _column_definitions(columns: dict[str, str]) -> str:
    """A rewritten table's column list: each column's type, and its wide decimals stored uncompressed."""
    return ", ".join(
        f"{ident(c)} {t}" + (" USING COMPRESSION uncompressed" if WIDE_DECIMAL.fullmatch(t) else "")
        for c, t in columns.items()
    )


def _rewrite(cur: duckdb.DuckDBPyConnection, spec: TableSpec, store: Store) -> int:
    """`main.<table>` replaced by its rows in customer order (same columns, types and comments); returns the
    rows written. Runs inside the caller's transaction."""
    name = spec.name
    columns = store.columns(name)
    # within a customer, by time, then as they were stored: the same order on every rewrite
    keys = ["customer_id", *([spec.time_column] if spec.time_column in columns else []), "rowid"]
    scratch = _SCRATCH + name
    cur.execute(f"DROP TABLE IF EXISTS main.{ident(scratch)}")
    cur.execute(f"CREATE TABLE main.{ident(scratch)} ({_column_definitions(columns)})")
    cur.execute(
        f"INSERT INTO main.{ident(scratch)} SELECT * FROM main.{ident(name)} "
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
