"""The read models on a small store written by hand (the store contract of runs, memberships and traits): what
size history, the overview, members with filters, a customer's 360 and the task list mean."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from segmentum.errors import NotFoundError
from segmentum.store.memberships import add as add_memberships
from segmentum.views.customers import customer, search
from segmentum.views.history import segmentation_history, size_history
from segmentum.views.members import members
from segmentum.views.segments import overview, segment_sizes
from segmentum.views.tasks import TaskFilterError, tasks
from segmentum.workspace import Workspace

DEFINITIONS = """\
traits:
  spend: {sum: orders.amount}
segments:
  big: {where: "spend >= 100"}
segmentations:
  tier:
    segments:
      - {name: vip, where: "spend >= 300"}
      - {name: low, where: "true"}
"""
CUSTOMERS = [("c1", "UA", "Ann"), ("c2", "PL", "O'Brien"), ("c3", "UA", "Cid"), ("c4", "DE", None)]
BOTH = {"tier": "h1", "big": "h2"}
# run id -> (as_of, kind, status, hashes, {customer: (tier segment, in big)}, {customer: spend})
RUNS = {
    1: (
        "2024-02-29",
        "batch",
        "complete",
        BOTH,
        {"c1": ("vip", True), "c2": ("low", False)},
        {"c1": 400, "c2": 20},
    ),
    2: (
        "2024-03-31",
        "batch",
        "complete",
        BOTH,
        {"c1": ("low", False), "c2": ("low", False)},
        {"c1": 50, "c2": 20},
    ),
    # computed after runs 1 and 2 at an earlier as_of, as a backfill does
    3: (
        "2024-01-31",
        "batch",
        "complete",
        BOTH,
        {"c1": ("vip", True), "c2": ("vip", True)},
        {"c1": 500, "c2": 300},
    ),
    # `segmentum run --only tier`: big was not computed
    4: ("2024-04-30", "batch", "complete", {"tier": "h1"}, {"c1": ("low", False), "c2": ("low", False)}, {}),
    5: ("2024-05-01", "realtime", "complete", BOTH, {"c1": ("vip", True)}, {"c1": 900}),
    6: ("2024-05-31", "batch", "failed", BOTH, {"c1": ("vip", True)}, {}),
}


def _write_run(ws: Workspace, run_id: int) -> None:
    as_of, kind, status, hashes, members_, spend = RUNS[run_id]
    con = ws.store.cursor()
    assert con.execute("SELECT nextval('segmentum.run_seq')").fetchone()[0] == run_id
    con.execute(
        "INSERT INTO segmentum.runs (run_id, as_of, status, kind, definition_hashes, customers) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [run_id, datetime.fromisoformat(as_of), status, kind, json.dumps(hashes), len(members_)],
    )
    con.execute(f"CREATE TABLE segmentum.traits_{run_id} (customer_id VARCHAR, spend DECIMAL(38, 6))")
    for cid, (tier, big) in members_.items():
        con.execute(f"INSERT INTO segmentum.traits_{run_id} VALUES (?, ?)", [cid, spend.get(cid)])
        add_memberships(
            con,
            "VALUES (?, ?, 'tier', ?, ?)",
            [run_id, cid, tier, f"tier.{tier}"],
        )
        if big:
            add_memberships(con, "VALUES (?, ?, NULL, 'big', 'big')", [run_id, cid])
    if kind == "realtime" and status == "complete":  # as the run engine writes it: its customers' live rows
        from segmentum.store.snapshots import write_live

        write_live(con, run_id, f"segmentum.traits_{run_id}")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    (ws.root / "definitions" / "shop.yml").write_text(DEFINITIONS, encoding="utf-8")
    con = ws.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR, country VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO main.customers VALUES (?, ?, ?)", CUSTOMERS)
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', '2024-01-05', 400, NULL)")
    for run_id in RUNS:
        _write_run(ws, run_id)
    yield ws
    ws.close()


def test_size_history_counts_a_computed_empty_run_as_0_orders_by_as_of_and_skips_other_runs(ws) -> None:
    history = size_history(ws, "big")
    # run 2 computed big and nobody was in it: 0; run 4 did not compute it; 5 is real time, 6 failed
    assert list(zip(history["run_id"], history["customers"], strict=True)) == [(3, 2), (1, 1), (2, 0)]
    assert history["share"].tolist() == [1.0, 0.5, 0.0]
    assert [r for r in size_history(ws, "tier.vip")["run_id"]] == [3, 1, 2, 4]
    tiers = segmentation_history(ws, "tier")
    assert tiers.groupby("run_id", sort=False)["customers"].sum().to_dict() == {3: 2, 1: 2, 2: 2, 4: 2}
    assert set(tiers["name"]) == {"tier.vip", "tier.low", "tier.other"}  # the defined `else` too, at 0


def test_size_history_of_runs_that_recorded_no_hashes_counts_what_they_hold(ws) -> None:
    ws.store.cursor().execute("UPDATE segmentum.runs SET definition_hashes = NULL")
    assert size_history(ws, "big")["run_id"].tolist() == [3, 1]  # only the runs holding members of big


def test_size_history_has_one_point_per_as_of_taken_from_the_latest_run_of_that_day(ws, monkeypatch) -> None:
    # run 7 repeats run 2's as_of (a backfill ending on the day of an earlier run), where c1 is big again
    march = (
        "2024-03-31",
        "batch",
        "complete",
        BOTH,
        {"c1": ("vip", True), "c2": ("low", False)},
        {"c1": 400},
    )
    monkeypatch.setitem(RUNS, 7, march)
    _write_run(ws, 7)
    history = size_history(ws, "big")
    assert history["as_of"].is_unique and history["as_of"].is_monotonic_increasing
    # 31 January (run 3), 29 February (run 1), 31 March: run 7 (the newer of 2 and 7), 1 member, not run 2's 0
    assert list(zip(history["run_id"], history["customers"], strict=True)) == [(3, 2), (1, 1), (7, 1)]
    tiers = segmentation_history(ws, "tier")
    assert sorted(set(tiers["run_id"])) == [1, 3, 4, 7]
    assert tiers.groupby("as_of")["run_id"].nunique().max() == 1


def test_overview_lists_computed_empty_segments_with_0_and_not_segments_the_run_did_not_compute(ws) -> None:
    sizes = segment_sizes(ws, 2).sizes.set_index("name")
    assert sizes.loc["big", "customers"] == 0 and sizes.loc["tier.vip", "customers"] == 0
    assert sizes.loc["tier.low", "customers"] == 2 and sizes.loc["tier.low", "share"] == 1.0
    latest = segment_sizes(ws)  # the newest complete batch run: 4, which did not compute big
    assert latest.run.run_id == 4 and "big" not in set(latest.sizes["name"])
    api = overview(ws)
    assert api["run"]["run_id"] == 4 and api["segments"] == []
    assert {s["name"]: s["customers"] for s in api["segmentations"][0]["segments"]} == {
        "tier.low": 2,
        "tier.other": 0,
        "tier.vip": 0,
    }


def test_members_filter_uses_the_definition_language_over_traits_and_attributes(ws) -> None:
    page = members(ws, "tier.low", run_id=2, filters=["country = 'UA' and spend > 10"], traits=True)
    assert page.rows["customer_id"].tolist() == ["c1"] and page.total == 1
    assert list(page.rows.columns) == ["customer_id", "spend", "country", "name"]
    both = members(ws, "tier.*", run_id=3, filters=["in_segment('big')", "name = 'O''Brien'"], segment=True)
    assert both.rows.to_dict("records") == [
        {"customer_id": "c2", "segment": "tier.vip", "country": "PL", "name": "O'Brien"}
    ]
    tautology = members(ws, "tier.*", run_id=3, filters=["name = 'x'' or ''1''=''1'"])
    assert tautology.total == 0 and tautology.rows.empty and list(tautology.rows.columns)[0] == "customer_id"
    paged = members(ws, "tier.*", run_id=3, limit=1, offset=1, attributes=False)
    assert paged.total == 2 and paged.rows["customer_id"].tolist() == ["c2"]


def test_members_of_an_unknown_segment_or_a_failed_run_are_not_found(ws) -> None:
    with pytest.raises(NotFoundError, match="did you mean 'tier.low'"):
        members(ws, "tier.lo")
    with pytest.raises(NotFoundError, match="failed, not complete"):
        members(ws, "tier.low", run_id=6)


def test_customer_360_holds_the_current_run_models_history_and_tasks(ws) -> None:
    con = ws.store.cursor()
    con.execute("CREATE TABLE segmentum.model_clv (customer_id VARCHAR, clv_12m DOUBLE)")
    con.execute("INSERT INTO segmentum.model_clv VALUES ('c1', 12.5)")
    for title, due in (("Later", "2024-06-01"), ("No date", None), ("Sooner", "2024-05-02")):
        con.execute(
            "INSERT INTO segmentum.tasks (id, title, due_at, status, customer_id, created_at) "
            "VALUES (nextval('segmentum.task_seq'), ?, ?, 'open', 'c1', '2024-05-01')",
            [title, due],
        )
    view = customer(ws, "c1")
    assert view["run"]["run_id"] == 5 and view["segments"] == ["big", "tier.vip"]  # real time is "now"
    assert view["traits"] == {"spend": 900} and view["models"] == {"clv": {"clv_12m": 12.5}}
    # in time order: the backfilled run 3 (as_of 2024-01-31) comes first
    assert [h["run_id"] for h in view["history"]] == [3, 1, 2, 4, 5]
    assert [t["title"] for t in view["tasks"]] == ["Sooner", "Later", "No date"]
    assert view["attributes"]["country"] == "UA"
    with pytest.raises(NotFoundError):
        customer(ws, "nobody")


def test_task_list_is_due_first_and_refuses_an_unknown_status(ws) -> None:
    assert tasks(ws) == {"total": 0, "limit": None, "offset": 0, "tasks": []}  # before any task was made
    ws.store.cursor().execute(
        "INSERT INTO segmentum.tasks (id, title, due_at, status, created_at) VALUES "
        "(1, 'b', '2024-02-01', 'open', now()::TIMESTAMP), (2, 'a', '2024-01-01', 'done', now()::TIMESTAMP)"
    )
    assert [t["title"] for t in tasks(ws, status="all")["tasks"]] == ["a", "b"]
    assert [t["title"] for t in tasks(ws, status="open")["tasks"]] == ["b"]
    page = tasks(ws, limit=1, offset=1)
    assert page["total"] == 2 and [t["title"] for t in page["tasks"]] == ["b"]
    with pytest.raises(TaskFilterError, match="open, done or all"):
        tasks(ws, status="opened")


def test_a_task_is_worth_its_customers_revenue_and_the_total_counts_every_filtered_task(ws) -> None:
    # the revenue is read for the tasks' customers only (every customer's took seconds a page at 1M)
    con = ws.store.cursor()
    con.execute("INSERT INTO main.orders VALUES ('o2', 'c1', '2024-01-06', 50, 'cancelled')")
    con.execute("INSERT INTO main.orders VALUES ('o3', 'c3', '2024-01-07', 70, NULL)")
    con.execute(
        "INSERT INTO segmentum.tasks (id, title, customer_id, status, created_at) VALUES "
        "(11, 'x', 'c1', 'open', now()::TIMESTAMP), (12, 'y', 'c2', 'open', now()::TIMESTAMP), "
        "(13, 'z', 'c1', 'done', now()::TIMESTAMP), (14, 'w', NULL, 'open', now()::TIMESTAMP)"
    )
    page = tasks(ws, status="all", sort="-value", limit=2)
    assert page["total"] == 4
    assert [(t["id"], t["value"]) for t in page["tasks"]] == [
        (11, 400),
        (13, 400),
    ]  # a cancelled order is no revenue
    rest = tasks(ws, status="open", sort="-value", offset=1)
    assert rest["total"] == 3 and {t["id"]: t["value"] for t in rest["tasks"]} == {12: None, 14: None}


def test_customer_search_matches_text_literally(ws) -> None:
    assert search(ws, "c2") == (True, ["c2"])
    assert search(ws, "o'bri") == (False, ["c2"])
    assert search(ws, "%") == (False, [])  # a wildcard in the text is a character, not a pattern


class CountingWorkspace(Workspace):
    """A real workspace that counts how often its definitions are loaded."""

    loads = 0

    def definitions(self, *, overrides: dict[str, str] | None = None) -> Any:
        type(self).loads += 1
        return super().definitions(overrides=overrides)


def test_the_catalog_is_loaded_once_while_the_definitions_and_data_are_unchanged(ws) -> None:
    from segmentum.views.catalog import definition_catalog

    root = ws.root
    ws.close()
    counting = CountingWorkspace(root)
    try:
        first = definition_catalog(counting)
        assert {"big", "tier.vip", "tier.low"} <= set(first) and "small" not in first
        first["big"]["description"] = "changed by a caller"  # a copy: the cached catalog keeps its own
        assert definition_catalog(counting)["big"]["description"] is None
        assert CountingWorkspace.loads == 1
        # a new definition file is noticed
        (root / "definitions" / "extra.yml").write_text('segments:\n  small: {where: "spend < 10"}\n')
        assert "small" in definition_catalog(counting)
        assert CountingWorkspace.loads == 2
        # so is a new column in the data (a built-in or an attribute may validate now)
        counting.store.cursor().execute("ALTER TABLE main.customers ADD COLUMN loyalty_tier VARCHAR")
        definition_catalog(counting)
        definition_catalog(counting)
        assert CountingWorkspace.loads == 3
        # and a static list stored or dropped (each list is a segment of its own name)
        from datetime import datetime

        from segmentum.store import lists as stored

        stored.put(counting.store, "hand_picked", ["c1"], replace=False, now=datetime(2024, 1, 1))
        assert "hand_picked" in definition_catalog(counting)
        assert CountingWorkspace.loads == 4
        stored.drop(counting.store, "hand_picked")
        assert "hand_picked" not in definition_catalog(counting)
        assert CountingWorkspace.loads == 5
    finally:
        counting.close()


@pytest.mark.parametrize(
    "options",
    [
        {"name": "tier.low", "run_id": 2},
        {"name": "tier.*", "run_id": 3, "segment": True, "traits": True},
        {"name": "tier.*", "run_id": 1, "search": "o'b", "attributes": ["name"]},
        {"name": "tier.low", "run_id": 2, "search": "UA", "attributes": False, "limit": 1, "offset": 0},
        {"name": "big", "run_id": 1, "traits": True, "limit": 5, "offset": 1},
        # a page in id order is counted and paged on the memberships, then joined (the dashboard's case)
        {"name": "tier.*", "run_id": 3, "segment": True, "traits": True, "limit": 2, "offset": 1},
        {"name": "tier.*", "run_id": 3, "limit": 2, "offset": 0, "sort": "customer_id", "descending": True},
        {"name": "big", "run_id": 1, "attributes": False, "limit": 3, "offset": 0},
        {"name": "tier.low", "run_id": 2, "limit": 10, "offset": 50},
        # sorted by a trait: joined, then counted on the memberships alone
        {"name": "tier.*", "run_id": 3, "traits": True, "sort": "spend", "descending": True, "limit": 1},
        {"name": "tier.*", "run_id": 1, "attributes": ["name"], "sort": "name", "offset": 1},
    ],
)
def test_members_without_filters_are_those_of_the_filtered_query_with_an_always_true_filter(
    ws, options
) -> None:
    """Without filters the members are read in plain SQL, with filters through Ibis: the same rows, columns,
    types, count and page."""
    plain = members(ws, **options)
    filtered = members(ws, filters=["true"], **options)
    assert plain.total == filtered.total
    pd.testing.assert_frame_equal(plain.rows, filtered.rows)


def test_a_page_of_members_is_the_runs_members_in_customer_order(ws) -> None:
    everyone = [
        r[0]
        for r in ws.store.query(
            "SELECT customer_id FROM segmentum.memberships WHERE run_id = 3 AND segmentation = 'tier' "
            "ORDER BY customer_id"
        )
    ]
    for offset in range(len(everyone) + 1):
        page = members(ws, "tier.*", run_id=3, limit=1, offset=offset)
        assert (
            page.total == len(everyone) and page.rows["customer_id"].tolist() == everyone[offset : offset + 1]
        )


def test_the_views_and_the_store_say_alike_which_definitions_a_run_computed(handmade_snapshot) -> None:
    """One rule (snapshots.computed_by_hashes): by the recorded hashes when a run has them (a segmentation's
    segment by its segmentation), else the store answers from the memberships and the views say None."""
    import json

    from segmentum.store import snapshots as snapshot
    from segmentum.views.catalog import computed

    store = handmade_snapshot.store
    names = ["value_tier", "value_tier.vip", "abc", "abc.A", "abc.B", "nothing", "nothing.x"]
    # without hashes (runs of older releases): the memberships tell
    first, second = snapshot.get_run(store, 1), snapshot.get_run(store, 2)
    assert [computed(first, n) for n in names] == [None] * len(names)
    assert [snapshot.computed(store, first, n) for n in names] == [
        True,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert [snapshot.computed(store, second, n) for n in names] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    # with hashes: both read them, and agree on every name
    store.cursor().execute(
        "UPDATE segmentum.runs SET definition_hashes = ? WHERE run_id = 2",
        [json.dumps({"value_tier": "h1", "abc": "h2"})],
    )
    second = snapshot.get_run(store, 2)
    expected = [True, True, True, True, True, False, False]
    assert [computed(second, n) for n in names] == expected
    assert [snapshot.computed(store, second, n) for n in names] == expected
