"""Which real-time runs keep their traits table: the one retention rule (issue 20).

Every real-time run (a micro-batch, one a second while events flow) writes `segmentum.traits_<run_id>` for
the customers it re-evaluated. Its memberships and its `run_customers` rows are history and stay; its traits
table is read only by

- the customer 360 (`views.customers`): the traits of the run holding a customer's current state
  (`snapshots.current_memberships`);
- a later run's metric triggers (`actions.events.metric_values`), through the previous-state rule of
  `runs.baseline`: a customer's previous value is in the newest earlier real-time run of the same version
  that re-evaluated them, unless a batch run holding the trait came after it;
- the run's own triggers while its actions are owed to the outbox (`customer_context`, `metric_values`).

So a real-time run R's traits table is dropped when no reader can need it any more (`prunable`):

1. R is nobody's current state: no live row is R's, or R is older than the latest run;
2. every customer of R was re-evaluated after R: either by their live run (the newest real-time run that
   re-evaluated them), computed with the same definitions and traits
   (same `definitions_hash`, same trait hashes), or a batch run holding every definition and trait R holds
   (no previous-state read goes past a batch run holding the definition);
3. neither R nor that later run is the newest complete run, or is or comes after a run whose actions are
   still owed (`actions_pending`): their triggers read the previous state as it was. So a table goes one run
   after the run that superseded it at the earliest.

A pruned run never is the previous state any reader would pick (the later run is newer for each customer and
holds the same versions), so dropping it changes no answer. Segment transitions read memberships, never traits.
Batch runs keep their traits tables.
"""

from __future__ import annotations

import json

import pandas as pd

from segmentum.store import META, Store
from segmentum.store.snapshots import actions_pending_runs, batch_runs, latest_run, trait_hashes
from segmentum.store.tables import LIVE_TABLE, traits_table

__all__ = ["prunable", "prune"]


def prunable(store: Store) -> list[int]:
    """The real-time runs whose traits tables no reader can need any more (the rule of the module doc)."""
    # run id -> the trait hashes its traits table records (None on runs of older releases, which record none)
    tables = trait_hashes(store)
    realtime = store.query(
        f"SELECT run_id, definitions_hash, definition_hashes FROM {META}.runs "
        "WHERE status = 'complete' AND kind = 'realtime' AND list_contains(?, run_id) ORDER BY run_id",
        [list(tables)],
    )
    if not realtime:
        return []
    # nothing at or after the first run whose actions are owed, nor the newest run (whoever ran it may fire
    # its triggers next: `Workspace.run` does, after the commit), supersedes: their triggers read R
    newest = store.query(f"SELECT max(run_id) FROM {META}.runs WHERE status = 'complete'")[0][0]
    horizon = min([*actions_pending_runs(store), int(newest)])

    def settled(run_id: int) -> bool:
        return run_id < horizon

    latest = latest_run(store)
    latest_id = latest.run_id if latest is not None else 0
    batches = [b for b in batch_runs(store) if settled(b.run_id) and b.run_id in tables]
    signature: dict[int, str] = {}
    by_batch: list[int] = []  # candidates every customer of which a later batch run supersedes
    candidates: list[int] = []
    for run_id, definitions_hash, hashes_json in realtime:
        run_id = int(run_id)
        if not settled(run_id):
            continue
        recorded = tables[run_id]
        if recorded is None:  # a run of an older release: what it holds is unknown, it stays
            continue
        traits = frozenset(recorded)
        # the same definitions and the same trait versions (sort_keys: one text per map)
        signature[run_id] = f"{definitions_hash}|{json.dumps(recorded, sort_keys=True)}"
        definitions = set(json.loads(hashes_json) if isinstance(hashes_json, str) and hashes_json else {})
        if any(
            b.run_id > run_id
            and definitions <= set(b.definition_hashes)
            and traits <= set(tables[b.run_id] or ())
            for b in batches
        ):
            by_batch.append(run_id)
        candidates.append(run_id)
    if not candidates:
        return []
    frame = pd.DataFrame(
        {"run_id": list(signature), "sig": list(signature.values())},
    ).astype({"run_id": "int64"})
    cur = store.cursor()
    cur.register("_sgm_retention", frame)
    try:
        # current states: a live row newer than the latest run (snapshots._current_sql) keeps its run
        current = {
            int(r[0])
            for r in cur.execute(
                f"SELECT DISTINCT run_id FROM {META}.{LIVE_TABLE} WHERE run_id > ? "
                "AND list_contains(?, run_id)",
                [latest_id, candidates],
            ).fetchall()
        }
        # every customer's live run is newer, settled and of the same signature
        superseded = {
            int(r[0])
            for r in cur.execute(
                f"""SELECT c.run_id FROM _sgm_retention c
                    LEFT JOIN {META}.run_customers rc ON rc.run_id = c.run_id
                    LEFT JOIN {META}.{LIVE_TABLE} l ON l.customer_id = rc.customer_id
                    LEFT JOIN _sgm_retention s ON s.run_id = l.run_id
                    WHERE list_contains($candidates, c.run_id)
                    GROUP BY c.run_id
                    HAVING bool_and(rc.customer_id IS NULL OR coalesce(l.run_id > rc.run_id AND s.sig = c.sig
                        AND l.run_id < $horizon, false))""",
                {"candidates": candidates, "horizon": horizon},
            ).fetchall()
        }
    finally:
        cur.unregister("_sgm_retention")
    return sorted(r for r in candidates if r not in current and (r in superseded or r in by_batch))


def prune(store: Store) -> list[int]:
    """Drop the traits tables of the real-time runs `prunable` finds, in one transaction; returns their ids.
    Called after each run commits (`runs.execute.run`, `runs.realtime.Evaluator.evaluate`)."""
    runs = prunable(store)
    if runs:
        cur = store.cursor()
        with store.transaction(cur):
            for run_id in runs:
                cur.execute(f"DROP TABLE IF EXISTS {META}.{traits_table(run_id)}")
    return runs
