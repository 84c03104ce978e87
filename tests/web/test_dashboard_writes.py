"""Every change made from a page follows the one rule of `Runtime.write`: it waits for a run in progress (the
run lock), and the cached definitions the micro-batches use are loaded again after it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentum.actions.tasks import create_tasks, get_task
from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.store.lists import names as list_names
from servers import start_app

pytestmark = pytest.mark.slow
USER, PASSWORD = "anna", "correct horse battery"  # tests/web/conftest.py's user with the role 'write'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, build_workspace: Any) -> Iterator[tuple[Any, str]]:
    ws = build_workspace(tmp_path_factory.mktemp("writes") / "ws")
    app = create_app(ws, extra_routers=web_routers(), realtime=False)
    server, thread, url = start_app(app)
    try:
        yield app.state.runtime, url
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


def _while_a_run_holds_the_lock(
    runtime: Any, url: str, post: Callable[[httpx.Client, str], httpx.Response], done: Callable[[], bool]
) -> httpx.Response:
    """Post a page's form while the run lock is held: nothing changes until the run lets go."""
    answers: list[httpx.Response] = []
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 303
        found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', client.get("/tasks").text)
        assert found
        with runtime.run_lock:  # a run is going on
            worker = threading.Thread(target=lambda: answers.append(post(client, found.group(1))))
            worker.start()
            time.sleep(0.8)
            assert not answers and not done(), "a page wrote in the middle of a run"
        worker.join(60)
    assert answers and done()
    return answers[0]


def test_every_page_write_waits_for_a_run_in_progress(site: tuple[Any, str]) -> None:
    runtime, url = site
    ws = runtime.ws
    task = create_tasks(ws, ["c003"], "Call back")[0]

    closed = _while_a_run_holds_the_lock(
        runtime,
        url,
        lambda c, csrf: c.post(f"/tasks/{task}/complete", data={"csrf_token": csrf, "note": "called"}),
        lambda: get_task(ws, task)["status"] == "done",
    )
    assert closed.status_code == 303 and get_task(ws, task)["note"] == "called"

    assigned = _while_a_run_holds_the_lock(
        runtime,
        url,
        lambda c, csrf: c.post(f"/tasks/{task}/assign", data={"csrf_token": csrf, "assignee": "olha"}),
        lambda: get_task(ws, task)["assignee"] == "olha",
    )
    assert assigned.status_code == 303

    added = _while_a_run_holds_the_lock(
        runtime,
        url,
        lambda c, csrf: c.post("/lists", data={"csrf_token": csrf, "name": "by_hand", "ids": "c001 c002"}),
        lambda: "by_hand" in list_names(ws.store),
    )
    assert added.status_code == 200

    file = Path(ws.root) / "definitions" / "page_write.yml"
    saved = _while_a_run_holds_the_lock(
        runtime,
        url,
        lambda c, csrf: c.post(
            "/editor/save",
            data={
                "csrf_token": csrf,
                "file": file.name,
                "text": 'segments:\n  two: {where: "orders_total >= 2"}\n',
            },
        ),
        file.exists,
    )
    assert saved.status_code == 303


def test_a_list_made_on_a_page_is_a_segment_of_the_next_micro_batch(site: tuple[Any, str]) -> None:
    runtime, url = site
    assert "late_list" not in runtime.definitions.current().segments  # cached by the micro-batches
    _while_a_run_holds_the_lock(
        runtime,
        url,
        lambda c, csrf: c.post("/lists", data={"csrf_token": csrf, "name": "late_list", "ids": "c004"}),
        lambda: "late_list" in list_names(runtime.ws.store),
    )
    # no definition file changed: only the one rule of a write makes the cache load the list
    assert "late_list" in runtime.definitions.current().segments
