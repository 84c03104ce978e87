"""The real-time path: events posted to the API are appended to `main.events` and the customers they
touch are re-evaluated in micro-batches (DESIGN.md section 3, principle 5).

`append_events` writes one request's events, and creates the customers it has not seen, in one
transaction; then the touched ids are queued. `MicroBatcher` wakes every `serve.micro_batch_seconds`
and runs the engine on the queued ids with `kind="realtime"` and `as_of` = now.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from segmentum.errors import SegmentumError
from segmentum.schema import CUSTOMERS, EVENTS
from segmentum.store import Store

if TYPE_CHECKING:
    from segmentum.context import Context
    from segmentum.spec.loader import Definitions

log = logging.getLogger("segmentum.runs.realtime")

_NUMERIC_ID = re.compile(r"^(-?\d+)\.0*$")


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


class EventWriter:
    """Appends events to the store; one writer at a time (so that a new customer is created once)."""

    def __init__(self, store: Store, zone: ZoneInfo) -> None:
        self.store = store
        self.zone = zone
        self.lock = threading.Lock()
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        con = self.store.cursor()
        # the canonical tables, as ingest would create them, when no file was loaded yet
        con.execute(EVENTS.ddl())
        con.execute(CUSTOMERS.ddl(["customer_id"]))
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
        batch = pa.table(
            {
                "event_id": pa.array([uuid.uuid4().hex for _ in rows], pa.string()),
                "customer_id": pa.array(ids, pa.string()),
                "event": pa.array([r.event for r in rows], pa.string()),
                "occurred_at": pa.array(
                    [to_wall_clock(r.occurred_at, self.zone) for r in rows], pa.timestamp("us")
                ),
                "properties": pa.array(
                    [
                        None
                        if r.properties is None
                        else json.dumps(r.properties, ensure_ascii=False, allow_nan=False)
                        for r in rows
                    ],
                    pa.string(),
                ),
            }
        )
        name = f"_sgm_events_{uuid.uuid4().hex}"
        with self.lock:
            self._prepare()
            cur = self.store.cursor()
            cur.register(name, batch)
            try:
                with self.store.transaction(cur):
                    row = cur.execute(
                        f"SELECT count(DISTINCT b.customer_id) FROM {name} b "
                        "WHERE NOT EXISTS (SELECT 1 FROM main.customers c WHERE c.customer_id = b.customer_id)"
                    ).fetchone()
                    new = int(row[0]) if row else 0
                    if new:
                        cur.execute(
                            f"INSERT INTO main.customers (customer_id) SELECT DISTINCT b.customer_id FROM {name} b "
                            "WHERE NOT EXISTS (SELECT 1 FROM main.customers c WHERE c.customer_id = b.customer_id)"
                        )
                    cur.execute(
                        "INSERT INTO main.events (event_id, customer_id, event, occurred_at, properties) "
                        f"SELECT event_id, customer_id, event, occurred_at, properties::JSON FROM {name}"
                    )
            finally:
                cur.unregister(name)
                cur.close()
        unique = sorted(set(ids))
        return AppendResult(len(rows), len(unique), new, unique)


class MicroBatcher:
    """Re-evaluates touched customers every `interval` seconds on a background thread.

    Parameters
    ----------
    evaluate:
        called with (customer ids, as_of); runs the engine in real-time mode.
    run_lock:
        held while evaluating, so a micro-batch never overlaps a batch run (one writer of snapshots).
    """

    def __init__(
        self,
        evaluate: Callable[[list[str], datetime], Any],
        zone: ZoneInfo,
        *,
        interval: float = 1.0,
        run_lock: threading.Lock | None = None,
    ) -> None:
        self.evaluate = evaluate
        self.zone = zone
        self.interval = max(0.05, float(interval))
        self.run_lock = run_lock or threading.Lock()
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

    def flush(self) -> int:
        """Evaluate what is queued now; return how many customers were evaluated."""
        with self._pending_lock:
            ids, self._pending = sorted(self._pending), set()
        if not ids:
            return 0
        started = time.monotonic()
        try:
            with self.run_lock:
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
            "batches": self.batches,
            "evaluated": self.evaluated,
            "last_batch_at": self.last_batch_at,
            "last_duration_s": self.last_duration_s,
            "last_error": self.last_error,
        }
