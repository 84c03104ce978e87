"""'The latest run' is one rule (DESIGN.md section 5, "Which run"): the newest complete batch run by as_of,
then by id. A backfill written after a newer-dated run is history, not the latest, for every reader."""

from __future__ import annotations

import json
from datetime import date, datetime

from segmentum.analysis.profile import profile
from segmentum.models.features import customer_frame
from segmentum.runs.backfill import backfill
from segmentum.runs.execute import run
from segmentum.runs.explain import explain
from segmentum.runs.preview import preview
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.views.customers import customer
from segmentum.views.members import members
from segmentum.views.segments import overview as segments_overview
from segmentum.workspace import Workspace

MARCH = datetime(2024, 3, 31, 23, 59, 59, 999999)


def test_a_backfill_written_after_a_newer_run_is_not_the_latest(shop: Workspace) -> None:
    march = run(shop, as_of="2024-03-31")
    history = backfill(shop, date(2024, 1, 1), date(2024, 2, 29), "1m")
    assert [r.run_id for r in history] == [march.run_id + 1, march.run_id + 2]  # written after March

    assert snapshot.latest_run(shop.store).run_id == march.run_id
    assert snapshot.resolve_run(shop.store).run_id == march.run_id
    # every reader of "the latest run" answers from March: c is gold there, bronze in the backfill
    assert profile(shop, "tier.gold")["run_id"] == march.run_id
    assert set(members(shop, "tier.gold").rows["customer_id"]) == {"a", "c"}
    assert segments_overview(shop)["run"]["run_id"] == march.run_id
    assert customer(shop, "c")["segments"] == ["big", "tier.gold"]
    assert snapshot.current_memberships(shop.store, "c")["run_id"].unique().tolist() == [march.run_id]
    assert customer_frame(shop.store, ["spent"], currency=shop.config.currency)[1].run_id == march.run_id
    assert explain(shop, "c", "tier.gold").as_of == MARCH
    assert preview(shop).base_run == march.run_id


def test_equal_as_of_is_decided_by_the_newer_id(shop: Workspace) -> None:
    run(shop, as_of="2024-03-31")
    again = run(shop, as_of="2024-03-31")
    run(shop, as_of="2024-02-29")
    assert snapshot.latest_run(shop.store).run_id == again.run_id


def test_realtime_and_incomplete_runs_are_never_the_latest(shop: Workspace) -> None:
    batch = run(shop, as_of="2024-01-31")
    realtime = run(shop, as_of="2024-03-31", customers=["c"])
    assert realtime.kind == "realtime"
    shop.store.cursor().execute(
        f"INSERT INTO {META}.runs (run_id, as_of, status, kind, definition_hashes) VALUES (?, ?, 'failed', 'batch', ?)",
        [realtime.run_id + 1, datetime(2024, 6, 1), json.dumps({})],
    )
    assert snapshot.latest_run(shop.store).run_id == batch.run_id


def test_a_customers_current_state_is_a_newer_realtime_run_else_the_latest_run(shop: Workspace) -> None:
    march = run(shop, as_of="2024-03-31")
    assert set(snapshot.current_memberships(shop.store, "b")["name"]) == {"big", "tier.silver"}
    realtime = run(shop, as_of="2024-01-31", customers=["b"])  # b re-evaluated: not big then
    now = snapshot.current_memberships(shop.store, "b")
    assert now["run_id"].unique().tolist() == [realtime.run_id]
    assert set(now["name"]) == {"tier.bronze"}
    # a backfill after both changes neither the latest run nor b's current state
    backfill(shop, date(2024, 2, 1), date(2024, 2, 29), "1m")
    assert snapshot.current_memberships(shop.store, "b")["run_id"].unique().tolist() == [realtime.run_id]
    # a newer batch run supersedes the real-time state
    newer = run(shop, as_of="2024-04-30")
    assert snapshot.latest_run(shop.store).run_id == newer.run_id != march.run_id
    assert snapshot.current_memberships(shop.store, "b")["run_id"].unique().tolist() == [newer.run_id]
