"""A definition's previous state: which earlier runs a run is compared with (DESIGN.md section 3, principle 4).

The one rule, used by segment transitions (`runs/diff.py`) and by metric triggers (`actions/events.py`):

- the **batch run**: the newest complete batch run before this one (by run id) that holds the definition;
- plus the complete **real-time runs** after it (and before this run) that hold the definition with the same
  version; a customer's previous state is their row in the newest of those that re-evaluated them, else
  their row in the batch run;
- a **baseline** (no previous state, nothing fires) when no such batch run exists, when this run does not
  hold the definition, or when the batch run holds another version of it: an edit starts a new baseline.

A segment or segmentation is held by the runs whose `definition_hashes` name it, its version being its hash.
A trait (metric triggers) is held by the runs whose kept traits have its column (`snapshots.runs_holding_trait`),
its version being the hash the run recorded for it (`snapshots.trait_hashes`); runs of older releases recorded none, and an unknown
version counts as unchanged (an upgrade starts no baseline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from segmentum.store import META, Store
from segmentum.store.snapshots import (
    RunInfo,
    get_run,
    list_runs,
    runs_holding_trait,
    trait_hashes,
    traits_table,
)


@dataclass(frozen=True)
class PreviousState:
    """Where a definition's previous state comes from, for one run."""

    name: str
    batch_run: int | None  # None on a baseline
    realtime_runs: tuple[int, ...] = ()  # newest first
    baseline: bool = False


Holds = Callable[[RunInfo], bool]
Version = Callable[[RunInfo], str | None]


def _holds_definition(name: str) -> Holds:
    return lambda run: name in run.definition_hashes


def _definition_version(name: str) -> Version:
    return lambda run: run.definition_hashes.get(name)


def resolve(
    current: RunInfo, earlier: list[RunInfo], name: str, holds: Holds, version: Version
) -> PreviousState:
    """The rule itself, over `earlier`: the complete runs before `current`, newest first."""
    if not holds(current):
        return PreviousState(name, None, (), baseline=True)
    mine = version(current)

    def same(other: str | None) -> bool:
        return other is None or mine is None or other == mine

    realtime: list[int] = []
    for prev in earlier:
        if prev.run_id >= current.run_id or prev.status != "complete" or not holds(prev):
            continue
        if prev.kind == "realtime":
            if same(version(prev)):
                realtime.append(prev.run_id)
            continue
        if not same(version(prev)):
            return PreviousState(name, None, (), baseline=True)  # edited since: a new baseline
        return PreviousState(name, prev.run_id, tuple(realtime))
    return PreviousState(name, None, (), baseline=True)


def _earlier(store: Store, run_id: int) -> list[RunInfo]:
    return [r for r in list_runs(store) if r.run_id < run_id and r.status == "complete"]


def previous_state(store: Store, run_id: int, name: str) -> PreviousState:
    """The previous state of segment or segmentation `name` for run `run_id` (see the module doc)."""
    return previous_states(store, run_id, [name])[name]


def previous_states(store: Store, run_id: int, names: list[str]) -> dict[str, PreviousState]:
    """`previous_state` of several definitions, reading the runs once."""
    current = get_run(store, run_id)
    earlier = _earlier(store, run_id)
    return {
        name: resolve(
            current,
            earlier,
            name,
            holds=_holds_definition(name),
            version=_definition_version(name),
        )
        for name in names
    }


def trait_previous_state(store: Store, run_id: int, trait: str) -> PreviousState:
    """The previous state of trait `trait` (metric triggers): runs hold it when their kept traits have it (their
    traits table, or the live traits table a real-time run was folded into: `runs.retention`)."""
    having = runs_holding_trait(store, trait)
    recorded = trait_hashes(store)
    return resolve(
        get_run(store, run_id),
        _earlier(store, run_id),
        trait,
        holds=lambda r: r.run_id in having,
        version=lambda r: (recorded.get(r.run_id) or {}).get(trait),
    )


def previous_runs_sql(state: PreviousState) -> str:
    """SQL of (customer_id, run_id): the run holding each customer's previous state, for every customer of
    the batch run or of its later real-time runs. Empty on a baseline."""
    if state.batch_run is None:
        return "SELECT NULL::VARCHAR AS customer_id, NULL::BIGINT AS run_id WHERE false"
    batch = int(state.batch_run)
    if state.realtime_runs:
        ids = ", ".join(str(int(r)) for r in state.realtime_runs)
        newest = (
            f"SELECT customer_id, max(run_id) AS run_id FROM {META}.run_customers WHERE run_id IN ({ids}) "
            "GROUP BY customer_id"
        )
    else:
        newest = "SELECT NULL::VARCHAR AS customer_id, NULL::BIGINT AS run_id WHERE false"
    return f"""SELECT u.customer_id, coalesce(l.run_id, {batch}) AS run_id FROM (
            SELECT customer_id FROM {META}.{traits_table(batch)} UNION SELECT customer_id FROM ({newest})) u
        LEFT JOIN ({newest}) l USING (customer_id)"""


def previous_runs_of_sql(state: PreviousState, customers_sql: str) -> str:
    """`previous_runs_sql` for the customers `customers_sql` selects only (a real-time run's): the same rule,
    at a cost that grows with those customers, not with the store. A customer no earlier run holds gets the
    batch run (where they have no membership: they enter)."""
    if state.batch_run is None:
        return "SELECT NULL::VARCHAR AS customer_id, NULL::BIGINT AS run_id WHERE false"
    batch = int(state.batch_run)
    if not state.realtime_runs:
        return f"SELECT customer_id, {batch}::BIGINT AS run_id FROM ({customers_sql})"
    ids = ", ".join(str(int(r)) for r in state.realtime_runs)
    return f"""SELECT c.customer_id, coalesce(max(rc.run_id), {batch}) AS run_id FROM ({customers_sql}) c
        LEFT JOIN {META}.run_customers rc ON rc.customer_id = c.customer_id AND rc.run_id IN ({ids})
        GROUP BY c.customer_id"""
