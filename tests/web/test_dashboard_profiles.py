"""The segment page's profile is computed once per run and stored (segmentum.segment_profiles), read back equal
to a fresh one, recomputed for a new run or changed data, and warmed by serve after a batch run; the members
on the page are one page of the run's members, in customer order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pandas as pd
import pytest

from segmentum.analysis.profile import COMPUTED, profile, stored_profile
from segmentum.service.overview import COMPUTED as OVERVIEW
from segmentum.service.overview import is_ready
from segmentum.service.runtime import Runtime
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

NAME = "value_tier.low"
USER, PASSWORD = "anna", "correct horse battery"  # tests/web/conftest.py's user
LAST_AS_OF = "2024-12-31 23:59:59"


@dataclass
class Served:
    url: str
    ws: Workspace


@pytest.fixture(scope="module")
def served(dashboard: Any) -> Served:
    """The module's own dashboard (conftest: a real workspace with two runs on a real server)."""
    return Served(dashboard.url, dashboard.ws)


@contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=120) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        yield client


def stored_rows(ws: Workspace, name: str) -> list[tuple[Any, ...]]:
    return ws.store.query(
        "SELECT run_id, top, created_at, stamp FROM segmentum.segment_profiles WHERE name = ? ORDER BY run_id, top",
        [name],
    )


def assert_same_profile(stored: dict[str, Any], fresh: dict[str, Any]) -> None:
    assert stored.keys() == fresh.keys()
    for key, value in fresh.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(stored[key], value, check_exact=True)
            assert len(value.columns) > 0, key
        else:
            assert stored[key] == value or (value != value and stored[key] != stored[key]), key


def test_the_stored_profile_equals_a_fresh_one(served: Served) -> None:
    ws = served.ws
    for name in (NAME, "value_tier.vip", "big_spenders"):
        first = stored_profile(ws, name, top=8)  # computed and stored
        again = stored_profile(ws, name, top=8)  # read back from the JSON
        fresh = profile(ws, name, top=8)
        assert_same_profile(first, fresh)
        assert_same_profile(again, fresh)
        assert not fresh["distinguishing"].empty or name == "value_tier.vip"
    assert isinstance(again["as_of"], type(fresh["as_of"]))


def test_a_second_visit_reads_the_stored_profile(served: Served) -> None:
    ws = served.ws
    run = snapshot.latest_run(ws.store)
    assert run is not None
    name = "value_tier.regular"
    assert stored_rows(ws, name) == []
    with signed_in(served.url) as client:
        before = COMPUTED["count"]
        assert client.get(f"/segments/{name}").status_code == 200
        rows = stored_rows(ws, name)
        assert [(r[0], r[1]) for r in rows] == [(run.run_id, 8)]
        assert COMPUTED["count"] == before + 1
        for page in (1, 2):  # again, and the members' next page: nothing recomputed
            assert client.get(f"/segments/{name}", params={"page": page}).status_code == 200
        assert stored_rows(ws, name) == rows  # the same row, same created_at
        assert COMPUTED["count"] == before + 1


def test_changed_data_computes_the_profile_afresh(served: Served) -> None:
    ws = served.ws
    stored_profile(ws, NAME, top=8)
    before = stored_rows(ws, NAME)
    count = COMPUTED["count"]
    # a late order of a low customer, dated before the run: the profile's revenue changes
    ws.ingest_frame(
        "orders",
        pd.DataFrame(
            [
                {
                    "order_id": "late1",
                    "customer_id": "c059",
                    "ordered_at": pd.Timestamp("2024-12-01"),
                    "amount": 100.0,
                    "status": "completed",
                }
            ]
        ),
        mode="append",
    )
    after = stored_profile(ws, NAME, top=8)
    assert COMPUTED["count"] == count + 1
    (row,) = stored_rows(ws, NAME)
    assert row[3] != before[0][3] and row[2] >= before[0][2]
    assert_same_profile(after, profile(ws, NAME, top=8))


def test_a_new_run_gets_its_own_profile_and_serve_warms_it(served: Served) -> None:
    ws = served.ws
    old = snapshot.latest_run(ws.store)
    assert old is not None
    stored_profile(ws, NAME, top=8)
    runtime = Runtime(ws, realtime=False)  # serve's runtime: its batch run warms the new run's profiles
    job = runtime.start_batch(LAST_AS_OF)
    for _ in range(2):  # the run, then the warming it started
        for thread in list(runtime._job_threads):
            thread.join(120)
    assert job.status == "complete", job.message
    new = snapshot.latest_run(ws.store)
    assert new is not None and new.run_id != old.run_id
    names = {
        r[0]
        for r in ws.store.query(
            "SELECT DISTINCT name FROM segmentum.memberships WHERE run_id = ?", [new.run_id]
        )
    }
    warmed = {
        r[0]
        for r in ws.store.query(
            "SELECT name FROM segmentum.segment_profiles WHERE run_id = ? AND top = 8", [new.run_id]
        )
    }
    assert warmed == names and NAME in names
    assert {r[0] for r in stored_rows(ws, NAME)} >= {old.run_id, new.run_id}
    count = COMPUTED["count"]
    assert is_ready(ws)  # the warming computed the new run's overview too
    overviews = OVERVIEW["overview"]
    with signed_in(served.url) as client:
        page = client.get(f"/segments/{NAME}")
        overview = client.get("/")
    assert page.status_code == 200 and overview.status_code == 200
    assert COMPUTED["count"] == count  # warmed: the page computed nothing
    assert OVERVIEW["overview"] == overviews  # nor the overview
    assert stored_profile(ws, NAME, top=8)["run_id"] == new.run_id


def test_the_members_on_the_page_are_one_page_of_the_run_in_customer_order(served: Served) -> None:
    from segmentum.web.routes import PAGE_SIZE, _members_page

    ws = served.ws
    run = snapshot.latest_run(ws.store)
    assert run is not None
    expected = [
        r[0]
        for r in ws.store.query(
            "SELECT customer_id FROM segmentum.memberships WHERE run_id = ? AND name = ? ORDER BY customer_id",
            [run.run_id, "big_spenders"],
        )
    ]
    page = _members_page(ws, "big_spenders", run.run_id, "", 1)
    assert page.total == len(expected) and page.rows["customer_id"].tolist() == expected[:PAGE_SIZE]
    from segmentum.views.members import members

    for offset in (0, 3, len(expected) - 2):
        shown = members(ws, "big_spenders", run_id=run.run_id, limit=4, offset=offset)
        assert shown.total == len(expected)
        assert shown.rows["customer_id"].tolist() == expected[offset : offset + 4]


def test_warming_stores_what_the_page_would_compute_one_by_one(served: Served) -> None:
    """Warming computes the brief profiles in one pass and completes each: equal to `profile`, segment by
    segment (the segment page renders the stored one)."""
    from segmentum.analysis.base import segment_names
    from segmentum.analysis.profile import warm_profiles

    ws = served.ws
    run = snapshot.latest_run(ws.store)
    assert run is not None
    top = 5  # no page stores this `top`: every profile is warmed here
    names = segment_names(ws, run.run_id)
    count = COMPUTED["count"]
    warmed = warm_profiles(ws, run.run_id, top=top)
    assert sorted(warmed) == sorted(names) and len(names) > 3
    assert COMPUTED["count"] == count + len(names)
    for name in names:
        stored = stored_profile(ws, name, run_id=run.run_id, top=top)  # read back, not computed
        assert_same_profile(stored, profile(ws, name, run_id=run.run_id, top=top))
        assert {"top_categories", "top_products", "nps", "csat", "churn_rate"} <= stored.keys()
    assert COMPUTED["count"] == count + len(names)
    assert sorted(warm_profiles(ws, run.run_id, top=top)) == sorted(names)  # all stored: nothing computed
    assert COMPUTED["count"] == count + len(names)


def test_the_overview_computes_sizes_pareto_and_rfm_once_per_run_and_stamp(served: Served) -> None:
    ws = served.ws
    with signed_in(served.url) as client:
        assert client.get("/").status_code == 200  # computed, or already by an earlier test
        count = OVERVIEW["overview"]
        grids = OVERVIEW["rfm"]
        first = client.get("/")
        assert first.status_code == 200 and "chart-pareto" in first.text and "chart-rfm" in first.text
        again = client.get("/")
        assert OVERVIEW["overview"] == count  # reused
        assert OVERVIEW["rfm"] == grids  # the RFM grid too
        assert again.text == first.text
        ws.ingest_frame(  # changed data: computed afresh
            "orders",
            pd.DataFrame(
                [
                    {
                        "order_id": "late-overview",
                        "customer_id": "c058",
                        "ordered_at": pd.Timestamp("2024-11-01"),
                        "amount": 50.0,
                        "status": "completed",
                    }
                ]
            ),
            mode="append",
        )
        assert client.get("/").status_code == 200
        assert OVERVIEW["overview"] == count + 1
        assert OVERVIEW["rfm"] == grids + 1
        assert client.get("/").status_code == 200
        assert OVERVIEW["overview"] == count + 1
        assert OVERVIEW["rfm"] == grids + 1
