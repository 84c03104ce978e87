"""The batch diff (all definitions in one join of two runs' memberships) equals the per-definition diff.

`diff.diff` computes a batch run's transitions against a batch run in one query (`_diff_batch`); the
per-definition formulation (`_diff_one`: each customer's previous run, then their segment there) is the
reference. Both are run on the same stored runs, with moves, entries, exits, new and gone customers.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from engine_helpers import load_rows

from segmentum.runs import diff
from segmentum.runs.baseline import previous_states
from segmentum.runs.execute import run
from segmentum.store.snapshots import get_run
from segmentum.workspace import Workspace

DEFS = """
traits:
  spent: {sum: orders.amount}
segments:
  big: {where: "spent >= 100"}
  top: {where: "percent_rank(spent) >= 0.5"}
  none_yet: {where: "spent >= 1000000"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 500"}
      - {name: silver, where: "spent >= 100"}
    else: bronze
  size:
    segments:
      - {name: many, where: "spent >= 300"}
    else: few
"""


def _orders(amounts: dict[str, int]) -> list[dict]:
    return [
        {"order_id": f"o{i}", "customer_id": c, "ordered_at": datetime(2024, 1, 2), "amount": a}
        for i, (c, a) in enumerate(sorted(amounts.items()))
    ]


def _load(ws: Workspace, amounts: dict[str, int], customers: str) -> None:
    load_rows(ws, "customers", [{"customer_id": c} for c in customers])
    load_rows(ws, "orders", _orders({c: a for c, a in amounts.items() if c in customers}))


FIRST = {"a": 600, "b": 150, "c": 50, "d": 20, "e": 320, "f": 100}
# a is gone, c moves up to gold, b drops out of big, e moves down, g and h are new (g with orders)
SECOND = {"b": 20, "c": 700, "d": 20, "e": 120, "f": 100, "g": 550}


@pytest.fixture
def ws(make_ws) -> Workspace:
    ws = make_ws(DEFS)
    _load(ws, FIRST, "abcdef")
    return ws


def _reference(ws: Workspace, run_id: int) -> pd.DataFrame:
    """The per-definition formulation for every definition of the run, in the run's order."""
    current = get_run(ws.store, run_id)
    kinds = diff.current_kinds(ws.store, current)
    states = previous_states(ws.store, run_id, list(current.definition_hashes))
    frames = [
        diff._diff_one(ws.store, current, state, kinds.get(name))
        for name, state in states.items()
        if not state.baseline
    ]
    return pd.concat(frames, ignore_index=True)


def _same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal rows in the same order; text columns compared as objects (pandas gives `str` or `object` for
    them depending on whether a concatenated part was empty), `from_run` as int64."""

    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame.reset_index(drop=True).astype(object)
        out["from_run"] = out["from_run"].astype("int64")
        return out.where(out.notna(), None)

    assert list(found.columns) == diff.COLUMNS
    assert found["from_run"].dtype == "int64"
    pd.testing.assert_frame_equal(norm(found), norm(expected))


def _rows(frame: pd.DataFrame) -> set[tuple]:
    return {
        (
            r.name,
            r.customer_id,
            r.from_segment if isinstance(r.from_segment, str) else None,
            r.to_segment if isinstance(r.to_segment, str) else None,
            r.kind,
        )
        for r in frame.itertuples()
    }


def test_the_batch_diff_equals_the_per_definition_diff(ws):
    first = run(ws, as_of="2024-01-31")
    _load(ws, SECOND, "bcdefgh")
    second = run(ws, as_of="2024-01-31")
    found = diff.diff(ws.store, second.run_id)
    expected = _reference(ws, second.run_id)
    assert len(expected) > 0
    _same(found, expected)
    assert found.attrs["baselines"] == []
    rows = _rows(found)
    # a gone customer leaves every segment they were in; a new one enters theirs; moves are moves
    assert ("tier", "a", "gold", None, "exited") in rows
    assert ("big", "a", "big", None, "exited") in rows
    assert ("tier", "g", None, "gold", "entered") in rows
    assert ("tier", "h", None, "bronze", "entered") in rows
    assert ("tier", "c", "bronze", "gold", "moved") in rows
    assert ("size", "e", "many", "few", "moved") in rows
    assert ("big", "b", "big", None, "exited") in rows
    assert not {r for r in rows if r[0] == "none_yet"}
    assert set(found.from_run) == {first.run_id}
    # ordered by the run's definitions, then customer
    order = list(get_run(ws.store, second.run_id).definition_hashes)
    keys = [(order.index(n), c) for n, c in zip(found.name, found.customer_id, strict=True)]
    assert keys == sorted(keys)


def test_an_edited_definition_is_a_baseline_and_the_others_are_diffed_together(ws):
    run(ws, as_of="2024-01-31")
    _load(ws, SECOND, "bcdefgh")
    (ws.root / "definitions" / "test.yml").write_text(DEFS.replace('"spent >= 300"', '"spent >= 301"'))
    second = run(ws, as_of="2024-01-31")
    found = diff.diff(ws.store, second.run_id)
    assert found.attrs["baselines"] == ["size"]
    assert "size" not in set(found.name)
    _same(found, _reference(ws, second.run_id))


def test_definitions_with_a_real_time_run_in_between_are_diffed_apart_in_the_same_order(ws):
    run(ws, as_of="2024-01-31")
    _load(ws, SECOND, "bcdefgh")
    # a real-time run of tier only: tier's previous state includes it, the others' is the batch run alone
    realtime = run(ws, as_of="2024-01-31", customers=["c", "g"], only=["tier"])
    third = run(ws, as_of="2024-01-31")
    states = previous_states(ws.store, third.run_id, ["tier", "big"])
    assert states["tier"].realtime_runs == (realtime.run_id,)
    assert states["big"].realtime_runs == ()
    found = diff.diff(ws.store, third.run_id)
    _same(found, _reference(ws, third.run_id))
    # c's and g's moves in tier were reported by the real-time run, not again
    assert not {r for r in _rows(found) if r[0] == "tier" and r[1] in ("c", "g")}
    assert {r[0] for r in _rows(found)} >= {"tier", "big", "size"}
