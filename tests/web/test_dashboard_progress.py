"""What the server runs for the local CLI shows on the dashboard while it runs (done, total and the time left by
`segmentum.progress`'s one estimate), a served ingest reports its progress there, a batch run through the CLI
channel warms its segment profiles, and `segmentum serve` warms the latest run's profiles when it starts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.service.commands import COMMANDS, command
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace
from servers import start_app

USER, PASSWORD = "anna", "correct horse battery"  # made by build_workspace in conftest.py
TOKEN = "sgm_internal_test-progress-token"


def start(ws: Workspace, **options: Any) -> tuple[Any, Any, str, Any]:
    app = create_app(ws, extra_routers=web_routers(), realtime=False, internal_token=TOKEN, **options)
    server, thread, url = start_app(app)
    return server, thread, url, app.state.runtime


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, build_workspace: Any
) -> Iterator[tuple[str, Workspace, Any]]:
    ws = build_workspace(tmp_path_factory.mktemp("progress") / "ws")
    server, thread, url, runtime = start(ws)
    try:
        yield url, ws, runtime
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


@contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=120) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        yield client


def test_an_operation_in_progress_shows_on_the_dashboard_with_its_estimate(site: Any) -> None:
    url, _, _ = site
    halfway, release = threading.Event(), threading.Event()

    @command("test.slow", writes=True)
    def slow(ws: Workspace, *, progress: Any = None) -> dict[str, Any]:
        progress(0, 4, "reading parts")
        progress(2, 4, "reading parts")
        halfway.set()
        assert release.wait(60)
        progress(4, 4, "reading parts")
        return {"ok": True}

    answer: dict[str, Any] = {}

    def call() -> None:
        with httpx.Client(base_url=url, timeout=120) as api:
            answer["response"] = api.post(
                "/v1/commands/test.slow", json={}, headers={"Authorization": f"Bearer {TOKEN}"}
            )

    caller = threading.Thread(target=call)
    try:
        caller.start()
        assert halfway.wait(60)
        with signed_in(url) as client:
            page = client.get("/tasks")
            lines = client.get("/progress.json").json()["lines"]
        assert page.status_code == 200 and 'id="in-progress"' in page.text and "progress.js" in page.text
        assert lines == [lines[0]] and lines[0].startswith("test.slow reading parts: 50.0%, about ")
        # the same line on the page (its time estimate may tick between the two requests)
        assert lines[0].split(", about ")[0] + ", about " in page.text
    finally:
        release.set()
        caller.join(60)
        COMMANDS.pop("test.slow", None)
    assert answer["response"].status_code == 200 and answer["response"].json() == {"ok": True}
    with signed_in(url) as client:
        assert client.get("/progress.json").json() == {"lines": []}
        page = client.get("/tasks")
    assert (
        "progress.js" not in page.text and 'id="in-progress" class="in-progress" role="status"' in page.text
    )


def test_a_served_ingest_reports_its_progress(site: Any, tmp_path: Path) -> None:
    url, _, runtime = site
    source = tmp_path / "more.csv"
    source.write_text("order_id,customer_id,ordered_at,amount,status\nx1,c001,2024-12-01,10,completed\n")
    with httpx.Client(base_url=url, timeout=120) as api:
        response = api.post(
            "/v1/commands/ingest",
            json={"table": "orders", "path": str(source)},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 200, response.text
    job = runtime.commands[-1]
    assert (job.kind, job.trigger, job.status) == ("ingest", "cli", "complete")
    progress = job.progress()
    assert progress["label"] and progress["done"] == progress["total"] > 0 and progress["eta_s"] == 0.0


def test_a_run_through_the_cli_channel_warms_its_profiles(site: Any) -> None:
    url, ws, runtime = site
    with httpx.Client(base_url=url, timeout=120) as api:
        response = api.post(
            "/v1/commands/run",
            json={"as_of": "2024-12-31 23:59:59"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    assert response.status_code == 200, response.text
    run_id = response.json()["run_id"]
    for thread in list(runtime._job_threads):
        thread.join(120)
    names = {
        r[0]
        for r in ws.store.query("SELECT DISTINCT name FROM segmentum.memberships WHERE run_id = ?", [run_id])
    }
    warmed = {
        r[0] for r in ws.store.query("SELECT name FROM segmentum.segment_profiles WHERE run_id = ?", [run_id])
    }
    assert warmed == names and len(names) > 3


def test_serve_warms_the_latest_runs_profiles_when_it_starts(tmp_path: Path, build_workspace: Any) -> None:
    ws = build_workspace(tmp_path / "ws")
    latest = snapshot.latest_run(ws.store)
    assert latest is not None
    stored = "SELECT count(*) FROM segmentum.segment_profiles WHERE run_id = ?"
    assert ws.store.query(stored, [latest.run_id])[0][0] == 0
    server, thread, _, runtime = start(ws, warm_latest=True)
    try:
        for warming in list(runtime._job_threads):
            warming.join(120)
        names = ws.store.query(
            "SELECT count(DISTINCT name) FROM segmentum.memberships WHERE run_id = ?", [latest.run_id]
        )[0][0]
        assert ws.store.query(stored, [latest.run_id])[0][0] == names > 3
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()
