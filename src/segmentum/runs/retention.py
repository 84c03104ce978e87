"""Where the real-time runs' traits are kept: the one retention rule (issue 20).

Every real-time run (a micro-batch, one a second while events flow) writes `segmentum.traits_<run_id>` for the
customers it re-evaluated. Its memberships and its `run_customers` rows are history and stay. Its traits are
read by

- the run's own triggers (`customer_context`, `metric_values`) while its actions are owed to the outbox;
- the customer 360 (`views.customers`): the traits of the run holding a customer's current state, their newest
  real-time run when it is newer than the latest run (`snapshots.current_memberships`);
- a later run's metric triggers (`actions.events.metric_values`), through the previous-state rule of
  `runs.baseline`: a customer's previous value is in the newest earlier real-time run of the same trait version
  that re-evaluated them, unless a batch run holding the trait came after it.

Past its own triggers, then, a reader only ever wants a customer's row in the newest real-time run of a given
*signature* (the same trait columns, types and definition hashes) that re-evaluated them. So a run's table is
**folded** (`prune`) once the run is settled: its rows replace those customers' rows in the live traits table of
its signature (`segmentum.live_traits_<signature>`, the run in `__run_id`; readers: `snapshots.run_traits`,
`snapshots.trait_values_sql`) and the table is dropped, all in one transaction. Runs are folded in run order, so
a live row is always that signature's newest.

- **Settled**: older than the first run whose actions are still owed (`actions_pending`) and than the newest
  complete run (whoever ran it may fire its triggers next: `Workspace.run` does, after the commit). Their
  triggers read the previous state as it was, so nothing at or after that point is folded.
- **Dead rows**: a live row of run R no reader can pick once R is older than the latest run (the customer 360
  reads the latest run then) and a settled batch run after R holds every trait of the table (previous-state
  reads stop there). They are deleted, and a live traits table left empty is dropped. So are the live
  membership rows older than the latest run (`snapshots.write_live`): nobody's current state. When deleted rows
  are three quarters of a row group of a live table (`LIVE_DEAD_SHARE`), the live rows of that group are moved to
  the table's end, a few thousand rows at each prune, so that the next checkpoint drops the group
  (`store.reclaim`): a server's checkpoints do not merge row groups (`Store.keep_row_groups`), and every
  micro-batch's delete reads the live tables whole.

Before this rule a real-time run's table was kept while it held any customer's current state: with events spread
over 1M customers that was nearly every micro-batch's table until the next batch run, and each micro-batch's
catalog reads and DuckDB's memory grew with them (BENCHMARKS.md "Real-time traits folded per customer"). Now the
tables are the runs not yet settled plus one per signature. Segment transitions read memberships, never traits.
Batch runs keep their traits tables.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from segmentum.sql import ident
from segmentum.store import META, Store
from segmentum.store.reclaim import reclaim_row_groups
from segmentum.store.snapshots import actions_pending_runs, latest_run, live_traits_tables, recorded_hashes
from segmentum.store.tables import (
    LIVE_TABLE,
    LIVE_TRAITS_RUN,
    TRAITS_PREFIX,
    create_live_traits_table,
    live_traits_table,
    run_of_traits_table,
    traits_table,
)

__all__ = ["foldable", "prune", "signature"]


def signature(columns: list[tuple[str, str]], hashes: dict[str, str] | None) -> str:
    """The live traits table a run's traits fold into: its columns (name, type, in order) and trait hashes."""
    text = json.dumps({"columns": columns, "hashes": hashes}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _horizon(store: Store) -> int:
    """The first run not settled: the first run whose actions are owed, or the newest complete run."""
    newest = store.query(f"SELECT max(run_id) FROM {META}.runs WHERE status = 'complete'")[0][0]
    return min([*actions_pending_runs(store), int(newest or 0)])


def foldable(store: Store, horizon: int | None = None) -> list[tuple[int, str, dict[str, str] | None]]:
    """The settled real-time runs that still have a traits table, oldest first: (run id, signature, hashes).
    `horizon`: the first run not settled, when the caller has it (`_horizon`)."""
    horizon = _horizon(store) if horizon is None else horizon
    rows = store.query(
        f"""SELECT r.run_id, t.comment FROM {META}.runs r
            JOIN duckdb_tables() t ON t.database_name = current_database() AND t.schema_name = ?
                AND t.table_name = '{TRAITS_PREFIX}' || r.run_id::VARCHAR
            WHERE r.status = 'complete' AND r.kind = 'realtime' AND r.run_id < ? ORDER BY r.run_id""",
        [META, horizon],
    )
    if not rows:
        return []
    shapes: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in store.query(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND list_contains(?, table_name) ORDER BY table_name, column_index",
        [META, [traits_table(r[0]) for r in rows]],
    ):
        shapes.setdefault(str(table), []).append((str(column), str(kind)))
    out = []
    for run_id, comment in rows:
        hashes = recorded_hashes(comment)
        out.append((int(run_id), signature(shapes.get(traits_table(run_id), []), hashes), hashes))
    return out


def prune(store: Store) -> list[int]:
    """Fold the settled real-time runs' traits tables into the live traits tables and drop them, and delete the
    live rows no reader can pick (the rule of the module doc), in one transaction; returns the folded runs.
    Called after each run commits (`runs.execute.run`, `runs.realtime.Evaluator.evaluate`)."""
    horizon = _horizon(store)
    runs = foldable(store, horizon)
    groups: dict[str, list[int]] = {}
    hashes_of: dict[str, dict[str, str] | None] = {}
    for run_id, sig, hashes in runs:
        groups.setdefault(sig, []).append(run_id)
        hashes_of[sig] = hashes
    cur = store.cursor()
    with store.transaction(cur):
        existing = set(live_traits_tables(store, cur))
        _reclaim_live_tables(cur, sorted(existing))
        for sig, group in groups.items():
            name = live_traits_table(sig)
            live = f"{META}.{ident(name)}"
            if name not in existing:
                hashes = hashes_of[sig]
                recorded = None if hashes is None else json.dumps(hashes, sort_keys=True)
                create_live_traits_table(cur, sig, traits_table(group[0]), recorded)
            rows = " UNION ALL ".join(
                f"SELECT *, {run_id}::BIGINT AS {LIVE_TRAITS_RUN} FROM {META}.{traits_table(run_id)}"
                for run_id in group
            )
            cur.execute(f"DELETE FROM {live} WHERE customer_id IN (SELECT customer_id FROM ({rows}))")
            # a customer in several of the runs: their newest row
            cur.execute(
                f"INSERT INTO {live} SELECT * FROM ({rows}) "
                f"QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY {LIVE_TRAITS_RUN} DESC) = 1"
            )
            for run_id in group:
                cur.execute(f"DROP TABLE {META}.{traits_table(run_id)}")
        _delete_dead_rows(store, cur, horizon)
    return [run_id for run_id, _, _ in runs]


# the rows one prune moves at most per live table to give back the space of deleted ones
# (`store.reclaim.reclaim_row_groups`). At 2,000 events/s a micro-batch deletes about 2,000 rows of each live table
# a second, 20,000 between two prunes (`Evaluator.prune_every_s`). A prune at 1M customers moved about 60,000 rows
# of each table in 0.13-0.15 s, which the next micro-batch waited for: a lower limit spreads that out, and a
# group that waits only gets sparser
RECLAIM_ROWS = 20_480
# ... from row groups that store more than this share of deleted rows: each row moved then gives back the space of
# three. At a half (one for one) a 1M server at 2,000 events/s for 15 minutes had more long gaps between
# micro-batches and an event -> membership p99 of 3.37-3.40 s, against 2.93 s with DuckDB's vacuum and 2.99 s at
# three quarters (BENCHMARKS.md "Deleted rows given back without the vacuum"). The tables then store up to four
# times their live rows, against the 1.2M deleted rows a table gathered in the 10 minutes between two vacuums
LIVE_DEAD_SHARE = 0.75


def _reclaim_live_tables(cur: Any, live_traits: list[str]) -> int:
    """Give back the space of the deleted rows of the live membership table and of the live traits tables
    `live_traits` (`store.reclaim`), before the fold writes them in the caller's transaction; returns the rows
    moved."""
    tables = [LIVE_TABLE, *live_traits]
    return sum(
        reclaim_row_groups(cur, f"{META}.{ident(t)}", max_rows=RECLAIM_ROWS, dead_share=LIVE_DEAD_SHARE)
        for t in tables
    )


def _delete_dead_rows(store: Store, cur: Any, horizon: int) -> None:
    """Delete the live traits rows of runs older than the latest run and than a settled batch run holding every
    trait of their table, and drop the live traits tables left empty; delete the live membership rows older than
    the latest run (read by nobody: every reader of the live table scans it, so it holds only what is read)."""
    tables = list(live_traits_tables(store, cur))
    latest = latest_run(store)
    if latest is None:
        return
    # a live membership row older than the latest run is nobody's current state (`snapshots._current_sql`)
    cur.execute(f"DELETE FROM {META}.{LIVE_TABLE} WHERE run_id < ?", [latest.run_id])
    if not tables:
        return
    columns: dict[str, set[str]] = {}
    for table, column in cur.execute(
        f"""SELECT c.table_name, c.column_name FROM duckdb_columns() c
            WHERE c.database_name = current_database() AND c.schema_name = ? AND (list_contains(?, c.table_name)
                OR c.table_name IN (SELECT '{TRAITS_PREFIX}' || run_id::VARCHAR FROM {META}.runs
                    WHERE status = 'complete' AND kind = 'batch' AND run_id < ?))""",
        [META, tables, horizon],
    ).fetchall():
        if not str(column).startswith("__") and column != "customer_id":
            columns.setdefault(str(table), set()).add(str(column))
    batches = sorted(
        (run_id, held) for name, held in columns.items() if (run_id := run_of_traits_table(name)) is not None
    )
    for table in tables:
        traits = columns.get(table, set())
        holding = [run_id for run_id, held in batches if traits <= held]
        if not holding:
            continue
        cutoff = min(max(holding), latest.run_id)
        live = f"{META}.{ident(table)}"
        cur.execute(f"DELETE FROM {live} WHERE {LIVE_TRAITS_RUN} < ?", [cutoff])
        if not cur.execute(f"SELECT EXISTS (SELECT 1 FROM {live})").fetchone()[0]:
            cur.execute(f"DROP TABLE {live}")
