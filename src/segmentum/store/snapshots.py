"""Snapshots written by the run engine, and the helpers that read them.

Contract (other modules rely on it):

- `segmentum.runs`: one row per run; readers only look at runs with status 'complete'.
- `segmentum.memberships(run_id, customer_id, segmentation, segment, name)`: in every run each customer is
  in exactly one segment of each segmentation (segmentation NULL for standalone segments).
- `segmentum.traits_<run_id>`: one wide table per run, `customer_id` plus one column per trait, plus hidden
  columns whose names start with `__` (`__pop_HASH`: population values such as percent_rank used inside
  segment conditions, kept for the real-time path); `traits()` leaves them out unless asked. Its table
  comment is a JSON object trait -> definition hash (`trait_hashes()`; absent on runs of older releases).
  A real-time run's table is folded into a live traits table once its triggers are done (`runs.retention`):
- `segmentum.live_traits_<signature>`: the folded real-time runs' traits, one row per customer (their row in
  the newest folded run of that signature: the same trait columns, types and definition hashes), with the
  run in `__run_id`; its comment is the runs' trait hashes. Where a run's traits are now: `run_traits`; the
  values of a trait in several runs: `trait_values_sql`.

A realtime run (kind 'realtime') holds only the customers it re-evaluated, and replaces their row in
`segmentum.live_memberships` (one per customer: their memberships in the newest real-time run that re-evaluated
them). A customer's current state is that live row when its run is newer than the latest run, else their row in
the latest run (`latest_run`: the newest complete batch run by as_of, then id): `current_memberships`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from segmentum.errors import NotFoundError
from segmentum.sql import ident
from segmentum.store.connection import META, Store
from segmentum.store.tables import (
    LIVE_TABLE,
    LIVE_TRAITS_RUN,
    LIVE_TRAITS_TABLE_LIKE,
    MODEL_FITS_TABLE,
    TRAITS_PREFIX,
    TRAITS_TABLE_LIKE,
    run_of_traits_table,
    traits_table,
)

__all__ = [
    "RunInfo",
    "RunTraits",
    "actions_pending_runs",
    "batch_runs",
    "computed",
    "computed_by_hashes",
    "current_memberships",
    "current_state_groups",
    "current_states",
    "get_run",
    "history",
    "inputs_changed_since",
    "latest_run",
    "latest_run_of",
    "list_runs",
    "live_traits_tables",
    "memberships",
    "migration_pair",
    "past_run_of",
    "population_sources",
    "previous_run",
    "recorded_hashes",
    "resolve_run",
    "run_traits",
    "runs_holding_trait",
    "trait_values_sql",
    "traits",
    "traits_table",
    "write_live",
]


@dataclass(frozen=True)
class RunInfo:
    run_id: int
    as_of: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    engine: str | None
    kind: str
    definitions_hash: str | None
    definition_hashes: dict[str, str]
    customers: int | None
    message: str | None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "as_of": self.as_of,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_s": self.duration_s,
            "status": self.status,
            "engine": self.engine,
            "kind": self.kind,
            "definitions_hash": self.definitions_hash,
            "customers": self.customers,
            "message": self.message,
        }


_RUN_COLUMNS = (
    "run_id, as_of, started_at, finished_at, status, engine, kind, definitions_hash, "
    "definition_hashes, customers, message"
)


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    hashes = row[8]
    if isinstance(hashes, str):
        hashes = json.loads(hashes) if hashes else {}
    return RunInfo(
        int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], hashes or {}, row[9], row[10]
    )


# DESIGN.md section 5, "Which run": the latest run is the newest complete batch run by as_of, then by id. A
# backfill written after a newer-dated run is therefore not the latest. (Which run a diff compares with is
# another rule, by run id: runs/diff.py.)
_LATEST_BATCH_SQL = (
    f"SELECT {_RUN_COLUMNS} FROM {META}.runs WHERE status = 'complete' AND kind = 'batch' "
    "ORDER BY as_of DESC, run_id DESC LIMIT 1"
)


def latest_run(store: Store) -> RunInfo | None:
    """The latest run: the newest complete batch run by as_of, then by run id; None when there is none.

    Every reader that shows "the latest run" (dashboard, report, members, profile, preview, explain, the
    real-time path's population values) asks this function.
    """
    rows = store.query(_LATEST_BATCH_SQL)
    return _run_info(rows[0]) if rows else None


def population_sources(store: Store, columns: list[str]) -> dict[int, list[str]]:
    """Where the real-time path takes each population value from: run id -> the `columns` it provides.

    A column comes from the latest run (`latest_run`) when its traits table has it, else from the newest
    complete batch run (by as_of, then id) whose traits table has it: a `segmentum run --only rfm` computes
    only rfm's population values, and the other definitions' stay those of the run that last computed them.
    A column no batch run holds is absent (its value is unknown, null). Runs are listed newest first.
    """
    wanted = list(dict.fromkeys(columns))
    if not wanted:
        return {}
    rows = store.query(
        f"""SELECT r.run_id, c.column_name FROM {META}.runs r
            JOIN information_schema.columns c
              ON c.table_schema = ? AND c.table_name = '{TRAITS_PREFIX}' || r.run_id::VARCHAR
            WHERE r.status = 'complete' AND r.kind = 'batch' AND list_contains(?, c.column_name)
            ORDER BY r.as_of DESC, r.run_id DESC""",
        [META, wanted],
    )
    out: dict[int, list[str]] = {}
    taken: set[str] = set()
    for run_id, column in rows:  # newest run first: the first run holding a column provides it
        if column not in taken:
            taken.add(column)
            out.setdefault(int(run_id), []).append(str(column))
    return out


def actions_pending_runs(store: Store) -> list[int]:
    """Complete runs whose transitions are still owed to the outbox: their 'actions_pending' row in the audit
    log has no 'actions_processed' answer yet (`actions.triggers.pending_runs`), oldest first."""
    return [
        int(r[0])
        for r in store.query(
            f"""SELECT r.run_id FROM {META}.runs r
                JOIN {META}.audit_log p ON p.action = 'actions_pending' AND p.subject = r.run_id::VARCHAR
                WHERE r.status = 'complete' AND NOT EXISTS (SELECT 1 FROM {META}.audit_log d
                    WHERE d.action = 'actions_processed' AND d.subject = r.run_id::VARCHAR)
                ORDER BY r.run_id"""
        )
    ]


def batch_runs(store: Store) -> list[RunInfo]:
    """Complete batch runs, the latest first (by as_of, then id: the order of `latest_run`)."""
    return [
        _run_info(r)
        for r in store.query(
            f"SELECT {_RUN_COLUMNS} FROM {META}.runs WHERE status = 'complete' AND kind = 'batch' "
            "ORDER BY as_of DESC, run_id DESC"
        )
    ]


def computed_by_hashes(run: RunInfo, name: str) -> bool | None:
    """Whether `run` computed `name` (a segmentation, a standalone segment, or a segmentation's segment such as
    `rfm.champions`, computed with its segmentation) by the run's recorded definition hashes; None when the run
    recorded none (runs of older releases: only their memberships tell, see `computed`). The one rule; a
    caller that reads many runs' memberships at once asks this and reads them itself."""
    if not run.definition_hashes:
        return None
    owner = name.partition(".")[0] if "." in name else name
    return owner in run.definition_hashes or name in run.definition_hashes


def computed(store: Store, run: RunInfo, definition: str) -> bool:
    """Whether `run` computed `definition` (a segmentation, a standalone segment or a segmentation's segment):
    `computed_by_hashes`; a run that recorded no hashes (older releases) computed what its memberships hold."""
    recorded = computed_by_hashes(run, definition)
    if recorded is not None:
        return recorded
    return bool(
        store.query(
            f"SELECT 1 FROM {META}.memberships WHERE run_id = ? AND (segmentation = ? OR name = ?) LIMIT 1",
            [run.run_id, definition, definition],
        )
    )


def _same_version(a: RunInfo, b: RunInfo, definition: str) -> bool:
    """The same fingerprint of `definition` in both runs (unknown on runs of older releases: the same)."""
    mine, theirs = a.definition_hashes.get(definition), b.definition_hashes.get(definition)
    return mine is None or theirs is None or mine == theirs


def latest_run_of(store: Store, definition: str) -> RunInfo | None:
    """The latest run (by as_of, then id) that computed `definition`: `latest_run` unless a `run --only` of
    other definitions came after it; None when no run computed it."""
    return next((r for r in batch_runs(store) if computed(store, r, definition)), None)


def past_run_of(store: Store, name: str, cutoff: datetime) -> RunInfo | None:
    """The run `was_in_segment(name, ...)` reads (DESIGN.md section 5.1, "History"): the newest complete batch
    run (by as_of, then id) that computed `name` (a standalone segment, or `segmentation.segment`: its
    segmentation) and whose as_of is at or before `cutoff` (the reading run's as_of minus the duration),
    whatever its engine and whether the definition was edited since; None when there is none."""
    owner = name.partition(".")[0] if "." in name else name
    return next((r for r in batch_runs(store) if r.as_of <= cutoff and computed(store, r, owner)), None)


def previous_run(store: Store, run: RunInfo, definition: str) -> RunInfo | None:
    """The run a migration of `definition` compares `run` with by default (DESIGN.md section 5, "Which run"):
    the newest complete batch run (by as_of, then id) whose as_of is EARLIER than `run`'s and that computed
    the same definition, i.e. the same fingerprint of it. Runs of equal as_of are never a pair (a backfill
    ending on the day of an earlier run would compare a day with itself); None when there is none."""
    for other in batch_runs(store):
        if (
            other.as_of < run.as_of
            and computed(store, other, definition)
            and _same_version(run, other, definition)
        ):
            return other
    return None


def migration_pair(
    store: Store, definition: str, *, from_run: int | None = None, to_run: int | None = None
) -> tuple[RunInfo, RunInfo]:
    """(from, to): the two complete runs a migration of `definition` (a segmentation, or a standalone segment)
    compares. The one home of the default pair, for the CLI, the API, the dashboard and the report.

    `to` defaults to the latest run that computed `definition` (the latest run, unless a `run --only` of
    other definitions came after it); `from` to `previous_run`. Explicit ids must be complete runs. A
    NotFoundError says what is missing and how to get it.
    """
    runs = batch_runs(store)
    if to_run is not None:
        to = resolve_run(store, to_run)
    else:
        found = latest_run_of(store, definition)
        if found is None:
            raise NotFoundError(
                f"no complete batch run computed '{definition}' yet; compute one with `segmentum run`"
            )
        to = found
    if from_run is not None:
        return resolve_run(store, from_run), to
    previous = previous_run(store, to, definition)
    if previous is not None:
        return previous, to
    earlier = [r for r in runs if r.as_of < to.as_of and computed(store, r, definition)]
    same_day = [r.run_id for r in runs if r.as_of == to.as_of and r.run_id != to.run_id]
    if earlier:
        why = (
            f"the earlier runs that computed it ({_ids(earlier)}) computed another version of "
            f"'{definition}' (its definition was edited since)"
        )
    else:
        why = f"no run with an earlier as_of computed '{definition}'"
        if same_day:
            which = (
                f"run {same_day[0]} has"
                if len(same_day) == 1
                else f"runs {', '.join(map(str, same_day))} have"
            )
            why += f" ({which} the same as_of, which is never a pair)"
    raise NotFoundError(
        f"run {to.run_id} (as of {to.as_of:%Y-%m-%d %H:%M}) has no earlier run to compare with: {why}; "
        "build history with `segmentum backfill --from DATE --to DATE`, or name the runs with --from/--to "
        "(`segmentum runs` lists them)"
    )


def _ids(runs: list[RunInfo]) -> str:
    shown = ", ".join(str(r.run_id) for r in runs[:5])
    return shown + (", ..." if len(runs) > 5 else "")


def get_run(store: Store, run_id: int) -> RunInfo:
    """A run by id; NotFoundError when there is none."""
    rows = store.query(f"SELECT {_RUN_COLUMNS} FROM {META}.runs WHERE run_id = ?", [int(run_id)])
    if not rows:
        raise NotFoundError(f"run {run_id} does not exist; `segmentum runs` lists the runs")
    return _run_info(rows[0])


def resolve_run(store: Store, run_id: int | None = None) -> RunInfo:
    """`run_id` when given (it must be complete), else the newest complete batch run."""
    if run_id is not None:
        info = get_run(store, run_id)
        if info.status != "complete":
            raise NotFoundError(
                f"run {run_id} is {info.status}, not complete; `segmentum runs` lists the runs"
            )
        return info
    latest = latest_run(store)
    if latest is None:
        raise NotFoundError("no complete run yet; compute one with `segmentum run`")
    return latest


def resolve_run_of(store: Store, name: str, run_id: int | None = None) -> RunInfo:
    """The run to read segment or segmentation `name` from: `run_id` when given; else the latest run that
    computed it (the latest run, unless a later `run --only` of other definitions left it out: its snapshot
    does not hold `name`); else the latest run (whose readers then say that it does not hold `name`)."""
    if run_id is None:
        owner = name.partition(".")[0] if "." in name else name
        found = latest_run_of(store, owner)
        if found is not None:
            return found
    return resolve_run(store, run_id)


def list_runs(store: Store) -> list[RunInfo]:
    """Every run, newest first."""
    return [_run_info(r) for r in store.query(f"SELECT {_RUN_COLUMNS} FROM {META}.runs ORDER BY run_id DESC")]


def memberships(
    store: Store, run_id: int, name: str | None = None, *, definitions: list[str] | None = None
) -> pd.DataFrame:
    """Memberships of a run: customer_id, segmentation, segment, name (optionally one segment's, or those of
    some `definitions`: standalone segments and segmentations by name)."""
    sql = f"SELECT customer_id, segmentation, segment, name FROM {META}.memberships WHERE run_id = ?"
    params: list[Any] = [int(run_id)]
    if name is not None:
        sql += " AND name = ?"
        params.append(name)
    if definitions is not None:
        sql += " AND (list_contains(?, name) OR list_contains(?, segmentation))"
        params += [list(definitions), list(definitions)]
    return store.cursor().execute(sql + " ORDER BY name, customer_id", params).df()


def _current_sql(
    where: str, *, names_only: bool = False, among: str | None = None, live_from: int | None = None
) -> str:
    """The rule of a customer's state now, one row per customer (customer_id, run_id, as_of, memberships: a list of
    {segmentation, segment, name} sorted by name) for the customers `where` selects (a condition on
    `customer_id`): their live row when its run is newer than the latest run, else their memberships in the
    latest run (a customer in no segment there has no row). `names_only`: the list holds the names alone
    (column `names`): what a read of many customers needs, and building structs for each of 100k customers'
    memberships took most of such a read's time. `among`: a query of the candidate ids (column customer_id) that
    `where` selects: the latest run's memberships are then read only for those without a newer live row, so
    a read of customers who all have one (the replica's refresh after a micro-batch) reads none (DuckDB skips
    a scan joined with nothing; at 100k the memberships' scan was most of the read). `live_from`: only the live
    rows of that run or a later one, and nothing of the latest run (`current_state_groups`)."""
    if names_only:
        live_list, batch_list = "list_transform(l.memberships, x -> x.name)", "list(m.name ORDER BY m.name)"
        column = "names"
    else:
        live_list, column = "l.memberships", "memberships"
        batch_list = (
            "list({'segmentation': m.segmentation, 'segment': m.segment, 'name': m.name} ORDER BY m.name)"
        )
    # live rows are appended in run order: a lower bound on the run skips the row groups of older ones
    since = "" if live_from is None else f" AND l.run_id >= {int(live_from)}"
    batch_where = (
        f"{where.format(c='m.customer_id')} AND m.customer_id NOT IN (SELECT customer_id FROM live)"
        if among is None
        else f"m.customer_id IN (SELECT a.customer_id FROM ({among}) a "
        "WHERE a.customer_id NOT IN (SELECT customer_id FROM live))"
    )
    head = f"""WITH latest AS (SELECT run_id, as_of FROM ({_LATEST_BATCH_SQL})),
        live AS (SELECT l.customer_id, l.run_id, l.as_of, {live_list} AS {column} FROM {META}.{LIVE_TABLE} l
            WHERE {where.format(c="l.customer_id")}
                AND l.run_id > coalesce((SELECT run_id FROM latest), 0){since})"""
    if live_from is not None:
        return f"{head}\n        SELECT customer_id, run_id, as_of, {column} FROM live"
    return f"""{head}
        SELECT customer_id, run_id, as_of, {column} FROM live
        UNION ALL
        SELECT m.customer_id, any_value(m.run_id), (SELECT as_of FROM latest), {batch_list}
        FROM {META}.memberships m
        WHERE {batch_where} AND m.run_id = (SELECT run_id FROM latest)
        GROUP BY m.customer_id"""


def current_memberships(store: Store, customer_id: str) -> pd.DataFrame:
    """The customer's memberships now (run_id, customer_id, segmentation, segment, name), in ONE read of the
    rule `current_states` applies: their live row (`segmentum.live_memberships`, written by the newest
    real-time run that re-evaluated them) when that run is newer than the latest run (`latest_run`), else
    their rows in the latest run. Empty when they are in no segment. Nothing is computed on read."""
    return (
        store.cursor()
        .execute(
            f"""SELECT run_id, customer_id, x.segmentation, x.segment, x.name
            FROM (SELECT run_id, customer_id, unnest(memberships) AS x FROM ({_current_sql("{c} = $customer")}))
            ORDER BY x.name""",
            {"customer": str(customer_id)},
        )
        .df()
    )


def current_states(
    store: Store, customer_ids: list[str] | None = None
) -> dict[str, tuple[int, datetime, list[str]]]:
    """customer_id -> (run_id, as_of, names sorted) of their state now, for `customer_ids` (None: every customer of
    the latest run or of a newer real-time run). The rule of `current_memberships`, for many customers at
    once (`current_state_groups`, one row per customer)."""
    return {
        c: (run_id, as_of, list(names))
        for run_id, as_of, names, ids in current_state_groups(store, customer_ids)
        for c in ids
    }


def current_state_groups(
    store: Store, customer_ids: list[str] | None = None, *, cursor: Any = None, since_run: int | None = None
) -> list[tuple[int, datetime, tuple[str, ...], list[str]]]:
    """The states now of `customer_ids` (None: every customer of the latest run or of a newer real-time run),
    one row per distinct state: (run_id, as_of, names sorted, the customer ids in that state). The rule of
    `current_memberships`, for many customers at once: what the in-process replica of the live state loads
    (`runs.realtime.LiveState`). Grouped in the query, so the caller makes a Python object per state, not per
    customer and name: at 100k customers converting a row per customer held the GIL for seconds while the
    server's first requests waited. `cursor`: the caller's (it may interrupt the read).

    `since_run`: a real-time run that re-evaluated these customers, just committed (the replica's refresh after
    a micro-batch). Their live rows are then read from that run on, which skips the live table's older row
    groups (the whole table grew with every customer re-evaluated: over 250 micro-batches of 2,000 customers
    at 1M the refresh went from 18 to 69 ms); a customer without such a row is read by the rule as usual."""
    cur = cursor or store.cursor()
    if customer_ids is None:
        return _state_groups(cur, _current_sql("true", names_only=True), {})
    ids = [str(c) for c in customer_ids]
    where = "{c} IN (SELECT unnest($ids::VARCHAR[]))"
    if since_run is not None:
        groups = _state_groups(cur, _current_sql(where, names_only=True, live_from=since_run), {"ids": ids})
        found = {c for *_, held in groups for c in held}
        rest = [c for c in ids if c not in found]
        return groups + (current_state_groups(store, rest, cursor=cursor) if rest else [])
    among = "SELECT unnest($ids::VARCHAR[]) AS customer_id"
    return _state_groups(cur, _current_sql(where, names_only=True, among=among), {"ids": ids})


def _state_groups(
    cur: Any, sql: str, params: dict[str, Any]
) -> list[tuple[int, datetime, tuple[str, ...], list[str]]]:
    rows = cur.execute(
        f"SELECT run_id, as_of, names, list(customer_id::VARCHAR) FROM ({sql}) GROUP BY run_id, as_of, names",
        params,
    ).fetchall()
    return [(int(r), at, tuple(n), ids) for r, at, n, ids in rows]


def write_live(cur: Any, run_id: int, traits: str) -> None:
    """Replace the live rows of the customers of real-time run `run_id` (its traits table `traits`) with their
    memberships in it. Runs inside the run's transaction (`runs.execute`), after its memberships."""
    live = f"{META}.{LIVE_TABLE}"
    cur.execute(f"DELETE FROM {live} WHERE customer_id IN (SELECT customer_id FROM {traits})")
    cur.execute(
        f"""INSERT INTO {live} (customer_id, run_id, as_of, memberships)
        SELECT t.customer_id, {int(run_id)}, (SELECT as_of FROM {META}.runs WHERE run_id = {int(run_id)}),
            coalesce(list({{'segmentation': m.segmentation, 'segment': m.segment, 'name': m.name}}
                ORDER BY m.name) FILTER (WHERE m.name IS NOT NULL), [])
        FROM {traits} t LEFT JOIN (SELECT * FROM {META}.memberships WHERE run_id = {int(run_id)}) m
            USING (customer_id)
        GROUP BY t.customer_id"""
    )


def history(store: Store, customer_id: str) -> pd.DataFrame:
    """Every complete run's memberships of one customer, in time order (as_of, then run id): run_id, as_of,
    kind, segmentation, segment, name."""
    return (
        store.cursor()
        .execute(
            f"""SELECT m.run_id, r.as_of, r.kind, m.segmentation, m.segment, m.name FROM {META}.memberships m
            JOIN {META}.runs r USING (run_id) WHERE r.status = 'complete' AND m.customer_id = ?
            ORDER BY r.as_of, m.run_id, m.name""",
            [str(customer_id)],
        )
        .df()
    )


@dataclass(frozen=True)
class RunTraits:
    """Where a run's traits rows are: `relation` (SQL to read FROM: customer_id and `columns`) is its traits
    table, or, `folded`, the rows of a live traits table that still hold it."""

    run_id: int
    relation: str
    columns: dict[str, str]  # name -> DuckDB type, in table order (customer_id first)
    folded: bool


def live_traits_tables(store: Store, cursor: Any = None) -> dict[str, dict[str, str] | None]:
    """Every live traits table (name without schema) -> the trait hashes its runs recorded (None: unknown, runs
    of older releases)."""
    return {
        str(table): recorded_hashes(comment)
        for table, comment in (cursor or store.cursor())
        .execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = current_database() "
            f"AND schema_name = ? AND {LIVE_TRAITS_TABLE_LIKE} ORDER BY table_name",
            [META],
        )
        .fetchall()
    }


def recorded_hashes(comment: Any) -> dict[str, str] | None:
    """The trait hashes a traits table's comment records (a JSON object), or None when it records none."""
    try:
        hashes = json.loads(comment) if comment else None
    except ValueError:
        hashes = None
    return {str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else None


def run_traits(store: Store, run_id: int) -> RunTraits | None:
    """Where run `run_id`'s traits rows are (`RunTraits`), or None when nowhere: its traits table while it has
    one; for a real-time run folded since (`runs.retention`), the live traits table rows that still hold it
    (the customers it re-evaluated and no later real-time run of the same signature did)."""
    own = traits_table(run_id)
    columns = store.columns(own, schema=META)
    if columns:
        return RunTraits(int(run_id), f"{META}.{own}", columns, folded=False)
    for table in live_traits_tables(store):
        relation = f"{META}.{ident(table)}"
        if store.query(
            f"SELECT EXISTS (SELECT 1 FROM {relation} WHERE {LIVE_TRAITS_RUN} = ?)", [int(run_id)]
        )[0][0]:
            held = {c: t for c, t in store.columns(table, schema=META).items() if c != LIVE_TRAITS_RUN}
            select = ", ".join(ident(c) for c in held)
            return RunTraits(
                int(run_id),
                f"(SELECT {select} FROM {relation} WHERE {LIVE_TRAITS_RUN} = {int(run_id)})",
                held,
                folded=True,
            )
    return None


def traits(
    store: Store, run_id: int, customer_ids: list[str] | None = None, *, hidden: bool = False
) -> pd.DataFrame:
    """The traits of a run (customer_id plus one column per trait), optionally for some customers.

    Money stays exact (Decimal values). The table also holds hidden columns starting with `__` (population
    values of conditions, for the real-time path); `hidden=True` returns them. A real-time run whose traits
    were folded (`run_traits`) answers for given customers it still holds; asked for all its customers, or for
    none it still holds, it raises NotFoundError.
    """
    # where the rows are now (a table folded after this read raises below, as an absent one does here)
    source = run_traits(store, run_id)
    if source is None or (source.folded and customer_ids is None):
        raise _no_traits(store, run_id)
    columns = [c for c in source.columns if hidden or not c.startswith("__")]
    select = ", ".join(ident(c) for c in columns)
    sql = f"SELECT {select} FROM {source.relation}"
    params: list[Any] = []
    if customer_ids is not None:
        sql += " WHERE customer_id IN (SELECT unnest(?::VARCHAR[]))"
        params.append([str(c) for c in customer_ids])
    try:
        # through Arrow: DECIMAL money stays exact (Decimal objects), not float
        out = store.cursor().execute(sql + " ORDER BY customer_id", params).to_arrow_table().to_pandas()
    except duckdb.CatalogException as exc:  # folded since the columns were read (runs.retention)
        raise _no_traits(store, run_id) from exc
    if source.folded and out.empty:  # re-evaluated by a later run since: their state is elsewhere now
        raise _no_traits(store, run_id)
    return out


def _no_traits(store: Store, run_id: int) -> NotFoundError:
    """Why run `run_id` has no traits to show: a real-time run's are folded per customer once its triggers are
    done, and a customer's are replaced when a later real-time run re-evaluates them (`runs.retention`)."""
    info = get_run(store, run_id)
    if info.kind == "realtime" and info.status == "complete":
        return NotFoundError(
            f"the traits of real-time run {run_id} were folded into the live traits: only each customer's "
            "newest real-time state is kept there (runs.retention); its memberships remain (`segmentum "
            "customer ID` shows a customer's current state and its traits)"
        )
    return NotFoundError(f"run {run_id} has no traits table; `segmentum runs` lists the runs")


def trait_hashes(store: Store, run_id: int | None = None) -> dict[int, dict[str, str] | None]:
    """run id -> {trait: definition hash} of every run whose traits are kept (its traits table, or the live
    traits table it was folded into), or of run `run_id`'s only (None where the run did not record them)."""
    out: dict[int, dict[str, str] | None] = {}
    which = TRAITS_TABLE_LIKE if run_id is None else "table_name = ?"
    for table, comment in store.query(
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = current_database() "
        f"AND schema_name = ? AND {which}",
        [META] if run_id is None else [META, traits_table(run_id)],
    ):
        found = run_of_traits_table(table)
        if found is not None:
            out[found] = recorded_hashes(comment)
    if run_id is not None and out:
        return out
    for table, hashes in live_traits_tables(store).items():
        for folded in _folded_runs(store, table):
            if run_id is None or folded == run_id:
                out.setdefault(folded, hashes)
    return out


def _folded_runs(store: Store, table: str) -> set[int]:
    """The real-time runs live traits table `table` still holds a row of."""
    return {int(r[0]) for r in store.query(f"SELECT DISTINCT {LIVE_TRAITS_RUN} FROM {META}.{ident(table)}")}


def runs_holding_trait(store: Store, trait: str) -> set[int]:
    """The runs whose kept traits hold trait `trait`: a traits table with its column, or a live traits table
    with it (each run folded there that still holds a customer)."""
    rows = store.query(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = ? AND column_name = ? "
        f"AND ({TRAITS_TABLE_LIKE} OR {LIVE_TRAITS_TABLE_LIKE})",
        [META, trait],
    )
    held: set[int] = set()
    for (table,) in rows:
        run_id = run_of_traits_table(str(table))
        if run_id is not None:
            held.add(run_id)
        else:
            held |= _folded_runs(store, str(table))
    return held


def trait_values_sql(store: Store, runs: list[int], trait: str) -> str:
    """SQL of (run_id, customer_id, value): trait `trait` of each customer in each of `runs`, wherever their
    traits are kept (`run_traits`: its traits table, or the live traits table it was folded into). A run that
    keeps none, or lacks the trait, gives no rows. One catalog read, whatever the number of runs."""
    column = ident(trait)
    wanted = sorted({int(r) for r in runs})
    parts: list[str] = []
    if wanted:
        for (table,) in store.query(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = ? AND column_name = ? "
            f"AND ({TRAITS_TABLE_LIKE} OR {LIVE_TRAITS_TABLE_LIKE}) ORDER BY table_name",
            [META, trait],
        ):
            run_id = run_of_traits_table(str(table))
            relation = f"{META}.{ident(str(table))}"
            if run_id is None:  # a live traits table: the rows of the wanted runs it still holds
                parts.append(
                    f"SELECT {LIVE_TRAITS_RUN} AS run_id, customer_id, {column} AS value FROM {relation} "
                    f"WHERE list_contains({wanted}::BIGINT[], {LIVE_TRAITS_RUN})"
                )
            elif run_id in wanted:
                parts.append(
                    f"SELECT {run_id}::BIGINT AS run_id, customer_id, {column} AS value FROM {relation}"
                )
    if not parts:
        return "SELECT NULL::BIGINT AS run_id, NULL::VARCHAR AS customer_id, NULL AS value WHERE false"
    return " UNION ALL ".join(parts)


def inputs_changed_since(store: Store, run: RunInfo, zone: str) -> bool:
    """Whether what run `run` read may have changed after it started: an ingest finished, a model was fitted
    or a customer erased since. The preview reuses a run's stored traits only when nothing did.

    Each log keeps its own clock (ingests in UTC, fits on the workspace's wall clock to the second, erasures on
    the host's), so the run's start (the workspace's wall clock) is converted to each; a second of margin
    errs on the side of "changed" (the preview then evaluates everything, which is only slower)."""
    from datetime import UTC, timedelta
    from zoneinfo import ZoneInfo

    if run.started_at is None:
        return True
    try:
        aware = run.started_at.replace(tzinfo=ZoneInfo(zone))
    except Exception:  # noqa: BLE001 - an unknown zone was reported by the config loader; assume a change
        return True
    margin = timedelta(seconds=1)
    utc = aware.astimezone(UTC).replace(tzinfo=None)
    local = aware.astimezone().replace(tzinfo=None)
    row = store.query(
        f"SELECT (SELECT count(*) FROM {META}.ingests WHERE coalesce(finished_at, started_at) >= ?), "
        f"(SELECT count(*) FROM {META}.{MODEL_FITS_TABLE} WHERE fitted_at >= ?), "
        f"(SELECT count(*) FROM {META}.audit_log WHERE action = 'forget' AND logged_at >= ?)",
        [utc - margin, run.started_at - margin, local - margin],
    )[0]
    return any(int(n) for n in row)
