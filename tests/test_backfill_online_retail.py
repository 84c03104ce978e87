"""Backfill on Online Retail II: monthly history whose last point equals a direct run at the same as_of."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from segmentum.analysis import migration
from segmentum.runs.backfill import backfill
from segmentum.store import snapshots as snapshot
from segmentum.views.history import segmentation_history
from segmentum.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def test_monthly_backfill_last_point_equals_a_direct_run(tmp_path: Path, shared_data: Path) -> None:
    ws = Workspace.init(tmp_path / "retail", name="retail")
    ws.ingest("order_items", shared_data / "online_retail_ii_2009_2010.parquet")
    results = backfill(ws, date(2010, 6, 15), date(2010, 12, 9), "1m")
    assert [r.as_of.date() for r in results] == [
        date(2010, 6, 30),
        date(2010, 7, 31),
        date(2010, 8, 31),
        date(2010, 9, 30),
        date(2010, 10, 31),
        date(2010, 11, 30),
        date(2010, 12, 9),
    ]
    # no future data: a month-end run never sees an order after its as_of
    first = results[0].traits()
    assert pd.to_datetime(first["rfm_last_order_at"]).max() <= pd.Timestamp("2010-06-30 23:59:59.999999")
    direct = ws.run(as_of="2010-12-09")
    last = snapshot.memberships(ws.store, results[-1].run_id).drop(columns=[])
    again = snapshot.memberships(ws.store, direct.run_id)
    pd.testing.assert_frame_equal(last.reset_index(drop=True), again.reset_index(drop=True))
    history = segmentation_history(ws, "rfm")
    # one point per as_of: the direct run shares 2010-12-09 with the backfill's last and, newer, stands for it
    assert history["run_id"].nunique() == 7 and history["as_of"].nunique() == 7
    assert history["run_id"].iloc[-1] == direct.run_id
    sizes = history.groupby("run_id")["customers"].sum()
    assert (
        sizes.is_monotonic_increasing
    )  # customers accumulate over time (no created_at: all who bought so far)
    moved = migration(ws, "rfm", from_run=results[-2].run_id, to_run=results[-1].run_id)
    assert moved["matrix"].to_numpy().sum() == len(
        snapshot.memberships(ws.store, results[-1].run_id).query("segmentation == 'rfm'")
    )
    ws.close()
