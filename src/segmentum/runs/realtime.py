"""The real-time path: events posted to the API are appended to `main.events` and the customers they
touch are re-evaluated in micro-batches (DESIGN.md section 3, principle 5; section 8, Real time).

`EventWriter.append` writes one request's events, and creates the customers it has not seen, in one
transaction; then the touched ids are queued. Which customers are new is a look-up of the request's ids in an
index of `main.customers.customer_id` (`store.customers`), so an append costs what its request holds, not
what the store holds. `MicroBatcher` wakes every `serve.micro_batch_seconds`
and calls `Evaluator.evaluate` on the queued ids with `as_of` = now: a run of kind 'realtime'.

What a micro-batch costs must not grow with the definitions or the store:

- the definitions are compiled ONCE per fingerprint and day (`SqlTemplate`): the SQL is compiled at two probe
  times of the day, and every timestamp literal that moves with as_of is kept as an offset from it, so a
  micro-batch only substitutes its as_of; the touched ids are a table joined in (`_sgm_touched`, registered
  on the writer's cursor), never literals, and handed to the fact tables' scans (zonemaps skip the row groups
  that hold none of them: `dynamic_or_filter_threshold` raised on that cursor only). When the SQL does not have
  that shape (a literal that is not a fixed offset from as_of), each micro-batch compiles again: slower, never
  wrong;
- the query reads staged copies of the touched customers' rows, not the store's tables (`read_staged`, done to
  the template's text once): before it runs, `_BoundEngine` copies the rows of the touched customers, and of
  their aliases linked at or before as_of, of every canonical table keyed by customer that the SQL reads into
  temporary tables of the micro-batch's own cursor, one scan each (pruned by the ids pushed into it: on a
  compacted store, `segmentum compact`, it reads only the row groups that hold them; the fact tables have no
  index to read them through: DuckDB writes every index again in full at each checkpoint, `store.compact`),
  plus the orders that staged items belong to but no staged customer placed (read from `main.orders` only
  when there are any). The query then reads those few rows where it read `orders` three times and
  `order_items` and `events` twice, `orders` whole for the items' qualifying orders. The staged tables are
  dropped after the micro-batch, committed or failed; they never touch the store file. Spark evaluates through
  the general path;
- population values (percentiles, ntiles, ABC shares) come from the latest batch runs (`compile_for`);
- the run writes the touched customers' rows only, and their current memberships to the live table
  (`segmentum.live_memberships`, one row per customer, replaced per micro-batch) in the same transaction;
  lookups read it through `snapshots.current_memberships`, never by computing;
- what the server's micro-batch does not need is not paid for each one (BENCHMARKS.md "Real-time path",
  `bench.microbatch_cost`): its transitions are computed by its triggers only and its sizes not at all
  (`evaluate(details=False)`), the lookups' replica is refreshed right after the commit (`committed`), and
  the settled runs' traits tables are folded into the live traits at most every `PRUNE_EVERY_S`.

A micro-batch takes every customer waiting, however many: its cost is a fixed part and a part per customer, so
one micro-batch of all of them costs less than several, and none is left for the next one (at 1M customers, 2,000
customers cost 0.53 s, 4,000 0.80 s, 8,000 1.08 s: BENCHMARKS.md "Every customer waiting in one micro-batch").

When the queue of customers waiting for a micro-batch is over `max_pending`, `MicroBatcher.full` is true and
the API answers 429 with Retry-After instead of accepting more (memory stays bounded; what was accepted is
stored before the answer, so nothing accepted is lost).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from segmentum.errors import BusyError, SegmentumError
from segmentum.faults import delay_point
from segmentum.progress import Laps
from segmentum.runs.held_rows import HELD_TABLES, HeldRows
from segmentum.schema import CUSTOMERS, EVENTS, IDENTITIES, TABLES
from segmentum.sql import ident
from segmentum.store import META, Store
from segmentum.store.compact import compacted_customers_per_row_group
from segmentum.store.customers import (
    add_derived_customers,
    existing_customers,
    index_customer_ids,
)
from segmentum.store.identities import aliases_linked_sql

if TYPE_CHECKING:
    from segmentum.compile.availability import Availability
    from segmentum.compile.compiler import CompiledRun
    from segmentum.context import Context
    from segmentum.runs.execute import RunResult
    from segmentum.spec.loader import Definitions

log = logging.getLogger("segmentum.runs.realtime")

_NUMERIC_ID = re.compile(r"^(-?\d+)\.0*$")
# customers waiting for a micro-batch before POST /v1/events answers 429: at about 10k customers per second
# re-evaluated (bench/realtime.py), a queue this long drains within the 2 s of DESIGN section 8
MAX_PENDING = 20_000


class DefinitionsCache:
    """The validated definitions of a workspace, loaded again only when a definition file changes.

    Loading and validating definitions is most of a small micro-batch's cost; a batch run calls `forget`
    so that edited definitions are picked up there.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cached: tuple[tuple[Any, ...], Definitions] | None = None
        self._lock = threading.Lock()

    def _files_state(self) -> tuple[Any, ...]:
        from segmentum.spec.loader import definition_files

        files = [self.ctx.root / "segmentum.yml", *definition_files(self.ctx)]
        return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())

    def current(self) -> Definitions:
        state = self._files_state()
        with self._lock:
            if self._cached is None or self._cached[0] != state:
                self._cached = (state, self.ctx.definitions())
            return self._cached[1]

    def forget(self) -> None:
        with self._lock:
            self._cached = None


def normalize_id(value: str) -> str:
    """Keys compare as text; `17850.0` from a spreadsheet is the id `17850` (DESIGN.md section 4)."""
    text = value.strip()
    match = _NUMERIC_ID.match(text)
    return match.group(1) if match else text


def to_wall_clock(ts: datetime, zone: ZoneInfo) -> datetime:
    """A naive timestamp in the workspace time zone: aware input is converted, naive input is taken as is."""
    if ts.tzinfo is not None:
        return ts.astimezone(zone).replace(tzinfo=None)
    return ts


def now_wall_clock(zone: ZoneInfo) -> datetime:
    return datetime.now(UTC).astimezone(zone).replace(tzinfo=None)


@dataclass
class EventRow:
    customer_id: str
    event: str
    occurred_at: datetime
    properties: dict[str, Any] | None = None


@dataclass
class AppendResult:
    accepted: int
    customers: int
    new_customers: int
    customer_ids: list[str] = field(default_factory=list)


# how often a request waiting for the event writer looks whether an ingest, erasure or compaction through the
# server holds it (`EventWriter.exclusive`: for minutes), which refuses the request; other appends are waited for
WRITER_WAIT_SECONDS = 2.0
WRITER_RETRY_AFTER = 10  # seconds a refused request is told to wait (the operation's end is not known)


class WriterBusy(BusyError):
    """The event writer is held by an operation on the tables events go to; nothing of the request is stored."""

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"the store is busy with {operation}; nothing of this request was stored, send it again in "
            f"{WRITER_RETRY_AFTER} s",
            details={"operation": operation},
        )
        self.operation = operation
        self.retry_after = WRITER_RETRY_AFTER


class EventWriter:
    """Appends events to the store; one writer at a time (so that a new customer is created once).

    New customers are created as ingest creates them from other tables (`add_derived_customers`: listed in
    `auto_customers`); the first append indexes `customers.customer_id` if needed (`index_customer_ids`; at
    1M customers a build of 20 s once, kept in the store file), and again after an `exclusive` operation,
    which may have replaced the table.

    `known` (optional) tells, from memory, that an id is in `main.customers` (the server's replica holds the
    customers of its runs); only the other ids are looked up. The look-up of 100 ids took 8-9 ms at 100k
    customers, about half of it holding the GIL (planning the IN list, fetching the rows the index points to),
    which a server's event loop waits out. Whoever answers `known` must stop answering for customers an
    `exclusive` operation may erase before that operation releases the writer (`Runtime._command`)."""

    def __init__(self, store: Store, zone: ZoneInfo, *, known: Callable[[str], bool] | None = None) -> None:
        self.store = store
        self.zone = zone
        self.known = known
        self.lock = threading.Lock()
        self.busy_with: str | None = None  # the operation holding the writer (`exclusive`)
        self._ready = False

    @contextlib.contextmanager
    def exclusive(self, operation: str) -> Iterator[None]:
        """Hold the writer while `operation` loads, erases or rewrites the tables events are appended to: an
        append committed meanwhile would make one of the two transactions fail at commit (both creating the
        same new customer, or rows appended to a table being replaced). Appends are refused meanwhile."""
        with self.lock:
            self.busy_with = operation
            try:
                yield
            finally:
                self.busy_with = None
                # the operation may have replaced `customers` (and its index with it) or `events`
                self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        con = self.store.cursor()
        # the canonical tables, as ingest would create them, when no file was loaded yet
        con.execute(EVENTS.ddl())
        con.execute(CUSTOMERS.ddl(["customer_id"]))
        # which of a request's customers are new is then a look-up per id, not a scan of every customer
        index_customer_ids(con)
        # events loaded from a file may lack the optional columns the API writes: add them (null for old rows)
        present = self.store.columns("events")
        for column in ("event_id", "properties"):
            if column not in present:
                con.execute(f"ALTER TABLE main.events ADD COLUMN {column} {EVENTS.columns[column]}")
        self._ready = True

    def append(self, events: Iterable[EventRow]) -> AppendResult:
        rows = list(events)
        if not rows:
            return AppendResult(0, 0, 0)
        ids = [normalize_id(r.customer_id) for r in rows]
        # the request as one list per column, bound as parameters (cheaper than registering a table per request)
        columns = [
            [uuid.uuid4().hex for _ in rows],
            ids,
            [r.event for r in rows],
            [to_wall_clock(r.occurred_at, self.zone) for r in rows],
            [
                None
                if r.properties is None
                else json.dumps(r.properties, ensure_ascii=False, allow_nan=False)
                for r in rows
            ],
        ]
        unique = sorted(set(ids))
        new: list[str] = []
        # other appends hold the writer for moments (wait for them however long a loaded machine makes that);
        # an operation holding it (`exclusive`) refuses the request at once instead
        while not self.lock.acquire(timeout=WRITER_WAIT_SECONDS):
            if self.busy_with is not None:
                raise WriterBusy(self.busy_with)
        try:
            self._prepare()
            cur = self.store.cursor()
            try:
                with self.store.transaction(cur):
                    unknown = unique if self.known is None else [i for i in unique if not self.known(i)]
                    found = existing_customers(cur, unknown) if unknown else set()
                    new = [i for i in unknown if i not in found]
                    if new:
                        add_derived_customers(
                            cur, "(SELECT unnest(?::VARCHAR[]) AS customer_id)", ["customer_id"], [new]
                        )
                    cur.execute(
                        "INSERT INTO main.events (event_id, customer_id, event, occurred_at, properties) "
                        "SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
                        "unnest(?::TIMESTAMP[]), unnest(?::VARCHAR[])::JSON",
                        columns,
                    )
            finally:
                cur.close()
        finally:
            self.lock.release()
        return AppendResult(len(rows), len(unique), len(new), unique)


class MicroBatcher:
    """Re-evaluates touched customers every `interval` seconds on a background thread.

    Parameters
    ----------
    evaluate:
        called with (customer ids, as_of); runs the engine in real-time mode.
    run_lock:
        held while evaluating, so a micro-batch never overlaps a batch run (one writer of snapshots).
    max_pending:
        the most customers waiting for a micro-batch before `full` is true (the API then answers 429).

    Each micro-batch evaluates every customer waiting when it starts; a customer touched again while waiting is
    evaluated once.
    """

    def __init__(
        self,
        evaluate: Callable[[list[str], datetime], Any],
        zone: ZoneInfo,
        *,
        interval: float = 1.0,
        run_lock: threading.Lock | None = None,
        max_pending: int | None = None,
    ) -> None:
        self.evaluate = evaluate
        self.zone = zone
        self.interval = max(0.05, float(interval))
        self.run_lock = run_lock or threading.Lock()
        self.max_pending = int(max_pending) if max_pending else MAX_PENDING
        self.refused = 0  # requests answered 429 because the queue was full
        # the customers waiting (a customer touched again while waiting is there once)
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.evaluated = 0
        self.last_error: str | None = None
        self.last_batch_at: datetime | None = None
        self.last_duration_s: float | None = None

    def enqueue(self, customer_ids: Iterable[str]) -> None:
        with self._pending_lock:
            self._pending.update(customer_ids)

    @property
    def pending(self) -> int:
        with self._pending_lock:
            return len(self._pending)

    @property
    def full(self) -> bool:
        """Whether the queue is at its bound: take no more events until a micro-batch drains it."""
        return self.pending >= self.max_pending

    def retry_after(self) -> int:
        """Seconds a refused client should wait: about one micro-batch (its interval, or the last one's
        duration when longer), at least 1."""
        return max(1, int(-(-max(self.interval, self.last_duration_s or 0.0) // 1)))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="segmentum-microbatch", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        # A fixed cadence: a micro-batch that took longer than the interval is followed at once, so the
        # delay from an event to its evaluation stays within about one interval plus one evaluation.
        next_at = time.monotonic() + self.interval
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            self.flush()
            next_at = max(next_at + self.interval, time.monotonic())

    def _take(self) -> list[str]:
        """Every customer waiting, no longer waiting."""
        with self._pending_lock:
            ids, self._pending = self._pending, set()
            return sorted(ids)

    def flush(self) -> int:
        """Evaluate every customer queued now; return how many customers were evaluated."""
        if not self.pending:
            return 0
        started = time.monotonic()
        ids: list[str] = []
        try:
            with self.run_lock:
                ids = self._take()
                if not ids:
                    return 0
                self.evaluate(ids, now_wall_clock(self.zone))
        except SegmentumError as exc:
            # Scheduled batch runs catch up on these customers; retrying here could loop on a bad definition.
            self.last_error = str(exc)
            log.warning("real-time evaluation of %d customers failed: %s", len(ids), exc)
            return 0
        except Exception as exc:  # noqa: BLE001 - the loop must survive anything an engine raises
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.exception("real-time evaluation of %d customers failed", len(ids))
            return 0
        self.batches += 1
        self.evaluated += len(ids)
        self.last_error = None
        self.last_batch_at = now_wall_clock(self.zone)
        self.last_duration_s = round(time.monotonic() - started, 3)
        return len(ids)

    def status(self) -> dict[str, Any]:
        return {
            "interval_s": self.interval,
            "pending": self.pending,
            "max_pending": self.max_pending,
            "refused": self.refused,
            "batches": self.batches,
            "evaluated": self.evaluated,
            "last_batch_at": self.last_batch_at,
            "last_duration_s": self.last_duration_s,
            "last_error": self.last_error,
        }


# ------------------------------------------------------------------------------------------------ compile once

TOUCHED = "_sgm_touched"  # the touched ids, registered on the writer's cursor (customer_id VARCHAR)
_SENTINEL = "__segmentum_touched__"
# how Ibis writes the real-time filter `customer_id IN (SELECT UNNEST([ids]))` for the one sentinel id
_TOUCHED_SQL = re.compile(r"SELECT\s+UNNEST\(\['" + _SENTINEL + r"'\]\)\s+AS\s+\"[^\"]*\"")
_STAMP = re.compile(r"MAKE_TIMESTAMP\((-?\d+), (\d+), (\d+), (\d+), (\d+), (\d+(?:\.\d+)?)\)")
# two times of day no as_of literal is likely to equal by chance (microseconds set)
_PROBES = (clock_time(3, 17, 29, 123457), clock_time(19, 41, 53, 876543))


class NotTemplatable(Exception):
    """The compiled SQL is not a fixed text with as_of-relative timestamps (the caller compiles each time)."""


def _stamp(match: re.Match[str]) -> datetime:
    y, mo, d, h, mi = (int(match.group(i)) for i in range(1, 6))
    seconds = float(match.group(6))
    whole = int(seconds)
    micro = round((seconds - whole) * 1_000_000)
    return datetime(y, mo, d, h, mi, whole) + timedelta(microseconds=micro)


def _render_stamp(ts: datetime) -> str:
    # as Ibis writes a timestamp literal (seconds as a float), so that a run sees the instants a batch run sees
    seconds = ts.second + ts.microsecond / 1e6
    return f"MAKE_TIMESTAMP({ts.year}, {ts.month}, {ts.day}, {ts.hour}, {ts.minute}, {seconds!r})"


def bind_touched(sql: str) -> str:
    """`sql` (compiled for the one sentinel id) reading the touched ids from the `_sgm_touched` table."""
    bound, count = _TOUCHED_SQL.subn(f"SELECT customer_id FROM {TOUCHED}", sql)
    if not count or _SENTINEL in bound:
        raise NotTemplatable("the touched ids are not only in the real-time filter")
    return bound


# a micro-batch's temporary copies of its customers' rows (`_BoundEngine`), on its own cursor: "temp"."main".<name>
STAGED = "_sgm_staged_"
STAGED_KEYS = f"{STAGED}_keys"  # the touched ids and their aliases: whose rows are staged
HELD_PART = "_sgm_held_part"  # a table's rows gathered from `HeldRows`, registered while they are copied
# a canonical table of the store as Ibis writes it (never a table of another schema or catalog)
_MAIN_TABLE = re.compile(r'(?<![."\w])"main"\."([A-Za-z_][A-Za-z0-9_]*)"')
_STAGED_TABLE = re.compile(r'"temp"\."main"\."' + STAGED + r'([A-Za-z_][A-Za-z0-9_]*)"')


# the canonical tables whose rows are a customer's (`customer_id`), staged for a micro-batch; not `identities`,
# which the SQL reads whole to move an alias's rows to its customer (`rules.identities_at`): a few rows per alias
_STAGEABLE = frozenset(
    name for name, spec in TABLES.items() if "customer_id" in spec.columns and name != IDENTITIES.name
)


def read_staged(sql: str) -> str:
    """`sql` (a micro-batch's, `bind_touched`) reading the staged copies of the canonical tables keyed by customer
    instead of `main`'s: `_BoundEngine` fills them with the touched customers' rows before it runs."""

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        return _staged_name(STAGED + name) if name in _STAGEABLE else match.group(0)

    return _MAIN_TABLE.sub(swap, sql)


def staged_tables(sql: str) -> tuple[str, ...]:
    """The canonical tables `sql` (`read_staged`) reads staged, in a fixed order."""
    return tuple(sorted(set(_STAGED_TABLE.findall(sql))))


_QUOTED = re.compile(r'"((?:[^"]|"")+)"')


def staged_columns(sql: str, columns: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """table -> the columns a micro-batch stages of it: those of `columns` ((table, column) of the store's
    `main`, in table order) that `sql` names (Ibis quotes every column it reads; a column named nowhere is read
    by nothing), with `customer_id` and `order_id` (the staging reads them). Staging only these is most of
    staging's cost saved: a wide column the query never reads (events' properties) is not decompressed."""
    named = {m.replace('""', '"') for m in _QUOTED.findall(sql)} | {"customer_id", "order_id"}
    tables = set(staged_tables(sql))
    out: dict[str, list[str]] = {}
    for table, column in columns:
        if table in tables and column in named:
            out.setdefault(table, []).append(column)
    return {t: tuple(c) for t, c in out.items()}


@dataclass(frozen=True)
class SqlTemplate:
    """The SQL of a real-time run for one day: fixed text between timestamp literals, each literal either a
    constant (datetime) or as_of plus an offset (timedelta)."""

    day: date
    parts: tuple[str, ...]
    stamps: tuple[datetime | timedelta, ...]

    def render(self, as_of: datetime) -> str:
        if as_of.date() != self.day:
            raise ValueError(f"a template of {self.day} cannot render as_of {as_of}")
        out = [self.parts[0]]
        for stamp, part in zip(self.stamps, self.parts[1:], strict=True):
            out.append(_render_stamp(as_of + stamp if isinstance(stamp, timedelta) else stamp))
            out.append(part)
        return "".join(out)

    def staged(self) -> SqlTemplate:
        """The template reading the staged tables (`read_staged` of its text: no timestamp names a table)."""
        return SqlTemplate(self.day, tuple(read_staged(p) for p in self.parts), self.stamps)

    @classmethod
    def from_probes(cls, day: date, first: str, second: str) -> SqlTemplate:
        """The template from the SQL compiled at the two probe times of `day` (`_PROBES`)."""
        a, b = (datetime.combine(day, t) for t in _PROBES)
        parts_a, parts_b = _STAMP.split(first), _STAMP.split(second)
        # split with 6 groups: text, y, mo, d, h, mi, s, text, ...
        if len(parts_a) != len(parts_b):
            raise NotTemplatable("the SQL differs in shape between two as_of of one day")
        texts = parts_a[::7]
        if texts != parts_b[::7]:
            raise NotTemplatable(
                "the SQL differs in more than timestamp literals between two as_of of one day"
            )
        stamps: list[datetime | timedelta] = []
        for ma, mb in zip(_STAMP.finditer(first), _STAMP.finditer(second), strict=True):
            ta, tb = _stamp(ma), _stamp(mb)
            if ta == tb:
                stamps.append(ta)
            elif tb - ta == b - a:
                stamps.append(ta - a)
            else:
                raise NotTemplatable(f"a timestamp literal ({ta}) is not a fixed offset from as_of")
        return cls(day, tuple(texts), tuple(stamps))


@dataclass
class _Compiled:
    key: tuple[Any, ...]
    defs: Definitions
    compiled: CompiledRun
    template: SqlTemplate | None  # None: compile again for each as_of (not templatable)
    staged: SqlTemplate | None  # the template reading the staged tables (`read_staged`), made once with it
    columns: dict[str, tuple[str, ...]]  # what a micro-batch stages of each table (`staged_columns`)


# DuckDB pushes a join's build side into the probe side's scan as an IN list (used for zonemap pruning) only
# while the build side holds at most this many distinct values (default 50); a micro-batch raises it to its
# number of touched ids on its own cursor, for its query only (BENCHMARKS.md "Real-time path")
OR_FILTER_SETTING = "dynamic_or_filter_threshold"
# beyond this many ids, random customers touch nearly every row group of a 1M-customer store (470 row groups
# of events: 1 - e^(-1000/470) = 88 % of them at 1,000), so the list prunes little; measured at 2,000 ids it made
# the events' scan slower, at 100 ids 5-8x faster (BENCHMARKS.md): larger micro-batches keep DuckDB's default
MAX_PUSHED_IDS = 1_000
# on fact tables in customer order in row groups of at most COMPACTED_CUSTOMERS_PER_ROW_GROUP customers
# (`segmentum compact`), a row group holds few customers, so a list of up to this many ids still skips most of
# them: measured at 1M, the query 1.3x faster at 2,000 ids pushed, 1.2x slower at 5,000 (BENCHMARKS.md "The
# storage step"). The same caps hold for the staging scans (`_BoundEngine._stage`), counted on the staged ids
# (touched ids and their aliases): at 2,000 ids pushing saved a sixth of the staging, at 5,000 nothing
# (BENCHMARKS.md "Staging"); with orders and items in row groups of about 280 customers, 5,000 ids still read
# two thirds of their rows and the scans were slower than in 16,384-row groups (BENCHMARKS.md "Row groups sized
# per table"), so the cap stays
COMPACTED_MAX_PUSHED_IDS = 2_000
# the 2,000 cap was measured with every table in 16,384-row groups, where an orders group held 1,650 customers
COMPACTED_CUSTOMERS_PER_ROW_GROUP = 2_048


def _pruned_by_customer(store: Store) -> bool:
    """Whether every fact table of the store is compacted in row groups of few customers."""
    held = compacted_customers_per_row_group(store)
    return held is not None and held <= COMPACTED_CUSTOMERS_PER_ROW_GROUP


def pushed_ids_cap(store: Store) -> int:
    """Up to how many touched ids a micro-batch pushes into the fact tables' scans on this store: more on a store
    whose fact tables are all compacted in row groups of few customers (`compacted_customers_per_row_group`)."""
    return COMPACTED_MAX_PUSHED_IDS if _pruned_by_customer(store) else MAX_PUSHED_IDS


class _BoundEngine:
    """What `execute._write` needs of an engine: the SQL of the results, here with the touched ids registered on
    the writer's cursor, and, when the SQL reads staged tables (`read_staged`), the touched customers' rows of
    each of them copied first into temporary tables of that cursor (`stage`): the query then reads a few
    thousand rows, not the store's fact tables two or three times. The cursor is set to push the touched ids
    into the scans (zonemaps skip the row groups that hold none of them); `release` drops the staged tables,
    unregisters the ids and restores the setting."""

    name = "duckdb"

    def __init__(
        self,
        sql: str,
        ids: list[str],
        as_of: datetime,
        cap: int = MAX_PUSHED_IDS,
        columns: dict[str, tuple[str, ...]] | None = None,
        held: HeldRows | None = None,
    ) -> None:
        self.sql = sql
        self.id_list = ids
        self.ids = pa.table({"customer_id": pa.array(ids, pa.string())})
        self.as_of = as_of
        self.cap = cap  # the most ids pushed into the scans (`pushed_ids_cap`)
        self.tables = staged_tables(sql)
        self.columns = columns or {}  # the columns staged of each table (`staged_columns`; absent: all)
        self.stage_s: float | None = None  # how long staging took (None: nothing staged)
        self.stage_steps: dict[
            str, float
        ] = {}  # seconds per staging statement: "keys", each table, "fetched"
        self.orders_fetched = 0  # orders of customers not staged, fetched for the staged items
        self.held = held  # the order tables' rows a server holds by customer (`runs.held_rows`)
        self.gathered: list[str] = []  # the tables staged from them, not scanned
        self._cur: Any = None

    def result_sql(self, expr: Any, cur: Any) -> str:
        cur.register(TOUCHED, self.ids)
        self._cur = cur
        if self.tables:
            mark = time.perf_counter()
            self._stage(cur)
            self.stage_s = round(time.perf_counter() - mark, 4)
        else:
            self._push(cur, self.ids.num_rows)
        return self.sql

    def _push(self, cur: Any, keys: int) -> None:
        # SET without GLOBAL is the cursor's own (a DuckDB client setting): no other reader or the batch path
        # sees it; never lower than DuckDB's default
        (default,) = cur.execute(f"SELECT current_setting('{OR_FILTER_SETTING}')").fetchone()
        if int(default) < keys <= self.cap:
            cur.execute(f"SET {OR_FILTER_SETTING} = {keys}")

    def _stage(self, cur: Any) -> None:
        """The rows of the touched customers, and of their aliases linked at or before as_of, of every staged
        table, one pruned scan each, in one transaction (one state of the store for all of them); then the
        orders that staged items belong to but no staged customer placed (an item's qualifying order may be
        another customer's), read from `main.orders` only when there are any."""
        keys = TOUCHED
        lap = Laps(self.stage_steps)
        cur.execute("BEGIN TRANSACTION")
        try:
            if '"main"."identities"' in self.sql:  # the SQL moves aliases' rows to their customers
                cur.execute(
                    f"CREATE OR REPLACE TEMP TABLE {STAGED_KEYS} AS SELECT customer_id FROM {TOUCHED} "
                    f"UNION {aliases_linked_sql(TOUCHED)}",
                    [self.as_of],
                )
                keys = _staged_name(STAGED_KEYS)
            (count,) = cur.execute(f"SELECT count(*) FROM {keys}").fetchone()
            self._push(cur, int(count))
            lap("keys")
            key_list: list[str] | None = None
            for table in self.tables:
                part = None
                if self.held is not None and table in HELD_TABLES and table in self.columns:
                    if key_list is None:
                        key_list = (
                            self.id_list
                            if keys == TOUCHED
                            else [r[0] for r in cur.execute(f"SELECT customer_id FROM {keys}").fetchall()]
                        )
                    part = self.held.rows(cur, table, self.columns[table], key_list)
                if part is None:
                    cur.execute(
                        f"CREATE OR REPLACE TEMP TABLE {STAGED}{table} AS SELECT {self._select_list(table)} "
                        f"FROM main.{ident(table)} WHERE customer_id IN (SELECT customer_id FROM {keys})"
                    )
                else:  # the same rows, gathered from memory into a table of the store table's column types
                    cur.execute(
                        f"CREATE OR REPLACE TEMP TABLE {STAGED}{table} AS SELECT {self._select_list(table)} "
                        f"FROM main.{ident(table)} LIMIT 0"
                    )
                    cur.register(HELD_PART, part)
                    try:
                        cur.execute(f"INSERT INTO {_staged_name(STAGED + table)} SELECT * FROM {HELD_PART}")
                    finally:
                        cur.unregister(HELD_PART)
                    self.gathered.append(table)
                lap(table)
            if "orders" in self.tables and "order_items" in self.tables:
                missing = (
                    f"SELECT order_id FROM {_staged_name(STAGED + 'order_items')} WHERE order_id IS NOT NULL "
                    f"EXCEPT SELECT order_id FROM {_staged_name(STAGED + 'orders')}"
                )
                (self.orders_fetched,) = cur.execute(f"SELECT count(*) FROM ({missing})").fetchone()
                if self.orders_fetched:  # rare: a scan of every order
                    cur.execute(
                        f"INSERT INTO {_staged_name(STAGED + 'orders')} "
                        f"SELECT {self._select_list('orders')} FROM main.orders WHERE order_id IN ({missing})"
                    )
                lap("fetched")
            cur.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # the failed statement may have ended the transaction
                cur.execute("ROLLBACK")
            raise

    def _select_list(self, table: str) -> str:
        """The columns staged of `table` (`staged_columns`), as a SELECT list; all of them when not known."""
        return ", ".join(ident(c) for c in self.columns[table]) if table in self.columns else "*"

    def release(self) -> None:
        """Undo what `result_sql` did to the cursor (after the run committed or failed)."""
        cur, self._cur = self._cur, None
        if cur is None:
            return
        try:
            cur.execute(f"RESET {OR_FILTER_SETTING}")
            for name in [STAGED_KEYS, *(STAGED + t for t in self.tables)]:
                cur.execute(f"DROP TABLE IF EXISTS {_staged_name(name)}")
            cur.unregister(TOUCHED)
        except Exception:  # noqa: BLE001 - never hide the run's own error; the cursor is not used again
            log.warning("could not reset the micro-batch's cursor", exc_info=True)


# how often a micro-batch folds the settled runs' traits tables into the live traits (`Evaluator.prune_every_s`,
# `runs.retention`): a batch run folds after each run; between, real-time traits tables pile up this long at most
PRUNE_EVERY_S = 10.0


def _columns_of(key: tuple[Any, ...]) -> list[tuple[str, str]]:
    """(table, column) of the store's `main` from an `Evaluator._key` (its shape: schema, table, column, type)."""
    shape = key[5] if len(key) > 5 else ()
    return [(table, column) for schema, table, column, _ in shape if schema == "main"]


def _staged_name(name: str) -> str:
    return f'"temp"."main".{ident(name)}'


class Evaluator:
    """Real-time runs of a workspace: `evaluate(ids, as_of)` re-evaluates the customers and stores a run of
    kind 'realtime' (with the live rows), compiling the definitions once per fingerprint and day."""

    def __init__(
        self,
        ctx: Context,
        definitions: DefinitionsCache | None = None,
        *,
        prune_every_s: float = PRUNE_EVERY_S,
        staged: bool = True,
        held: HeldRows | None = None,
    ) -> None:
        self.ctx = ctx
        self.definitions = definitions or DefinitionsCache(ctx)
        # the settled runs' traits tables are folded after a micro-batch at most this often (`runs.retention`
        # reads the catalog and writes the live traits: too much for every micro-batch of a second; 0: after each)
        self.prune_every_s = float(prune_every_s)
        self._pruned_at: float | None = None  # time.monotonic() of the last prune
        # the query reads staged copies of the touched customers' rows (False: the store's tables, pruned by
        # the ids pushed into their scans; bench.microbatch measures one against the other)
        self.staged = staged
        # the order tables' rows held in memory (a server's): staged by a gather, not a scan, once loaded
        self.held = held
        # the tables the last micro-batch gathered from `held`, not scanned
        self.gathered: tuple[str, ...] = ()
        self._cached: _Compiled | None = None
        self.compiles = 0  # how many times the definitions were compiled (tests and status)
        self.key_seconds = 0.0  # the last `_key`'s queries (timings)

    def _key(self, defs: Definitions, usable: Availability, as_of: datetime) -> tuple[Any, ...]:
        """What the compiled SQL depends on besides as_of's time of day, read in three small queries (four with
        an identities table): the definitions (the cache's object), the day, the models usable at as_of, the
        complete batch runs (the population values' sources: `snapshots.population_sources`), the columns of
        the tables read and whether any alias is linked."""
        from segmentum.store.catalog import model_tables

        started = time.perf_counter()
        store = self.ctx.store
        batch = store.query(
            f"SELECT run_id FROM {META}.runs WHERE status = 'complete' AND kind = 'batch' ORDER BY run_id"
        )
        shape = store.query(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND (schema_name = 'main' OR "
            "(schema_name = ? AND list_contains(?, table_name))) ORDER BY 1, 2, column_index",
            [META, model_tables(store)],
        )
        # the SQL joins the links when there is any (`rules.identities_at`): the first one compiles again
        linked = any(r[:2] == ("main", IDENTITIES.name) for r in shape) and bool(
            store.query(f"SELECT EXISTS (SELECT 1 FROM main.{IDENTITIES.name})")[0][0]
        )
        self.key_seconds = time.perf_counter() - started
        return (
            id(defs),
            as_of.date(),
            tuple(sorted(usable.skipped)),
            tuple(usable.unusable),
            tuple(r[0] for r in batch),
            tuple(tuple(r) for r in shape),
            linked,
        )

    def _compile_at(self, usable: Availability, as_of: datetime) -> tuple[CompiledRun, str]:
        from segmentum.engine.duckdb import DuckDBEngine
        from segmentum.runs.execute import compile_for

        engine = DuckDBEngine(self.ctx.store)
        compiled = compile_for(self.ctx, usable, engine, as_of, customers=[_SENTINEL])
        self.compiles += 1
        return compiled, engine.to_sql(compiled.expr)

    def sql(
        self, defs: Definitions, usable: Availability, as_of: datetime, *, staged: bool = True
    ) -> tuple[CompiledRun, str]:
        """The compiled run and its SQL at `as_of`, reading the touched ids from `_sgm_touched` and, `staged`,
        the canonical tables keyed by customer from the micro-batch's staged copies (`read_staged`), else
        from the store's `main`."""
        key = self._key(defs, usable, as_of)
        cached = self._cached
        if cached is None or cached.key != key or cached.defs is not defs:
            if cached is not None:
                parts = ("definitions", "day", "skipped", "models", "batch runs", "columns", "links")
                changed = [n for n, a, b in zip(parts, cached.key, key, strict=True) if a != b]
                log.info("real-time runs compile the definitions again: %s changed", ", ".join(changed))
            probes = [self._compile_at(usable, datetime.combine(as_of.date(), t)) for t in _PROBES]
            try:
                template: SqlTemplate | None = SqlTemplate.from_probes(
                    as_of.date(), bind_touched(probes[0][1]), bind_touched(probes[1][1])
                )
            except NotTemplatable as exc:
                log.warning("real-time runs compile the definitions for each micro-batch: %s", exc)
                template = None
            staged_template = template.staged() if template is not None else None
            columns = staged_columns(read_staged(bind_touched(probes[0][1])), _columns_of(key))
            cached = self._cached = _Compiled(key, defs, probes[0][0], template, staged_template, columns)
        if cached.template is not None and cached.staged is not None:
            return cached.compiled, (cached.staged if staged else cached.template).render(as_of)
        compiled, sql = self._compile_at(usable, as_of)
        bound = bind_touched(sql)
        return compiled, read_staged(bound) if staged else bound

    def staged_columns(self, sql: str) -> dict[str, tuple[str, ...]]:
        """What a micro-batch of `sql` (`sql(..., staged=True)`) stages of each table: the template's, worked
        out once with it, or, for SQL compiled for one as_of, worked out now."""
        cached = self._cached
        if cached is not None and cached.staged is not None:
            return cached.columns
        key = cached.key if cached is not None else ()
        return staged_columns(sql, _columns_of(key))

    def evaluate(
        self,
        customers: list[str],
        as_of: datetime,
        *,
        actions: bool = False,
        details: bool = True,
        committed: Callable[[int], None] | None = None,
    ) -> RunResult:
        """Re-evaluate `customers` at `as_of`: a complete run of kind 'realtime' (its memberships, the
        customers it re-evaluated, their traits and their live rows, in one transaction).

        `details`: compute the result's `transitions` and `sizes` (False: both left empty, as
        `execute.run(details=False)`: the server's micro-batch reads neither, and its triggers compute the
        transitions themselves). `committed`: called with the run's id as soon as it has committed, before the
        traits tables are pruned (the server refreshes the lookups' replica there, so that the new state shows
        without waiting for the housekeeping)."""
        from segmentum.runs import execute
        from segmentum.runs.sizes import member_counts

        if self.ctx.config.engine != "duckdb":  # Spark evaluates through the general path
            result = execute.run(
                self.ctx, customers=customers, kind="realtime", as_of=as_of, actions=actions, details=details
            )
            if committed is not None and result.run_id is not None:
                committed(result.run_id)
            return result
        started = time.perf_counter()
        store = self.ctx.store
        zone = self.ctx.config.timezone
        # seconds per step (bench.microbatch_cost reads them): definitions, key, compile, recover, start, then
        # _write's evaluate / write_memberships / commit, diff, prune, sizes
        lap = Laps()
        timings = lap.timings
        defs = self.definitions.current()
        usable = execute.definitions_at(self.ctx, defs, as_of)
        lap("definitions")
        self.key_seconds = 0.0
        compiled, sql = self.sql(defs, usable, as_of, staged=self.staged)
        lap("compile")
        timings["key"] = round(self.key_seconds, 4)  # part of "compile": the cache key's queries
        ids = sorted({str(c) for c in customers})
        execute.recover(store)
        lap("recover")
        run_id = execute._start(store, as_of, "duckdb", "realtime", usable.definitions, zone=zone)
        lap("start")
        key = (str(store.path.resolve()), run_id)
        with execute._ACTIVE_LOCK:
            execute._ACTIVE.add(key)
        columns = self.staged_columns(sql)
        bound = _BoundEngine(sql, ids, as_of, pushed_ids_cap(store), columns, self.held)
        try:
            trait_hashes = {t: defs.hashes[t] for t in compiled.traits if t in defs.hashes}
            count = execute._write(
                store,
                bound,
                compiled,
                run_id,
                "realtime",
                timings,
                trait_hashes=trait_hashes,
                actions=actions,
                zone=zone,
            )
        except BaseException as exc:
            execute._fail(store, run_id, exc, zone=zone)
            if isinstance(exc, SegmentumError):
                raise
            if isinstance(exc, Exception):
                raise execute.RunError(f"run {run_id} failed: {type(exc).__name__}: {exc}") from exc
            raise
        finally:
            bound.release()
            with execute._ACTIVE_LOCK:
                execute._ACTIVE.discard(key)
        if bound.stage_s is not None:  # part of "evaluate": the staging runs before the query
            timings["stage"] = bound.stage_s
            timings.update({f"stage.{name}": s for name, s in bound.stage_steps.items()})
        self.gathered = tuple(sorted(bound.gathered))
        if bound.stage_s is not None and self.held is not None:
            self.held.request(columns)  # what was scanned is loaded for the next ones (a thread of its own)
        lap.restart()
        if committed is not None:
            committed(run_id)
            lap("committed")
        now = time.monotonic()
        if self._pruned_at is None or now - self._pruned_at >= self.prune_every_s:
            # one traits table a second must not pile up (runs.retention): at most prune_every_s of them do
            execute.prune_traits(store)
            self._pruned_at = now
            lap("prune")
        if details:
            transitions = execute.diff_mod.diff(store, run_id)
            lap("diff")
            sizes = member_counts(store, run_id)
            lap("sizes")
        else:
            import pandas as pd

            transitions, sizes = pd.DataFrame(), pd.DataFrame()
        return execute.RunResult(
            run_id,
            as_of,
            "complete",
            "duckdb",
            "realtime",
            sizes,
            transitions,
            list(transitions.attrs.get("baselines", [])),
            list(usable.warnings),
            store,
            None,
            compiled,
            time.perf_counter() - started,
            customers=count,
            timings=timings,
        )


# ------------------------------------------------------------------------------------------------ lookups


@dataclass(frozen=True)
class LiveEntry:
    run_id: int
    as_of: datetime
    segments: tuple[str, ...]


# a LiveEntry as `LiveState` stores it: one int, `run_id << _NAMES_BITS | the index of its segments' names`
_NAMES_BITS = 32


class LiveState:
    """An in-process replica of the state now of every customer (`snapshots.current_state_groups`, the rule of
    `snapshots.current_memberships`), so that a lookup reads memory and never waits on the micro-batch
    writer: loaded in full at start and after each batch run, the customers of each micro-batch refreshed by
    the writer after its commit. Until loaded, `get` answers None and callers read the store.

    A load takes no lock the writers hold (at 100k customers it reads for seconds; the first writes and
    micro-batches of a new server must not wait for it): a refresh made while a load reads is noted and read
    again when the load is done, so the older full read never hides it; `forget` (a batch run wrote) makes a
    load in progress drop its result; `abandon` (the server stops) interrupts it for good.

    Memory: one int per customer, `run_id << 32 | names`: `names` indexes the sets of segment names seen
    (`_names`, one per distinct set, never per customer) and each run's as_of is kept once (`_as_of`); `get`
    builds the `LiveEntry` of one lookup. Why ints: Python's garbage collector never tracks a dict of strings
    and ints. A replica of 1M `LiveEntry` objects made every full collection traverse them (0.15 s with the GIL
    held: BENCHMARKS.md "Every customer waiting in one micro-batch"); with tuples as values, which each
    micro-batch puts in fresh, the dict itself was tracked again after every micro-batch and its million
    entries traversed by collections of every generation, 20-50 ms each by minute 5 at 2,000 events/s, while
    every lookup waited (BENCHMARKS.md "The lookups' growth found"). The two tables only grow: by a set of
    names not seen before, and by one as_of per run.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._states: dict[str, int] | None = None
        self._names: list[tuple[str, ...]] = []  # the sets of segment names, by the index the states hold
        self._names_index: dict[tuple[str, ...], int] = {}
        self._as_of: dict[int, datetime] = {}  # each run's as_of, by run_id
        self._encoding = threading.Lock()  # a load and a refresh may add to those two tables at once
        self.loaded_at: datetime | None = None
        self._lock = threading.Lock()
        self._generation = 0  # forget() moves it on: a load that began before installs nothing
        self._dirty: set[str] | None = None  # while a load reads: customers refreshed meanwhile
        self._reading: Any = None  # the cursor a load reads with (abandon interrupts it)
        self._abandoned = False
        self._abandon = threading.Event()  # set with _abandoned: ends a wait of `faults.delay_point`
        self._one_load = threading.Lock()  # loads one at a time: they share the notes of `_dirty`

    def load(self) -> int:
        """Read every customer's state; returns how many (0 when forgotten or abandoned meanwhile)."""
        with self._one_load:
            try:
                return self._load()
            finally:  # however it ended (a failed read too): micro-batches stop noting their customers
                with self._lock:
                    self._dirty = None

    def _load(self) -> int:
        from segmentum.store.snapshots import current_state_groups

        with self._lock:
            if self._abandoned:
                return 0
            generation, self._dirty = self._generation, set()
            self._reading = cursor = self.store.cursor()
        try:
            groups = current_state_groups(self.store, cursor=cursor)
        except Exception:
            if self._abandoned:  # interrupted by abandon(): the server stops, nobody reads the replica
                return 0
            raise
        finally:
            with self._lock:
                self._reading = None
        self._abandon.wait(delay_point("live_loaded"))  # tests only: a read that took long
        states: dict[str, int] = {}
        for run_id, as_of, names, ids in groups:
            states.update(dict.fromkeys(ids, self._encode(run_id, as_of, names)))
        while True:  # the customers micro-batches refreshed while this load read, read again
            with self._lock:
                dirty = self._dirty or set()
                if self._abandoned or generation != self._generation:
                    self._dirty = None
                    return 0
                if not dirty:
                    self._states, self._dirty = states, None
                    self.loaded_at = datetime.now()
                    return len(states)
                self._dirty = set()
            self._apply(states, sorted(dirty))

    def _apply(self, states: dict[str, int], customer_ids: list[str], since_run: int | None = None) -> None:
        from segmentum.store.snapshots import current_state_groups

        groups = current_state_groups(self.store, customer_ids, since_run=since_run)
        fresh: dict[str, int] = {}
        for run_id, as_of, names, ids in groups:
            fresh.update(dict.fromkeys(ids, self._encode(run_id, as_of, names)))
        for cid in customer_ids:
            if cid in fresh:
                states[cid] = fresh[cid]
            else:
                states.pop(cid, None)

    def _encode(self, run_id: int, as_of: datetime, names: tuple[str, ...]) -> int:
        """The int a customer in this state is stored as. The tables are written before any state that reads
        them, so a lookup on another thread always finds what its int names."""
        with self._encoding:
            index = self._names_index.get(names)
            if index is None:
                self._names.append(names)
                index = self._names_index[names] = len(self._names) - 1
            self._as_of[int(run_id)] = as_of
        return int(run_id) << _NAMES_BITS | index

    def refresh(self, customer_ids: list[str], since_run: int | None = None) -> None:
        """Read the state of these customers again (after a micro-batch committed: `since_run`, its run, which
        re-evaluated all of them; see `snapshots.current_state_groups`)."""
        if not customer_ids:
            return
        with self._lock:
            if self._dirty is not None:  # a load is reading: it reads these again when it is done
                self._dirty.update(customer_ids)
            states = self._states
        if states is not None:
            self._apply(states, list(customer_ids), since_run)

    def forget(self) -> None:
        """Drop the replica (lookups read the store until the next load), and a load in progress with it."""
        with self._lock:
            self._states = None
            self._generation += 1

    def abandon(self) -> None:
        """The server stops: interrupt a load in progress and load nothing more."""
        with self._lock:
            self._abandoned = True
            reading = self._reading
        self._abandon.set()
        if reading is not None:
            with contextlib.suppress(duckdb.Error):  # the read may have just ended
                reading.interrupt()

    @property
    def ready(self) -> bool:
        return self._states is not None

    def get(self, customer_id: str) -> LiveEntry | None:
        """The customer's state now; None when not loaded or when no run holds the customer."""
        states = self._states
        entry = None if states is None else states.get(customer_id)
        if entry is None:
            return None
        run_id = entry >> _NAMES_BITS
        return LiveEntry(run_id, self._as_of[run_id], self._names[entry & ((1 << _NAMES_BITS) - 1)])

    def __len__(self) -> int:
        return len(self._states or {})
