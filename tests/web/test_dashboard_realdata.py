"""The dashboard over real data: the CDNOW purchases (23,570 customers) ingested as they come, two runs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.service import users as auth
from segmentum.workspace import Workspace

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # as in tests/conftest.py
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory: pytest.TempPathFactory, start_server: Any) -> Iterator[httpx.Client]:
    source = SHARED_DATA / "cdnow" / "CDNOW_master.txt"
    if not source.is_file():
        pytest.skip(f"the shared real data file {source} is absent")
    raw = pd.read_csv(source, sep=r"\s+")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(raw))],
            "customer_id": raw["customer_id"].astype(str),
            "ordered_at": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["dollar_value"].astype(float),
        }
    )
    ws = Workspace.init(Path(tmp_path_factory.mktemp("cdnow")) / "ws", name="cdnow")
    ws.ingest_frame("orders", orders)
    for as_of in ("1998-03-31 23:59:59", "1998-06-30 23:59:59"):
        ws.run(as_of=as_of)
    auth.add_user(ws.store, "analyst", "long enough secret", role="write")  # the editor's check needs write
    server, thread, url = start_server(create_app(ws, extra_routers=web_routers(), realtime=False))
    client = httpx.Client(base_url=url, timeout=120)
    assert (
        client.post("/login", data={"user": "analyst", "password": "long enough secret"}).status_code == 303
    )
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(15)
        ws.close()


@pytest.mark.parametrize(
    "path",
    ["/", "/customers/1", "/customers/1?explain=rfm", "/tasks", "/editor"],
)
def test_pages_answer_quickly_on_real_data(cdnow: httpx.Client, path: str) -> None:
    started = time.perf_counter()
    response = cdnow.get(path)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text[:500]
    assert "page-error" not in response.text
    assert elapsed < 10, f"{path} took {elapsed:.1f} s"  # about 0.4 s here; generous on a shared machine


def test_editor_previews_a_new_segment_on_real_data(cdnow: httpx.Client) -> None:
    text = 'segments:\n  loyal_buyers:\n    where: "rfm_frequency >= 5"\n'
    csrf = re.search(r'name="csrf-token" content="(\w+)"', cdnow.get("/editor").text).group(1)
    result = cdnow.post(
        "/editor/check", json={"file": "mine.yml", "text": text}, headers={"X-CSRF-Token": csrf}
    ).json()
    assert result["valid"] and result["changed"] == {"loyal_buyers": "new"}
    (segment,) = result["segments"]
    assert segment["before"] == 0 and segment["after"] == segment["entered_count"] > 0


@pytest.mark.parametrize("path", ["/segments/rfm.champions", "/migration?segmentation=rfm"])
def test_analysis_pages_on_orders_ingested_without_status(cdnow: httpx.Client, path: str) -> None:
    assert cdnow.get(path).status_code == 200
