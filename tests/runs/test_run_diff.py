"""Transitions between runs, baselines after edits, the real-time path, as_of parsing and failures."""

from __future__ import annotations

from datetime import datetime

import pytest
from engine_helpers import load_rows, write_definitions

from segmentum.errors import RunError
from segmentum.runs import diff
from segmentum.runs.execute import resolve_as_of, run
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

DEFS = """
traits:
  spent: {sum: orders.amount}
  rank: {expr: "percent_rank(spent)"}
segments:
  big: {where: "spent >= 100"}
  top: {where: "percent_rank(spent) >= 0.5"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 500"}
      - {name: silver, where: "spent >= 100"}
    else: bronze
"""


def _order(i: int, customer: str, amount: int, day: int = 1) -> dict:
    return {
        "order_id": f"o{i}",
        "customer_id": customer,
        "ordered_at": datetime(2024, 1, day),
        "amount": amount,
    }


@pytest.fixture
def ws(make_ws) -> Workspace:
    return make_ws(
        DEFS,
        {
            "customers": [{"customer_id": c} for c in "abcd"],
            "orders": [_order(1, "a", 600), _order(2, "b", 150), _order(3, "c", 50)],
        },
    )


def test_first_run_is_a_baseline_then_transitions_are_reported(ws):
    first = run(ws, as_of="2024-01-31")
    assert set(first.baselines) == {"big", "top", "tier"}
    assert first.transitions.empty
    load_rows(
        ws,
        "orders",
        [
            _order(1, "a", 600),
            _order(2, "b", 150),
            _order(3, "c", 50),
            _order(4, "c", 500, 2),
            _order(5, "d", 100, 3),
        ],
    )
    second = run(ws, as_of="2024-01-31")
    assert second.baselines == []
    t = second.transitions
    rows = {(r.name, r.customer_id): (r.from_segment, r.to_segment, r.kind) for r in t.itertuples()}
    assert rows[("tier", "c")] == ("bronze", "gold", "moved")
    assert rows[("tier", "d")] == ("bronze", "silver", "moved")
    assert rows[("big", "c")] == (None, "big", "entered")
    assert rows[("big", "d")] == (None, "big", "entered")
    assert ("tier", "a") not in rows
    assert set(t.from_run) == {first.run_id}
    assert diff.previous_comparable_run(ws.store, second.run_id, "tier").run_id == first.run_id


def test_an_edited_definition_sets_a_new_baseline(ws):
    run(ws, as_of="2024-01-31")
    write_definitions(ws, DEFS.replace('"spent >= 500"', '"spent >= 400"'))
    edited = run(ws, as_of="2024-01-31")
    assert edited.baselines == ["tier"]
    assert set(edited.transitions.name) <= {"big", "top"}
    assert diff.previous_comparable_run(ws.store, edited.run_id, "tier") is None
    assert diff.previous_comparable_run(ws.store, edited.run_id, "big") is not None


def test_exits_are_reported(ws):
    run(ws, as_of="2024-01-31")
    load_rows(ws, "orders", [_order(1, "a", 600)])
    later = run(ws, as_of="2024-01-31")
    t = later.transitions
    assert set(t[(t.name == "big") & (t.kind == "exited")].customer_id) == {"b"}


def test_realtime_run_takes_population_values_from_the_last_batch_run(ws):
    batch = run(ws, as_of="2024-01-31")
    pr_before = batch.traits().set_index("customer_id")["rank"].to_dict()
    load_rows(
        ws, "orders", [_order(1, "a", 600), _order(2, "b", 150), _order(3, "c", 50), _order(4, "c", 500, 2)]
    )
    rt = run(ws, as_of="2024-01-31", customers=["c"])
    assert rt.kind == "realtime"
    traits = rt.traits()
    assert list(traits.customer_id) == ["c"]
    assert traits.spent.iloc[0] == 550
    # percent_rank is population-dependent: the batch value (c was the lowest), not one over a single customer
    assert traits["rank"].iloc[0] == pr_before["c"]
    assert set(rt.memberships().name) == {"big", "tier.gold"}
    t = rt.transitions
    assert set(zip(t.name, t.kind, strict=True)) == {("big", "entered"), ("tier", "moved")}
    # the current state of c is the real-time run's; others keep the batch run's
    assert set(snapshot.current_memberships(ws.store, "c").name) == {"big", "tier.gold"}
    assert "top" in set(snapshot.current_memberships(ws.store, "a").name)
    # the next batch run does not report c's moves again; only what the fresh population values change
    again = run(ws, as_of="2024-01-31")
    t = again.transitions
    assert set(zip(t.customer_id, t.name, t.kind, t.from_run, strict=True)) == {
        ("c", "top", "entered", rt.run_id),
        ("b", "top", "exited", batch.run_id),
    }


def test_a_failed_run_is_marked_failed_and_leaves_nothing(ws):
    run(ws, as_of="2024-01-31")
    ws.store.cursor().execute("ALTER TABLE main.orders RENAME COLUMN amount TO amt")
    with pytest.raises(Exception):  # noqa: B017 - the engine's own error, wrapped or not
        run(ws, as_of="2024-01-31", definitions=ws.definitions())
    runs = snapshot.list_runs(ws.store)
    assert runs[0].status == "failed" and runs[0].message
    assert not ws.store.table_exists(snapshot.traits_table(runs[0].run_id), schema=META)
    assert snapshot.latest_run(ws.store).run_id == runs[1].run_id


def test_a_run_left_running_is_recovered_by_the_next_run(ws):
    run(ws, as_of="2024-01-31")
    cur = ws.store.cursor()
    cur.execute(f"INSERT INTO {META}.runs (run_id, status, kind) VALUES (99, 'running', 'batch')")
    cur.execute(f"CREATE TABLE {META}.traits_99 AS SELECT 'x' AS customer_id")
    result = run(ws, as_of="2024-01-31")
    assert result.run_id == 100
    assert snapshot.get_run(ws.store, 99).status == "failed"
    assert not ws.store.table_exists("traits_99", schema=META)


def test_as_of_parsing(ws):
    assert resolve_as_of("2011-12-09", ws)[0] == datetime(2011, 12, 9, 23, 59, 59, 999999)
    assert resolve_as_of("latest", ws)[0] == datetime(2024, 1, 1, 23, 59, 59, 999999)
    assert resolve_as_of("2024-01-05 10:30:00", ws)[0] == datetime(2024, 1, 5, 10, 30)
    assert resolve_as_of("2024-01-05T10:30:00+02:00", ws)[0] == datetime(
        2024, 1, 5, 8, 30
    )  # workspace in UTC
    now, warnings = resolve_as_of(None, ws)
    assert abs((datetime.utcnow() - now).total_seconds()) < 60
    assert warnings and "--as-of latest" in warnings[0]
    with pytest.raises(RunError, match="not a date"):
        resolve_as_of("yesterday-ish", ws)


def test_only_runs_the_named_definitions_and_what_they_need(ws):
    result = run(ws, as_of="2024-01-31", only=["tier"])
    assert set(result.memberships().name) == {"tier.gold", "tier.silver", "tier.bronze"}
    assert list(snapshot.get_run(ws.store, result.run_id).definition_hashes) == ["tier"]


def test_preview_stores_nothing(ws):
    result = run(ws, as_of="2024-01-31", preview=True)
    assert result.run_id is None
    assert set(result.memberships("tier.gold").customer_id) == {"a"}
    assert snapshot.list_runs(ws.store) == []


def test_realtime_run_without_any_batch_run_leaves_population_values_null(ws):
    rt = run(ws, as_of="2024-01-31", customers=["a", "c"])
    traits = rt.traits().set_index("customer_id")
    assert traits.loc["a", "spent"] == 600
    assert traits["rank"].isna().all()
    assert set(rt.memberships("tier.gold").customer_id) == {"a"}
    assert rt.memberships("top").empty
