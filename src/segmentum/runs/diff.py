"""Transitions between snapshots: who entered, exited or moved between segments.

A run is compared, per segment or segmentation, with each customer's previous state under the SAME
definition, by the one rule of `segmentum.runs.baseline`: the newest earlier complete batch run that holds
the definition with the same hash (another hash: this run is a new baseline with no transitions), or a
later real-time run of the same hash that re-evaluated the customer. So a transition already reported by a
real-time run is not reported again by the next batch run, and an edit never produces transitions for the
whole base.
"""

from __future__ import annotations

import pandas as pd

from segmentum.runs.baseline import (
    PreviousState,
    previous_runs_of_sql,
    previous_runs_sql,
    previous_state,
    previous_states,
)
from segmentum.store import META, Store
from segmentum.store.memberships import KEYS, ROWS
from segmentum.store.snapshots import RunInfo, get_run
from segmentum.store.tables import traits_table

COLUMNS = ["customer_id", "name", "segmentation", "from_segment", "to_segment", "kind", "from_run"]


# The one rule of a transition's kind, from a customer's segment in the previous run and in this one (rows where
# both are equal are no transition): both diff queries read it.
TRANSITION_SQL = "CASE WHEN from_segment IS NULL THEN 'entered' WHEN to_segment IS NULL THEN 'exited' ELSE 'moved' END AS kind"


def previous_comparable_run(store: Store, run_id: int, name: str) -> RunInfo | None:
    """The batch run `name`'s transitions in `run_id` are computed against; None = a baseline."""
    state = previous_state(store, run_id, name)
    return None if state.batch_run is None else get_run(store, state.batch_run)


def baselines(store: Store, run_id: int) -> list[str]:
    """Definitions for which `run_id` sets a new baseline (first run, or first after an edit)."""
    current = get_run(store, run_id)
    states = previous_states(store, run_id, list(current.definition_hashes))
    return [n for n, state in states.items() if state.baseline]


def current_kinds(store: Store, info: RunInfo) -> dict[str, str | None]:
    """name -> the name itself for segmentations, None for standalone segments, of the definitions a run holds.

    A segmentation holds every customer of the run, so its name appears in `memberships.segmentation`.
    """
    found = {
        r[0]
        for r in store.query(
            f"SELECT DISTINCT segmentation FROM {META}.memberships WHERE run_id = ? AND segmentation IS NOT NULL",
            [info.run_id],
        )
    }
    return {n: (n if n in found else None) for n in info.definition_hashes}


def diff(store: Store, run_id: int, names: list[str] | None = None) -> pd.DataFrame:
    """Transitions of `run_id` for every segment and segmentation it holds (or `names`).

    Returns customer_id, name (the segmentation or standalone segment), segmentation (null for standalone
    segments), from_segment, to_segment, kind ('entered' | 'exited' | 'moved'), from_run, ordered by the
    definitions' order in the run, then customer_id. Definitions without a comparable earlier run are listed
    in `df.attrs['baselines']` and have no rows; `df.attrs['states']` holds each definition's `PreviousState`.

    A batch run compared with a batch run alone (the usual case) is diffed for all its definitions in ONE
    join of the two runs' memberships (`_diff_batch`); a real-time run in one query for the definitions that
    share their previous runs (`_diff_realtime`); a batch definition whose previous state includes real-time
    runs on its own against each customer's previous run (`_diff_one`).
    """
    current = get_run(store, run_id)
    frames: list[pd.DataFrame] = []
    base: list[str] = []
    kinds = current_kinds(store, current)
    states = previous_states(store, run_id, names or list(current.definition_hashes))
    together: dict[int, list[PreviousState]] = {}  # previous batch run -> the definitions diffed against it
    groups: dict[tuple[int | None, tuple[int, ...]], list[PreviousState]] = {}
    for name, state in states.items():
        if state.baseline:
            base.append(name)
        elif current.kind != "batch":
            groups.setdefault((state.batch_run, state.realtime_runs), []).append(state)
        elif not state.realtime_runs:
            assert state.batch_run is not None
            together.setdefault(state.batch_run, []).append(state)
        else:
            frames.append(_diff_one(store, current, state, kinds.get(name)))
    for previous, group in together.items():
        # a batch run against one earlier batch run: one join for every definition
        frames.append(_diff_batch(store, current, previous, group, kinds))
    for group in groups.values():
        # a real-time run: one query for the definitions that share their previous runs (usually all), so
        # that a micro-batch costs one diff, not one per definition
        frames.append(_diff_realtime(store, current, group, kinds))
    if not frames:
        df = pd.DataFrame({c: pd.Series(dtype="object" if c != "from_run" else "int64") for c in COLUMNS})
    elif len(frames) == 1:
        df = frames[0]
    else:
        # each part is ordered by customer_id; a stable sort by definition keeps that order within each
        order = {name: i for i, name in enumerate(states)}
        df = pd.concat(frames, ignore_index=True)
        df = df.iloc[df["name"].map(order).argsort(kind="stable")].reset_index(drop=True)
    df.attrs["baselines"] = base
    df.attrs["states"] = states
    return df


def _diff_realtime(
    store: Store, current: RunInfo, states: list[PreviousState], kinds: dict[str, str | None]
) -> pd.DataFrame:
    """`_diff_one` of a real-time run for several definitions with the same previous runs, in one query: the
    same rule (`baseline.previous_runs_of_sql`) and the same rows, for the run's customers only."""
    state = states[0]
    assert state.batch_run is not None
    # a membership belongs to the segmentation it names, or to the standalone segment of its name
    definitions = pd.DataFrame(
        {"name": [s.name for s in states], "is_segmentation": [kinds.get(s.name) is not None for s in states]}
    )
    cur_customers = f"SELECT customer_id FROM {META}.run_customers WHERE run_id = $cur"
    sql = f"""
    WITH cur_c AS ({cur_customers}),
    prev_c AS ({previous_runs_of_sql(state, "SELECT customer_id FROM cur_c")}),
    mem AS (
        SELECT run_id, customer_id, segment, coalesce(segmentation, segment) AS name FROM {META}.memberships
        WHERE run_id IN (SELECT run_id FROM prev_c UNION SELECT $cur) AND customer_id IN (SELECT customer_id FROM cur_c)),
    prev AS (
        SELECT pc.customer_id, d.name, pc.run_id, m.segment FROM prev_c pc CROSS JOIN _sgm_definitions d
        LEFT JOIN mem m ON m.run_id = pc.run_id AND m.customer_id = pc.customer_id AND m.name = d.name),
    cur AS (
        SELECT cc.customer_id, d.name, d.is_segmentation, m.segment FROM cur_c cc CROSS JOIN _sgm_definitions d
        LEFT JOIN mem m ON m.run_id = $cur AND m.customer_id = cc.customer_id AND m.name = d.name),
    joined AS (
        SELECT c.customer_id, c.name, c.is_segmentation, p.segment AS from_segment, c.segment AS to_segment,
               coalesce(p.run_id, $prev) AS from_run
        FROM cur c LEFT JOIN prev p USING (customer_id, name))
    SELECT customer_id, name, CASE WHEN is_segmentation THEN name END::VARCHAR AS segmentation,
           from_segment, to_segment,
           {TRANSITION_SQL},
           from_run
    FROM joined
    WHERE (from_segment IS DISTINCT FROM to_segment)
    ORDER BY name, customer_id
    """
    cur = store.cursor()
    cur.register("_sgm_definitions", definitions)
    try:
        return cur.execute(sql, {"cur": current.run_id, "prev": state.batch_run}).df()
    finally:
        cur.unregister("_sgm_definitions")


def _diff_batch(
    store: Store, current: RunInfo, previous: int, states: list[PreviousState], kinds: dict[str, str | None]
) -> pd.DataFrame:
    """Transitions of several definitions of batch run `current` against one earlier batch run, in one query.

    Equal to `_diff_one` of each definition: every customer of either run has at most one segment of a
    definition in each (a segmentation's label, or the standalone segment's name, or none), so a full outer
    join of the two runs' memberships on (customer, definition) pairs each customer's two states; a customer
    absent from a run, or in none of its segments, has no row there (state null) in both formulations.

    Joined on the stored integer keys (`store.memberships`: one key per name, so equal keys of a definition
    are equal segments), not on names read through the memberships view: each run's rows carry only their
    key and the definition's position, and the names are looked up for the transitions alone.
    """
    names = [s.name for s in states]
    segmentations = [n for n in names if kinds.get(n) is not None]
    standalone = [n for n in names if kinds.get(n) is None]
    # the keys of the definitions diffed, with the position of their definition in `names`: a segmentation's
    # keys carry its name in `segmentation`, a standalone segment's carry it in `segment`
    sql = f"""
    WITH defs AS (
        SELECT segment_key, list_position($names, coalesce(segmentation, segment))::INTEGER AS d
        FROM {KEYS}
        WHERE (segmentation IS NOT NULL AND list_contains($segmentations, segmentation))
           OR (segmentation IS NULL AND list_contains($standalone, segment))),
    cur AS (
        SELECT r.customer_id, k.d, r.segment_key FROM {ROWS} r JOIN defs k USING (segment_key)
        WHERE r.run_id = $cur),
    prev AS (
        SELECT r.customer_id, k.d, r.segment_key FROM {ROWS} r JOIN defs k USING (segment_key)
        WHERE r.run_id = $prev),
    changed AS (
        SELECT coalesce(c.customer_id, p.customer_id) AS customer_id, coalesce(c.d, p.d) AS d,
               p.segment_key AS from_key, c.segment_key AS to_key
        FROM cur c FULL OUTER JOIN prev p ON c.customer_id = p.customer_id AND c.d = p.d
        WHERE c.segment_key IS DISTINCT FROM p.segment_key)
    SELECT t.customer_id, $names[t.d] AS name,
           CASE WHEN list_contains($segmentations, $names[t.d]) THEN $names[t.d] END::VARCHAR AS segmentation,
           f.segment AS from_segment, o.segment AS to_segment,
           CASE WHEN t.from_key IS NULL THEN 'entered' WHEN t.to_key IS NULL THEN 'exited'
                ELSE 'moved' END AS kind,
           $prev::BIGINT AS from_run
    FROM changed t
    LEFT JOIN {KEYS} f ON f.segment_key = t.from_key
    LEFT JOIN {KEYS} o ON o.segment_key = t.to_key
    ORDER BY t.d, t.customer_id
    """
    df = (
        store.cursor()
        .execute(
            sql,
            {
                "cur": current.run_id,
                "prev": int(previous),
                "names": names,
                "segmentations": segmentations or [""],
                "standalone": standalone or [""],
            },
        )
        .df()
    )
    # text as objects with None for null, as each definition's own query gives for its columns
    for column in ("customer_id", "name", "segmentation", "from_segment", "to_segment", "kind"):
        values = df[column].astype(object)
        df[column] = values.where(values.notna(), None)
    return df


def _diff_one(store: Store, current: RunInfo, state: PreviousState, segmentation: str | None) -> pd.DataFrame:
    assert state.batch_run is not None
    if segmentation is not None:
        member = "m.segmentation = $name"
    else:
        member = "m.segmentation IS NULL AND m.segment = $name"
    if current.kind == "batch":
        cur_customers = f"SELECT customer_id FROM {META}.{traits_table(current.run_id)}"
    else:
        cur_customers = f"SELECT customer_id FROM {META}.run_customers WHERE run_id = $cur"
    # a real-time run compares only the customers it re-evaluated: its cost must not grow with the store
    previous = (
        previous_runs_sql(state)
        if current.kind == "batch"
        else previous_runs_of_sql(state, "SELECT customer_id FROM cur_c")
    )
    sql = f"""
    WITH cur_c AS ({cur_customers}),
    prev_c AS ({previous}),
    prev AS (
        SELECT pc.customer_id, pc.run_id, m.segment FROM prev_c pc
        LEFT JOIN {META}.memberships m ON m.run_id = pc.run_id AND m.customer_id = pc.customer_id AND {member}),
    cur AS (
        SELECT cc.customer_id, m.segment FROM cur_c cc
        LEFT JOIN {META}.memberships m ON m.run_id = $cur AND m.customer_id = cc.customer_id AND {member}),
    joined AS (
        SELECT coalesce(c.customer_id, p.customer_id) AS customer_id, p.segment AS from_segment,
               c.segment AS to_segment, coalesce(p.run_id, $prev) AS from_run,
               c.customer_id IS NOT NULL AS in_cur
        FROM cur c {"FULL OUTER" if current.kind == "batch" else "LEFT"} JOIN prev p USING (customer_id))
    SELECT customer_id, $name AS name, {"$name" if segmentation is not None else "NULL"}::VARCHAR AS segmentation,
           from_segment, to_segment,
           {TRANSITION_SQL},
           from_run
    FROM joined
    WHERE (from_segment IS DISTINCT FROM to_segment)
    ORDER BY customer_id
    """
    return (
        store.cursor()
        .execute(
            sql,
            {"name": state.name, "cur": current.run_id, "prev": state.batch_run},
        )
        .df()
    )


def summary(transitions: pd.DataFrame) -> pd.DataFrame:
    """Counts of transitions by name, from_segment, to_segment and kind."""
    if transitions.empty:
        return pd.DataFrame(columns=["name", "from_segment", "to_segment", "kind", "customers"])
    grouped = transitions.groupby(["name", "kind", "from_segment", "to_segment"], dropna=False).size()
    out = grouped.reset_index(name="customers")
    return out[["name", "from_segment", "to_segment", "kind", "customers"]].sort_values(
        ["name", "customers"], ascending=[True, False], ignore_index=True
    )
