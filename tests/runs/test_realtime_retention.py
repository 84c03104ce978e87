"""A micro-batch leaves no traits table behind for ever (issue 20): once a real-time run is settled (its
triggers done, a newer run complete), its traits table is folded into the live traits of its signature, one row
per customer, and dropped (`runs.retention`); every reader answers as it would with every table kept. Two real
stores replay the same events and micro-batches, one with the folding switched off."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from segmentum.actions.events import metric_events, metric_values
from segmentum.actions.triggers import customer_context, process_run
from segmentum.errors import NotFoundError
from segmentum.runs import diff as diff_mod
from segmentum.runs import retention
from segmentum.runs.realtime import PRUNE_EVERY_S, Evaluator, EventRow, EventWriter
from segmentum.store import snapshots as snapshot
from segmentum.store.tables import LIVE_TABLE, create_live_traits_table, live_traits_table
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


def _live_traits(ws: Workspace) -> dict[str, list[tuple[Any, ...]]]:
    """Each live traits table -> its (customer, run) rows."""
    return {
        table: ws.store.query(f'SELECT customer_id, __run_id FROM segmentum."{table}" ORDER BY customer_id')
        for table in snapshot.live_traits_tables(ws.store)
    }


def test_folding_changes_no_answer_and_keeps_only_the_unsettled_runs_tables(stores) -> None:
    expected, got, kept, pruned = stores
    assert len(_realtime_tables(kept)) == len(BATCHES)  # the reference kept one table per micro-batch
    for want, have in zip(expected, got, strict=True):
        # customer 360 (current state and its traits), the diff, the outbox: the same in both stores
        assert have == want
    # what remains: the newest run's table (its triggers were processed after its own fold), and one live
    # traits table (one signature) holding each customer's newest folded real-time run since the batch run
    assert _realtime_tables(pruned) == {got[-1]["run_id"]}
    (rows,) = _live_traits(pruned).values()
    after_batch = [g["run_id"] for g in got[5:-1]]  # the batch run in the middle made the earlier rows dead
    newest: dict[str, int] = {}
    for ids, g in zip(BATCHES[5:-1], got[5:-1], strict=True):
        newest.update(dict.fromkeys(ids, g["run_id"]))
    assert rows == sorted(newest.items()) and {r for _, r in rows} <= set(after_batch)

    # a trigger on enter fires once per customer; the metric trigger (carts_7d crossing 1, on a customer's
    # second cart) once each too: a previous value read from the wrong run would fire it again or never
    outbox = _outbox(pruned)
    assert sorted(c for t, c, _ in outbox if t == "hot") == ["c0", "c1", "c2", "c3", "c4"]
    assert sorted(c for t, c, _ in outbox if t == "busy") == ["c0", "c1", "c2", "c3", "c4"]

    # a folded run's traits: for the customers it still holds, as they were; else they say where they went
    held = got[-2]["run_id"]  # c3 and c4's newest folded run
    assert snapshot.traits(pruned.store, held, ["c3", "c4"]).to_dict("records") == snapshot.traits(
        kept.store, held, ["c3", "c4"]
    ).to_dict("records")
    gone = got[0]["run_id"]  # c0 and c1 were re-evaluated since
    for customers in (None, ["c0"]):
        with pytest.raises(NotFoundError, match=rf"traits of real-time run {gone} were folded"):
            snapshot.traits(pruned.store, gone, customers)
    assert not snapshot.memberships(pruned.store, gone).empty
    # a trigger reprocessed on it reads no traits instead of crashing (its values are gone, nothing fires)
    assert metric_events(pruned.store, gone, "carts_7d", above=Decimal(1))[1] == []
    assert customer_context(pruned, gone, ["c0"]).traits == {}
    assert customer_context(pruned, held, ["c4"]).traits == customer_context(kept, held, ["c4"]).traits


def test_micro_batches_of_customers_never_touched_again_leave_no_table_behind(make_ws) -> None:
    """The shape of a store of 1M customers: each micro-batch's customers are not touched again for long, so
    each run held some customer's current state and the old rule kept every table until the next batch run
    (400 tables in minutes, every catalog read and DuckDB's memory growing with them). Folded, two remain."""
    ws = make_ws(DEFS, _tables())
    ws.run(as_of=T0, deliver=False)
    evaluator = Evaluator(ws, prune_every_s=0)
    runs = [
        _micro_batch(ws, evaluator, [c], T0 + timedelta(minutes=i + 1))["run_id"]
        for i, c in enumerate(CUSTOMERS)
    ]
    assert _realtime_tables(ws) == {runs[-1]}
    assert _live_traits(ws) == {
        next(iter(snapshot.live_traits_tables(ws.store))): [
            (c, r) for c, r in zip(CUSTOMERS[:-1], runs[:-1], strict=True)
        ]
    }
    assert {c: _view(ws, c)["run"] for c in CUSTOMERS} == dict(zip(CUSTOMERS, runs, strict=True))
    assert _view(ws, "c0")["traits"]["carts_7d"] == 1
    # a batch run holding every trait: once it is settled (its own triggers read the previous state as it
    # was), no reader can pick the live rows any more, and the table goes
    ws.run(as_of=T0 + timedelta(hours=1), deliver=False)
    assert len(_live_traits(ws)) == 1
    after = _micro_batch(ws, evaluator, ["c0"], T0 + timedelta(hours=1, minutes=1))["run_id"]
    assert _live_traits(ws) == {} and _realtime_tables(ws) == {after}
    # the live membership rows older than the batch run were nobody's current state: gone too
    assert ws.store.query(f"SELECT customer_id, run_id FROM segmentum.{LIVE_TABLE}") == [("c0", after)]


def test_owed_actions_keep_the_previous_state_they_read(make_ws) -> None:
    ws = make_ws(DEFS, _tables())
    ws.run(as_of=T0, deliver=False)
    evaluator = Evaluator(ws, prune_every_s=0)
    EventWriter(ws.store, ws.config.timezone).append([EventRow("c0", "cart_add", T0)])
    first = evaluator.evaluate(["c0"], T0 + timedelta(minutes=1), actions=True)
    process_run(ws, first.run_id)
    # the next run's actions are owed (not processed yet): its own table stays, and the run it compares with
    # is folded into the live traits, where its triggers read it
    EventWriter(ws.store, ws.config.timezone).append([EventRow("c0", "cart_add", T0 + timedelta(minutes=1))])
    second = evaluator.evaluate(["c0"], T0 + timedelta(minutes=2), actions=True)
    assert _realtime_tables(ws) == {second.run_id}
    assert retention.foldable(ws.store) == []
    assert metric_values(ws.store, second.run_id, "carts_7d")[1] == [("c0", 1, 2, first.run_id)]
    process_run(ws, second.run_id)
    assert [t for t, c, r in _outbox(ws) if r == second.run_id] == ["busy"]  # 1 -> 2 crossed 1
    # the newest run: whoever ran it may still read its triggers' previous state (a bare run, a reprocess)
    assert retention.foldable(ws.store) == []
    third = evaluator.evaluate(["c1"], T0 + timedelta(minutes=3), actions=True)  # folds after its commit
    assert _realtime_tables(ws) == {third.run_id}
    assert [r for _, r in next(iter(_live_traits(ws).values()))] == [second.run_id]


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

    def refreshed(customer_ids: list[str], since_run: int | None = None) -> None:
        refresh(customer_ids, since_run)
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


def test_micro_batches_fold_at_most_once_per_interval(make_ws) -> None:
    """`runs.retention` reads the catalog and writes the live traits: a micro-batch runs it at most once per
    `prune_every_s` (10 s by default; a batch run after each run), so settled runs' tables wait until then, and
    the next fold takes them all."""
    ws = make_ws(DEFS, _tables())
    ws.run(as_of=T0, deliver=False)
    evaluator = Evaluator(ws, prune_every_s=3600)
    assert Evaluator(ws).prune_every_s == PRUNE_EVERY_S == 10
    again = [evaluator.evaluate(["c0"], T0 + timedelta(minutes=i + 1)).run_id for i in range(4)]
    evaluator.evaluate(["c1"], T0 + timedelta(minutes=5))  # c0's last run is settled from here on
    evaluator.evaluate(["c1"], T0 + timedelta(minutes=6))
    settled = set(again)
    assert settled <= {r for r, _, _ in retention.foldable(ws.store)}
    assert settled <= _realtime_tables(ws)  # within the interval: kept
    evaluator.prune_every_s = 0  # the interval is over
    last = evaluator.evaluate(["c2"], T0 + timedelta(minutes=7)).run_id
    assert _realtime_tables(ws) == {last}
    # c0's newest real-time run, read from the live traits (the earlier ones replaced there)
    assert snapshot.traits(ws.store, again[3], ["c0"])["customer_id"].tolist() == ["c0"]
    assert [r for c, r in next(iter(_live_traits(ws).values())) if c == "c0"] == [again[3]]


def test_each_prune_gives_back_the_deleted_rows_of_the_live_tables_a_row_group_at_a_time(workspace) -> None:
    """Issue 20: a server's checkpoints do not run DuckDB's vacuum, which reclaimed the rows each micro-batch
    deletes from the live tables (a stall of 4.7-6.9 s every 10 minutes); without it they stayed stored, and
    every micro-batch's delete reads the live tables whole. A prune moves the live rows of their mostly deleted
    row groups to the end, at most `RECLAIM_ROWS` per table, and the next checkpoint drops those groups."""
    store = workspace.store
    store.keep_row_groups()  # as a server's store
    cur = store.cursor()
    live = f"segmentum.{LIVE_TABLE}"
    # two row groups of DuckDB's 122,880 and a third being appended to, in each live table
    cur.execute(
        f"INSERT INTO {live} SELECT 'c' || lpad(i::VARCHAR, 6, '0'), 1, TIMESTAMP '2026-01-01', "
        "[{'segmentation': NULL, 'segment': 's', 'name': 's' || (i % 3)}] FROM range(300000) t(i) ORDER BY i"
    )
    cur.execute(
        "CREATE TABLE segmentum.traits_1 AS SELECT 'c' || lpad(i::VARCHAR, 6, '0') AS customer_id, i AS spent "
        "FROM range(300000) t(i) ORDER BY i"
    )
    create_live_traits_table(cur, "sig", "traits_1", None)
    traits = f"segmentum.{live_traits_table('sig')}"
    cur.execute(f"INSERT INTO {traits} SELECT *, 1 FROM segmentum.traits_1 ORDER BY customer_id")
    cur.execute("DROP TABLE segmentum.traits_1")
    cur.execute("CHECKPOINT")
    # as micro-batches leave them: most of the first group's customers re-evaluated (deleted, appended again)
    for table in (live, traits):
        cur.execute(f"CREATE TEMP TABLE again AS SELECT * FROM {table} WHERE customer_id < 'c110000'")
        cur.execute(f"DELETE FROM {table} WHERE customer_id < 'c110000'")
        cur.execute(f"INSERT INTO {table} SELECT * FROM again")
        cur.execute("DROP TABLE again")
    cur.execute("CHECKPOINT")
    before = {t: sorted(store.query(f"SELECT * FROM {t}")) for t in (live, traits)}

    def stored(table: str) -> int:
        schema, name = table.split(".")
        return store.query(
            "SELECT estimated_size FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema, name],
        )[0][0]

    assert {t: stored(t) for t in before} == {live: 410_000, traits: 410_000}
    assert retention.RECLAIM_ROWS >= 12_880  # the first group's live rows: one prune moves them
    retention.prune(store)
    cur.execute("CHECKPOINT")
    # the first group's 12,880 live rows moved, the group dropped; the rows themselves as they were
    assert {t: stored(t) for t in before} == {live: 300_000, traits: 300_000}
    assert {t: sorted(store.query(f"SELECT * FROM {t}")) for t in before} == before
