"""A backfill reports its points to a progress callback (segmentum.progress): done goes up to the total."""

from __future__ import annotations

from datetime import date

from segmentum.runs.backfill import backfill
from segmentum.workspace import Workspace


def test_a_backfill_reports_each_point_done_up_to_the_total(shop: Workspace) -> None:
    calls: list[tuple[int, int | None, str]] = []
    results = backfill(
        shop,
        date(2024, 1, 1),
        date(2024, 3, 15),
        "1m",
        progress=lambda done, total, label, unit="": calls.append((done, total, label)),
    )
    assert len(results) == 3
    dones = [done for done, _, _ in calls]
    assert dones == [0, 1, 2, 3]  # before the first point, then after each one
    assert {total for _, total, _ in calls} == {3}
    assert calls[0][2] == "backfill to 2024-01-31" and calls[1][2] == "backfill to 2024-02-29"
