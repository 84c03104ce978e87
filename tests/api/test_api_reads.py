"""Read endpoints over snapshots written by the store contract: segments, members, customers, runs, tasks."""

from __future__ import annotations

import csv
import io

from api_support import seed_snapshot


def test_segments_lists_sizes_of_the_newest_complete_batch_run(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        body = client.get("/v1/segments").json()
    assert body["run"]["run_id"] == 2
    standalone = {s["name"]: s for s in body["segments"]}
    assert standalone["big_spenders"]["customers"] == 1
    tiers = {g["name"]: g for g in body["segmentations"]}["value_tier"]
    sizes = {s["name"]: s["customers"] for s in tiers["segments"]}
    assert sizes == {"value_tier.vip": 1, "value_tier.low": 1, "value_tier.regular": 1}
    assert tiers["customers"] == 3


def test_segment_detail_has_the_history_of_sizes(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        body = client.get("/v1/segments/value_tier.low").json()
        missing = client.get("/v1/segments/value_tier.lo")
    assert body["customers"] == 1 and body["run_id"] == 2
    assert [(h["run_id"], h["customers"]) for h in body["history"]] == [(1, 2), (2, 1)]
    assert missing.status_code == 404
    assert "did you mean 'value_tier.low'" in missing.json()["error"]["message"]


def test_members_are_paged_filtered_and_downloadable_as_csv(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        page = client.get("/v1/segments/value_tier.low/members", params={"run": 1}).json()
        assert page["total"] == 2 and [m["customer_id"] for m in page["members"]] == ["c2", "c3"]
        assert page["members"][0]["revenue_365d"] == 20
        second = client.get("/v1/segments/value_tier.low/members", params={"run": 1, "limit": 1, "offset": 1})
        assert [m["customer_id"] for m in second.json()["members"]] == ["c3"]
        filtered = client.get(
            "/v1/segments/value_tier.low/members",
            params={"run": 1, "filter": ["revenue_365d >= 100", "country = 'UA'"]},
        ).json()
        assert [m["customer_id"] for m in filtered["members"]] == ["c3"] and filtered["total"] == 1
        response = client.get("/v1/segments/value_tier.low/members", params={"run": 1, "format": "csv"})
        assert response.headers["content-type"].startswith("text/csv")
        assert response.text.startswith("\ufeff")  # a UTF-8 byte order mark, for Excel
        rows = list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))
        assert [r["customer_id"] for r in rows] == ["c2", "c3"]
        bad = client.get("/v1/segments/value_tier.low/members", params={"filter": "revenu_365d>1"})
        assert bad.status_code == 422 and "did you mean 'revenue_365d'" in bad.json()["error"]["message"]
        bad_value = client.get("/v1/segments/value_tier.low/members", params={"filter": "revenue_365d>abc"})
        assert bad_value.status_code == 422
        failed_run = client.get("/v1/segments/value_tier.low/members", params={"run": 4})
        assert failed_run.status_code == 404


def test_empty_segment_as_csv_is_the_header_only(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        response = client.get(
            "/v1/segments/big_spenders/members", params={"format": "csv", "filter": "revenue_365d>100000"}
        )
    assert response.text.splitlines() == ["\ufeffcustomer_id,revenue_365d,orders_total"]


def test_customer_segments_come_from_the_newest_complete_run_that_holds_them(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        c2 = client.get("/v1/customers/c2").json()
        c1 = client.get("/v1/customers/c1").json()
        missing = client.get("/v1/customers/nobody")
    # c2 was re-evaluated in real time (run 3) after batch run 2; the failed run 4 is never read
    assert c2["segments"] == ["value_tier.regular"]
    assert c2["run"]["run_id"] == 3 and c2["run"]["kind"] == "realtime"
    assert c2["traits"]["revenue_365d"] == 600
    assert c2["attributes"]["name"] == "Bob"
    assert [h["run_id"] for h in c2["history"]] == [1, 2, 3]
    assert c1["segments"] == ["big_spenders", "value_tier.vip"]
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_runs_are_listed_newest_first(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        body = client.get("/v1/runs").json()
        one = client.get("/v1/runs/2").json()
        batch = client.get("/v1/runs", params={"kind": "batch", "limit": 1}).json()
        assert client.get("/v1/runs/99").status_code == 404
    assert [r["run_id"] for r in body["runs"]] == [4, 3, 2, 1]
    assert one["as_of"].startswith("2024-02-29")
    assert batch["total"] == 3 and [r["run_id"] for r in batch["runs"]] == [4]


def test_tasks_are_empty_until_the_actions_make_some(live) -> None:
    with live.client("read") as client:
        assert client.get("/v1/tasks").json()["tasks"] == []
    # the task table exists from the moment the store opens (segmentum.store.tables), as the task sink fills it
    live.ws.store.cursor().execute(
        "INSERT INTO segmentum.tasks (id, customer_id, title, status, created_at) VALUES "
        "(nextval('segmentum.task_seq'), 'c1', 'Call Ann', 'open', now()), "
        "(nextval('segmentum.task_seq'), 'c2', 'Call Bob', 'done', now())"
    )
    with live.client("read") as client:
        body = client.get("/v1/tasks", params={"status": "open"}).json()
    assert body["total"] == 1 and body["tasks"][0]["title"] == "Call Ann"


def test_status_reports_the_realtime_loop(live) -> None:
    with live.client("read") as client:
        body = client.get("/v1/status").json()
    assert body["realtime"]["interval_s"] == 0.2


def test_the_server_loads_the_definitions_on_start_and_says_so(live) -> None:
    """The first preview in the editor paid the process's first parse of every definitions file (the built-ins
    too) on top of its own work: the server now loads them on start, and /v1/status tells when that is done."""
    runtime = live.app.state.runtime
    assert runtime.definitions_warmed.wait(120)
    with live.client("read") as client:
        body = client.get("/v1/status").json()
    assert body["definitions_loaded"] is True and body["live_loaded"] in (True, False)
    loaded = runtime.definitions._cached
    # the workspace's definitions, loaded once: here its built-ins, skipped for want of orders
    assert loaded is not None and "rfm" in loaded[1].skipped
    assert runtime.definitions.current() is loaded[1]  # what the first micro-batch or preview reads


def test_profile_of_a_segment(live) -> None:
    seed_snapshot(live.ws)
    with live.client("read") as client:
        response = client.get("/v1/segments/value_tier.low/profile", params={"run": 1})
        missing = client.get("/v1/segments/nope/profile")
    assert missing.status_code == 404
    assert response.status_code == 200, response.text
    assert response.json()["size"] == 2


def test_the_profile_is_stored_once_and_answers_as_a_fresh_one(live) -> None:
    """The endpoint reads `stored_profile`: the same JSON as a profile computed for the request, and a second
    request computes nothing."""
    import json

    from segmentum.analysis.profile import COMPUTED, profile
    from segmentum.api.deps import json_response

    seed_snapshot(live.ws)
    fresh = json.loads(bytes(json_response(profile(live.ws, "value_tier.low", run_id=1, top=3)).body))
    with live.client("read") as client:
        count = COMPUTED["count"]
        first = client.get("/v1/segments/value_tier.low/profile", params={"run": 1, "top": 3})
        assert COMPUTED["count"] == count + 1
        again = client.get("/v1/segments/value_tier.low/profile", params={"run": 1, "top": 3})
        assert COMPUTED["count"] == count + 1
    assert first.status_code == again.status_code == 200
    assert first.json() == fresh and again.json() == fresh
    assert fresh["attributes"] and "top_categories" in fresh
