"""A backfill's points compute neither transitions nor sizes; both come from the stored runs when asked."""

from __future__ import annotations

from datetime import date

from segmentum.runs import diff
from segmentum.runs.backfill import backfill
from segmentum.runs.sizes import segment_sizes
from segmentum.workspace import Workspace


def test_backfilled_runs_have_their_transitions_and_sizes_in_the_store(shop: Workspace) -> None:
    results = backfill(shop, date(2024, 1, 1), date(2024, 3, 31), "1m")
    assert [r.as_of.month for r in results] == [1, 2, 3]
    assert all(r.transitions.empty and r.sizes.empty for r in results)
    # b becomes big in February, c gold in March (runs_helpers.ORDERS)
    february = diff.diff(shop.store, results[1].run_id)
    assert ("big", "b", "entered") in set(
        zip(february.name, february.customer_id, february.kind, strict=True)
    )
    march = diff.diff(shop.store, results[2].run_id)
    moved = march[(march.name == "tier") & (march.customer_id == "c")]
    assert list(moved.to_segment) == ["gold"]
    sizes = segment_sizes(shop.store, results[2].run_id, shop.config.currency).set_index("name")
    assert sizes.loc["tier.gold", "customers"] == 2  # a and c
    # the same run with its details computes the same
    again = shop.run(as_of="2024-03-31")
    assert again.sizes.set_index("name").loc["tier.gold", "customers"] == 2
