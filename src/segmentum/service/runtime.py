"""What a running API holds: the workspace, its keys, the event writer, the micro-batcher, batch runs and
the schedule. Routes reach it as `request.app.state.runtime`.

Locks: `run_lock` lets one run write snapshots at a time (a batch run or a micro-batch), and every change
made from a page or the API waits for it (`Runtime.write`); the event
writer has its own lock, so posting events never waits for a long batch run. Readers use a cursor per
request and see only complete runs (DuckDB's snapshot isolation).
"""

from __future__ import annotations

import gc
import hmac
import logging
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from segmentum.config import memory_bytes
from segmentum.errors import BusyError, NotFoundError, SegmentumError
from segmentum.progress import Estimate
from segmentum.runs.backfill import point_row
from segmentum.runs.held_rows import HeldRows
from segmentum.runs.realtime import (
    DefinitionsCache,
    Evaluator,
    EventWriter,
    LiveState,
    MicroBatcher,
    now_wall_clock,
)
from segmentum.service.keys import ApiKey, KeyStore
from segmentum.service.schedule import Schedule, parse_schedule
from segmentum.store.reclaim import reclaim_main_tables
from segmentum.views.customers import segments_in_replica
from segmentum.workspace import Workspace

if TYPE_CHECKING:
    from segmentum.service.commands import Command

log = logging.getLogger("segmentum.api")

# DuckDB's own automatic checkpoint in a server: at this many times `serve.checkpoint_wal`, for the writes no
# micro-batch follows (`Runtime._checkpoint_if_due` checkpoints after a micro-batch at `serve.checkpoint_wal`)
AUTOMATIC_CHECKPOINT_FACTOR = 2


# one settling at a time: a load of the replica and a run's warming may end together
_SETTLING = threading.Lock()


def settle_heap() -> None:
    """Collect garbage once, then exempt everything alive from later collections (`gc.freeze`).

    A served store at 1M customers made each of Python's full collections hold the GIL for 96-301 ms (about
    one a minute under load), and every lookup waited it out; what they traverse is the process's long-lived
    objects (modules, caches, the lookups' replica). Frozen, a full collection looks only at what was made
    since. `segmentum serve` calls this where its long-lived objects change: the replica loaded (at start,
    after a batch run or a writing command) and a run's profiles warmed. The earlier freeze is undone first,
    so what those replaced is collected, not kept: one full collection per such change instead of one a
    minute. Process-wide, so only the serving process does it (`Runtime(settle_heap=True)`)."""
    with _SETTLING:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


@dataclass
class BatchJob:
    """Work that writes snapshots, run in the background one at a time: a batch run or a backfill."""

    job_id: int
    as_of: Any
    only: list[str] | None
    trigger: str  # 'api' | 'schedule' | 'cli' (an operation of the local CLI's command channel)
    started_at: datetime
    kind: str = "run"  # run | backfill | an operation of the command channel (ingest, report)
    # running | complete | failed | stopped (the server stopped between backfill points)
    status: str = "running"
    finished_at: datetime | None = None
    result: Any = None  # RunResult of a run; the list of RunResults of a backfill
    message: str | None = None
    steps: int = 1  # points of a backfill
    done: int = 0
    # the time left, from the pace so far (segmentum.progress: the one estimate every display shows)
    estimate: Estimate = field(default_factory=Estimate, repr=False)
    seconds: float | None = None  # how long it took, once finished
    label: str | None = None  # the step in progress, as the library reports it (e.g. "reading orders.csv")
    unit: str = ""  # of `done` and `total`: segmentum.progress.BYTES, or items
    # the pace of the current step (a job of several steps, each in its own unit, estimates each apart)
    step: Estimate = field(default_factory=Estimate, repr=False)
    # a backfill's runs.reuse.CompiledOnce, shared by its points: how many compiled their SQL, how many reused it
    reuse: Any = field(default=None, repr=False)
    # an operation of the command channel: the tag its CLI chose, under which it reads the progress back
    tag: str | None = None

    def report(self, done: int, total: int | None, label: str, unit: str = "") -> None:
        """A `segmentum.progress.Progress` callback: the library's progress of this job's work."""
        if label != self.label or unit != self.unit:
            self.step.restart()
        self.label, self.unit = label, unit
        self.done, self.steps = done, (total if total is not None else 0)

    def as_dict(self) -> dict[str, Any]:
        results = (
            self.result if isinstance(self.result, list) else [self.result] if self.result is not None else []
        )
        last = results[-1] if results else None
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "as_of": self.as_of,
            "only": self.only,
            "trigger": self.trigger,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": self.progress(),
            "run_id": getattr(last, "run_id", None),
            "run_ids": [r.run_id for r in results],
            "customers": getattr(last, "customers", None),
            "warnings": [w for r in results for w in r.warnings],
            "summary": last.summary() if last is not None and self.kind == "run" else None,
            "message": self.message,
            "runs": [point_row(r) for r in results] if self.kind == "backfill" else None,
            "sql": None
            if self.reuse is None
            else {"compiled": self.reuse.compiled, "reused": self.reuse.reused},
        }

    def progress(self) -> dict[str, Any]:
        """Steps done of `total` (`of` is its older name), seconds elapsed and the estimate of those left."""
        eta = self.step.remaining(self.done, self.steps or None) if self.seconds is None else 0.0
        elapsed = self.estimate.elapsed() if self.seconds is None else self.seconds
        return {
            "done": self.done,
            "total": self.steps,
            "of": self.steps,
            "elapsed_s": round(elapsed, 1),
            "eta_s": None if eta is None else round(eta, 1),
            "label": self.label,
            "unit": self.unit,
        }


class Runtime:
    """State shared by the routes of one app."""

    def __init__(
        self,
        ws: Workspace,
        *,
        realtime: bool = True,
        schedule: str | Schedule | None = None,
        internal_token: str | None = None,
        micro_batch_seconds: float | None = None,
        max_pending: int | None = None,
        warm_latest: bool = False,
        settle_heap: bool = False,
    ) -> None:
        self.ws = ws
        limit = ws.serve_memory_limit()
        if limit is not None:  # a server runs for days: its store's cache is bounded (`serve.memory_limit`)
            ws.store.limit_memory(limit)
        # Every write of the store waits for a checkpoint, so a server runs it itself, after a micro-batch whose
        # customers' new state the lookups' replica already shows, once the log holds `serve.checkpoint_wal`
        # (`_checkpoint_if_due`). DuckDB's own automatic checkpoint runs in whichever commit crosses its threshold
        # (a micro-batch's, whose customers' lookups then wait for it, or an append's, whose request then runs
        # it), so it stays only for the writes no micro-batch follows (a batch job, an idle server's appends), at
        # AUTOMATIC_CHECKPOINT_FACTOR times that size
        self.checkpoint_wal = memory_bytes(ws.config.serve.checkpoint_wal)
        ws.store.checkpoint_at(AUTOMATIC_CHECKPOINT_FACTOR * self.checkpoint_wal)
        # ... and its checkpoints merge no row groups (DuckDB's vacuum: about 2 s each at 1M while micro-batches
        # waited, 4.7-6.9 s when it had deleted rows to reclaim). The live tables' deleted rows are given back by
        # each prune (`runs.retention`), the rows an ingest through the server replaced after it (`_command`)
        ws.store.keep_row_groups()
        self.warm_latest = warm_latest  # store the latest run's profiles on start (`segmentum serve`)
        self.settle_heap = settle_heap  # `settle_heap()` after each replica load and warming (serve)
        self.zone = ZoneInfo(ws.config.timezone)
        self.keys = KeyStore(ws.store)
        self.internal_token = internal_token
        self._key_cache: dict[str, ApiKey] = {}
        self._key_lock = threading.Lock()
        self.live = LiveState(ws.store)  # what lookups read: memory, refreshed by the micro-batch writer
        # a customer the replica holds is in `main.customers`: an append looks up only the others
        self.events = EventWriter(ws.store, self.zone, known=lambda i: self.live.get(i) is not None)
        self.run_lock = threading.Lock()
        interval = (
            micro_batch_seconds if micro_batch_seconds is not None else ws.config.serve.micro_batch_seconds
        )
        self.definitions = DefinitionsCache(ws)
        # the order rows micro-batches stage, gathered from memory once loaded (`serve.held_rows`); none while a
        # command that writes the canonical tables runs, forgotten after it (`_command`)
        held_rows = ws.config.serve.held_rows
        self.held = HeldRows(ws.store, memory_bytes(held_rows)) if held_rows else None
        self.evaluator = Evaluator(ws, self.definitions, held=self.held)
        self._actions_owed = False  # a micro-batch left its triggers' actions pending
        self.micro = MicroBatcher(
            self._evaluate,
            self.zone,
            interval=interval,
            run_lock=self.run_lock,
            max_pending=max_pending if max_pending is not None else ws.config.serve.max_pending,
        )
        self.realtime = realtime
        text = schedule if schedule is not None else ws.config.serve.schedule
        self.schedule = parse_schedule(text) if isinstance(text, str) else text
        self.jobs: list[BatchJob] = []
        # operations of the local CLI's command channel that report progress (ingest, report), while they run
        # and a while after: apart from `jobs`, since they never make a batch run wait (BusyError)
        self.commands: list[BatchJob] = []
        self.warming: set[int] = set()  # runs whose segment profiles are being stored (`warm`)
        self.definitions_warmed = threading.Event()  # the first load of the definitions is done (`start`)
        self._jobs_lock = threading.Lock()
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self.next_scheduled: datetime | None = None
        self._job_threads: list[threading.Thread] = []
        self._load_threads: list[threading.Thread] = []  # loads of the lookups' replica (`_load_live`)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        from segmentum.actions.outbox import DeliveryWorker
        from segmentum.actions.triggers import finish_pending

        # runs whose process stopped before their transitions reached the outbox are finished first
        _, self.startup_warnings = finish_pending(self.ws)
        self._delivery = DeliveryWorker(self.ws).start()  # sends what runs put in the outbox
        if self.warm_latest:
            # a run made by the CLI while no server ran has no stored profiles yet: the segment pages read them
            from segmentum.store import snapshots as snapshot

            latest = snapshot.latest_run(self.ws.store)
            if latest is not None:
                self.warm(latest.run_id)
        self._warm_definitions()
        if self.realtime:
            self._load_live()
            self.micro.start()
        if self.schedule is not None and self._scheduler is None:
            self._scheduler = threading.Thread(
                target=self._schedule_loop, name="segmentum-schedule", daemon=True
            )
            self._scheduler.start()

    def stop(self) -> None:
        self._stop.set()
        # a load of the lookups' replica is abandoned, not waited for (at 100k customers it reads for seconds)
        self.live.abandon()
        if self.held is not None:
            self.held.abandon()
        self.micro.stop()
        delivery = getattr(self, "_delivery", None)
        if delivery is not None:
            delivery.stop()
        if self._scheduler is not None:
            self._scheduler.join(5)
        # a batch run in progress finishes (or fails) before the store closes, never half-written
        for thread in list(self._job_threads):
            thread.join(600)
        for thread in list(self._load_threads):  # interrupted above: they end at once
            thread.join(10)

    def _warm_definitions(self) -> threading.Thread:
        """Load the workspace's definitions once on a background thread, so that the first request that needs
        them does not pay the process's first parse (1-1.5 s at 23 built-ins): the editor's first preview (its
        unsaved file aside, every text parses from the process's cache), the first micro-batch, a page's
        first explanation. A definitions error is the requests' to report, not the start's."""

        def work() -> None:
            try:
                self.definitions.current()
            except Exception:  # noqa: BLE001 - invalid definitions: each request that needs them says why
                log.info("the definitions were not loaded on start", exc_info=True)
            finally:
                self.definitions_warmed.set()

        thread = threading.Thread(target=work, name="segmentum-warm-definitions", daemon=True)
        self._job_threads = [t for t in self._job_threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def _load_live(self) -> threading.Thread:
        """Load the lookups' replica on a background thread (lookups read the store meanwhile). It takes no
        lock that writers hold: pages' writes and micro-batches go on while it reads (`LiveState.load`
        keeps their refreshes), and `stop()` interrupts it."""

        def work() -> None:
            try:
                loaded = self.live.load()
            except Exception:  # noqa: BLE001 - lookups read the store until the next load
                log.warning("loading the live state for lookups failed", exc_info=True)
                return
            if loaded and self.settle_heap:
                settle_heap()

        thread = threading.Thread(target=work, name="segmentum-live-load", daemon=True)
        self._load_threads = [t for t in self._load_threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    @property
    def replica(self) -> LiveState | None:
        """What lookups read from memory: the live state, when real time runs (else None: the store)."""
        return self.live if self.realtime else None

    def segments_held(self, customer_id: str) -> dict[str, Any] | None:
        """The lookup `GET /v1/customers/{id}/segments` answers from memory: the customer's segments now from
        the replica (`views.customers.segments_in_replica`), or None when it does not hold them (real time
        off, not loaded yet, or a customer no run holds: the caller reads the store)."""
        return segments_in_replica(self.replica, customer_id)

    # ------------------------------------------------------------------ auth
    def authenticate(self, token: str) -> ApiKey | None:
        """The key record for a bearer token (cached; the cache is cleared when a key is revoked here)."""
        if self.internal_token and hmac.compare_digest(token, self.internal_token):
            return ApiKey("internal", "segmentum serve (local CLI)", "admin", datetime.now())
        cached = self._key_cache.get(token)
        if cached is not None:
            return cached
        record = self.keys.verify(token)
        if record is not None:
            with self._key_lock:
                self._key_cache[token] = record
        return record

    def revoke(self, prefix: str) -> ApiKey:
        record = self.keys.revoke(prefix)
        with self._key_lock:
            self._key_cache = {t: k for t, k in self._key_cache.items() if k.prefix != record.prefix}
        return record

    # ------------------------------------------------------------------ writes from pages and the API
    def write(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        """A change made from a page or the API (a list, a definitions file, a task, its note): the one rule.

        It waits for a run or a micro-batch in progress and none starts until it is done (the run lock), as
        the command channel's writing operations do: a run reads the definitions and the lists when it starts
        and writes its snapshot, triggers and tasks after, and must see all of a change or none of it, and two
        writers of the one store never meet half-way (DESIGN section 3, principles 3 and 6). Afterwards the
        cached definitions are forgotten: a new list is a segment, a saved file a new meaning."""
        try:
            with self.run_lock:
                return func(*args, **kwargs)
        finally:
            self.definitions.forget()

    # ------------------------------------------------------------------ runs
    def _evaluate(self, customers: list[str], as_of: datetime) -> Any:
        """A micro-batch: the real-time run (compiled once per definitions fingerprint), then its triggers'
        actions into the outbox (the run records them as owed first: a process that dies in between leaves
        a run `finish_pending` completes at the next start); the delivery worker sends them."""
        from segmentum.actions.triggers import finish_pending, process_run

        # lookups see the new state as soon as it is committed; nobody reads the result's transitions or
        # sizes (`details`): the triggers below compute the transitions they need
        result = self.evaluator.evaluate(
            customers,
            as_of,
            actions=True,
            details=False,
            committed=lambda run_id: self.live.refresh(customers, since_run=run_id),
        )
        assert result.run_id is not None  # a stored run
        if self._actions_owed:  # an earlier micro-batch's actions were not enqueued: those runs first
            _, warnings = finish_pending(self.ws, exclude={result.run_id})
            self._actions_owed = bool(warnings)
        try:
            report = process_run(self.ws, result.run_id, definitions=self.definitions.current())
            self._actions_owed = self._actions_owed or not report.processed
        except SegmentumError as exc:  # the run stays pending: the next micro-batch (or start) finishes it
            self._actions_owed = True
            log.warning("real-time run %s: triggers not processed: %s", result.run_id, exc)
        self._checkpoint_if_due()
        return result

    def _checkpoint_if_due(self) -> None:
        """After a micro-batch: a checkpoint once the log holds `serve.checkpoint_wal` (refused while an append
        writes: tried again after the next micro-batch)."""
        store = self.ws.store
        if store.wal_bytes() >= self.checkpoint_wal:
            store.checkpoint()

    def running_job(self) -> BatchJob | None:
        with self._jobs_lock:
            return next((j for j in self.jobs if j.status == "running"), None)

    def start_batch(self, as_of: Any, only: list[str] | None = None, *, trigger: str = "api") -> BatchJob:
        """Start a batch run on a background thread; BusyError (409) when a job is running already."""

        def work(job: BatchJob) -> None:
            with self.run_lock:
                # the job's record follows the run's steps (the dashboard and GET /v1/runs/jobs/{id} show them)
                job.result = self.ws.run(
                    as_of=job.as_of, only=job.only or None, deliver=False, progress=job.report
                )
                self.live.forget()  # lookups read the store until the replica holds the new run
            self.definitions.forget()  # a batch run is where edited definitions are picked up
            if self.realtime:
                self._load_live()
            if job.result.run_id is not None:
                self.warm(job.result.run_id)

        return self._start(BatchJob(0, as_of, only, trigger, now_wall_clock(self.zone)), work)

    def warm(self, run_id: int) -> threading.Thread:
        """Store the segment profiles of a new run on a background thread (the job is done meanwhile), so the
        dashboard's segment pages read them instead of computing them on first visit, then compute the
        overview's data when the run is the newest (`service.overview`); `stop()` ends it."""
        from segmentum.analysis.profile import warm_profiles
        from segmentum.errors import NotFoundError
        from segmentum.service.overview import overview_data
        from segmentum.store import snapshots as snapshot

        def work() -> None:
            try:
                warm_profiles(self.ws, run_id, stop=self._stop.is_set)
            except Exception:  # noqa: BLE001 - a page computes what warming did not store
                log.warning("warming the profiles of run %s failed", run_id, exc_info=True)
            try:
                latest = snapshot.latest_run(self.ws.store)
                if not self._stop.is_set() and latest is not None and latest.run_id == run_id:
                    overview_data(self.ws)
            except NotFoundError:
                pass  # no complete run (erased meanwhile): the overview says so itself
            except Exception:  # noqa: BLE001 - the overview computes what warming did not
                log.warning("warming the overview of run %s failed", run_id, exc_info=True)
            finally:
                if self.settle_heap and not self._stop.is_set():
                    settle_heap()  # before the run counts as warmed: its one pause belongs to the warming
                with self._jobs_lock:
                    self.warming.discard(run_id)

        with self._jobs_lock:
            self.warming.add(run_id)

        thread = threading.Thread(target=work, name=f"segmentum-warm-{run_id}", daemon=True)
        self._job_threads = [t for t in self._job_threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def command(self, name: str, params: dict[str, Any], tag: str | None = None) -> Any:
        """Run an operation of the local CLI's command channel here (`segmentum.service.commands`), with the
        run lock when it writes. An operation that reports progress (ingest, report) is a record of
        `commands` meanwhile, with the progress the library reports (`in_progress`: the dashboard shows it);
        a batch run then warms its profiles, as a run started through the API does. An operation that writes
        (a `run`, `ingest`, `forget`, ...) may change any customer's state now: the lookups' replica is loaded
        again, and edited definitions are picked up."""
        from segmentum.service.commands import COMMANDS

        try:
            return self._command(name, params, tag)
        finally:
            found = COMMANDS.get(name)
            if found is not None and found.writes:
                self.definitions.forget()
                # the replica was dropped by `_command` (lookups read the store until it is loaded again)
                if self.realtime:
                    self._load_live()

    def command_progress(self, tag: str) -> dict[str, Any] | None:
        """The progress of the command channel's operation tagged `tag` (running or among the last 20 done),
        with its status: what the CLI that forwarded it draws."""
        with self._jobs_lock:
            job = next((j for j in reversed(self.commands) if j.tag == tag), None)
        return None if job is None else {**job.progress(), "status": job.status}

    def _command(self, name: str, params: dict[str, Any], tag: str | None = None) -> Any:
        from segmentum.service.commands import COMMANDS

        found = COMMANDS.get(name)
        # an ingest, erasure or compaction writes the tables events are appended to: an append committed
        # meanwhile would make one of the two fail at commit (both creating a new customer, or a table
        # replaced), so it holds the event writer and posted events are answered 429 until it is done (the run
        # lock keeps micro-batches and batch runs out too)
        writer = self.events.exclusive(name) if found is not None and found.canonical else nullcontext()
        # and the order rows micro-batches gather are neither used nor loaded meanwhile, and forgotten after
        held = (
            self.held.suspended()
            if found is not None and found.canonical and self.held is not None
            else nullcontext()
        )
        with writer, held:
            try:
                result = self._execute(found, name, params, tag)
                if name == "ingest":
                    self._reclaim_after_ingest()
                return result
            finally:
                if found is not None and found.writes:
                    # dropped before the writer is released: appends take the replica's customers as existing
                    # (`EventWriter(known=...)`), and an erasure or an ingest may have removed some
                    self.live.forget()

    def _reclaim_after_ingest(self) -> None:
        """The rows an ingest's upserts replaced stay stored without DuckDB's vacuum (off in a server): given back
        while posted events still wait for the ingest (`store.reclaim`). The ingest is done whatever happens here:
        a failure is logged, and the rows stay stored until the next ingest tries again."""
        try:
            reclaim_main_tables(self.ws.store)
        except Exception:  # noqa: BLE001 - the ingest committed; its answer must not become an error
            log.warning("the rows the ingest replaced were not given back", exc_info=True)

    def _execute(self, found: Command | None, name: str, params: dict[str, Any], tag: str | None) -> Any:
        import inspect

        from segmentum.service.commands import execute

        if found is None or "progress" not in inspect.signature(found.func).parameters:
            result = execute(self.ws, name, params, lock=self.run_lock)
        else:
            job = BatchJob(0, None, None, "cli", now_wall_clock(self.zone), kind=name, steps=0, tag=tag)
            with self._jobs_lock:
                job.job_id = (self.commands[-1].job_id + 1) if self.commands else 1
                self.commands.append(job)
                del self.commands[:-20]
            try:
                result = execute(self.ws, name, {**params, "progress": job.report}, lock=self.run_lock)
                job.status = "complete"
            except BaseException as exc:
                job.status, job.message = "failed", str(exc)
                raise
            finally:
                job.seconds = job.estimate.elapsed()
                job.finished_at = now_wall_clock(self.zone)
        if (
            name == "run"
            and isinstance(result, dict)
            and result.get("kind") == "batch"
            and result.get("run_id")
        ):
            self.definitions.forget()  # a batch run is where edited definitions are picked up
            self.warm(int(result["run_id"]))
        return result

    def in_progress(self) -> list[dict[str, Any]]:
        """Every job running now (a batch run, a backfill, an ingest or a report through the CLI), with its
        progress: what the dashboard shows while they run."""
        with self._jobs_lock:
            running = [j for j in [*self.jobs, *self.commands] if j.status == "running"]
        return [
            {"kind": j.kind, "job_id": j.job_id, "started_at": j.started_at, "progress": j.progress()}
            for j in running
        ]

    def start_backfill(self, start: Any, end: Any, every: str, only: list[str] | None = None) -> BatchJob:
        """Backfill runs on a background thread, one point at a time, so micro-batches go on between points."""
        from segmentum.runs.backfill import backfill, backfill_dates
        from segmentum.runs.reuse import CompiledOnce

        points = backfill_dates(start, end, every)
        job = BatchJob(0, end, only, "api", now_wall_clock(self.zone), kind="backfill", steps=len(points))

        # one series, a point at a time: the points share their compiled SQL (the job's status counts them)
        job.reuse = once = CompiledOnce()

        def work(job: BatchJob) -> None:
            job.result = []
            for point in points:
                if self._stop.is_set():  # the server stops: the points done are complete runs, the rest wait
                    job.status, job.message = (
                        "stopped",
                        f"the server stopped after {job.done} of {len(points)} points",
                    )
                    return
                with self.run_lock:
                    job.result += backfill(self.ws, point, point, every, only=only, compiled_once=once)
                    self.live.forget()  # a backfill may write the latest run
                job.done += 1
            if self.realtime:
                self._load_live()

        return self._start(job, work)

    def _start(self, job: BatchJob, work: Any) -> BatchJob:
        with self._jobs_lock:
            current = next((j for j in self.jobs if j.status == "running"), None)
            if current is not None:
                raise BusyError(
                    f"a {current.kind} is in progress already (job {current.job_id}); "
                    "wait for it (GET /v1/runs) and try again",
                    details=current.as_dict(),
                )
            job.job_id = (self.jobs[-1].job_id + 1) if self.jobs else 1
            self.jobs.append(job)
            del self.jobs[:-50]  # keep the recent ones only
        thread = threading.Thread(
            target=self._run_job, args=(job, work), name=f"segmentum-{job.kind}-{job.job_id}", daemon=True
        )
        self._job_threads = [t for t in self._job_threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def job(self, job_id: int) -> BatchJob:
        with self._jobs_lock:
            found = next((j for j in self.jobs if j.job_id == job_id), None)
        if found is None:
            raise NotFoundError(f"no job {job_id}; GET /v1/runs lists the recent jobs")
        return found

    def _run_job(self, job: BatchJob, work: Any) -> None:
        try:
            work(job)
            if job.status == "running":  # not "stopped" by the server's shutdown
                job.status = "complete"
        except SegmentumError as exc:
            job.status, job.message = "failed", str(exc)
            log.warning("%s (job %s) failed: %s", job.kind, job.job_id, exc)
        except Exception as exc:  # noqa: BLE001 - report any engine failure on the job, keep serving
            job.status, job.message = "failed", f"{type(exc).__name__}: {exc}"
            log.exception("%s (job %s) failed", job.kind, job.job_id)
        finally:
            job.seconds = job.estimate.elapsed()
            job.finished_at = now_wall_clock(self.zone)

    def _schedule_loop(self) -> None:
        assert self.schedule is not None
        while not self._stop.is_set():
            self.next_scheduled = self.schedule.next_after(now_wall_clock(self.zone))
            while not self._stop.is_set() and now_wall_clock(self.zone) < self.next_scheduled:
                remaining = (self.next_scheduled - now_wall_clock(self.zone)).total_seconds()
                self._stop.wait(min(max(remaining, 0.01), 1.0))
            if self._stop.is_set():
                return
            try:
                self.start_batch(None, trigger="schedule")
            except BusyError as exc:
                log.warning("scheduled batch run skipped: %s", exc)

    def status(self) -> dict[str, Any]:
        job = self.running_job()
        return {
            "realtime": self.micro.status() if self.realtime else None,
            "schedule": self.schedule.text if self.schedule else None,
            "next_scheduled_run": self.next_scheduled,
            "batch_in_progress": job.as_dict() if job else None,
            "warming_runs": sorted(self.warming),
            "definitions_loaded": self.definitions_warmed.is_set(),
            "live_loaded": self.live.ready if self.realtime else None,
            # the order rows micro-batches gather from memory (`serve.held_rows`)
            "held_rows": self.held.status() if self.realtime and self.held is not None else None,
        }
