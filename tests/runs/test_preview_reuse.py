"""The preview reads the traits an edit did not change from the base run's stored traits instead of computing
them again: its answer must equal a full evaluation of the changed definitions (`run(preview=True)`, which
computes every trait) compared with the base run's memberships, whatever the edit changes."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from runs_helpers import ORDERS, make_shop
from segmentum.runs.execute import run
from segmentum.runs.preview import Preview, preview
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
  orders_n: {count: orders}
  average: {expr: "spent / orders_n"}
  spent_rank: {expr: "percent_rank(spent)"}
segments:
  big: {where: "spent >= 100"}
  regular: {where: "orders_n >= 2 and average < 400"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 500"}
      - {name: silver, where: "spent_rank >= 0.5"}
    else: bronze
"""
MORE_ORDERS = [
    *ORDERS,
    ("e", datetime(2024, 2, 1), 300),
    ("e", datetime(2024, 3, 20), 90),
    ("f", datetime(2024, 3, 25), 150),
    ("a", datetime(2024, 3, 28), 40),
]

THRESHOLDS = DEFINITIONS.replace('where: "spent >= 500"', 'where: "spent >= 350"').replace(
    "spent_rank >= 0.5", "spent_rank >= 0.3"
)
ADDS_A_TRAIT = DEFINITIONS.replace(
    "segments:\n  big:",
    '  recent: {sum: orders.amount, within: 30d}\nsegments:\n  active: {where: "recent > 0 and spent >= 100"}\n  big:',
)
EDITS_A_SHARED_TRAIT = DEFINITIONS.replace(
    "spent: {sum: orders.amount}", 'spent: {sum: orders.amount, where: "amount > 120"}'
)


@pytest.fixture
def shop(tmp_path):  # type: ignore[no-untyped-def]
    from runs_helpers import set_orders, write_definitions

    ws = make_shop(tmp_path / "ws")
    write_definitions(ws, DEFINITIONS)
    set_orders(ws, MORE_ORDERS)
    yield ws
    ws.close()


def full_evaluation(ws: Workspace, shown: Preview, overrides: dict[str, str]) -> dict[str, tuple]:
    """name -> (before, after, entered, left) from a run that computes every trait, against the base run."""
    defs = ws.definitions(overrides=overrides)
    after = run(ws, as_of=shown.as_of, only=list(shown.changed), preview=True, definitions=defs).memberships()
    assert shown.base_run is not None
    before = snapshot.memberships(ws.store, shown.base_run)
    out = {}
    for seg in shown.segments:
        old = set(before[before.name == seg.name].customer_id)
        new = set(after[after.name == seg.name].customer_id) if not after.empty else set()
        out[seg.name] = (len(old), len(new), sorted(new - old), sorted(old - new))
    return out


def answer(shown: Preview) -> dict[str, tuple]:
    return {s.name: (s.before, s.after, s.entered, s.left) for s in shown.segments}


@pytest.mark.parametrize(
    ("text", "changed", "reused"),
    [
        # thresholds only: the segment conditions run over the stored traits alone
        (THRESHOLDS, {"tier": "edited"}, {"spent", "spent_rank"}),
        # a new trait is computed, the others it sits beside are read
        (ADDS_A_TRAIT, {"active": "new"}, {"spent"}),
        # spent is edited: it and every trait that reads it (average, spent_rank) are computed again
        (EDITS_A_SHARED_TRAIT, {"big": "edited", "regular": "edited", "tier": "edited"}, {"orders_n"}),
    ],
    ids=["thresholds", "adds-a-trait", "edits-a-shared-trait"],
)
def test_the_fast_path_equals_a_full_evaluation(
    shop: Workspace, text: str, changed: dict[str, str], reused: set[str]
) -> None:
    run(shop, as_of="2024-03-31")
    overrides = {"definitions/shop.yml": text}
    shown = preview(shop, overrides=overrides)
    assert shown.changed == changed
    assert set(shown.reused) == reused  # the fast path was taken, for the unchanged traits only
    expected = full_evaluation(shop, shown, overrides)
    assert answer(shown) == expected
    assert any(e or left for _, _, e, left in expected.values())  # the edit moves somebody


def test_no_reuse_after_an_ingest_or_at_another_as_of(shop: Workspace) -> None:
    run(shop, as_of="2024-03-31")
    overrides = {"definitions/shop.yml": THRESHOLDS}
    # another as_of: the stored traits are of the base run's as_of
    other = preview(shop, overrides=overrides, as_of="2024-02-29")
    assert other.reused == []
    assert answer(other) == full_evaluation(shop, other, overrides)
    # an order ingested after the run changes what spent would be: everything is computed again
    shop.ingest_frame(
        "orders",
        pd.DataFrame(
            {
                "order_id": ["late"],
                "customer_id": ["d"],
                "ordered_at": [datetime(2024, 3, 30)],
                "amount": [900.0],
                "status": [None],
            }
        ),
        mode="append",
    )
    after_ingest = preview(shop, overrides=overrides)
    assert after_ingest.reused == []
    assert answer(after_ingest) == full_evaluation(shop, after_ingest, overrides)
    assert "d" in dict(answer(after_ingest))["tier.gold"][2]  # the late order counts: d enters gold
