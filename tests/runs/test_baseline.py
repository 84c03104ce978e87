"""A definition's previous state is one rule (runs/baseline.py): segment transitions (runs/diff.py) and
metric triggers (actions/events.py) take it from the same runs, start a baseline on the same edits, and take
a customer's state from a real-time run in between alike."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from runs_helpers import DEFINITIONS, ORDERS, set_orders, write_definitions
from segmentum.actions.events import metric_events, metric_values, segment_events
from segmentum.runs import diff
from segmentum.runs.baseline import PreviousState, previous_state, resolve, trait_previous_state
from segmentum.runs.execute import run
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

AS_OF = "2024-03-31"


def _transitions(store, run_id: int, name: str) -> dict[str, tuple]:
    t = diff.diff(store, run_id, [name])
    return {r.customer_id: (r.from_segment, r.to_segment, int(r.from_run)) for r in t.itertuples()}


def _metric_from(store, run_id: int) -> dict[str, int | None]:
    _, rows = metric_values(store, run_id, "spent")
    return {customer: from_run for customer, _, _, from_run in rows}


def test_transitions_and_metric_events_take_the_same_previous_state(shop: Workspace) -> None:
    store = shop.store
    first = run(shop, as_of=AS_OF)
    # d buys in real time: d alone is re-evaluated
    set_orders(shop, [*ORDERS, ("d", datetime(2024, 3, 20), 200)])
    realtime = run(shop, as_of=AS_OF, customers=["d"])
    assert _transitions(store, realtime.run_id, "tier") == {"d": ("bronze", "silver", first.run_id)}
    assert _metric_from(store, realtime.run_id) == {"d": first.run_id}
    # then b and d buy again; the next batch run compares d with the real-time run, b with the first run
    set_orders(
        shop,
        [
            *ORDERS,
            ("d", datetime(2024, 3, 20), 200),
            ("b", datetime(2024, 3, 21), 400),
            ("d", datetime(2024, 3, 22), 400),
        ],
    )
    batch = run(shop, as_of=AS_OF)
    moves = _transitions(store, batch.run_id, "tier")
    assert moves == {"b": ("silver", "gold", first.run_id), "d": ("silver", "gold", realtime.run_id)}
    metric = _metric_from(store, batch.run_id)
    assert {c: metric[c] for c in moves} == {c: from_run for c, (_, _, from_run) in moves.items()}
    assert metric == {"a": first.run_id, "b": first.run_id, "c": first.run_id, "d": realtime.run_id}
    _, rises = metric_events(store, batch.run_id, "spent", change=1.0)
    assert [(e.customer_id, e.from_run) for e in rises] == [("b", first.run_id), ("d", realtime.run_id)]
    events = segment_events(store, batch.run_id)
    assert {(e.customer_id, e.from_run) for e in events.events if e.segmentation == "tier"} == {
        ("b", first.run_id),
        ("d", realtime.run_id),
    }


def test_editing_a_trait_starts_a_baseline_for_its_segments_and_its_metric_triggers(shop: Workspace) -> None:
    store = shop.store
    run(shop, as_of=AS_OF)
    # the trait now means something else: only the last 30 days count (b: 150 -> null, c: 720 -> 700)
    write_definitions(shop, DEFINITIONS.replace("{sum: orders.amount}", "{sum: orders.amount, within: 30d}"))
    edited = run(shop, as_of=AS_OF)
    assert set(edited.baselines) == {"big", "tier"}
    state = trait_previous_state(store, edited.run_id, "spent")
    assert state.baseline
    # nothing fires from values computed under the old meaning (c dropped from 720 to 700, a to null)
    assert metric_events(store, edited.run_id, "spent", change=-0.01) == (state, [])
    # the next run compares with the edited one, for both
    later = run(shop, as_of=AS_OF)
    assert previous_state(store, later.run_id, "tier").batch_run == edited.run_id
    assert trait_previous_state(store, later.run_id, "spent").batch_run == edited.run_id


def test_editing_a_segment_only_starts_its_own_baseline(shop: Workspace) -> None:
    store = shop.store
    first = run(shop, as_of=AS_OF)
    write_definitions(
        shop, DEFINITIONS.replace('big: {where: "spent >= 100"}', 'big: {where: "spent >= 150"}')
    )
    edited = run(shop, as_of=AS_OF)
    assert edited.baselines == ["big"]
    # the trait and the segmentation did not change: their previous state is the first run
    assert previous_state(store, edited.run_id, "tier") == PreviousState("tier", first.run_id)
    assert trait_previous_state(store, edited.run_id, "spent") == PreviousState("spent", first.run_id)


def test_a_real_time_run_of_another_version_is_not_a_previous_state() -> None:
    def info(run_id: int, kind: str, version: str) -> snapshot.RunInfo:
        return snapshot.RunInfo(
            run_id,
            datetime(2024, 1, run_id),
            None,
            None,
            "complete",
            "duckdb",
            kind,
            None,
            {"x": version},
            0,
            None,
        )

    current = info(5, "batch", "h1")
    earlier = [
        info(4, "realtime", "h1"),
        info(3, "realtime", "h2"),
        info(2, "realtime", "h1"),
        info(1, "batch", "h1"),
    ]
    state = resolve(
        current,
        earlier,
        "x",
        holds=lambda r: "x" in r.definition_hashes,
        version=lambda r: r.definition_hashes["x"],
    )
    assert state == PreviousState("x", 1, (4, 2))
    edited = resolve(
        info(5, "batch", "h2"),
        earlier,
        "x",
        holds=lambda r: "x" in r.definition_hashes,
        version=lambda r: r.definition_hashes["x"],
    )
    assert edited.baseline and edited.batch_run is None


def test_runs_of_older_releases_without_trait_hashes_are_not_a_baseline(shop: Workspace) -> None:
    store = shop.store
    first = run(shop, as_of=AS_OF)
    store.cursor().execute(f"COMMENT ON TABLE segmentum.{snapshot.traits_table(first.run_id)} IS NULL")
    assert snapshot.trait_hashes(store)[first.run_id] is None
    second = run(shop, as_of=AS_OF)
    assert trait_previous_state(store, second.run_id, "spent") == PreviousState("spent", first.run_id)
    assert metric_events(store, second.run_id, "spent", above=Decimal(0))[0].batch_run == first.run_id
