"""Typed events from diffing real snapshots in a real DuckDB store."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from actions_helpers import RUN1, RUN2, make_workspace, write_run

from segmentum.actions.events import (
    MetricChanged,
    SegmentEntered,
    SegmentExited,
    SegmentMoved,
    metric_events,
    segment_events,
)


def _kinds(events: list) -> set[tuple]:
    out = set()
    for e in events:
        if isinstance(e, SegmentMoved):
            out.add(("move", e.customer_id, e.from_segment, e.to_segment))
        else:
            out.add((e.type, e.customer_id, e.segment))
    return out


def test_diff_of_two_runs_gives_enter_exit_and_move(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    run = segment_events(ws.store, 2)
    assert _kinds(run.events) == {
        ("exit", "c1", "tier.vip"),
        ("enter", "c1", "tier.regular"),
        ("move", "c1", "tier.vip", "tier.regular"),
        ("exit", "c2", "tier.vip"),
        ("enter", "c2", "tier.regular"),
        ("move", "c2", "tier.vip", "tier.regular"),
        ("exit", "c2", "big_spenders"),
        ("exit", "c3", "tier.regular"),
        ("enter", "c3", "tier.vip"),
        ("move", "c3", "tier.regular", "tier.vip"),
        ("enter", "c3", "big_spenders"),
        ("exit", "c4", "tier.low"),
        ("enter", "c4", "tier.regular"),
        ("move", "c4", "tier.low", "tier.regular"),
        ("enter", "c4", "big_spenders"),
        ("enter", "c5", "big_spenders"),
    }
    assert all(e.from_run == 1 and e.run_id == 2 for e in run.events)
    assert not any(b.baseline for b in run.baselines.values())
    ws.close()


def test_first_run_is_a_baseline_without_events(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    run = segment_events(ws.store, 1)
    assert run.events == []
    assert all(b.baseline for b in run.baselines.values())
    # what on_first_run: fire would see: every member enters
    assert {(e.customer_id, e.segment) for e in run.first_run_events if e.segmentation is None} == {
        ("c1", "big_spenders"),
        ("c2", "big_spenders"),
    }
    ws.close()


def test_edited_definition_sets_a_new_baseline(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    defs = ws.definitions()
    write_run(ws, 2, RUN2, hashes={"big_spenders": "edited", "tier": defs.hashes["tier"]})
    run = segment_events(ws.store, 2)
    assert run.baselines["big_spenders"].baseline
    assert not run.baselines["tier"].baseline
    assert not [e for e in run.events if e.segmentation is None]
    assert [e for e in run.events if isinstance(e, SegmentMoved)]
    ws.close()


def test_failed_runs_are_not_a_previous_state(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2, status="failed")
    write_run(ws, 3, RUN2)
    run = segment_events(ws.store, 3)
    assert {e.from_run for e in run.events} == {1}
    assert ("move", "c1", "tier.vip", "tier.regular") in _kinds(run.events)
    ws.close()


def test_realtime_run_is_the_previous_state_of_the_customers_it_holds(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    # real time: only c1 was re-evaluated and moved
    write_run(ws, 2, {"c1": RUN2["c1"]}, kind="realtime")
    rt = segment_events(ws.store, 2)
    assert _kinds(rt.events) == {
        ("exit", "c1", "tier.vip"),
        ("enter", "c1", "tier.regular"),
        ("move", "c1", "tier.vip", "tier.regular"),
    }
    # the next batch run must not report c1's move again, but reports everyone else's
    write_run(ws, 3, RUN2)
    batch = segment_events(ws.store, 3)
    assert not [e for e in batch.events if e.customer_id == "c1" and e.segmentation == "tier"]
    assert ("move", "c2", "tier.vip", "tier.regular") in _kinds(batch.events)
    assert {e.from_run for e in batch.events if e.customer_id == "c2"} == {1}
    ws.close()


def test_metric_crossing_and_relative_change(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    _, below = metric_events(ws.store, 2, "revenue", below=Decimal(1000))
    assert {e.customer_id for e in below} == {"c2"}  # 5500 -> 900; c1 stays above (2000)
    _, drop = metric_events(ws.store, 2, "revenue", change=-0.5)
    assert {e.customer_id for e in drop} == {"c1", "c2"}  # -67 %, -84 %
    assert isinstance(drop[0], MetricChanged) and drop[0].relative_change < -0.5
    _, up = metric_events(ws.store, 2, "revenue", above=Decimal(1000))
    assert {e.customer_id for e in up} == {"c3", "c4"}  # c5: 0 -> 1000 is not above 1000
    _, rise = metric_events(ws.store, 2, "revenue", change=1.0)
    assert {e.customer_id for e in rise} == {"c3", "c4"}  # c5 from 0 never fires a relative change
    base, first = metric_events(ws.store, 1, "revenue", above=Decimal(1000))
    assert base.baseline and first == []
    _, fired = metric_events(ws.store, 1, "revenue", above=Decimal(1000), first_run=True)
    assert {e.customer_id for e in fired} == {"c1", "c2"}
    ws.close()


def test_events_are_typed_dataclasses() -> None:
    e = SegmentEntered("c1", "big_spenders", None, 2, 1)
    x = SegmentExited("c1", "big_spenders", None, 3, 2)
    assert (e.type, x.type) == ("enter", "exit")
    m = SegmentMoved("c1", "tier", "tier.vip", "tier.low", 2, 1)
    assert m.segment == "tier.low"


def test_metric_previous_value_comes_from_a_later_realtime_run(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, {"c2": RUN2["c2"]}, kind="realtime")  # c2: 5500 -> 900 seen in real time
    _, rt = metric_events(ws.store, 2, "revenue", below=Decimal(1000))
    assert [(e.customer_id, e.from_run) for e in rt] == [("c2", 1)]
    write_run(ws, 3, RUN2)
    _, batch = metric_events(ws.store, 3, "revenue", below=Decimal(1000))
    assert batch == []  # c2 crossed already (run 2); nobody else went below 1000
    _, drops = metric_events(ws.store, 3, "revenue", change=-0.5)
    assert [(e.customer_id, e.from_run) for e in drops] == [("c1", 1)]
    ws.close()
