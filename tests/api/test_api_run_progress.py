"""A batch run the server runs records the run's steps in its job while it goes (`POST /v1/runs`, the schedule,
and `segmentum run` through the command channel), as a backfill records its points: the job's progress is what
`GET /v1/runs/jobs/{id}` answers and the dashboard's progress line shows (`Runtime.in_progress`)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from api_support import start_server

from segmentum.api.main import create_app
from segmentum.store import progress as query_progress
from segmentum.workspace import Workspace

STEPS = {"compile", "evaluate", "write memberships", "sizes", "commit", "diff"}
TOKEN = "sgm_internal_test-run-progress-token"


def orders(ws: Workspace, rows: int) -> None:
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    con.execute(
        "INSERT INTO main.orders SELECT 'o' || i, 'c' || (i % 5000), TIMESTAMP '2024-01-01' + INTERVAL "
        f"(i % 300) DAY, (i % 97)::DECIMAL(38, 6), NULL FROM range({rows}) r(i)"
    )


def assert_ended(progress: dict[str, Any]) -> None:
    """The job's record ends with the run's last step done (its sizes, or its diff when counted with the
    memberships), nothing left."""
    assert progress["label"] in {"diff", "sizes"}, progress
    assert progress["done"] == progress["total"] == 1 and progress["eta_s"] == 0.0, progress


def test_a_batch_run_through_the_api_records_its_steps_in_its_job(
    live: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders(live.ws, 300_000)
    monkeypatch.setattr(query_progress, "EVERY", 0.005)  # DuckDB's estimate read often: the run is short
    runtime = live.app.state.runtime
    with live.client("write") as client:
        started = client.post("/v1/runs", json={"as_of": "2024-12-31"})
        assert started.status_code == 202, started.text
        job_id = started.json()["job_id"]
        seen: list[dict[str, Any]] = []
        shown: list[dict[str, Any]] = []
        deadline = time.monotonic() + 120
        while (job := client.get(f"/v1/runs/jobs/{job_id}").json())["status"] == "running":
            assert time.monotonic() < deadline, job
            seen.append(job["progress"])
            shown += [j["progress"] for j in runtime.in_progress() if j["kind"] == "run"]
            time.sleep(0.005)
    assert job["status"] == "complete", job
    labels = {p["label"] for p in seen + shown} - {None}
    assert labels and labels <= STEPS, labels  # the run's steps while it ran, on the job and the dashboard
    assert all(p["done"] <= p["total"] for p in seen + shown)
    assert_ended(job["progress"])


def test_a_run_through_the_command_channel_is_a_job_with_the_runs_progress(workspace: Workspace) -> None:
    orders(workspace, 1_000)
    app = create_app(workspace, realtime=False, internal_token=TOKEN)
    server, thread, url = start_server(app)
    try:
        with httpx.Client(base_url=url, timeout=120) as api:
            response = api.post(
                "/v1/commands/run",
                json={"as_of": "2024-12-31 23:59:59"},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        assert response.status_code == 200, response.text
        job = app.state.runtime.commands[-1]
        assert (job.kind, job.trigger, job.status) == ("run", "cli", "complete")
        assert_ended(job.progress())
    finally:
        server.should_exit = True
        thread.join(15)
