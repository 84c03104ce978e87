"""The persisted outbox: every action a trigger fires is a row here before anything is sent.

Rows are enqueued in one transaction with an idempotency key `trigger:customer_id:run_id:action_index`
(insert-or-ignore), so processing a run twice enqueues nothing new. `deliver` drains the due rows: a success
marks the row delivered (or skipped); a failure schedules a retry with exponential backoff and jitter until
`max_attempts`, then marks it failed, from where `retry` puts it back. A process killed in the middle of a
delivery leaves the row pending; it is sent again with the same key, so a receiver can drop the repeat.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from segmentum.actions.sinks import Delivered, DeliveryError, OutboxItem, Sink, sink_class
from segmentum.clock import now as ws_now
from segmentum.context import Context
from segmentum.errors import ActionError, NotFoundError
from segmentum.faults import crash_point
from segmentum.store import META

STATUSES = ("pending", "delivered", "failed", "skipped")
COLUMNS = [
    "id",
    "idempotency_key",
    "trigger",
    "action_type",
    "customer_id",
    "run_id",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "delivered_at",
    "reason",
]
# why a policy skipped or held an action (actions/policy.py)
REASONS = ("cooldown", "cap", "suppressed", "holdout", "quiet_hours")
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 3600.0
DEFAULT_MAX_ATTEMPTS = 8
_DELIVER_LOCK = threading.Lock()


def idempotency_key(trigger: str, customer_id: str | None, run_id: int, action_index: int) -> str:
    return f"{trigger}:{customer_id if customer_id is not None else '*'}:{int(run_id)}:{int(action_index)}"


@dataclass
class Entry:
    """An action ready to be enqueued."""

    trigger: str
    action_type: str
    customer_id: str | None
    run_id: int
    action_index: int
    payload: dict[str, Any]
    status: str = "pending"
    last_error: str | None = None
    reason: str | None = (
        None  # a policy's: skipped (cooldown, cap, suppressed, holdout) or held (quiet_hours)
    )
    next_attempt_at: datetime | None = None  # not before (quiet hours); None: due now

    @property
    def key(self) -> str:
        return idempotency_key(self.trigger, self.customer_id, self.run_id, self.action_index)


def enqueue(
    ws: Context,
    entries: list[Entry],
    *,
    processed_run: int | None = None,
    failed: int = 0,
    transitions: pd.DataFrame | None = None,
) -> int:
    """Insert entries in one transaction, ignoring keys already present. Returns how many were new.

    With `processed_run`, the same transaction records in the audit log that the run's transitions were
    processed ('actions_processed', answering the run's 'actions_pending'): either the actions and that
    record are stored, or neither is. `transitions` (actions/policy.py, `Policy.frame`) are recorded in
    the same transaction, a (trigger, customer, run) already recorded kept as it was."""
    store = ws.store
    created = ws_now(ws.config.timezone)
    frame = pd.DataFrame(
        {
            "idempotency_key": [e.key for e in entries],
            "trigger": [e.trigger for e in entries],
            "action_type": [e.action_type for e in entries],
            "customer_id": pd.Series([e.customer_id for e in entries], dtype="object"),
            "run_id": pd.Series([int(e.run_id) for e in entries], dtype="int64"),
            "payload": pd.Series(
                [json.dumps(e.payload, ensure_ascii=False, default=_json_default) for e in entries],
                dtype="object",
            ),
            "status": pd.Series([e.status for e in entries], dtype="object"),
            "last_error": pd.Series([e.last_error for e in entries], dtype="object"),
            "reason": pd.Series([e.reason for e in entries], dtype="object"),
            "next_attempt_at": pd.Series([e.next_attempt_at for e in entries], dtype="datetime64[us]"),
        }
    )
    cur = store.cursor()
    with store.transaction(cur):
        before = after = 0
        if entries:
            before = _one(cur, f"SELECT count(*) FROM {META}.outbox")[0]
            cur.register("_segmentum_outbox_new", frame)
            try:
                # an action that failed to render (or whose trigger was invalid) is replaced once it renders
                replaced = _one(
                    cur,
                    f"""DELETE FROM {META}.outbox WHERE status = 'failed' AND json_exists(payload, '$.render_error')
                        AND idempotency_key IN (SELECT idempotency_key FROM _segmentum_outbox_new WHERE status = 'pending')""",
                )[0]
                before -= int(replaced or 0)
                # keys already present (a re-run, or a resumed process) are skipped, keeping the first payload
                cur.execute(
                    f"""INSERT INTO {META}.outbox (id, idempotency_key, trigger, action_type, customer_id, run_id, payload,
                            status, attempts, next_attempt_at, last_error, created_at, reason)
                        SELECT nextval('{META}.outbox_seq'), n.idempotency_key, n.trigger, n.action_type,
                            n.customer_id::VARCHAR, n.run_id, n.payload::JSON, n.status, 0,
                            coalesce(n.next_attempt_at, ?),
                            n.last_error::VARCHAR, ?, n.reason::VARCHAR
                        FROM (SELECT DISTINCT ON (idempotency_key) * FROM _segmentum_outbox_new) n
                        WHERE NOT EXISTS (SELECT 1 FROM {META}.outbox o WHERE o.idempotency_key = n.idempotency_key)
                        ORDER BY n.idempotency_key""",
                    [created, created],
                )
            finally:
                cur.unregister("_segmentum_outbox_new")
            after = _one(cur, f"SELECT count(*) FROM {META}.outbox")[0]
        if transitions is not None and len(transitions):
            cur.register("_segmentum_transitions_new", transitions)
            try:
                cur.execute(
                    f"""INSERT INTO {META}.trigger_transitions
                            (trigger, customer_id, run_id, as_of, grp, outcome, recorded_at)
                        SELECT n.trigger, n.customer_id::VARCHAR, n.run_id, n.as_of, n.grp, n.outcome, ?
                        FROM _segmentum_transitions_new n
                        WHERE NOT EXISTS (SELECT 1 FROM {META}.trigger_transitions t WHERE t.trigger = n.trigger
                            AND t.customer_id = n.customer_id AND t.run_id = n.run_id)""",
                    [created],
                )
            finally:
                cur.unregister("_segmentum_transitions_new")
        if processed_run is not None:
            cur.execute(
                f"INSERT INTO {META}.audit_log VALUES (?, 'actions_processed', ?, ?)",
                [
                    created,
                    str(int(processed_run)),
                    json.dumps({"enqueued": int(after - before), "failed": failed}),
                ],
            )
    return int(after - before)


def _one(cur: Any, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    """The single row of an aggregate query."""
    row = cur.execute(sql, params or []).fetchone()
    assert row is not None  # aggregates always return a row
    return tuple(row)


def _json_default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value) if abs(value) < 10**15 else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


@dataclass
class DeliveryReport:
    delivered: int = 0
    skipped: int = 0
    failed: int = 0
    retrying: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "skipped": self.skipped,
            "failed": self.failed,
            "retrying": self.retrying,
            "errors": self.errors[:20],
        }


class _RateLimit:
    """At most `rate` sends per second per sink (spacing sends evenly)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate and rate > 0 else 0.0
        self.next = 0.0

    def wait(self) -> None:
        if self.interval:
            delay = self.next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.next = max(self.next, time.monotonic()) + self.interval


def backoff_seconds(
    attempts: int,
    *,
    base: float = BACKOFF_BASE_S,
    cap: float = BACKOFF_CAP_S,
    rng: random.Random | None = None,
) -> float:
    """Delay before attempt `attempts + 1`: exponential with ±50 % jitter, at most `cap`."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (0.5 + (rng or random).random())


def max_attempts_for(ws: Context, action_type: str) -> int:
    if action_type == "webhook":
        return max(1, ws.config.webhooks.max_attempts)
    return DEFAULT_MAX_ATTEMPTS


def deliver(
    ws: Context,
    *,
    ids: list[int] | None = None,
    due_only: bool = True,
    limit: int | None = None,
    now: datetime | None = None,
    backoff_base: float = BACKOFF_BASE_S,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Send pending outbox rows (those due unless `due_only=False`), oldest first.

    Parameters
    ----------
    ids:
        only these rows.
    due_only:
        skip rows whose next attempt is scheduled later (False sends every pending row now).
    now:
        the time to compare schedules with (default: the wall clock in the workspace time zone).
    """
    store = ws.store
    with _DELIVER_LOCK:
        cur = store.cursor()
        clock = now or ws_now(ws.config.timezone)
        where = ["status = 'pending'"]
        params: list[Any] = []
        if due_only:
            where.append("(next_attempt_at IS NULL OR next_attempt_at <= ?)")
            params.append(clock)
        else:  # not waiting for a retry is an operator's call; quiet hours are the customer's, never skipped
            where.append(
                "(reason IS DISTINCT FROM 'quiet_hours' OR next_attempt_at IS NULL OR next_attempt_at <= ?)"
            )
            params.append(clock)
        if ids:
            where.append(f"id IN ({', '.join('?' for _ in ids)})")
            params += [int(i) for i in ids]
        sql = (
            f"SELECT id, idempotency_key, trigger, action_type, customer_id, run_id, payload, attempts "
            f"FROM {META}.outbox WHERE {' AND '.join(where)} ORDER BY id"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = cur.execute(sql, params).fetchall()
        report = DeliveryReport()
        sinks: dict[str, Sink] = {}
        limits: dict[str, _RateLimit] = {}
        items = [
            OutboxItem(
                int(r[0]),
                r[1],
                r[2],
                r[3],
                r[4],
                int(r[5]),
                json.loads(r[6]) if isinstance(r[6], str) else r[6],
                int(r[7]),
            )
            for r in rows
        ]
        try:
            position = 0
            while position < len(items):
                if stop is not None and stop.is_set():
                    break
                item = items[position]
                batch = _store_batch(ws, items, position, sinks)
                if batch and _deliver_batch(ws, cur, batch, sinks[item.action_type], report):
                    position += len(batch)
                    continue
                _deliver_one(ws, cur, item, sinks, limits, report, backoff_base)
                position += 1
        finally:
            for sink in sinks.values():
                sink.close()
        return report


STORE_BATCH = 1000


def _store_batch(
    ws: Context, items: list[OutboxItem], start: int, sinks: dict[str, Sink]
) -> list[OutboxItem]:
    """Consecutive items of a sink that writes only to the store (tasks): delivered in one transaction."""
    kind = items[start].action_type
    if kind not in sinks:
        try:
            sinks[kind] = sink_class(kind)(ws)
        except ActionError:
            return []
    if not sinks[kind].transactional:
        return []
    end = start
    while (
        end < len(items)
        and end - start < STORE_BATCH
        and items[end].action_type == kind
        and "action" in items[end].payload
    ):
        end += 1
    return items[start:end] if end - start > 1 else []


def _deliver_batch(
    ws: Context, cur: Any, batch: list[OutboxItem], sink: Sink, report: DeliveryReport
) -> bool:
    """All or nothing; False (rolled back) sends the caller item by item, to find the one that fails."""
    try:
        with ws.store.transaction(cur):
            clock = ws_now(ws.config.timezone)
            results = sink.deliver_many(batch, cur)
            frame = pd.DataFrame(
                {
                    "id": [i.id for i in batch],
                    "status": ["skipped" if r.status == "skipped" else "delivered" for r in results],
                    "note": pd.Series(
                        [r.note if r.status == "skipped" else None for r in results], dtype="object"
                    ),
                }
            )
            cur.register("_segmentum_delivered", frame)
            try:
                cur.execute(
                    f"""UPDATE {META}.outbox o SET status = d.status, attempts = o.attempts + 1,
                                delivered_at = ?, next_attempt_at = NULL, last_error = d.note::VARCHAR
                                FROM _segmentum_delivered d WHERE o.id = d.id""",
                    [clock],
                )
            finally:
                cur.unregister("_segmentum_delivered")
    except Exception:  # noqa: BLE001 - retried one by one, which records the failing item
        return False
    for result in results:
        if result.status == "skipped":
            report.skipped += 1
        else:
            report.delivered += 1
    return True


def _deliver_one(
    ws: Context,
    cur: Any,
    item: OutboxItem,
    sinks: dict[str, Sink],
    limits: dict[str, _RateLimit],
    report: DeliveryReport,
    backoff_base: float,
) -> None:
    store = ws.store
    try:
        if item.action_type not in sinks:
            sinks[item.action_type] = sink_class(item.action_type)(ws)
        if item.action_type not in limits:
            limits[item.action_type] = _RateLimit(sinks[item.action_type].rate_per_second)
        sink = sinks[item.action_type]
        if "action" not in item.payload:
            raise DeliveryError(
                f"the action was never rendered: {item.payload.get('render_error')}", retry=False
            )
        limits[item.action_type].wait()
        if sink.transactional:
            with store.transaction(cur):
                result = sink.deliver(item, cur)
                _mark(cur, item, result, ws_now(ws.config.timezone))
        else:
            result = sink.deliver(item, cur)
            crash_point("after_send")  # sent, not yet marked: the item is sent again, with the same key
            _mark(cur, item, result, ws_now(ws.config.timezone))
    except Exception as exc:  # noqa: BLE001 - one bad item must not stop the others
        # DeliveryError says whether to retry; an ActionError (bad config) or a bug in a sink does not retry
        retry = getattr(exc, "retry", False)
        attempts = item.attempts + 1
        clock = ws_now(ws.config.timezone)
        if retry and attempts < max_attempts_for(ws, item.action_type):
            delay = backoff_seconds(attempts, base=backoff_base)
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                delay = max(delay, min(retry_after, BACKOFF_CAP_S))
            cur.execute(
                f"UPDATE {META}.outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                [attempts, clock + timedelta(seconds=delay), str(exc), item.id],
            )
            report.retrying += 1
        else:
            cur.execute(
                f"UPDATE {META}.outbox SET status = 'failed', attempts = ?, next_attempt_at = NULL, "
                "last_error = ? WHERE id = ?",
                [attempts, str(exc), item.id],
            )
            report.failed += 1
        report.errors.append(
            f"#{item.id} {item.action_type}: {exc if isinstance(exc, ActionError) else repr(exc)}"
        )
        return
    if result.status == "skipped":
        report.skipped += 1
    else:
        report.delivered += 1


def _mark(cur: Any, item: OutboxItem, result: Delivered, clock: datetime) -> None:
    status = "skipped" if result.status == "skipped" else "delivered"
    cur.execute(
        f"UPDATE {META}.outbox SET status = ?, attempts = attempts + 1, delivered_at = ?, "
        "next_attempt_at = NULL, last_error = ? WHERE id = ?",
        [status, clock, result.note if status == "skipped" else None, item.id],
    )


def retry(ws: Context, ids: list[int] | None = None, *, all_failed: bool = False) -> int:
    """Put failed rows (these ids, or every failed row) back to pending, due now, with a fresh attempt budget."""
    store = ws.store
    if not ids and not all_failed:
        raise ActionError("name the outbox items to retry (IDs) or ask for all failed ones (--all)")
    cur = store.cursor()
    if ids:
        found = {
            r[0]: r[1]
            for r in cur.execute(
                f"SELECT id, status FROM {META}.outbox WHERE id IN ({', '.join('?' for _ in ids)})", ids
            ).fetchall()
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(
                f"no outbox item with id {missing[0]}; `segmentum outbox --status failed` lists "
                "the failed ones"
            )
        bad = [i for i in ids if found[i] not in ("failed", "pending")]
        if bad:
            raise ActionError(
                f"outbox item {bad[0]} is {found[bad[0]]}, not failed; only failed or pending items "
                "can be retried (a delivered item is never sent twice)"
            )
        cond, params = f"id IN ({', '.join('?' for _ in ids)})", list(ids)
    else:
        cond, params = "status = 'failed'", []
    with store.transaction(cur):
        count = _one(
            cur,
            f"SELECT count(*) FROM {META}.outbox WHERE {cond} AND status IN ('failed', 'pending')",
            params,
        )[0]
        cur.execute(
            f"UPDATE {META}.outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            f"WHERE {cond} AND status IN ('failed', 'pending')",
            [ws_now(ws.config.timezone), *params],
        )
    return int(count)


def check_reason(reason: str | None) -> None:
    """ActionError unless `reason` is None or a policy's reason."""
    if reason is not None and reason not in REASONS:
        raise ActionError(f"unknown reason {reason!r}; use one of {', '.join(REASONS)}")


def list_outbox(
    ws: Context,
    *,
    status: str | None = None,
    trigger: str | None = None,
    run_id: int | None = None,
    limit: int | None = None,
    payload: bool = False,
    reason: str | None = None,
) -> list[dict[str, Any]]:
    """Outbox rows, newest first; `reason` keeps the actions a policy skipped or held for that reason."""
    if status is not None and status not in STATUSES:
        raise ActionError(f"unknown outbox status {status!r}; use one of {', '.join(STATUSES)}")
    check_reason(reason)
    where, params = [], []
    for column, value in (("status", status), ("trigger", trigger), ("run_id", run_id), ("reason", reason)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    columns = COLUMNS + (["payload"] if payload else [])
    sql = (
        f"SELECT {', '.join(columns)} FROM {META}.outbox {'WHERE ' + ' AND '.join(where) if where else ''} "
        "ORDER BY id DESC"
    )
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = ws.store.cursor().execute(sql, params).fetchall()
    out = [dict(zip(columns, row, strict=True)) for row in rows]
    for row in out:
        if payload and isinstance(row.get("payload"), str):
            row["payload"] = json.loads(row["payload"])
    return out


def counts(ws: Context) -> dict[str, int]:
    rows = ws.store.cursor().execute(f"SELECT status, count(*) FROM {META}.outbox GROUP BY status").fetchall()
    return {s: 0 for s in STATUSES} | {r[0]: int(r[1]) for r in rows}


def deliver_until_done(
    ws: Context, *, timeout: float = 60.0, backoff_base: float = BACKOFF_BASE_S
) -> DeliveryReport:
    """Deliver repeatedly, waiting for scheduled retries, until nothing is pending (but items held for quiet
    hours) or `timeout` passes."""
    total = DeliveryReport()
    deadline = time.monotonic() + timeout
    while True:
        report = deliver(ws, backoff_base=backoff_base)
        total.delivered += report.delivered
        total.skipped += report.skipped
        total.failed += report.failed
        total.errors += report.errors
        # items held for quiet hours are not waited for: they are due hours later, by design
        row = _one(
            ws.store.cursor(),
            f"""SELECT count(*), min(next_attempt_at) FROM {META}.outbox WHERE status = 'pending'
                AND NOT (reason IS NOT DISTINCT FROM 'quiet_hours' AND next_attempt_at > ?)""",
            [ws_now(ws.config.timezone)],
        )
        total.retrying = int(row[0])
        if not row[0] or time.monotonic() >= deadline:
            return total
        wait = (row[1] - ws_now(ws.config.timezone)).total_seconds() if row[1] is not None else 0.0
        time.sleep(min(max(wait, 0.05), max(0.0, deadline - time.monotonic())))


class DeliveryWorker:
    """Delivers due outbox rows every `interval` seconds in a background thread (for `segmentum serve`).

    Runs enqueue their actions with `act_on_run(ws, result, deliver_now=False)`; this worker sends them, so a
    slow receiver never holds up a micro-batch.
    """

    def __init__(self, ws: Context, *, interval: float = 1.0) -> None:
        self.ws = ws
        self.interval = interval
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.last: DeliveryReport | None = None
        self.last_error: str | None = None

    def start(self) -> DeliveryWorker:
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="segmentum-outbox", daemon=True)
            self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.last = deliver(self.ws, stop=self.stop_event)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - keep delivering; the error is shown by status
                self.last_error = f"{type(exc).__name__}: {exc}"
            self.stop_event.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None
