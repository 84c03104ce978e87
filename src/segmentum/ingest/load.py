"""Ingest that loses nothing: every row read is stored or quarantined with its line, column and reason.

A source is staged into DuckDB (see readers.py); mapping, typing and validation then run as one vectorised
SQL statement over the staged rows; rows that fail go to `segmentum.quarantine` in bulk. The write, the
quarantine, the ingest log and the derived tables (`orders` from `order_items`, `customers` from every table)
are one transaction: a crash leaves the store as it was.

A source of more rows than a chunk (`CHUNK_ROWS`, `engine.ingest_chunk_rows`) is checked and stored chunk by
chunk, so that DuckDB's temporary files and memory are bounded by a chunk, not by the file. What is decided once
per file (the number format, the types of extra columns, each date column's format and its parsed distinct
values) is decided first over all the source's rows (`Staged.relation`); what crosses chunks is carried in
narrow temp tables: the keys (and first lines) seen, for duplicate keys; the rows per order, for the generated
`order_items.line`; the occurrences per content, for generated event ids. The chunks' writes are one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb

from segmentum.clock import now as clock_now
from segmentum.errors import IngestError, did_you_mean
from segmentum.faults import crash_point
from segmentum.ingest import detect
from segmentum.ingest.aliases import resolve_columns
from segmentum.ingest.readers import REJ, STG, Staged, chunks, lit, q, stage
from segmentum.progress import Progress, notify
from segmentum.schema import (
    BIGINT,
    BOOLEAN,
    CUSTOMER_CHANGES,
    CUSTOMERS,
    DOUBLE,
    FACT_TABLES,
    FLOAT_TYPES,
    INTEGER_TYPES,
    MONEY,
    TABLES,
    TEXT,
    TEXT_LIST,
    TIMESTAMP,
    TableSpec,
)
from segmentum.sql import one
from segmentum.store import META, Store
from segmentum.store.customers import add_derived_customers

MODES = ("append", "upsert", "replace")
TYPED = "__typed"
# Rows checked and stored at a time. A chunk of 5M rows of ten columns stays well inside the few GB DuckDB is
# given (engine.memory_limit); a file of that many rows or fewer is one chunk, read and typed as before.
CHUNK_ROWS = 5_000_000
RELAY_ROWS = 500_000  # rows per Arrow batch from the work cursor to the writer (chunked sources)
SPACES = "".join(detect.SPACE_CHARS)
TRIMMED = f" \t\r\n{SPACES}"  # what is trimmed from both ends of a text value
_EDGE_CLASS = "".join(f"\\x{{{ord(ch):04x}}}" for ch in TRIMMED)
_EDGE_SPACE = f"^[{_EDGE_CLASS}]|[{_EDGE_CLASS}]$"
_INT_TYPES = INTEGER_TYPES  # schema.py: the one list of DuckDB number types
_FLOAT_TYPES = FLOAT_TYPES
_TS_TYPES = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "DATETIME"}
# the order in which tables lend their attributes to customers created from them
CUSTOMER_SOURCES = ("orders", "order_items", "subscriptions", "tickets", "events", "responses")


@dataclass
class IngestReport:
    """What an ingest did. `rows_read == rows_stored + rows_quarantined` always."""

    table: str
    source: str
    mode: str = "append"
    rows_read: int = 0
    rows_stored: int = 0
    rows_quarantined: int = 0
    warnings: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    ingest_id: int | None = None

    def summary(self) -> str:
        """The line the CLI prints: `N rows read, M stored, K quarantined`."""
        return f"{self.rows_read:,} rows read, {self.rows_stored:,} stored, {self.rows_quarantined:,} quarantined"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "table": self.table,
            "source": self.source,
            "mode": self.mode,
            "rows_read": self.rows_read,
            "rows_stored": self.rows_stored,
            "rows_quarantined": self.rows_quarantined,
            "warnings": list(self.warnings),
            "derived": list(self.derived),
            "notes": list(self.notes),
            "columns": dict(self.columns),
        }


class StrictIngestError(IngestError):
    """`strict=True` and some rows were quarantined. The good rows are stored; `report` says what happened."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class _Column:
    """One stored column: where it comes from and how it is typed."""

    name: str
    type: str
    source: str | None  # source column name; None when generated
    key: bool = False
    required: bool = False
    value_sql: str = ""
    error_sql: str = ""
    fix_sql: str | None = None  # numbers needing half-even rounding in Python
    pre: dict[str, str] = field(default_factory=dict)  # helper expressions computed once per row
    join: tuple[str, str, str] | None = None  # (lookup table, alias, staged expression it is keyed by)


@dataclass
class _Options:
    mode: str
    mapping: dict[str, str] | None
    encoding: str | None
    delimiter: str | None
    decimal: str | None
    thousands: str | None
    date_format: str | None
    timezone: str
    na_values: list[str] = field(default_factory=list)


def ingest(
    target: Any,
    table: str,
    source: str | Path,
    *,
    mode: str = "append",
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    thousands: str | None = None,
    date_format: str | None = None,
    na_values: Sequence[str] | str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
    chunk_rows: int | None = None,
) -> IngestReport:
    """Load `source` into the canonical `table` of a workspace (or a bare Store, whose time zone is UTC).

    Parameters
    ----------
    target:
        A `Workspace` or a `Store`.
    table:
        A canonical table: customers, orders, order_items, events, responses, tickets, subscriptions.
    source:
        A file (CSV/TSV with any delimiter, Excel .xlsx, Parquet, JSON lines) or a database URL:
        `duckdb:///path/file.duckdb?table=NAME`, `sqlite:///path/file.db?table=NAME`,
        `postgresql://user:password@host/db?table=schema.NAME`.
    mode:
        `append` (a row whose key is already stored, or seen earlier in the source, is quarantined),
        `upsert` (by key, the last row wins) or `replace` (the table is replaced).
    mapping:
        Source column -> canonical column, beating the built-in aliases.
    encoding, delimiter, decimal, thousands, date_format:
        Override what is detected (see docs/ingest.md).
    na_values:
        Texts that mean a missing value (e.g. ``["NA", "N/A", "null", "-"]``, or one comma-separated string),
        compared after trimming spaces; ``NaN`` also makes NaN numbers of typed sources missing.
    strict:
        Raise `StrictIngestError` (after storing the good rows) when any row was quarantined.
    progress:
        Called as `progress(done, total, label)` while reading (bytes, or rows of a workbook) and when
        the rows are checked and stored (`segmentum.progress`); nothing is printed here.
    chunk_rows:
        Rows checked and stored at a time (default: the workspace's `engine.ingest_chunk_rows`, else
        `CHUNK_ROWS`); a larger source is read in chunks with temporary disk and memory bounded by a chunk.
    """
    store, tz = _store_and_timezone(target)
    chunk_rows = _chunk_rows(target, chunk_rows, table, mode)
    if table not in TABLES:
        raise IngestError(
            f"unknown table {table!r}{did_you_mean(table, TABLES)}; the canonical tables are: {', '.join(TABLES)}"
        )
    if mode not in MODES:
        raise IngestError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
    opts = _Options(
        mode=mode,
        mapping=mapping,
        encoding=encoding,
        delimiter=delimiter,
        decimal=detect.parse_decimal_option(decimal),
        thousands=detect.parse_thousands_option(thousands),
        date_format=date_format,
        timezone=tz,
        na_values=parse_na_values(na_values),
    )
    cur = store.cursor()
    started = _now()
    try:
        staged = stage(
            cur,
            source,
            encoding=encoding,
            delimiter=delimiter,
            progress=progress,
            na_values=opts.na_values,
            chunk_rows=chunk_rows,
        )
        total = staged.rows
        storing = f"checking and storing {total:,} rows"
        notify(progress, 0, total, storing)
        report = _ingest_staged(
            store,
            cur,
            table,
            staged,
            opts,
            started,
            source_options=_options_json(opts),
            chunk_rows=chunk_rows,
            on_chunk=lambda done: notify(progress, done, total, storing) if done < total else None,
        )
        notify(progress, total, total, storing)
    finally:
        _drop_temps(cur)
        cur.close()
    if strict and report.rows_quarantined:
        raise StrictIngestError(
            f"{report.summary()}; --strict is set and {report.rows_quarantined:,} rows of {report.source} were "
            "quarantined (the other rows are stored); see them with `segmentum quarantine`",
            report,
        )
    return report


def ingest_frame(
    target: Any,
    table: str,
    data: Any,
    *,
    source_name: str = "<dataframe>",
    mode: str = "append",
    mapping: dict[str, str] | None = None,
) -> IngestReport:
    """Load an in-memory pandas DataFrame or Arrow table; its typed columns keep their types.
    Line numbers are 1-based row positions."""
    import pyarrow as pa

    store, tz = _store_and_timezone(target)
    if table not in TABLES:
        raise IngestError(
            f"unknown table {table!r}{did_you_mean(table, TABLES)}; the canonical tables are: "
            f"{', '.join(TABLES)}"
        )
    if mode not in MODES:
        raise IngestError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
    if isinstance(data, pa.Table):
        arrow = data
    elif isinstance(data, pa.RecordBatch):
        arrow = pa.Table.from_batches([data])
    else:
        arrow = pa.Table.from_pandas(data, preserve_index=False)
    from segmentum.ingest.readers import unique_names

    columns = unique_names(arrow.column_names)
    arrow = arrow.rename_columns([f"c{i}" for i in range(len(columns))])
    cur = store.cursor()
    opts = _Options(mode, mapping, None, None, None, None, None, tz)
    started = _now()
    try:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {REJ} (line BIGINT, column_name VARCHAR, reason VARCHAR, raw VARCHAR)"
        )
        cur.register("__frame", arrow)
        try:
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE {STG} AS SELECT row_number() OVER () AS __line, * FROM __frame"
            )
        finally:
            cur.unregister("__frame")
        desc = cur.execute(f"DESCRIBE {STG}").fetchall()
        types = {columns[i]: r[1] for i, r in enumerate(desc[1:])}
        staged = Staged(source_name, "frame", columns, types)
        staged.rows = arrow.num_rows
        return _ingest_staged(store, cur, table, staged, opts, started, source_options={"frame": True})
    finally:
        _drop_temps(cur)
        cur.close()


def parse_na_values(values: Sequence[str] | str | None) -> list[str]:
    """`--na-values`: repeatable, each may list several texts separated by commas (`NA,N/A,null,-`)."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    result: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise IngestError(f"--na-values takes texts, got {item!r}")
        result += [v.strip() for v in item.split(",") if v.strip()]
    return result


def _chunk_rows(target: Any, chunk_rows: int | None, table: str, mode: str) -> int | None:
    """Rows per chunk: the argument, else the workspace's setting, else CHUNK_ROWS; None (one chunk) for an
    upsert of customers, whose recorded changes compare each customer's last row of the whole source with
    what is stored (a customer's rows in two chunks would record a change per chunk)."""
    if table == "customers" and mode == "upsert":
        return None
    if chunk_rows is None:
        engine = getattr(getattr(target, "config", None), "engine", None)
        chunk_rows = getattr(engine, "ingest_chunk_rows", None) or CHUNK_ROWS
    if chunk_rows < 1:
        raise IngestError(f"chunk_rows must be at least 1, got {chunk_rows}")
    return chunk_rows


def _drop_temps(cur: duckdb.DuckDBPyConnection) -> None:
    """Drop the ingest's temporary tables and views (staging, typing, lookups, what chunks carry)."""
    for kind, name in cur.execute(
        "SELECT 'TABLE', table_name FROM duckdb_tables() WHERE temporary AND starts_with(table_name, '__') "
        "UNION ALL SELECT 'VIEW', view_name FROM duckdb_views() WHERE temporary AND starts_with(view_name, '__')"
    ).fetchall():
        cur.execute(f"DROP {kind} IF EXISTS temp.{q(name)}")


class _Link:
    """The rows a statement of the writer reads from the work cursor's temp tables.

    A source of one chunk has one cursor: the rows are read in the writer's statement itself. A source in
    chunks writes in one transaction across all of them, and DuckDB frees a temp table dropped in a transaction
    only when the transaction ends; so the chunks' temp tables live on the work cursor, outside the
    transaction, and their rows stream to the writer as Arrow batches (memory: a batch)."""

    def __init__(self, work: duckdb.DuckDBPyConnection, writer: duckdb.DuckDBPyConnection) -> None:
        self.work = work
        self.writer = writer
        self.names: list[str] = []

    def rows(self, select: str) -> str:
        """A relation of the writer holding the rows of `select` (run on the work cursor); one use each."""
        if self.work is self.writer:
            return f"({select})"
        self.release()  # the previous relation was read: the work cursor runs one statement at a time
        name = f"__relay{id(self)}"
        self.writer.register(name, self.work.execute(select).to_arrow_reader(RELAY_ROWS))
        self.names.append(name)
        return name

    def release(self) -> None:
        for name in self.names:
            self.writer.unregister(name)
        self.names.clear()


def _store_and_timezone(target: Any) -> tuple[Store, str]:
    if isinstance(target, Store):
        return target, "UTC"
    store = getattr(target, "store", None)
    if not isinstance(store, Store):
        raise IngestError(f"ingest needs a Workspace or a Store, got {type(target).__name__}")
    return store, target.config.timezone


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _options_json(opts: _Options) -> dict[str, Any]:
    return {k: v for k, v in vars(opts).items() if v not in (None, []) and k != "timezone"}


# ---------------------------------------------------------------------------------------------- the pipeline


def _ingest_staged(
    store: Store,
    cur: duckdb.DuckDBPyConnection,
    table: str,
    staged: Staged,
    opts: _Options,
    started: dt.datetime,
    *,
    source_options: dict[str, Any],
    chunk_rows: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> IngestReport:
    spec = TABLES[table]
    report = IngestReport(table=table, source=staged.source_name, mode=opts.mode, notes=staged.notes)
    mapping = resolve_columns(table, staged.columns, opts.mapping)
    report.columns = dict(mapping)
    targets = {t: s for s, t in mapping.items()}
    generated = {"event_id"} if table == "events" else set()
    if table == "order_items":
        generated.add("line")
    missing = [c for c in spec.required if c not in targets and c not in generated]
    if missing:
        hint = ", ".join(f"--map '<column>={m}'" for m in missing)
        raise IngestError(
            f"{staged.source_name}: table {table} needs the column(s) {', '.join(missing)} but the source has "
            f"none that maps to them (columns found: {', '.join(repr(c) for c in staged.columns) or 'none'}); "
            f"name them with {hint}"
        )
    existing = {} if opts.mode == "replace" else _table_columns(cur, table)
    derived_before = _is_derived(cur, table)
    if derived_before:
        existing = {}  # an explicit load of a derived table replaces what was derived
    # decided once per file, over all its rows (staged.relation)
    number_format = _number_format(cur, staged, spec, targets, existing, opts)
    columns = _plan_columns(cur, table, staged, targets, existing, opts, number_format)
    ingest_id = one(cur.execute(f"SELECT nextval('{META}.ingest_seq')"))[0]
    report.ingest_id = ingest_id
    key = [c.name for c in columns if c.key]
    auto_ids = table == "customers" and opts.mode == "append" and bool(existing)
    carry = staged.chunked
    generated_line = any(c.name == "line" and c.source is None for c in columns) and table == "order_items"
    writer = store.cursor() if carry else cur
    link = _Link(cur, writer)
    rounded: dict[int, list[Any]] = {}
    read = stored = 0
    written = False  # replace swaps the table only when the source gave rows to store
    try:
        with ExitStack() as transaction:
            for number in chunks(cur, staged, chunk_rows or 1, opts.na_values):
                _build_typed(cur, table, staged, columns, opts, rounded)
                if carry and generated_line:
                    _carry_lines(cur, number)
                if table == "events":
                    _derive_event_ids(cur, [c.name for c in columns], carry=carry, first=number == 0)
                # an order line's key is unique within the file when the line is generated
                seen = carry and not generated_line
                _mark_duplicates(cur, table, key, opts.mode, existing, auto_ids, seen=seen, first=number == 0)
                counts = one(
                    cur.execute(f"SELECT count(*), count(*) FILTER (WHERE __reason IS NULL) FROM {TYPED}")
                )
                read, stored = read + counts[0], stored + counts[1]
                if number == 0:
                    # one chunk: typed before the transaction, as it is short; chunks: see _Link
                    transaction.enter_context(store.transaction(writer))
                if counts[1] or (written or opts.mode != "replace"):
                    if not written and derived_before:
                        writer.execute(f"DROP TABLE IF EXISTS main.{q(table)}")
                        writer.execute(f"DELETE FROM {META}.derived WHERE table_name = ?", [table])
                        report.warnings.append(
                            f"{table} derived earlier from another table were replaced by this load"
                        )
                    if table == "customers" and opts.mode == "upsert" and existing:
                        _record_changes(
                            writer, columns, existing, clock_now(opts.timezone).replace(tzinfo=None)
                        )
                    _write_table(
                        writer, link, table, columns, key, opts.mode, existing, auto_ids, first=not written
                    )
                    written = True
                _write_quarantine(writer, link, ingest_id, table, staged)
                link.release()
                if on_chunk is not None:
                    on_chunk((number + 1) * (chunk_rows or 1))  # the source's rows the chunks covered
                if number:
                    crash_point("ingest_chunk")  # a later chunk is written; nothing is committed
            rejected = one(cur.execute(f"SELECT count(*) FROM {REJ}"))[0]
            report.rows_read = read + rejected
            report.rows_stored = stored
            report.rows_quarantined = read - stored + rejected
            _rounding_warnings(columns, rounded, report)
            if written:
                _derive_tables(writer, table, opts.mode, existing, report)
            else:
                report.warnings.append(f"nothing could be stored: {table} is left as it was")
                _derive_customers(writer, ())  # only makes sure `customers` exists
            writer.execute(
                f"INSERT INTO {META}.quarantine SELECT ?, ?, ?, line, column_name, reason, raw, ? "
                f"FROM {link.rows(f'SELECT * FROM {REJ} ORDER BY line')}",
                [ingest_id, table, staged.source_name, _now()],
            )
            link.release()
            writer.execute(
                f"INSERT INTO {META}.ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    ingest_id,
                    table,
                    staged.source_name,
                    opts.mode,
                    report.rows_read,
                    report.rows_stored,
                    report.rows_quarantined,
                    json.dumps(source_options, ensure_ascii=False),
                    started,
                    _now(),
                ],
            )
    finally:
        link.release()
        if writer is not cur:
            writer.close()
    return report


def _carry_lines(cur: duckdb.DuckDBPyConnection, number: int) -> None:
    """The generated `order_items.line` (a row's place in its order) continued across chunks: each chunk's
    numbers start after the rows of the same order in earlier chunks (`__lines`: rows per order so far)."""
    if number == 0:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE __lines AS SELECT order_id, count(*) AS n FROM {TYPED} GROUP BY 1"
        )
        return
    cur.execute(
        f"UPDATE {TYPED} SET line = {TYPED}.line + p.n FROM (SELECT order_id, sum(n) AS n FROM __lines "
        f"WHERE order_id IN (SELECT order_id FROM {TYPED}) GROUP BY 1) p "
        f"WHERE {TYPED}.order_id IS NOT DISTINCT FROM p.order_id"
    )
    cur.execute(f"INSERT INTO __lines SELECT order_id, count(*) FROM {TYPED} GROUP BY 1")


def _record_changes(
    cur: duckdb.DuckDBPyConnection, columns: list[_Column], existing: dict[str, str], ingested_at: dt.datetime
) -> None:
    """`ingest customers --mode upsert`: a row of `customer_changes` for every attribute whose value it changes
    (DESIGN section 5.1), at the row's `updated_at` when the source maps one, else at the time of the ingest.

    When an attribute of a customer gets its first recorded change, the value it replaces is recorded too, at
    the customer's `created_at` when that is known and earlier: otherwise a backfill before the change would see
    no value at all (an attribute with changes but none yet is null), and "moved from EU to US" would read
    "from nowhere"."""
    names = [c.name for c in columns]
    attributes = [n for n in names if n in existing and n not in ("customer_id", "updated_at", "created_at")]
    if not attributes:
        return
    cur.execute(CUSTOMER_CHANGES.ddl())
    at = "n.updated_at" if "updated_at" in names else "CAST(? AS TIMESTAMP)"
    params = [] if "updated_at" in names else [ingested_at]
    created = "o.created_at" if "created_at" in existing else "CAST(NULL AS TIMESTAMP)"
    latest = (
        f"(SELECT * FROM {TYPED} WHERE __reason IS NULL "
        "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY __line DESC) = 1)"
    )
    for name in attributes:
        column = q(name)
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE __changes AS SELECT n.customer_id, CAST(n.{column} AS VARCHAR) AS value, "
            f"CAST(o.{column} AS VARCHAR) AS old_value, {at} AS changed_at, {created} AS created_at "
            f"FROM {latest} n JOIN main.customers o ON o.customer_id = n.customer_id "
            f"WHERE n.{column} IS DISTINCT FROM o.{column} AND {at} IS NOT NULL",
            params + params,
        )
        first = (
            "NOT EXISTS (SELECT 1 FROM main.customer_changes h WHERE h.customer_id = x.customer_id "
            f"AND h.attribute = {lit(name)})"
        )
        cur.execute(
            f"INSERT INTO main.customer_changes SELECT customer_id, {lit(name)}, old_value, created_at FROM "
            f"__changes x WHERE old_value IS NOT NULL AND created_at < changed_at AND {first}"
        )
        cur.execute(
            "DELETE FROM main.customer_changes h USING __changes x WHERE h.customer_id = x.customer_id "
            f"AND h.attribute = {lit(name)} AND h.changed_at = x.changed_at"
        )
        cur.execute(
            f"INSERT INTO main.customer_changes SELECT customer_id, {lit(name)}, value, changed_at FROM __changes"
        )
    cur.execute("DROP TABLE IF EXISTS __changes")


def _derive_tables(
    cur: duckdb.DuckDBPyConnection, table: str, mode: str, existing: dict[str, str], report: IngestReport
) -> None:
    """What is derived from the table just written: orders from order lines, customers from every table."""
    if table == "order_items" and _derive_orders(cur):
        report.derived.append("orders")
    # Only ids of the tables just written can be new; a replaced customer table needs them all again.
    sources: tuple[str, ...] = ()
    if table in FACT_TABLES:
        sources = (table, "orders") if "orders" in report.derived else (table,)
    elif table == "customers" and (mode == "replace" or not existing):
        cur.execute(f"DELETE FROM {META}.auto_customers")
        sources = CUSTOMER_SOURCES
    if _derive_customers(cur, sources):
        report.derived.append("customers")


def _derive_event_ids(
    cur: duckdb.DuckDBPyConnection, names: list[str], *, carry: bool = False, first: bool = True
) -> None:
    """An event without an id gets a hash of its customer, event, time and properties and of its occurrence among
    identical rows of the source (DESIGN section 4): loading the same file twice stores it once, the second load's
    rows being duplicates of stored keys. In chunks, occurrences continue from earlier chunks (`__events`)."""
    content = [c for c in ("customer_id", "event", "occurred_at", "properties") if c in names]
    values = ", ".join(f"CAST({q(c)} AS VARCHAR)" for c in content)
    new = (
        f"SELECT __line AS l, CAST(to_json([{values}]) AS VARCHAR) AS j, row_number() OVER "
        f"(PARTITION BY {values} ORDER BY __line) AS k FROM {TYPED} WHERE event_id IS NULL AND __reason IS NULL"
    )
    if not carry:
        cur.execute(
            f"UPDATE {TYPED} SET event_id = md5(h.j || '#' || h.k) FROM ({new}) h WHERE {TYPED}.__line = h.l"
        )
        return
    if first:
        cur.execute("CREATE OR REPLACE TEMP TABLE __events (m VARCHAR, n BIGINT)")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE __evnew AS SELECT *, md5(j) AS m FROM ({new})")
    cur.execute(
        f"UPDATE {TYPED} SET event_id = md5(h.j || '#' || (h.k + coalesce(e.n, 0))) FROM __evnew h LEFT JOIN "
        "(SELECT m, sum(n) AS n FROM __events WHERE m IN (SELECT m FROM __evnew) GROUP BY m) e ON e.m = h.m "
        f"WHERE {TYPED}.__line = h.l"
    )
    cur.execute("INSERT INTO __events SELECT m, count(*) FROM __evnew GROUP BY m")
    cur.execute("DROP TABLE __evnew")


def _is_derived(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = cur.execute(f"SELECT count(*) FROM {META}.derived WHERE table_name = ?", [table]).fetchone()
    return bool(row and row[0])


# ---------------------------------------------------------------------------------------------- numbers


def _number_format(
    cur: duckdb.DuckDBPyConnection,
    staged: Staged,
    spec: Any,
    targets: dict[str, str],
    existing: dict[str, str],
    opts: _Options,
) -> detect.NumberFormat:
    if not staged.numbers_as_text:
        return detect.NumberFormat(decimal=opts.decimal or ".", thousands=opts.thousands or "")
    numeric = []
    for target, source in targets.items():
        ttype = existing.get(target) or spec.type_of(target)
        if ttype is None or _base(ttype) in {"DECIMAL", DOUBLE, BIGINT} | _INT_TYPES | _FLOAT_TYPES:
            numeric.append(staged.staging_column(source))
    votes = (0, 0)
    if numeric and opts.decimal is None:
        # The vote depends only on the shape of a value (digits as 9), so count shapes, not values.
        shapes: dict[str, int] = {}
        for start in range(0, len(numeric), TYPING_BATCH):  # a statement per batch: planning is superlinear
            # Values repeat (amounts, prices): count the distinct values, then shape, trim and test only those.
            union = " UNION ALL ".join(
                f"SELECT {c} AS v FROM {staged.relation}" for c in numeric[start : start + TYPING_BATCH]
            )
            shape_counts = cur.execute(
                f"SELECT s, sum(n) FROM (SELECT translate(trim(v), '0123456789', '9999999999') AS s, n "
                f"FROM (SELECT v, count(*) AS n FROM ({union}) GROUP BY v)) "
                f"WHERE regexp_full_match(s, '[+-]?[0-9][0-9{SPACES}'',.]*') GROUP BY s"
            ).fetchall()
            for shape, n in shape_counts:
                shapes[shape] = shapes.get(shape, 0) + n
        votes = detect.vote_decimal(list(shapes.items()))
    fmt = detect.decide_number_format(
        votes, delimiter=staged.delimiter, decimal=opts.decimal, thousands=opts.thousands
    )
    if numeric:
        staged.notes.append(f"numbers: {fmt.describe()}")
    return fmt


def _base(type_name: str) -> str:
    return type_name.split("(")[0].strip().upper()


def _clean_number_sql(v: str, fmt: detect.NumberFormat) -> tuple[str, str]:
    """(validity condition, cleaned text with '.' decimals) for a text number."""
    no_space = f"translate({v}, '{SPACES}$€£₴₽¥', '')"  # drops spaces between digit groups and currency signs
    t, d = fmt.thousands, fmt.decimal
    if t:
        te, de = re.escape(t), re.escape(d)
        grouping = f"[+-]?[0-9]{{1,3}}({te}[0-9]{{3}})+({de}[0-9]*)?"
        valid = f"(position({lit(t)} IN {no_space}) = 0 OR regexp_full_match({no_space}, {lit(grouping)}))"
        cleaned = f"replace({no_space}, {lit(t)}, '')"
    else:
        valid = "true"
        cleaned = no_space
    if d != ".":
        cleaned = f"replace({cleaned}, {lit(d)}, '.')"
    return valid, cleaned


OUT_OF_RANGE = "number out of range (money and quantities hold at most 32 digits before the decimal point): "
PLAIN6 = r"[+-]?([0-9]+\.?[0-9]{0,6}|\.[0-9]{1,6})"
GENERAL = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
QUICK_DECIMAL = r"-?[0-9]{1,12}(\.[0-9]{1,6})?"  # read alike by every format with a decimal dot


# ---------------------------------------------------------------------------------------------- planning


def _plan_columns(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    staged: Staged,
    targets: dict[str, str],
    existing: dict[str, str],
    opts: _Options,
    fmt: detect.NumberFormat,
) -> list[_Column]:
    spec = TABLES[table]
    names = [c for c in spec.columns if c in targets or c in existing or c in spec.key or c in spec.required]
    if table == "events" and "event_id" not in names:
        names.insert(0, "event_id")
    names += [t for t in targets if t not in names]
    names += [c for c in existing if c not in names]
    extras = [
        targets[n] for n in names if targets.get(n) is not None and not (existing.get(n) or spec.type_of(n))
    ]
    inferred = _infer_extras(cur, staged, extras, fmt)
    columns: list[_Column] = []
    for name in names:
        source = targets.get(name)
        ttype = existing.get(name) or spec.type_of(name)
        stype = staged.types.get(source, "VARCHAR") if source else None
        if ttype is None and source is not None:
            ttype = inferred[source]
        col = _Column(name, ttype or TEXT, source, key=name in spec.key, required=name in spec.required)
        x = staged.staging_column(source) if source else None
        _type_column(cur, col, x, stype, staged, opts, fmt, len(columns))
        if table == "order_items" and name == "line" and source is None:
            # no line column: the row's position within its order, in source order
            order_id = next(c for c in columns if c.name == "order_id")
            col.value_sql = f"row_number() OVER (PARTITION BY {order_id.value_sql} ORDER BY __line)"
        columns.append(col)
    return columns


def _infer_extras(
    cur: duckdb.DuckDBPyConnection, staged: Staged, sources: list[str], fmt: detect.NumberFormat
) -> dict[str, str]:
    """The types of the columns outside the canonical ones: typed sources keep theirs; text gets the narrowest
    type that reads every value (integer, number, ISO timestamp, boolean), else text. One statement per batch
    of columns and phase, not one per column: a file may have thousands of columns."""
    types: dict[str, str] = {}
    texts = []
    for source in sources:
        stype = staged.types.get(source, "VARCHAR")
        if stype and stype != "VARCHAR":
            types[source] = stype
        else:
            texts.append(source)

    def value(source: str) -> str:
        return f"nullif(trim({staged.staging_column(source)}), '')"

    for start in range(0, len(texts), TYPING_BATCH):
        batch = texts[start : start + TYPING_BATCH]
        # Most extra columns are plain text: a cheap look for a value that is no number, date or boolean.
        looks = ", ".join(
            f"bool_or({value(s)} IS NOT NULL AND NOT regexp_matches({value(s)}, '^[+-.0-9]') "
            f"AND lower({value(s)}) NOT IN ('true', 'false'))"
            for s in batch
        )
        texty = one(cur.execute(f"SELECT {looks} FROM {staged.relation}"))
        rest = [s for s, t in zip(batch, texty, strict=True) if not t]
        types.update({s: TEXT for s, t in zip(batch, texty, strict=True) if t})
        if not rest:
            continue
        counts = []
        for s in rest:
            v = value(s)
            valid, cleaned = _clean_number_sql(v, fmt)
            counts += [
                f"count({v})",
                f"count(*) FILTER (WHERE regexp_full_match({v}, '[+-]?(0|[1-9][0-9]{{0,17}})'))",
                f"count(*) FILTER (WHERE {valid} AND regexp_full_match({cleaned}, {lit(GENERAL)}) "
                f"AND NOT regexp_full_match({v}, '0[0-9]+'))",
                f"count(*) FILTER (WHERE regexp_full_match({v}, {lit(detect.ISO.regex)}) "
                f"AND TRY_CAST({v} AS TIMESTAMP) IS NOT NULL)",
                f"count(*) FILTER (WHERE lower({v}) IN ('true', 'false'))",
            ]
        row = one(cur.execute(f"SELECT {', '.join(counts)} FROM {staged.relation}"))
        for k, s in enumerate(rest):
            n, ints, nums, isos, bools = row[5 * k : 5 * k + 5]
            types[s] = (
                TEXT
                if n == 0
                else BIGINT
                if ints == n
                else DOUBLE
                if nums == n
                else TIMESTAMP
                if isos == n
                else BOOLEAN
                if bools == n
                else TEXT
            )
    return types


def _type_column(
    cur: duckdb.DuckDBPyConnection,
    col: _Column,
    x: str | None,
    stype: str | None,
    staged: Staged,
    opts: _Options,
    fmt: detect.NumberFormat,
    idx: int,
) -> None:
    """Fill value_sql / error_sql of a column: the typed value and, when it cannot be stored, why."""
    base = _base(col.type)
    if x is None:
        col.value_sql = f"NULL::{col.type}"
        col.error_sql = "NULL"
        if col.required or (col.key and col.name not in ("event_id", "line")):
            col.error_sql = f"'missing required column {col.name}'"
        return
    sb = _base(stype or "VARCHAR")
    text = x if sb == "VARCHAR" else f"CAST({x} AS VARCHAR)"
    if sb in _FLOAT_TYPES:
        text = (
            f"CASE WHEN isnan({x}) THEN NULL ELSE CAST({x} AS VARCHAR) END"  # pandas writes NaN for missing
        )
    # trim() with a list of characters costs several times a regex test of the two ends: most values need none
    col.pre[f"__v{idx}"] = (
        f"CASE WHEN regexp_matches({text}, {lit(_EDGE_SPACE)}) THEN nullif(trim({text}, '{TRIMMED}'), '') "
        f"ELSE nullif({text}, '') END"
    )
    v = f"__v{idx}"
    raw = f"quote_raw({v})"
    missing = "'missing key'" if col.key else "'missing required value'"
    must = col.required or (col.key and col.name != "event_id")  # event ids are generated where missing
    fail = f"CASE WHEN {v} IS NULL THEN {missing if must else 'NULL'} "
    if base in ("VARCHAR", "TEXT") and col.type != TEXT_LIST:
        if col.key or col.name.endswith("_id"):
            # 17850.0 from a spreadsheet (17850,0 where the decimal mark is a comma) is the id 17850
            mark = fmt.decimal if sb == "VARCHAR" else "."
            value = (
                f"CASE WHEN contains({v}, {lit(mark)}) THEN regexp_replace({v}, "
                f"{lit('^([+-]?[0-9]+)' + re.escape(mark) + '0+$')}, '\\1') ELSE {v} END"
            )
        else:
            value = f"CASE WHEN {v} IS NULL THEN NULL ELSE {text} END"
        col.value_sql = value
        col.error_sql = fail + "END"
    elif base == "DECIMAL":
        if sb in _INT_TYPES or (sb == "DECIMAL" and _decimal_scale(stype) <= 6):
            col.value_sql = f"TRY_CAST({x} AS {col.type})"
            col.error_sql = fail + f"WHEN {col.value_sql} IS NULL THEN {lit(OUT_OF_RANGE)} || {raw} END"
            return
        if sb in _FLOAT_TYPES:
            # doubles with at most 6 decimals convert exactly; the others are rounded half-even below
            col.value_sql = f"CASE WHEN round({x}, 6) = {x} THEN TRY_CAST({x} AS {col.type}) END"
            col.fix_sql = f"CASE WHEN round({x}, 6) <> {x} THEN {v} END"
            col.error_sql = (
                fail + f"WHEN isinf({x}) THEN 'cannot read ' || {raw} || ' as a number' "
                f"WHEN round({x}, 6) = {x} AND {col.value_sql} IS NULL THEN {lit(OUT_OF_RANGE)} || {raw} END"
            )
            return
        nf = fmt if sb == "VARCHAR" else detect.NumberFormat(".", "")
        # A value such as 1234.5 (digits, a decimal dot, at most 6 decimals) reads the same in every number
        # format whose decimal mark is a dot: it is cast at once, and only the other values pay for the
        # format's checks (their helpers are computed only for them).
        quick = f"__q{idx}" if nf.decimal == "." else "false"
        if nf.decimal == ".":
            col.pre[quick] = f"regexp_full_match({v}, {lit(QUICK_DECIMAL)})"
        valid, cleaned = _pre_number(col, idx, v, nf, unless=quick)
        quick_value = _text_to_decimal(v, col.type)
        col.value_sql = (
            f"CASE WHEN {quick} THEN {quick_value} WHEN {valid} AND regexp_full_match({cleaned}, {lit(PLAIN6)}) "
            f"THEN {_text_to_decimal(cleaned, col.type)} END"
        )
        col.fix_sql = (
            f"CASE WHEN {quick} THEN NULL WHEN {valid} AND regexp_full_match({cleaned}, {lit(GENERAL)}) "
            f"AND NOT regexp_full_match({cleaned}, {lit(PLAIN6)}) THEN {cleaned} END"
        )
        col.error_sql = (
            fail + f"WHEN {quick} THEN CASE WHEN {quick_value} IS NULL THEN {lit(OUT_OF_RANGE)} || {raw} END "
            f"WHEN NOT ({valid} AND regexp_full_match({cleaned}, {lit(GENERAL)})) "
            f"THEN 'cannot read ' || {raw} || ' as a number ({fmt.describe() if sb == 'VARCHAR' else 'decimal dot'})' "
            f"WHEN regexp_full_match({cleaned}, {lit(PLAIN6)}) AND {_text_to_decimal(cleaned, col.type)} IS NULL "
            f"THEN {lit(OUT_OF_RANGE)} || {raw} END"
        )
    elif base in _FLOAT_TYPES or base in _INT_TYPES:
        if sb in _INT_TYPES | _FLOAT_TYPES or sb == "DECIMAL":
            col.value_sql = f"TRY_CAST({x} AS {col.type})"
        else:
            nf = fmt if sb == "VARCHAR" else detect.NumberFormat(".", "")
            valid, cleaned = _pre_number(col, idx, v, nf)
            pattern = GENERAL if base in _FLOAT_TYPES else r"[+-]?[0-9]+(\.0*)?"
            cast = (
                f"TRY_CAST({cleaned} AS DOUBLE)"
                if base not in _FLOAT_TYPES
                else f"TRY_CAST({cleaned} AS {col.type})"
            )
            if base in _INT_TYPES:
                cast = f"TRY_CAST({_text_to_decimal(cleaned, 'DECIMAL(38, 6)')} AS {col.type})"
            col.value_sql = (
                f"CASE WHEN {valid} AND regexp_full_match({cleaned}, {lit(pattern)}) THEN {cast} END"
            )
        kind = "a whole number" if base in _INT_TYPES else "a number"
        col.error_sql = (
            fail + f"WHEN {col.value_sql} IS NULL THEN 'cannot read ' || {raw} || ' as {kind}' END"
        )
    elif base in ("TIMESTAMP", "DATE") or base in _TS_TYPES:
        if sb in _TS_TYPES or sb == "DATE":
            ts = f"CAST({x} AS TIMESTAMP)"
            hint = ""
        elif sb in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
            ts = f"timezone({lit(opts.timezone)}, {x})"
            hint = ""
        elif _all_iso(cur, col.pre[v], staged, col, opts):
            # Every value reads as ISO (the first family, so the one detection would pick): parse in place. The
            # distinct values and their lookup cost more than parsing when most timestamps differ.
            col.pre[f"__ts{idx}"] = _iso_sql(v, opts.timezone)
            ts = f"__ts{idx}"
            hint = f" (expected {detect.ISO.user_hint}; pass --date-format to read another format)"
        else:
            # Dates repeat: parse each distinct value once into a lookup table, then join it.
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE __dv{idx} AS SELECT DISTINCT {col.pre[v]} AS v FROM {staged.relation} "
                f"WHERE {col.pre[v]} IS NOT NULL"
            )
            family = _date_family(cur, col, f"__dv{idx}", staged, opts)
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE __dm{idx} AS SELECT v, "
                f"{_parse_timestamp_sql('v', family, opts.timezone)} AS ts FROM __dv{idx}"
            )
            cur.execute(f"DROP TABLE __dv{idx}")
            col.join = (f"__dm{idx}", f"__j{idx}", col.pre[v])
            col.pre[f"__ts{idx}"] = f"__j{idx}.ts"
            ts = f"__ts{idx}"
            hint = f" (expected {family.user_hint}; pass --date-format to read another format)"
        col.value_sql = ts if base != "DATE" else f"CAST({ts} AS DATE)"
        col.error_sql = (
            fail + f"WHEN {col.value_sql} IS NULL THEN 'cannot read ' || {raw} || ' as a date{hint}' END"
        )
    elif base == "BOOLEAN":
        if sb == "BOOLEAN":
            col.value_sql = x
        else:
            col.value_sql = (
                f"CASE WHEN lower({v}) IN ('true', 't', 'yes', 'y', '1', 'да', 'так') THEN true "
                f"WHEN lower({v}) IN ('false', 'f', 'no', 'n', '0', 'нет', 'ні') THEN false END"
            )
        col.error_sql = (
            fail + f"WHEN {col.value_sql} IS NULL THEN 'cannot read ' || {raw} || ' as true/false' END"
        )
    elif base == "JSON":
        if sb == "VARCHAR":
            col.value_sql = f"CASE WHEN json_valid({v}) THEN CAST({v} AS JSON) END"
        else:
            col.value_sql = f"CAST(to_json({x}) AS JSON)"
        col.error_sql = fail + f"WHEN {col.value_sql} IS NULL THEN 'not valid JSON: ' || {raw} END"
    elif col.type == TEXT_LIST or col.type.endswith("[]"):
        if sb == "VARCHAR":
            col.value_sql = (
                f"CASE WHEN {v} IS NULL THEN NULL WHEN json_valid({v}) AND json_type({v}) = 'ARRAY' "
                f"THEN TRY_CAST(from_json({v}, '[\"VARCHAR\"]') AS VARCHAR[]) "
                f"ELSE regexp_split_to_array({v}, '\\s*[,;|]\\s*') END"
            )
        else:
            col.value_sql = f"TRY_CAST({x} AS VARCHAR[])"
        col.error_sql = (
            fail + f"WHEN {col.value_sql} IS NULL THEN 'cannot read ' || {raw} || ' as a list' END"
        )
    else:
        # an extra column already stored with some other type, or a typed source column kept as it is
        col.value_sql = x if sb == base else f"TRY_CAST({x} AS {col.type})"
        col.error_sql = (
            fail + f"WHEN {col.value_sql} IS NULL THEN 'cannot read ' || {raw} || ' as {col.type}' END"
        )


def _text_to_decimal(text: str, type_name: str) -> str:
    """TRY_CAST of text to a wide DECIMAL. DuckDB parses text into DECIMAL(38, 6) about a hundred times more
    slowly than into DECIMAL(18, 6), so text short enough to fit the narrow type goes through it."""
    precision = re.search(r"\(\s*(\d+)", type_name)
    scale = _decimal_scale(type_name)
    if precision is None or int(precision.group(1)) <= 18 or scale > 12:
        return f"TRY_CAST({text} AS {type_name})"
    return (
        f"CASE WHEN length({text}) <= {18 - scale} THEN TRY_CAST(TRY_CAST({text} AS DECIMAL(18, {scale})) AS "
        f"{type_name}) ELSE TRY_CAST({text} AS {type_name}) END"
    )


def _pre_number(
    col: _Column, idx: int, v: str, fmt: detect.NumberFormat, unless: str = "false"
) -> tuple[str, str]:
    """The helpers `__ok` (valid in the format) and `__n` (cleaned text), NULL where `unless` holds."""
    valid, cleaned = _clean_number_sql(v, fmt)
    lazy = unless != "false"
    col.pre[f"__ok{idx}"] = f"CASE WHEN NOT {unless} THEN {valid} END" if lazy else valid
    col.pre[f"__n{idx}"] = f"CASE WHEN NOT {unless} THEN {cleaned} END" if lazy else cleaned
    return f"__ok{idx}", f"__n{idx}"


def _decimal_scale(type_name: str | None) -> int:
    match = re.search(r"\(\s*\d+\s*,\s*(\d+)\s*\)", type_name or "")
    return int(match.group(1)) if match else 0


# ---------------------------------------------------------------------------------------------- dates


def _date_family(
    cur: duckdb.DuckDBPyConnection, col: _Column, values: str, staged: Staged, opts: _Options
) -> detect.DateFamily:
    """The way the column writes dates, decided from every distinct value (the table `values` holds them in
    its column `v`); ambiguity stops the ingest."""
    if opts.date_format:
        family = detect.parse_date_format(opts.date_format)
        staged.notes.append(f"dates in {col.source!r}: {family.user_hint} (from --date-format)")
        return family
    families = detect.DATE_FAMILIES
    checks = ", ".join(
        f"count(*) FILTER (WHERE {_family_match_sql('v', f, opts.timezone)} IS NOT NULL)" for f in families
    )
    row = one(cur.execute(f"SELECT count(*), {checks} FROM {values}"))
    total, hits = row[0], dict(zip([f.name for f in families], row[1:], strict=True))
    if total == 0:
        return detect.ISO
    best = max(hits.values())
    if best == 0:
        staged.notes.append(f"dates in {col.source!r}: no known date format reads them")
        return detect.ISO
    winners = [f for f in families if hits[f.name] == best]
    names = {f.name for f in winners}
    for pair in detect.AMBIGUOUS_PAIRS:
        if pair <= names:
            first, second = sorted(pair, key=lambda n: 0 if n.startswith("d") else 1)
            fam = {f.name: f for f in families}
            examples = [r[0] for r in cur.execute(f"SELECT v FROM {values} ORDER BY v LIMIT 3").fetchall()]
            sep = (
                "." if any("." in e for e in examples) else ("-" if any("-" in e for e in examples) else "/")
            )
            hint_d = fam[first].user_hint.replace(".", sep)
            hint_m = fam[second].user_hint.replace("/", sep)
            raise IngestError(
                f"{staged.source_name}: column {col.source!r} ({col.name}) has dates such as "
                f"{', '.join(repr(e) for e in examples)} in which every day is 12 or less, so they read both as "
                f"day/month and as month/day; say which with --date-format {hint_d} or --date-format {hint_m}"
            )
    family = winners[0]
    staged.notes.append(
        f"dates in {col.source!r}: {family.user_hint}"
        + (f" ({total - best:,} distinct values unreadable)" if best < total else "")
    )
    return family


def _family_match_sql(v: str, family: detect.DateFamily, tz: str) -> str:
    """A TIMESTAMP when `v` is written in the family's way, else NULL."""
    if family.iso:
        offset = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
        return (
            f"CASE WHEN NOT regexp_full_match({v}, {lit(family.regex.strip('^$'))}) THEN NULL "
            f"WHEN regexp_matches({v}, {lit(offset)}) THEN timezone({lit(tz)}, TRY_CAST({v} AS TIMESTAMPTZ)) "
            f"ELSE TRY_CAST({v} AS TIMESTAMP) END"
        )
    formats = "[" + ", ".join(lit(f) for f in family.formats) + "]"
    return (
        f"CASE WHEN regexp_full_match({v}, {lit(family.regex.strip('^$'))}) "
        f"THEN try_strptime({v}, {formats})::TIMESTAMP END"
    )


QUICK_ISO = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?"  # no zone: a plain cast
)


def _iso_sql(v: str, tz: str) -> str:
    """The ISO family's reading of `v` (as `_family_match_sql`), with the common zone-less shape cast at once."""
    return (
        f"CASE WHEN regexp_full_match({v}, {lit(QUICK_ISO)}) THEN TRY_CAST({v} AS TIMESTAMP) "
        f"ELSE {_family_match_sql(v, detect.ISO, tz)} END"
    )


def _all_iso(
    cur: duckdb.DuckDBPyConnection, value: str, staged: Staged, col: _Column, opts: _Options
) -> bool:
    """Whether every value of a text date column reads as ISO; then detection would choose ISO, as
    `_date_family` notes it. One pass over the rows, no distinct values."""
    if opts.date_format:
        return False
    n, read = one(
        cur.execute(
            f"SELECT count(v), count({_iso_sql('v', opts.timezone)}) FROM (SELECT {value} AS v "
            f"FROM {staged.relation})"
        )
    )
    if n != read:
        return False
    if n:
        staged.notes.append(f"dates in {col.source!r}: {detect.ISO.user_hint}")
    return True


def _parse_timestamp_sql(v: str, family: detect.DateFamily, tz: str) -> str:
    return _family_match_sql(v, family, tz)


# ---------------------------------------------------------------------------------------------- typing


def _build_typed(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    staged: Staged,
    columns: list[_Column],
    opts: _Options,
    rounded: dict[int, list[Any]],
) -> None:
    """The staged chunk (`__stg`) typed as `__typed`: each column's value and, for a row that cannot be stored,
    the reason and the source column (`__reason`, `__column`). `rounded` gathers the half-even roundings."""
    cur.execute(
        "CREATE OR REPLACE TEMP MACRO quote_raw(s) AS "
        "'''' || CASE WHEN length(s) > 200 THEN left(s, 200) || '...' ELSE s END || ''''"
    )
    # DuckDB plans a statement in time that grows faster than its expressions, so the columns are typed in
    # batches, each a statement over the staged columns it needs, and the batches put side by side in row order.
    # A projection of the staged rows keeps their order; a date lookup (a join) or a window function may not,
    # and then every batch is sorted by line, so that the batches still line up by position.
    sort = (
        not one(cur.execute("SELECT current_setting('preserve_insertion_order')"))[0]
        or any(c.join for c in columns)
        or any(" OVER (" in c.value_sql for c in columns)
    )
    cur.execute(f"DROP TABLE IF EXISTS temp.{TYPED}")  # the previous chunk's
    parts: list[str] = []
    for start in range(0, len(columns), TYPING_BATCH):
        part = f"__typed_{start // TYPING_BATCH}"
        _type_batch(cur, part, staged, columns, range(start, min(start + TYPING_BATCH, len(columns))), sort)
        parts.append(part)
    if not parts:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {TYPED} AS SELECT __line FROM {STG} ORDER BY __line")
    elif len(parts) == 1:
        cur.execute(f"ALTER TABLE {parts[0]} RENAME TO {TYPED}")
    else:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {TYPED} AS SELECT * FROM {' POSITIONAL JOIN '.join(parts)}"
        )
        for part in parts:
            cur.execute(f"DROP TABLE temp.{part}")
    # the date lookups (`col.join`) serve every chunk: they are dropped with the ingest's temp tables
    for i, col in enumerate(columns):
        if col.fix_sql:
            _round_half_even(cur, i, col, rounded)
    reasons = [f"__e{i}" for i in range(len(columns))]
    names = [
        f"CASE WHEN __e{i} IS NOT NULL THEN {lit(c.source or c.name)} END" for i, c in enumerate(columns)
    ]
    cur.execute(f"ALTER TABLE {TYPED} ADD COLUMN __reason VARCHAR")
    cur.execute(f"ALTER TABLE {TYPED} ADD COLUMN __column VARCHAR")
    if reasons:
        cur.execute(
            f"UPDATE {TYPED} SET __reason = coalesce({', '.join(reasons)}), __column = coalesce({', '.join(names)})"
        )
    _table_rules(cur, TABLES[table], columns)


def _table_rules(cur: duckdb.DuckDBPyConnection, spec: TableSpec, columns: list[_Column]) -> None:
    """The table's own rules on typed rows (`TableSpec.codes`, `TableSpec.checks`): codes upper-cased before
    keys are compared, and a row whose value breaks a check quarantined with the value and what it must be."""
    present = {c.name: c for c in columns}
    for name in spec.codes:
        if name in present:
            cur.execute(f"UPDATE {TYPED} SET {q(name)} = upper({q(name)}) WHERE {q(name)} IS NOT NULL")
    for name, condition, must in spec.checks:
        col = present.get(name)
        if col is None:
            continue
        cur.execute(
            f"UPDATE {TYPED} SET __reason = {lit(name + ' ')} || CAST({q(name)} AS VARCHAR) || "
            f"{lit(' is not allowed: ' + must + '; correct the row in the source and load it again')}, "
            f"__column = {lit(col.source or col.name)} WHERE __reason IS NULL AND NOT ({condition})"
        )


TYPING_BATCH = 16  # columns per statement (DuckDB's planning time grows faster than a statement)
_HELPER = re.compile(r"\b__(?:v|q|ok|n|ts|j)(\d+)\b")
_STAGED = re.compile(r"\bc(\d+)\b")


def _type_batch(
    cur: duckdb.DuckDBPyConnection,
    name: str,
    staged: Staged,
    columns: list[_Column],
    indexes: range,
    sort: bool,
) -> None:
    """The typed values, errors and fixes of `columns[i]` for i in `indexes`, in row order (sorted by line when
    `sort`, else in the staged rows' order), as table `name` (the first batch also holds `__line`)."""
    selects = ["__line"] if indexes.start == 0 else []
    for i in indexes:
        col = columns[i]
        selects.append(f"{col.value_sql} AS {q(col.name)}")
        selects.append(f"CAST(({col.error_sql}) AS VARCHAR) AS __e{i}")
        if col.fix_sql:
            selects.append(f"{col.fix_sql} AS __f{i}")
    body = ", ".join(selects)
    # the helper expressions (and date lookups) these columns use, possibly another column's (order_items.line)
    helpers = sorted({int(m) for m in _HELPER.findall(body)} | set(indexes))
    pre = [f"{sql} AS {alias}" for j in helpers for alias, sql in columns[j].pre.items()]
    joins = [columns[j].join for j in helpers if columns[j].join]
    text = body + " ".join(pre) + " ".join(j[2] for j in joins if j)
    used = sorted({int(m) for m in _STAGED.findall(text) if int(m) < len(staged.columns)})
    picked = ", ".join(["s.__line", *(f"s.c{k}" for k in used), *pre])
    join_sql = "".join(f" LEFT JOIN {j[0]} {j[1]} ON {j[1]}.v = {j[2]}" for j in joins if j)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {body} FROM (SELECT {picked} FROM {STG} s{join_sql})"
        + (" ORDER BY __line" if sort else "")
    )


def _round_half_even(
    cur: duckdb.DuckDBPyConnection, i: int, col: _Column, rounded: dict[int, list[Any]]
) -> None:
    rows = cur.execute(
        f"SELECT __line, __f{i} FROM {TYPED} WHERE __f{i} IS NOT NULL AND __e{i} IS NULL"
    ).fetchall()
    if not rows:
        return
    fixed: list[tuple[int, str | None, str | None]] = []
    example = None
    quantum = Decimal("0.000001")
    # DECIMAL(38, 6) holds 32 digits before the point: 1e22..1e31 fit, and need more than the default 28 digits
    exact = Context(prec=80, rounding=ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
    for line, text in rows:
        try:
            value = Decimal(text).quantize(quantum, context=exact)
            if value.adjusted() >= 32:
                raise InvalidOperation
            fixed.append((line, format(value, "f"), None))
            if example is None:
                example = f"line {line}: {text} -> {format(value, 'f')}"
        except (InvalidOperation, ValueError):
            fixed.append((line, None, f"{OUT_OF_RANGE}'{text[:200]}'"))
    cur.execute("CREATE OR REPLACE TEMP TABLE __fix (l BIGINT, v VARCHAR, e VARCHAR)")
    cur.executemany("INSERT INTO __fix VALUES (?, ?, ?)", fixed)
    cur.execute(
        f"UPDATE {TYPED} SET {q(col.name)} = CAST(__fix.v AS {col.type}), __e{i} = __fix.e FROM __fix "
        f"WHERE {TYPED}.__line = __fix.l"
    )
    count = sum(1 for f in fixed if f[1] is not None)
    if count:
        seen = rounded.setdefault(i, [0, example])  # the example of the first chunk with one
        seen[0] += count


def _rounding_warnings(columns: list[_Column], rounded: dict[int, list[Any]], report: IngestReport) -> None:
    """One warning per column whose values were rounded, whatever the chunks."""
    for i, (count, example) in sorted(rounded.items()):
        col = columns[i]
        report.warnings.append(
            f"{count:,} value(s) of {col.source!r} ({col.name}) had more than 6 decimals and were rounded "
            f"half-even to 6 ({example})"
        )


def _mark_duplicates(
    cur: duckdb.DuckDBPyConnection,
    table: str,
    key: list[str],
    mode: str,
    existing: dict[str, str],
    auto_ids: bool,
    *,
    seen: bool = False,
    first: bool = True,
) -> None:
    """Quarantine a row whose key an earlier row of the source has (append, replace) or that is already
    stored (append). `seen`: the source comes in chunks, and `__seen` holds the key and line of the first row
    of each key in the earlier chunks (the rows the marking leaves before the check against the store)."""
    if not key:
        return
    keys = ", ".join(q(k) for k in key)
    within = mode in ("append", "replace")
    message = f"' of this source has the same ' || {lit(', '.join(key))}"
    if within and seen:
        if first:
            cols = ", ".join([*(q(k) for k in key), "__line"])
            cur.execute(f"CREATE OR REPLACE TEMP TABLE __seen AS SELECT {cols} FROM {TYPED} WHERE false")
        else:
            on = " AND ".join(f"s.{q(k)} = {TYPED}.{q(k)}" for k in key)
            cur.execute(
                f"UPDATE {TYPED} SET __reason = 'duplicate key: line ' || s.__line || {message}, "
                f"__column = {lit(key[0])} FROM __seen s WHERE {TYPED}.__reason IS NULL AND {on}"
            )
    # most sources repeat no key: a grouping says so for a fraction of the cost of the marking
    if (
        mode in ("append", "replace")
        and cur.execute(
            f"SELECT 1 FROM {TYPED} WHERE __reason IS NULL GROUP BY {keys} HAVING count(*) > 1 LIMIT 1"
        ).fetchall()
    ):
        cur.execute(
            f"UPDATE {TYPED} SET __reason = 'duplicate key: line ' || d.first_line || {message}, "
            f"__column = {lit(key[0])} FROM (SELECT __line AS l, "
            f"min(__line) OVER (PARTITION BY {keys}) AS first_line FROM {TYPED} WHERE __reason IS NULL) d "
            f"WHERE {TYPED}.__line = d.l AND d.first_line < d.l"
        )
    if within and seen:
        cur.execute(f"INSERT INTO __seen SELECT {keys}, __line FROM {TYPED} WHERE __reason IS NULL")
    if mode == "append" and existing and all(k in existing for k in key):
        on = " AND ".join(f"t.{q(k)} = {TYPED}.{q(k)}" for k in key)
        skip_auto = (
            f" AND t.customer_id NOT IN (SELECT customer_id FROM {META}.auto_customers)" if auto_ids else ""
        )
        cur.execute(
            f"UPDATE {TYPED} SET __reason = 'duplicate key: ' || {lit(', '.join(key))} || ' is already stored "
            f"(use --mode upsert to update stored rows)', __column = {lit(key[0])} "
            f"WHERE __reason IS NULL AND EXISTS (SELECT 1 FROM main.{q(table)} t WHERE {on}{skip_auto})"
        )


# ---------------------------------------------------------------------------------------------- writing


def _write_table(
    cur: duckdb.DuckDBPyConnection,
    link: _Link,
    table: str,
    columns: list[_Column],
    key: list[str],
    mode: str,
    existing: dict[str, str],
    auto_ids: bool,
    *,
    first: bool = True,
) -> None:
    """Write the typed chunk's good rows with the writer `cur`; `first`: the first chunk written, which
    creates (or replaces, or widens) the table."""
    t = f"main.{q(table)}"
    if first and (mode == "replace" or not existing):
        defs = ", ".join(f"{q(c.name)} {c.type}" for c in columns)
        cur.execute(f"CREATE OR REPLACE TABLE main.{q(table)} ({defs})")
    elif first:
        for c in columns:
            if c.name not in existing:
                cur.execute(f"ALTER TABLE {t} ADD COLUMN {q(c.name)} {c.type}")
    names = ", ".join(q(c.name) for c in columns)

    def good(select: str) -> str:
        return link.rows(f"SELECT {select} FROM {TYPED} WHERE __reason IS NULL")

    if mode == "upsert" and key:
        keys = ", ".join(q(k) for k in key)
        on = " AND ".join(f"{t}.{q(k)} = n.{q(k)}" for k in key)
        cur.execute(f"DELETE FROM {t} USING (SELECT DISTINCT {keys} FROM {good(keys)}) n WHERE {on}")
        cur.execute(
            f"INSERT INTO {t} ({names}) SELECT {names} FROM {good(names + ', __line')} "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY __line DESC) = 1"
        )
    else:
        if auto_ids:
            # customers created automatically from other tables give way to the real rows
            cur.execute(
                f"DELETE FROM {t} WHERE customer_id IN (SELECT customer_id FROM {META}.auto_customers) "
                f"AND customer_id IN (SELECT customer_id FROM {good('customer_id')})"
            )
        cur.execute(f"INSERT INTO {t} ({names}) SELECT {names} FROM {good(names)}")
    if table == "customers":
        cur.execute(
            f"DELETE FROM {META}.auto_customers WHERE customer_id IN (SELECT customer_id FROM {good('customer_id')})"
        )
    if table == "orders" and first:
        # `status` is optional in the input but always present in the store (null counts as completed), so
        # everything that selects qualifying orders can name it
        cur.execute(f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS status {TEXT}")


def _write_quarantine(
    cur: duckdb.DuckDBPyConnection, link: _Link, ingest_id: int, table: str, staged: Staged
) -> None:
    """The typed chunk's rows that cannot be stored, with the source's values (the rows a reader rejected,
    `__rej`, are written once at the end)."""
    fields = ", ".join(f"{lit(name)}, s.c{i}" for i, name in enumerate(staged.columns))
    raw = f"CAST(json_object({fields}) AS VARCHAR)" if staged.columns else "NULL"
    rows = link.rows(
        f"SELECT t.__line AS line, t.__column AS column_name, t.__reason AS reason, {raw} AS raw FROM {TYPED} t "
        f"JOIN {STG} s ON s.__line = t.__line WHERE t.__reason IS NOT NULL ORDER BY t.__line"
    )
    cur.execute(
        f"INSERT INTO {META}.quarantine SELECT ?, ?, ?, line, column_name, reason, raw, ? FROM {rows}",
        [ingest_id, table, staged.source_name, _now()],
    )


def _table_columns(cur: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = cur.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [table],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _derive_orders(cur: duckdb.DuckDBPyConnection) -> bool:
    """Orders from order lines, when orders are absent or were derived before."""
    if _table_columns(cur, "orders") and not _is_derived(cur, "orders"):
        return False
    cur.execute(
        f"""CREATE OR REPLACE TABLE main.orders AS
        SELECT order_id, arg_min(customer_id, (ordered_at, line)) AS customer_id, min(ordered_at) AS ordered_at,
               CAST(sum(round(quantity * unit_price, 6)) AS {MONEY}) AS amount, CAST(NULL AS VARCHAR) AS status
        FROM main.order_items GROUP BY order_id ORDER BY min(ordered_at), order_id"""
    )
    cur.execute(f"DELETE FROM {META}.derived WHERE table_name = 'orders'")
    cur.execute(f"INSERT INTO {META}.derived VALUES ('orders', 'order_items', ?)", [_now()])
    return True


def _customer_attrs(cur: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    cols = _table_columns(cur, table)
    if "customer_id" not in cols:
        return []
    return [
        c for c in cols if c in CUSTOMERS.columns and c != "customer_id" and c not in TABLES[table].columns
    ]


def _derive_customers(cur: duckdb.DuckDBPyConnection, sources: tuple[str, ...] = CUSTOMER_SOURCES) -> bool:
    """Create the customers seen in other tables but not in `customers` (id plus the customer attributes those
    tables carry, most recent non-null value). Returns whether any was created."""
    created = False
    customers = _table_columns(cur, "customers")
    # tables that carry more customer attributes (country, city, ...) create customers first
    for table in sorted(sources, key=lambda t: -len(_customer_attrs(cur, t))):
        cols = _table_columns(cur, table)
        if "customer_id" not in cols:
            continue
        spec = TABLES[table]
        attrs = [c for c in cols if c in CUSTOMERS.columns and c != "customer_id" and c not in spec.columns]
        if not customers:
            defs = ", ".join([f"customer_id {TEXT}"] + [f"{q(a)} {cols[a]}" for a in attrs])
            cur.execute(f"CREATE TABLE main.customers ({defs})")
            customers = _table_columns(cur, "customers")
        for a in attrs:
            if a not in customers:
                cur.execute(f"ALTER TABLE main.customers ADD COLUMN {q(a)} {cols[a]}")
                customers[a] = cols[a]
        time_col = spec.time_column
        picks = ", ".join(
            f"arg_max({q(a)}, {q(time_col)}) FILTER (WHERE {q(a)} IS NOT NULL) AS {q(a)}"
            if time_col in cols
            else f"max({q(a)}) AS {q(a)}"
            for a in attrs
        )
        select = "customer_id" + (", " + picks if picks else "")
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE __newcust AS SELECT {select} FROM main.{q(table)} f "
            f"WHERE customer_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM main.customers c "
            f"WHERE c.customer_id = f.customer_id) GROUP BY customer_id ORDER BY customer_id"
        )
        n = one(cur.execute("SELECT count(*) FROM __newcust"))[0]
        if n:
            add_derived_customers(cur, "__newcust", ["customer_id", *attrs])
            created = True
        cur.execute("DROP TABLE IF EXISTS temp.__newcust")
    if not customers:
        cur.execute(CUSTOMERS.ddl(["customer_id"]))
    return created


def quarantined_rows(
    target: Any, *, table: str | None = None, ingest_id: int | None = None, limit: int | None = 100
) -> list[dict[str, Any]]:
    """Rows that could not be stored, newest ingest first, then by line: source file, line, column, reason."""
    store, _ = _store_and_timezone(target)
    where: list[str] = []
    params: list[Any] = []
    if table is not None:
        if table not in TABLES:
            raise IngestError(
                f"unknown table {table!r}{did_you_mean(table, TABLES)}; the canonical tables are: "
                f"{', '.join(TABLES)}"
            )
        where.append("table_name = ?")
        params.append(table)
    if ingest_id is not None:
        where.append("ingest_id = ?")
        params.append(ingest_id)
    sql = (
        f'SELECT ingest_id, table_name AS "table", source, line, column_name AS "column", reason, raw, '
        f"quarantined_at FROM {META}.quarantine"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY ingest_id DESC, line"
        + (f" LIMIT {int(limit)}" if limit is not None else "")
    )
    cur = store.cursor()
    try:
        result = cur.execute(sql, params)
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        cur.close()
