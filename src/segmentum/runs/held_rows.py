"""The rows of the order tables that real time reads but never writes, held in memory by customer, so that a
micro-batch gathers its customers' rows instead of scanning the tables (issue 20).

At 1M customers a micro-batch of 2,000 random customers spent 0.25-0.32 s of its 0.6-0.9 s staging `orders` and
`order_items` (`runs.realtime._BoundEngine._stage`): 2,000 ids fall in about half of the tables' row groups,
each decompressed and filtered for one or two customers. Those two tables change only through an ingest, an
erasure or a compaction, never through events. So a server holds the columns its micro-batches stage, grouped
by customer, and a micro-batch takes its customers' rows with one gather (0.04 s at 1M; BENCHMARKS.md "Order
rows held in memory").

- What is held is exactly what the scan would stage: every row of the table whose `customer_id` is not NULL,
  the same columns, the same values (the staged table is created with the store table's own column types).
- Loaded on a thread of its own (`request`): until loaded, micro-batches scan. Nothing is held while the
  estimate of the rows' memory exceeds the budget (`serve.held_rows`; 1.3 GB at 1M customers / 27M rows).
- Forgotten whenever those tables may have changed: the server holds none while an ingest, an erasure or a
  compaction runs and forgets them after it (`suspended`, in `service.runtime.Runtime._command`), and a
  micro-batch compares each table's catalog entry and row count with those read with the rows
  (`signature_sql`): a table replaced, appended to or deleted from is scanned and loaded again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentum.sql import ident, literal, one
from segmentum.store.connection import Store

log = logging.getLogger(__name__)

# the tables real time stages but never writes (events it appends to; customers it creates)
HELD_TABLES = ("orders", "order_items")
# a string column is held dictionary-encoded when its first rows repeat each value this many times on average
# (statuses, channels, categories, products): 4 bytes a row instead of the string's
DICTIONARY_SAMPLE = 100_000
DICTIONARY_REPEATS = 16


@dataclass(frozen=True)
class _Held:
    """One table's rows grouped by customer: `ids` the customers (UTF-8, sorted), `starts` where each one's rows
    begin in `rows` (one more entry: the end), `rows` the columns but `customer_id`, `columns` the staged
    columns in their order (`customer_id` among them), `signature` the table as it was read."""

    columns: tuple[str, ...]
    ids: np.ndarray
    starts: np.ndarray
    rows: pa.Table
    signature: tuple[Any, ...]


def signature_sql(tables: tuple[str, ...]) -> str:
    """The catalog entry and row count of each of `tables` (of schema main), a row each: what changes when a
    table is replaced, appended to or deleted from."""
    parts = [
        f"SELECT {literal(t)} AS t, (SELECT table_oid FROM duckdb_tables() WHERE database_name = "
        f"current_database() AND schema_name = 'main' AND table_name = {literal(t)}), "
        f"(SELECT count(*) FROM main.{ident(t)})"
        for t in tables
    ]
    return " UNION ALL ".join(parts)


class HeldRows:
    """The rows of `HELD_TABLES` a server holds for its micro-batches (module docstring).

    `rows(cur, table, columns, keys)` answers a micro-batch's customers' rows as an Arrow table, or None (not
    held: scan); `request(columns)` starts a load of what micro-batches stage when it is not held; `forget()`
    drops what is held and makes a load in progress drop its result; `abandon()` (the server stops)
    interrupts a load for good."""

    def __init__(self, store: Store, budget: int) -> None:
        self.store = store
        self.budget = int(budget)  # bytes: nothing is held beyond it
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()
        self._generation = 0  # forget() moves it on: a load that began before installs nothing
        self._loading: threading.Thread | None = None
        self._refused: dict[str, tuple[str, ...]] = {}  # what did not fit, until the next forget()
        self._cursor: Any = None  # the cursor a load reads with (abandon interrupts it)
        self._abandoned = False
        self._suspended = 0  # while an operation writes the tables (`suspended`): neither served nor loaded
        self.loads = 0  # completed loads (tests, status)

    # ------------------------------------------------------------------ reading
    def rows(self, cur: Any, table: str, columns: tuple[str, ...], keys: list[str]) -> pa.Table | None:
        """The rows of `table` whose customer is one of `keys`, with `columns` in that order, or None when they
        are not held as they are now in the store (read through `cur`, the micro-batch's transaction)."""
        held = self._held.get(table)
        if held is None or held.columns != columns or self._suspended:
            return None
        (signature,) = [r[1:] for r in cur.execute(signature_sql((table,))).fetchall()]
        if tuple(signature) != held.signature:
            log.info("the held rows of %s are out of date: scanned until they are loaded again", table)
            self.forget()
            return None
        return _gather(held, keys)

    def held(self) -> dict[str, int]:
        """The tables held and their rows."""
        return {t: int(h.starts[-1]) for t, h in self._held.items()}

    def status(self) -> dict[str, Any]:
        """What `GET /v1/status` shows: the tables held and their rows, their memory, whether a load runs, the
        tables not held because they did not fit (or could not be read)."""
        loading = self._loading
        return {
            "tables": self.held(),
            "mb": round(self.nbytes() / 1e6),
            "budget_mb": round(self.budget / 1e6),
            "loading": loading is not None and loading.is_alive(),
            "not_held": sorted(self._refused),
        }

    def nbytes(self) -> int:
        return sum(h.rows.nbytes + h.ids.nbytes + h.starts.nbytes for h in self._held.values())

    # ------------------------------------------------------------------ loading
    def request(self, columns: dict[str, tuple[str, ...]]) -> None:
        """Load the held tables' `columns` (what micro-batches stage of each) on a thread, unless they are held,
        being loaded, or did not fit the budget."""
        wanted = {t: c for t, c in columns.items() if t in HELD_TABLES}
        with self._lock:
            if self._abandoned or self._suspended or (self._loading is not None and self._loading.is_alive()):
                return
            missing = {
                t: c
                for t, c in wanted.items()
                if (t not in self._held or self._held[t].columns != c) and self._refused.get(t) != c
            }
            if not missing:
                return
            generation = self._generation
            self._loading = threading.Thread(
                target=self._load_quietly, args=(missing, generation), name="segmentum-held-rows", daemon=True
            )
            self._loading.start()

    def wait(self, timeout: float | None = None) -> dict[str, int]:
        """Wait for a load in progress (benchmarks, tests); returns the rows held."""
        thread = self._loading
        if thread is not None:
            thread.join(timeout)
        return self.held()

    def _load_quietly(self, columns: dict[str, tuple[str, ...]], generation: int) -> None:
        try:
            self._load(columns, generation)
        except Exception:  # noqa: BLE001 - micro-batches scan the tables instead
            if not self._abandoned:
                log.warning("the order rows were not loaded into memory", exc_info=True)

    def _load(self, columns: dict[str, tuple[str, ...]], generation: int) -> None:
        with self._lock:
            if self._abandoned:
                return
            self._cursor = cur = self.store.cursor()
        try:
            budget = self.budget - self.nbytes()
            for table in sorted(c for c in columns if c in HELD_TABLES):
                wanted = columns[table]
                held = self._read_within(cur, table, wanted, budget)
                with self._lock:
                    if generation != self._generation or self._abandoned:
                        return
                    if held is None:  # not read again until the rows are forgotten (the table changed)
                        self._refused[table] = wanted
                        continue
                    self._held[table] = held
                    self.loads += 1
                budget -= held.rows.nbytes
        finally:
            with self._lock:
                self._cursor = None
            cur.close()

    def _read_within(self, cur: Any, table: str, columns: tuple[str, ...], budget: int) -> _Held | None:
        """`_read` of `table` in a transaction of its own (its signature and its rows of one state of the store),
        or None when its estimate exceeds `budget` or the read failed (both logged)."""
        cur.execute("BEGIN TRANSACTION")
        try:
            estimate = _estimate(cur, table, columns)
            if estimate > budget:
                log.info(
                    "the rows of %s are not held in memory: about %d MB, over the %d MB left of serve.held_rows; "
                    "micro-batches scan the table",
                    table,
                    estimate >> 20,
                    max(budget, 0) >> 20,
                )
                return None
            return _read(cur, table, columns)
        except Exception:
            if self._abandoned:
                raise
            log.warning(
                "the rows of %s were not loaded into memory; micro-batches scan it", table, exc_info=True
            )
            return None
        finally:
            with contextlib.suppress(duckdb.Error):  # an interrupted read may have ended the transaction
                cur.execute("ROLLBACK")

    def forget(self) -> None:
        """Drop what is held (the tables may have changed): the next `request` loads them again."""
        with self._lock:
            self._generation += 1
            self._held = {}
            self._refused = {}

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """While an operation that may write the held tables runs (an ingest, an erasure, a compaction): nothing
        is held, served or loaded, and a load in progress drops what it read. Afterwards the rows are forgotten
        again, so that the next load reads what the operation committed (a load that began before it, or a
        micro-batch between its commit and a later `forget`, would have used the rows as they were)."""
        with self._lock:
            self._suspended += 1
            self._generation += 1
            self._held = {}
        try:
            yield
        finally:
            with self._lock:
                self._suspended -= 1
                self._generation += 1
                self._held = {}
                self._refused = {}

    def abandon(self) -> None:
        """The server stops: interrupt a load and never load again."""
        with self._lock:
            self._abandoned = True
            self._held = {}
            cursor = self._cursor
        if cursor is not None:
            try:
                cursor.interrupt()
            except Exception:  # noqa: BLE001 - the load ends with its own error, ignored
                log.debug("interrupting the held rows' load", exc_info=True)
        thread = self._loading
        if thread is not None:
            thread.join(10)


def _estimate(cur: Any, table: str, columns: tuple[str, ...]) -> int:
    """The bytes `_read` would hold for `columns` of `table`: 8 a value (16 a DECIMAL) and each string's mean
    length on a sample plus its 4-byte offset, for every row (an over-estimate for what is dictionary-encoded)."""
    types = dict(
        cur.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = ?",
            [table],
        ).fetchall()
    )
    (rows,) = cur.execute(f"SELECT count(*) FROM main.{ident(table)}").fetchone()
    strings = [c for c in columns if c != "customer_id" and types.get(c) == "VARCHAR"]
    width = sum(16 if str(types.get(c, "")).startswith("DECIMAL") else 8 for c in columns if c not in strings)
    if strings:
        means = cur.execute(
            f"SELECT {', '.join(f'coalesce(avg(strlen({ident(c)})), 0)' for c in strings)} "
            f"FROM main.{ident(table)} USING SAMPLE 10000 ROWS"
        ).fetchone()
        width += sum(int(m) + 4 for m in means)
    return int(rows) * width


def _read(cur: Any, table: str, columns: tuple[str, ...]) -> _Held:
    """`columns` of every row of `table` with a customer, grouped by customer in the ids' byte order."""
    (signature,) = [r[1:] for r in cur.execute(signature_sql((table,))).fetchall()]
    others = [c for c in columns if c != "customer_id"]
    source = f"FROM main.{ident(table)} WHERE customer_id IS NOT NULL"
    # a column at a time, so that the table is never in memory twice (at 1M customers the whole of order_items'
    # staged columns is 1.1 GB), where DuckDB keeps the rows' order (its default): each scan then lists the
    # rows in the same order, within the one transaction; else all at once
    apart = bool(one(cur.execute("SELECT current_setting('preserve_insertion_order')"))[0])
    first = ["customer_id"] if apart else ["customer_id", *others]
    data = cur.execute(f"SELECT {', '.join(ident(c) for c in first)} {source}").to_arrow_table()
    encoded = pc.dictionary_encode(data.column("customer_id")).combine_chunks()
    data = data.drop_columns(["customer_id"])
    # the customers as fixed-width UTF-8 bytes, which numpy sorts and searches; numpy drops a fixed-width
    # string's trailing NUL bytes, so a table with an id that ends in one is not held (`_read_within`: scanned)
    if pc.any(pc.ends_with(encoded.dictionary, pattern="\0")).as_py():
        raise ValueError(f"a customer_id of {table} ends in a NUL character")
    ids = _fixed_width(encoded.dictionary)
    order = np.argsort(ids, kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids), dtype=np.int64)
    row_rank = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    rows_order = pa.array(np.argsort(row_rank, kind="stable"))
    starts = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_rank, minlength=len(ids)), out=starts[1:])
    del encoded, row_rank
    held_columns = []
    for name in others:
        read = cur.execute(f"SELECT {ident(name)} {source}").to_arrow_table() if apart else data
        if read.num_rows != len(rows_order):  # the table changed under the transaction: never
            raise ValueError(f"{table}.{name}: {read.num_rows} rows read, {len(rows_order)} customers' rows")
        column = read.column(name).take(rows_order).combine_chunks()
        del read
        if pa.types.is_string(column.type) and _repeats(column):
            column = pc.dictionary_encode(column)
        held_columns.append(column)
        if not apart:
            data = data.drop_columns([name])
    rows = pa.table(held_columns, names=others) if others else pa.table({})
    return _Held(columns, ids[order], starts, rows, tuple(signature))


def _fixed_width(strings: pa.Array) -> np.ndarray:
    """`strings` (no NULL) as numpy fixed-width bytes of their UTF-8, padded with NULs: built from Arrow's
    buffers a byte position at a time, not a Python object per string (1M ids: milliseconds)."""
    binary = strings.cast(pa.binary())
    if len(binary) == 0:
        return np.array([], dtype="S1")
    _, offset_buffer, data_buffer = binary.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int32)[binary.offset : binary.offset + len(binary) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(1, np.uint8)
    lengths = np.diff(offsets)
    width = max(int(lengths.max()), 1)
    out = np.zeros((len(binary), width), dtype=np.uint8)
    for j in range(width):
        has = lengths > j
        out[has, j] = data[offsets[:-1][has] + j]
    return out.view(f"S{width}").ravel()


def _repeats(column: pa.Array) -> bool:
    sample = column.slice(0, DICTIONARY_SAMPLE)
    return len(sample) > 0 and len(pc.unique(sample)) * DICTIONARY_REPEATS <= len(sample)


def _gather(held: _Held, keys: list[str]) -> pa.Table:
    """The rows of `held` whose customer is one of `keys`, `customer_id` put back at its place. The keys go
    through Arrow, not a Python object each: a micro-batch's 2,000 tuples here set off Python's collections,
    which at 1M customers traverse the server's whole heap (`service.runtime.settle_heap`)."""
    width = held.ids.dtype.itemsize
    asked = pa.array(keys, pa.string())
    # an id longer than any held one, or one ending in NUL (never held: `_read`), is no customer here
    candidates = asked.filter(
        pc.and_(
            pc.less_equal(pc.binary_length(asked), width),
            pc.invert(pc.ends_with(asked, pattern="\0")),
        )
    )
    wanted = _fixed_width(candidates).astype(held.ids.dtype)
    at = np.searchsorted(held.ids, wanted)
    inside = at < len(held.ids)
    found = np.zeros(len(wanted), dtype=bool)
    found[inside] = held.ids[at[inside]] == wanted[inside]
    at = at[found]
    first = held.starts[at]
    counts = held.starts[at + 1] - first
    # each customer's row range, as one index array: the range's start repeated, plus the position within it
    within = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = held.rows
    # with no other column staged (`rows` has none to take from) the customers are the whole result
    part = rows.take(pa.array(np.repeat(first, counts) + within)) if rows.num_columns else rows
    customers = candidates.filter(pa.array(found)).take(pa.array(np.repeat(np.arange(len(at)), counts)))
    arrays = {name: part.column(name) for name in part.column_names}
    arrays["customer_id"] = customers
    return pa.table([arrays[c] for c in held.columns], names=list(held.columns))
