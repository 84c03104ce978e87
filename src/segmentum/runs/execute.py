"""A run: definitions evaluated at a point in time, written as an immutable snapshot.

Transaction discipline (DESIGN.md principle 3): the `runs` row is inserted with status 'running' and
committed; the traits table, the memberships and status 'complete' are then written in ONE transaction.
Any error rolls that back and marks the run 'failed'. A process killed mid-run leaves a 'running' row and
nothing else visible (readers only look at complete runs); the next run marks it failed and drops any
orphan traits table.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentum.clock import now as wall_clock
from segmentum.compile import rules
from segmentum.compile.availability import Availability, at_point_in_time
from segmentum.compile.compiler import CompiledRun, RunCompiler, history_refs
from segmentum.compile.windows import minus, recording
from segmentum.engine.base import present_tables
from segmentum.errors import RunError, SegmentumError
from segmentum.faults import crash_point
from segmentum.progress import Laps, Progress, notify
from segmentum.runs import diff as diff_mod
from segmentum.runs import retention
from segmentum.runs.sizes import member_counts, revenue_trait, segment_sizes, sizes_in_pass
from segmentum.spec.loader import Definitions
from segmentum.sql import ident, literal, one
from segmentum.store import META, Store
from segmentum.store import memberships as stored_memberships
from segmentum.store import snapshots as snapshot
from segmentum.store.catalog import model_fits, newest_timestamp
from segmentum.store.progress import THOUSANDTHS, watch_query
from segmentum.store.tables import create_traits_table, traits_table

if TYPE_CHECKING:
    import pyarrow as pa

    from segmentum.context import Context
    from segmentum.runs.reuse import CompiledOnce

log = logging.getLogger(__name__)

_ACTIVE: set[tuple[str, int]] = set()  # (store path, run_id) of runs in progress in this process
_ACTIVE_LOCK = threading.Lock()


# ------------------------------------------------------------------------------------------------ as_of


def resolve_as_of(value: str | datetime | date | None, ws: Context) -> tuple[datetime, list[str]]:
    """The run's as_of and warnings: `segmentum.clock.resolve_as_of` with this workspace's data."""
    return ws.resolve_as_of(value)


# ------------------------------------------------------------------------------------------------ result


@dataclass
class RunResult:
    """What a run produced. `preview=True` runs hold their rows in `frame` and store nothing."""

    run_id: int | None
    as_of: datetime
    status: str
    engine: str
    kind: str
    sizes: pd.DataFrame
    transitions: pd.DataFrame
    baselines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    store: Store | None = None
    frame: pd.DataFrame | None = None
    compiled: CompiledRun | None = None
    seconds: float = 0.0
    customers: int | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    # what the run's triggers did (enqueued, fired, baselines, delivery), set by `Workspace.run`; None when
    # triggers were not processed
    actions: dict[str, Any] | None = None
    # definitions the run left out at its as_of (a model fitted on later data: `definitions_at`), so that
    # callers (preview) need not narrow the definitions a second time
    skipped: list[str] = field(default_factory=list)

    def traits(self, customer_ids: list[str] | None = None) -> pd.DataFrame:
        if self.frame is not None:
            cols = [
                c
                for c in (self.compiled.trait_columns if self.compiled else list(self.frame.columns))
                if not c.startswith("__")
            ]
            df = self.frame[cols]
            return df if customer_ids is None else df[df.customer_id.isin([str(c) for c in customer_ids])]
        assert self.store is not None and self.run_id is not None
        return snapshot.traits(self.store, self.run_id, customer_ids)

    def memberships(self, name: str | None = None) -> pd.DataFrame:
        if self.frame is not None and self.compiled is not None:
            df = memberships_frame(self.frame, self.compiled)
            return df if name is None else df[df.name == name].reset_index(drop=True)
        assert self.store is not None and self.run_id is not None
        return snapshot.memberships(self.store, self.run_id, name)

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pandas(self.traits(), preserve_index=False)

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "status": self.status,
            "engine": self.engine,
            "kind": self.kind,
            "seconds": round(self.seconds, 3),
            "baselines": self.baselines,
            "warnings": self.warnings,
            "sizes": self.sizes.to_dict(orient="records"),
            "transitions": diff_mod.summary(self.transitions).to_dict(orient="records"),
        }


def memberships_frame(frame: pd.DataFrame, compiled: CompiledRun) -> pd.DataFrame:
    """Memberships (customer_id, segmentation, segment, name) from result rows held in pandas."""
    parts = []
    for name, column in compiled.segments.items():
        ids = frame.loc[frame[column].fillna(False).astype(bool), "customer_id"]
        parts.append(pd.DataFrame({"customer_id": ids, "segmentation": None, "segment": name, "name": name}))
    for name, column in compiled.segmentations.items():
        labels = frame[column].astype(str)
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": frame["customer_id"],
                    "segmentation": name,
                    "segment": labels,
                    "name": name + "." + labels,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=["customer_id", "segmentation", "segment", "name"])
    return pd.concat(parts, ignore_index=True).sort_values(["name", "customer_id"], ignore_index=True)


# ------------------------------------------------------------------------------------------------ running


def recover(store: Store) -> list[int]:
    """Mark runs left 'running' by a killed process as failed and drop their orphan traits tables."""
    key = str(store.path.resolve())
    with _ACTIVE_LOCK:
        active = {rid for path, rid in _ACTIVE if path == key}
    stale = [
        r[0]
        for r in store.query(f"SELECT run_id FROM {META}.runs WHERE status = 'running'")
        if r[0] not in active
    ]
    for run_id in stale:
        cur = store.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {META}.{traits_table(run_id)}")
        stored_memberships.delete_run(cur, run_id)
        cur.execute(
            f"UPDATE {META}.runs SET status = 'failed', finished_at = ?, message = coalesce(message, "
            "'interrupted: the process running it stopped before it completed') WHERE run_id = ?",
            [datetime.now(), run_id],
        )
    return stale


def engine_for(ws: Context, name: str) -> Any:
    if name == "duckdb":
        from segmentum.engine.duckdb import DuckDBEngine

        return DuckDBEngine(ws.store)
    if name == "spark":
        from segmentum.engine.spark import SparkEngine

        return SparkEngine(ws)
    raise RunError(f"unknown engine {name!r}; use 'duckdb' (default) or 'spark'")


def definitions_hash(hashes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]


def definitions_at(ws: Context, defs: Definitions, as_of: datetime) -> Availability:
    """`defs` narrowed to what a run at `as_of` can evaluate with the models it may use (a model fitted on
    data ending after `as_of` is not used: `segmentum.compile.availability`)."""
    return at_point_in_time(defs, model_fits(ws.store), as_of)


def past_members(ws: Context, defs: Definitions, as_of: datetime, engine: Any) -> dict[tuple[str, str], Any]:
    """What `was_in_segment('name', 30d)` reads, for every such call of `defs` (`RunCompiler.history`): the
    members of `name` in the run `snapshots.past_run_of` picks for `as_of - 30d`, as a table of customer ids
    of `engine`; None where there is no such run."""
    return {
        (name, ago): None if past is None else _members_of(ws, engine, past.run_id, name)
        for (name, ago), past in past_runs(ws, defs, as_of).items()
    }


def past_runs(
    ws: Context, defs: Definitions, as_of: datetime
) -> dict[tuple[str, str], snapshot.RunInfo | None]:
    """(name, duration) of every `was_in_segment` call of `defs` -> the run it reads at `as_of`
    (`snapshots.past_run_of` at `as_of` minus the duration), None where there is none."""
    return {
        (name, ago): snapshot.past_run_of(ws.store, name, minus(as_of, ago))
        for name, ago in sorted(history_refs(defs))
    }


def _members_of(ws: Context, engine: Any, run_id: int, name: str) -> Any:
    """customer_id of the members of `name` in run `run_id`: on DuckDB the store's memberships table itself (the
    query runs inside the store); elsewhere the ids read from the store (`snapshots.memberships`) passed in as
    an in-memory table, so Spark sees exactly the rows DuckDB would."""
    import ibis

    if getattr(engine, "name", "") == "duckdb":
        m = engine.backend.table("memberships", database=META)
        return m.filter((m.run_id == int(run_id)) & (m.name == name)).select("customer_id")
    ids = snapshot.memberships(ws.store, run_id, name)["customer_id"].astype(str).tolist()
    return ibis.memtable({"customer_id": ids}, schema={"customer_id": "string"})


def compile_for(
    ws: Context,
    usable: Availability,
    engine: Any,
    as_of: datetime,
    *,
    customers: list[str] | None = None,
    stored: Any = None,
) -> CompiledRun:
    """Compile the definitions a run at `as_of` can evaluate (`definitions_at`) against an engine's tables,
    without the model tables whose fit saw data after `as_of` (real-time: with the batch runs' population
    values, `snapshots.population_sources`; every run: the past members `was_in_segment` reads). `stored`:
    trait values computed already at `as_of` (`RunCompiler`'s `stored`, the preview's)."""
    compiler = RunCompiler(
        usable.definitions,
        {n: t for n, t in engine.tables().items() if n not in usable.unusable},
        as_of,
        customer_ids=customers,
        read_property=getattr(engine, "read_property", None),
        history=past_members(ws, usable.definitions, as_of, engine),
        currency=ws.config.currency,
        stored=stored,
        narrow_windows=engine.narrow_windows,
    )
    if customers is not None:
        compiler.population_table = _population_table(ws, engine, compiler.population_names())
    return compiler.compile()


def _population_table(ws: Context, engine: Any, names: set[str]) -> Any:
    """customer_id plus each population value the real-time path needs, each from the newest batch run that
    computed it (the latest run first): after `run --only rfm` the other definitions' values come from the
    run that last computed them, instead of being missing (null columns without a type). Before any batch
    run the table is empty: the values are unknown (null), never computed over the few customers."""
    import ibis

    # customer_id is in every traits table: the first source is the newest batch run that has a snapshot
    sources = iter(snapshot.population_sources(ws.store, ["customer_id", *sorted(names)]).items())
    first = next(sources, None)
    if first is None:
        return ibis.memtable({"customer_id": []}, schema={"customer_id": "string"})
    table = traits_of(engine, first[0]).select(*first[1])
    for run_id, columns in sources:
        older = traits_of(engine, run_id).select("customer_id", *columns)
        table = table.left_join(older, "customer_id").select(*table.columns, *columns)
    return table


def traits_of(engine: Any, run_id: int) -> Any:
    """The stored traits table of run `run_id` as a table of `engine`."""
    if getattr(engine, "name", "") == "duckdb":
        return engine.backend.table(traits_table(run_id), database=META)
    return engine.snapshot_table(traits_table(run_id))


def narrow(
    ws: Context, definitions: Definitions | None, only: list[str] | None, as_of: str | datetime | date | None
) -> tuple[Availability, datetime, list[str]]:
    """What a run of `only` at `as_of` evaluates (`definitions_at`), its resolved as_of and its warnings (the
    built-ins skipped, the definitions left out for their models)."""
    defs = (definitions if definitions is not None else ws.definitions()).select(only)
    resolved, warnings = resolve_as_of(as_of, ws)
    for name, why in defs.skipped.items():
        warnings.append(f"built-in '{name}' skipped: {why}")
    usable = definitions_at(ws, defs, resolved)
    return usable, resolved, warnings + list(usable.warnings)


def run(
    ws: Context,
    *,
    as_of: str | datetime | date | None = None,
    engine: str | None = None,
    only: list[str] | None = None,
    customers: list[str] | None = None,
    kind: str | None = None,
    preview: bool = False,
    definitions: Definitions | None = None,
    actions: bool = False,
    details: bool = True,
    compiled_once: CompiledOnce | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Evaluate the definitions at `as_of` and store a snapshot (unless `preview`); fires no trigger.

    `Workspace.run()`, `segmentum run` and `POST /v1/runs` call this and then enqueue the triggers' actions;
    backfills call it alone, so history fires nothing.

    Parameters
    ----------
    as_of:
        None (now), 'latest' (end of the day of the newest data), a date 'YYYY-MM-DD' (end of that day), a
        timestamp string, or a datetime.
    engine:
        'duckdb' (default: the workspace's `engine` setting) or 'spark'.
    only:
        Names of segments, segmentations or built-ins to run (with what they depend on).
    customers:
        Re-evaluate only these customers (kind 'realtime'); population values come from the last batch run.
    preview:
        Compute and return the rows without storing anything.
    actions:
        The caller will process the run's triggers (`segmentum.actions.triggers.act_on_run`): the snapshot's
        transaction also records the run as having transitions not yet in the outbox, so that a process that
        dies before they are enqueued leaves a run the next start finishes.
    details:
        Compute the result's `transitions` and `sizes` (False: both left empty, for callers that show
        neither, such as a backfill; `runs.diff.diff` and `runs.sizes.segment_sizes` compute them from the
        stored run at any time).
    compiled_once:
        Shared by the runs of a series (a backfill): a DuckDB batch run reuses the SQL compiled for an earlier
        point with its instants moved, once verified (`runs/reuse.py`), instead of compiling again.
    progress:
        A `segmentum.progress.Progress` callback told each step as it goes, the phases of `timings`:
        'compile', 'evaluate', 'write memberships', 'sizes', 'commit', 'diff' (a preview: 'compile' and
        'evaluate'; without `details`, neither 'sizes' nor 'diff'). 'evaluate' is one DuckDB statement: its
        done/total is DuckDB's own estimate in thousandths (`segmentum.store.progress.watch_query`); the
        other steps go from 0/1 to 1/1, and on Spark 'evaluate' has no total until it ends.
    """
    import time as _time

    started = _time.perf_counter()
    timings: dict[str, float] = {}
    store = ws.store
    engine_name = engine or ws.config.engine.name
    kind = kind or ("realtime" if customers is not None else "batch")
    usable, resolved, warnings = narrow(ws, definitions, only, as_of)
    defs = usable.definitions  # what needs a model fitted on later data is not evaluated, nor recorded
    if kind == "batch":  # a real-time micro-batch does not count the whole store's orders each time
        skipped = rules.missing_rates(store, ws.config.currency, resolved)
        if skipped is not None:
            warnings.append(skipped.message())
    eng = engine_for(ws, engine_name)
    try:
        if preview:
            with _step(progress, "compile"):
                compiled = compile_for(ws, usable, eng, resolved, customers=customers)
            with _step(progress, "evaluate"):
                frame = eng.execute_arrow(compiled.expr).to_pandas()
            mem = memberships_frame(frame, compiled)
            sizes = _sizes_from_frame(mem, len(frame))
            return RunResult(
                None,
                resolved,
                "preview",
                engine_name,
                kind,
                sizes,
                pd.DataFrame(),
                [],
                warnings,
                store,
                frame,
                compiled,
                _time.perf_counter() - started,
                skipped=sorted(usable.skipped),
            )
        recover(store)
        # started_at and finished_at in the workspace zone, like as_of (DESIGN.md section 4), not the host's
        zone = ws.config.timezone
        run_id = _start(store, resolved, engine_name, kind, defs, zone=zone)
        in_pass: list[pd.DataFrame] = []  # the sizes, when computed while writing
        key = (str(store.path.resolve()), run_id)
        with _ACTIVE_LOCK:
            _ACTIVE.add(key)
        try:
            mark = _time.perf_counter()
            with _step(progress, "compile"):
                compiled, source = _compiled(ws, usable, eng, resolved, customers, compiled_once)
            timings["compile"] = round(_time.perf_counter() - mark, 4)
            trait_hashes = {t: defs.hashes[t] for t in compiled.traits if t in defs.hashes}
            count = _write(
                store,
                eng,
                compiled,
                run_id,
                kind,
                timings,
                trait_hashes=trait_hashes,
                actions=actions,
                zone=zone,
                revenue=revenue
                if details and kind == "batch" and (revenue := revenue_trait(defs)) in compiled.traits
                else None,
                sizes=in_pass,
                source=source,
                progress=progress,
            )
        except BaseException as exc:
            _fail(store, run_id, exc, zone=zone)
            if isinstance(exc, SegmentumError):
                raise
            if isinstance(exc, Exception):
                raise RunError(f"run {run_id} failed: {type(exc).__name__}: {exc}") from exc
            raise
        finally:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(key)
    finally:
        eng.close()
    crash_point("after_snapshot")
    prune_traits(store)
    if not details:
        return RunResult(
            run_id,
            resolved,
            "complete",
            engine_name,
            kind,
            pd.DataFrame(),
            pd.DataFrame(),
            [],
            warnings,
            store,
            None,
            compiled,
            _time.perf_counter() - started,
            customers=count,
            timings=timings,
        )
    mark = _time.perf_counter()
    with _step(progress, "diff"):
        transitions = diff_mod.diff(store, run_id)
    timings["diff"] = round(_time.perf_counter() - mark, 4)
    mark = _time.perf_counter()
    if not in_pass:
        notify(progress, 0, 1, "sizes")
    # a real-time run holds a few customers: its sizes are plain counts (no revenue scan per micro-batch)
    sizes = (
        in_pass[0]
        if in_pass
        else segment_sizes(store, run_id, ws.config.currency)
        if kind == "batch"
        else member_counts(store, run_id)
    )
    if not in_pass:
        timings["sizes"] = round(_time.perf_counter() - mark, 4)
        notify(progress, 1, 1, "sizes")
    return RunResult(
        run_id,
        resolved,
        "complete",
        engine_name,
        kind,
        sizes,
        transitions,
        list(transitions.attrs.get("baselines", [])),
        warnings,
        store,
        None,
        compiled,
        _time.perf_counter() - started,
        customers=count,
        timings=timings,
        skipped=sorted(usable.skipped),
    )


@contextmanager
def _step(progress: Progress | None, label: str) -> Iterator[None]:
    """A step of a run without a fraction of its own: 0/1 when it starts, 1/1 when it ends."""
    notify(progress, 0, 1, label)
    yield
    notify(progress, 1, 1, label)


def _compiled(
    ws: Context,
    usable: Availability,
    engine: Any,
    as_of: datetime,
    customers: list[str] | None,
    once: CompiledOnce | None,
) -> tuple[CompiledRun, str | None]:
    """The compiled run and, when `once` is given and the run can share it (a DuckDB batch run), its SQL: the
    SQL of an earlier point moved to `as_of` when verified, else compiled here and offered to `once`."""
    if once is None or customers is not None or getattr(engine, "name", "") != "duckdb":
        return compile_for(ws, usable, engine, as_of, customers=customers), None
    # what besides as_of shapes the SQL: the definitions usable at as_of, the model tables left out, the past
    # runs `was_in_segment` reads (their ids are in the SQL) and the tables present
    key = (
        tuple(sorted(usable.definitions.hashes.items())),
        tuple(sorted(usable.skipped)),
        tuple(sorted(usable.unusable)),
        tuple(
            sorted(
                (n, ago, None if r is None else r.run_id)
                for (n, ago), r in past_runs(ws, usable.definitions, as_of).items()
            )
        ),
        tuple(tuple(sorted(names)) for names in present_tables(ws.store)),
    )
    hit = once.sql_for(key, as_of)
    if hit is not None:
        sql, compiled = hit
        return dataclasses.replace(compiled, as_of=as_of, expr=None, full=None), sql
    with recording() as durations:
        compiled = compile_for(ws, usable, engine, as_of)
    sql = engine.result_sql(compiled.expr, ws.store.cursor())
    once.offer(key, as_of, compiled, sql, durations)
    return compiled, sql


def _start(
    store: Store, as_of: datetime, engine: str, kind: str, defs: Definitions, *, zone: str = "UTC"
) -> int:
    """Insert the 'running' row and commit; returns the new run id."""
    import duckdb

    hashes = {n: defs.hashes[n] for n in defs.definition_names() if n in defs.hashes}
    for attempt in range(5):
        cur = store.cursor()
        try:
            with store.transaction(cur):
                # the sequence may lag after a crash (it is not always replayed from the WAL): never reuse an id
                run_id = int(
                    one(
                        cur.execute(
                            f"SELECT greatest(nextval('{META}.run_seq'), "
                            f"coalesce((SELECT max(run_id) FROM {META}.runs), 0) + 1)"
                        )
                    )[0]
                )
                cur.execute(
                    f"INSERT INTO {META}.runs (run_id, as_of, started_at, status, engine, kind, definitions_hash, "
                    "definition_hashes) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
                    [
                        run_id,
                        as_of,
                        wall_clock(zone),
                        engine,
                        kind,
                        definitions_hash(hashes),
                        json.dumps(hashes),
                    ],
                )
            return run_id
        except (duckdb.ConstraintException, duckdb.TransactionException):
            if attempt == 4:
                raise
    raise RunError("could not allocate a run id")  # pragma: no cover


def prune_traits(store: Store) -> None:
    """After a run commits: drop the traits tables of real-time runs no reader needs any more
    (`runs.retention`). A failure is logged, never the run's: the next run prunes them."""
    try:
        retention.prune(store)
    except Exception:  # noqa: BLE001 - pruning is housekeeping; the run is complete
        log.warning("pruning the traits tables of real-time runs failed", exc_info=True)


def _fail(store: Store, run_id: int, exc: BaseException, *, zone: str = "UTC") -> None:
    try:
        cur = store.cursor()
        cur.execute(f"DROP TABLE IF EXISTS {META}.{traits_table(run_id)}")
        cur.execute(
            f"UPDATE {META}.runs SET status = 'failed', finished_at = ?, message = ? WHERE run_id = ?",
            [wall_clock(zone), f"{type(exc).__name__}: {exc}"[:2000], run_id],
        )
    except Exception:  # noqa: BLE001 - the store itself may be gone; the next run recovers
        pass


def _write(
    store: Store,
    engine: Any,
    compiled: CompiledRun,
    run_id: int,
    kind: str,
    timings: dict[str, float] | None = None,
    *,
    trait_hashes: dict[str, str] | None = None,
    actions: bool = False,
    zone: str = "UTC",
    revenue: str | None = None,
    sizes: list[pd.DataFrame] | None = None,
    source: str | None = None,
    progress: Progress | None = None,
) -> int:
    """Traits, memberships and status 'complete' in one transaction (with `actions`, also the run's
    'actions_pending' row in the audit log: its transitions are owed to the outbox). A real-time run also
    replaces its customers' live rows (`snapshots.write_live`), which lookups read.

    With `sizes` (a list to append to) and `revenue` (the run's `revenue_trait`), the run's sizes are computed
    in the same pass (`sizes_in_pass`) and appended to `sizes`.

    The traits table's comment records each trait's definition hash (`snapshots.trait_hashes`), so that a
    metric trigger knows when a trait was edited (runs/baseline.py).

    `progress` is told the steps 'evaluate', 'write memberships', 'sizes' (when computed here) and 'commit'
    (`run`'s `progress`)."""
    lap = Laps(timings)
    cur = store.cursor()
    # Spark computes in `result_sql` (DuckDB only copies its rows): no estimate of DuckDB's to show there
    in_duckdb = getattr(engine, "name", "") == "duckdb"
    notify(progress, 0, THOUSANDTHS if in_duckdb else None, "evaluate")
    # Spark computes here, before the transaction opens (DuckDB only yields its SQL); `source`: the SQL already
    # made (a backfill's point reusing an earlier point's: runs/reuse.py)
    if source is None:
        source = engine.result_sql(compiled.expr, cur)
    with store.transaction(cur):
        # one materialisation: the traits table is created with the segment columns, the memberships are
        # read from it, then the segment columns are dropped
        with watch_query(cur, progress if in_duckdb else None, "evaluate"):
            traits = create_traits_table(cur, run_id, source)
        if not in_duckdb:
            notify(progress, 1, 1, "evaluate")
        cur.execute(f"COMMENT ON TABLE {traits} IS {literal(json.dumps(trait_hashes or {}, sort_keys=True))}")
        lap("evaluate")
        members = _members(compiled)
        # only the evaluation is watched: DuckDB's progress is read from another thread, which is safe while
        # one statement runs, not while this thread reads a result or runs the next (a race seen in CI:
        # "Attempting to execute an unsuccessful or closed pending query result"); these steps read results
        notify(progress, 0, 1, "write memberships")
        stored_memberships.write_run(cur, run_id, traits, compiled.segments, compiled.segmentations)
        notify(progress, 1, 1, "write memberships")
        lap("write_memberships")
        if sizes is not None and members and revenue is not None:
            # while the segment columns are there: no second pass over the orders and the memberships
            notify(progress, 0, 1, "sizes")
            sizes.append(sizes_in_pass(cur, traits, members, revenue))
            notify(progress, 1, 1, "sizes")
            lap("sizes")
        notify(progress, 0, 1, "commit")
        for column in [*compiled.segments.values(), *compiled.segmentations.values()]:
            # the segment columns were only needed for the memberships (dropping is free before the commit)
            cur.execute(f"ALTER TABLE {traits} DROP COLUMN {ident(column)}")
        if kind != "batch":
            cur.execute(f"INSERT INTO {META}.run_customers SELECT {run_id}, customer_id FROM {traits}")
            snapshot.write_live(cur, run_id, traits)
        count = int(one(cur.execute(f"SELECT count(*) FROM {traits}"))[0])
        cur.execute(
            f"UPDATE {META}.runs SET status = 'complete', finished_at = ?, customers = ? WHERE run_id = ?",
            [wall_clock(zone), count, run_id],
        )
        if actions:
            # the audit log's 'actions_pending' row stays unanswered until the actions are enqueued
            cur.execute(
                f"INSERT INTO {META}.audit_log VALUES (?, 'actions_pending', ?, NULL)",
                [datetime.now(), str(run_id)],
            )
    lap("commit")
    notify(progress, 1, 1, "commit")
    return count


def _members(compiled: CompiledRun) -> list[tuple[str, str, str, str | None]]:
    """The run's memberships as SQL over its traits table (segment columns still there): per segment or
    segmentation, (segmentation, segment, name, condition or None)."""
    members: list[tuple[str, str, str, str | None]] = []
    for name, column in compiled.segments.items():
        members.append(("NULL::VARCHAR", literal(name), literal(name), ident(column)))
    for name, column in compiled.segmentations.items():
        members.append((literal(name), ident(column), f"{literal(name + '.')} || {ident(column)}", None))
    return members


def _sizes_from_frame(mem: pd.DataFrame, total: int) -> pd.DataFrame:
    if mem.empty:
        return pd.DataFrame(columns=["name", "segmentation", "segment", "customers", "share"])
    grouped = mem.groupby(["name"], dropna=False).agg(
        segmentation=("segmentation", "first"),
        segment=("segment", "first"),
        customers=("customer_id", "size"),
    )
    out = grouped.reset_index()
    out["share"] = out["customers"] / total if total else None
    return out


def compiled_sql(
    ws: Context,
    name: str | None = None,
    *,
    dialect: str = "duckdb",
    as_of: str | datetime | date | None = "latest",
) -> str:
    """The SQL a run of `name` (segment, segmentation, built-in or trait; None = everything) executes."""
    from segmentum.engine.duckdb import DuckDBEngine
    from segmentum.spec.loader import trait_closure

    defs = ws.definitions()
    if name is not None:
        if name in defs.traits and name not in defs.segments and name not in defs.segmentations:
            keep = trait_closure(defs.traits, {name})
            defs = Definitions(
                traits={n: t for n, t in defs.traits.items() if n in keep},
                attributes=defs.attributes,
                tables=defs.tables,
                hashes=defs.hashes,
            )
        else:
            owner = (
                name
                if (name in defs.segments or name in defs.segmentations or name in defs.builtins)
                else name.partition(".")[0]
            )
            if owner in defs.segmentations and name != owner:
                defs.segment(name)  # a NotFoundError with a did-you-mean for a wrong segment name
            defs = defs.select([owner])
    if as_of == "latest" and newest_timestamp(ws.store) is None:
        as_of = None
    resolved, _ = resolve_as_of(as_of, ws)
    usable = definitions_at(ws, defs, resolved)
    if name is not None and usable.skipped & {name, name.partition(".")[0]}:
        raise RunError(f"no SQL for '{name}' at {resolved:%Y-%m-%d %H:%M:%S}: {'; '.join(usable.warnings)}")
    engine = DuckDBEngine(ws.store)
    read_property = None
    if dialect in ("pyspark", "spark"):
        from segmentum.engine.spark import SparkEngine

        read_property = SparkEngine.read_property
    tables = {n: t for n, t in engine.tables().items() if n not in usable.unusable}
    compiled = RunCompiler(
        usable.definitions,
        tables,
        resolved,
        read_property=read_property,
        history=past_members(ws, usable.definitions, resolved, engine),
        currency=ws.config.currency,
        narrow_windows=dialect == "duckdb",
    ).compile()
    return engine.to_sql(compiled.expr, dialect="pyspark" if dialect == "spark" else dialect)
