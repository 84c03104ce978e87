"""A micro-batch leaves no traits table behind for ever (issue 20): after each run the traits tables of the
real-time runs no reader needs are dropped (`runs.retention`), and every reader answers as it would with all
of them kept. Two real stores replay the same events and micro-batches, one with pruning switched off."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from segmentum.actions.events import metric_events
from segmentum.actions.triggers import customer_context, process_run
from segmentum.errors import NotFoundError
from segmentum.runs import diff as diff_mod
from segmentum.runs import retention
from segmentum.runs.realtime import PRUNE_EVERY_S, Evaluator, EventRow, EventWriter
from segmentum.store import snapshots as snapshot
from segmentum.store.tables import LIVE_TABLE
from segmentum.views.customers import customer
from segmentum.workspace import Workspace

DEFS = """
traits:
  spent: {sum: orders.amount}
  carts_7d: {count: events, where: "event = 'cart_add'", within: 7d}
segments:
  cart_hot: {where: "carts_7d > 0"}
triggers:
  hot:
    on: enter
    segment: cart_hot
    do:
      - task: {title: "Call {{ customer_id }}"}
  busy:
    on: metric
    trait: carts_7d
    above: 1
    do:
      - task: {title: "Busy {{ customer_id }}"}
"""
CUSTOMERS = [f"c{i}" for i in range(6)]
T0 = datetime(2024, 3, 31, 12, 0, 0)
# (customers touched by a cart event) per micro-batch: overlapping, some customers touched again and again
BATCHES = [["c0", "c1"], ["c1", "c2"], ["c0"], ["c2", "c3"], ["c1"], ["c3", "c4"], ["c0", "c4"], ["c1"]]


def _tables() -> dict[str, list[dict[str, Any]]]:
    return {
        "customers": [{"customer_id": c} for c in CUSTOMERS],
        "orders": [
            {"order_id": f"o{i}", "customer_id": c, "ordered_at": datetime(2024, 2, 1 + i), "amount": 10 * i}
            for i, c in enumerate(CUSTOMERS)
        ],
        "events": [
            {
                "event_id": "e-old",
                "customer_id": "c5",
                "event": "page_view",
                "occurred_at": T0 - timedelta(days=1),
                "properties": None,
            }
        ],
    }


def _realtime_tables(ws: Workspace) -> set[int]:
    return {
        int(r[0])
        for r in ws.store.query(
            "SELECT r.run_id FROM segmentum.runs r JOIN duckdb_tables() t "
            "ON t.schema_name = 'segmentum' AND t.table_name = 'traits_' || r.run_id::VARCHAR "
            "WHERE r.kind = 'realtime'"
        )
    }


def _current_runs(ws: Workspace) -> set[int]:
    latest = snapshot.latest_run(ws.store)
    return {
        int(r[0])
        for r in ws.store.query(
            f"SELECT DISTINCT run_id FROM segmentum.{LIVE_TABLE} WHERE run_id > ?",
            [latest.run_id if latest else 0],
        )
    }


def _micro_batch(ws: Workspace, evaluator: Evaluator, ids: list[str], at: datetime) -> dict[str, Any]:
    """What the server's micro-batch does (`service.runtime._evaluate`): events, the run, its triggers."""
    EventWriter(ws.store, ws.config.timezone).append(
        EventRow(c, "cart_add", at - timedelta(seconds=1)) for c in ids
    )
    result = evaluator.evaluate(ids, at, actions=True)
    assert result.run_id is not None
    process_run(ws, result.run_id)
    transitions = diff_mod.diff(ws.store, result.run_id)
    return {
        "run_id": result.run_id,
        "transitions": transitions.drop(columns=["from_run"]).to_dict("records"),
        "from_runs": sorted(set(transitions["from_run"])),
        "customers": {c: _view(ws, c) for c in CUSTOMERS},
        "outbox": _outbox(ws),
    }


def _view(ws: Workspace, customer_id: str) -> dict[str, Any]:
    seen = customer(ws, customer_id, history_runs=0)
    return {"segments": seen["segments"], "run": (seen["run"] or {}).get("run_id"), "traits": seen["traits"]}


def _outbox(ws: Workspace) -> list[tuple[Any, ...]]:
    return ws.store.query(
        "SELECT trigger, customer_id, run_id FROM segmentum.outbox ORDER BY trigger, customer_id, run_id"
    )


def _replay(ws: Workspace) -> list[dict[str, Any]]:
    ws.run(as_of=T0, deliver=False)
    evaluator = Evaluator(ws, prune_every_s=0)  # the rule after each run
    seen = []
    for i, ids in enumerate(BATCHES):
        seen.append(_micro_batch(ws, evaluator, ids, T0 + timedelta(minutes=i + 1)))
        if i == 4:  # a batch run in the middle: it supersedes every earlier real-time run
            ws.run(as_of=T0 + timedelta(minutes=i + 1, seconds=30), deliver=False)
    return seen


@pytest.fixture
def stores(make_ws, monkeypatch) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Workspace, Workspace]:
    kept = make_ws(DEFS, _tables(), name="kept")
    pruned = make_ws(DEFS, _tables(), name="pruned")
    with monkeypatch.context() as m:
        m.setattr(retention, "prune", lambda store: [])  # the reference: every traits table kept
        expected = _replay(kept)
    return expected, _replay(pruned), kept, pruned


def test_pruning_changes_no_answer_and_keeps_only_current_states(stores) -> None:
    expected, got, kept, pruned = stores
    assert len(_realtime_tables(kept)) == len(BATCHES)  # the reference kept one table per micro-batch
    for want, have in zip(expected, got, strict=True):
        # customer 360 (current state and its traits), the diff, the outbox: the same in both stores
        assert have == want
    left = _realtime_tables(pruned)
    # what remains: the current states, and the newest run (its successor's triggers may still read it)
    assert left <= _current_runs(pruned) | {got[-1]["run_id"]}
    assert len(left) < len(BATCHES) / 2

    # a trigger on enter fires once per customer; the metric trigger (carts_7d crossing 1, on a customer's
    # second cart) once each too: a previous value read from the wrong run would fire it again or never
    outbox = _outbox(pruned)
    assert sorted(c for t, c, _ in outbox if t == "hot") == ["c0", "c1", "c2", "c3", "c4"]
    assert sorted(c for t, c, _ in outbox if t == "busy") == ["c0", "c1", "c2", "c3", "c4"]

    # a pruned run's traits say so; its memberships (history) stay
    gone = sorted({g["run_id"] for g in got} - left)
    assert gone
    with pytest.raises(NotFoundError, match=rf"traits of real-time run {gone[0]} were pruned"):
        snapshot.traits(pruned.store, gone[0])
    assert not snapshot.memberships(pruned.store, gone[0]).empty
    # a trigger reprocessed on it reads no traits instead of crashing (its values are gone, nothing fires)
    assert metric_events(pruned.store, gone[0], "carts_7d", above=Decimal(1))[1] == []
    assert customer_context(pruned, gone[0], ["c0"]).traits == {}


def test_owed_actions_keep_the_previous_state_they_read(make_ws) -> None:
    ws = make_ws(DEFS, _tables())
    ws.run(as_of=T0, deliver=False)
    evaluator = Evaluator(ws, prune_every_s=0)
    first = evaluator.evaluate(["c0"], T0 + timedelta(minutes=1), actions=True)
    process_run(ws, first.run_id)
    # the next run's actions are owed (not processed yet): the run they compare with stays
    second = evaluator.evaluate(["c0"], T0 + timedelta(minutes=2), actions=True)
    assert {first.run_id, second.run_id} <= _realtime_tables(ws)
    assert retention.prunable(ws.store) == []
    process_run(ws, second.run_id)
    # the newest run: whoever ran it may still read its triggers' previous state (a bare run, a reprocess)
    assert retention.prunable(ws.store) == []
    third = evaluator.evaluate(["c1"], T0 + timedelta(minutes=3), actions=True)  # prunes after its commit
    assert _realtime_tables(ws) == {second.run_id, third.run_id}


def test_the_server_s_micro_batch_gives_every_reader_the_same_answers(make_ws) -> None:
    """The server's micro-batch (`Runtime._evaluate`) computes neither the run's transitions nor its sizes
    (nobody reads them; its triggers diff the run themselves) and refreshes the lookups' replica right after
    the commit, before the pruning: the outbox, the diff, the customer views and the replica answer as with
    the full run followed by its triggers."""
    from segmentum.service.runtime import Runtime

    reference = make_ws(DEFS, _tables(), name="reference")
    expected = _replay(reference)
    ws = make_ws(DEFS, _tables(), name="server")
    runtime = Runtime(ws, realtime=False)
    seen_at_commit: list[dict[str, Any]] = []
    refresh = runtime.live.refresh

    def refreshed(customer_ids: list[str]) -> None:
        refresh(customer_ids)
        # the run is complete, its traits table still there (pruning comes after)
        latest = ws.store.query("SELECT run_id, status FROM segmentum.runs ORDER BY run_id DESC LIMIT 1")[0]
        seen_at_commit.append({"run": latest, "live": {c: runtime.live.get(c) for c in customer_ids}})

    runtime.live.refresh = refreshed  # type: ignore[method-assign]
    ws.run(as_of=T0, deliver=False)
    runtime.live.load()
    got = []
    for i, ids in enumerate(BATCHES):
        at = T0 + timedelta(minutes=i + 1)
        EventWriter(ws.store, ws.config.timezone).append(
            EventRow(c, "cart_add", at - timedelta(seconds=1)) for c in ids
        )
        result = runtime._evaluate(ids, at)
        assert result.transitions.empty and result.sizes.empty  # not computed
        transitions = diff_mod.diff(ws.store, result.run_id)
        got.append(
            {
                "run_id": result.run_id,
                "transitions": transitions.drop(columns=["from_run"]).to_dict("records"),
                "from_runs": sorted(set(transitions["from_run"])),
                "customers": {c: _view(ws, c) for c in CUSTOMERS},
                "outbox": _outbox(ws),
            }
        )
        assert seen_at_commit[-1]["run"] == (result.run_id, "complete")
        for c in ids:  # the replica held the customers' new state from the commit on
            entry = seen_at_commit[-1]["live"][c]
            assert entry is not None and entry.run_id == result.run_id
            assert list(entry.segments) == sorted(got[-1]["customers"][c]["segments"])
        if i == 4:
            ws.run(as_of=T0 + timedelta(minutes=i + 1, seconds=30), deliver=False)
            runtime.live.forget()  # as the server does after a batch run
            runtime.live.load()
    assert len(seen_at_commit) == len(BATCHES)
    for want, have in zip(expected, got, strict=True):
        assert have == want
    assert sorted(c for t, c, _ in _outbox(ws) if t == "hot") == ["c0", "c1", "c2", "c3", "c4"]


def test_micro_batches_prune_at_most_once_per_interval(make_ws) -> None:
    """`runs.retention` reads the catalog and the live table: a micro-batch runs it at most once per
    `prune_every_s` (10 s by default; a batch run after each run), so tables a reader no longer needs wait
    until then, and the next prune drops them all."""
    ws = make_ws(DEFS, _tables())
    ws.run(as_of=T0, deliver=False)
    evaluator = Evaluator(ws, prune_every_s=3600)
    assert Evaluator(ws).prune_every_s == PRUNE_EVERY_S == 10
    again = [evaluator.evaluate(["c0"], T0 + timedelta(minutes=i + 1)).run_id for i in range(4)]
    evaluator.evaluate(["c1"], T0 + timedelta(minutes=5))  # c0's last run is settled from here on
    evaluator.evaluate(["c1"], T0 + timedelta(minutes=6))
    needed_by_nobody = set(again[:3])
    assert needed_by_nobody <= set(retention.prunable(ws.store))
    assert needed_by_nobody <= _realtime_tables(ws)  # within the interval: kept
    evaluator.prune_every_s = 0  # the interval is over
    evaluator.evaluate(["c2"], T0 + timedelta(minutes=7))
    assert not needed_by_nobody & _realtime_tables(ws)
    assert again[3] in _realtime_tables(ws)  # c0's current state
