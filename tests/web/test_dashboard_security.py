"""The dashboard against a hostile client, on a real server on 127.0.0.1: malformed bodies answer 4xx in the
API's one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from segmentum.api.main import create_app
from segmentum.api.server import web_routers
from segmentum.service import users as auth
from segmentum.workspace import Workspace
from servers import start_app

PASSWORD = "long enough secret"


@dataclass
class Site:
    url: str
    ws: Workspace


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = Workspace.init(tmp_path_factory.mktemp("web-security") / "ws", name="security")
    auth.add_user(ws.store, "writer", PASSWORD)
    app = create_app(ws, extra_routers=web_routers(), realtime=False)
    server, thread, url = start_app(app)
    try:
        yield Site(url, ws)
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


@contextmanager
def signed_in(site: Site, user: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        assert client.post("/login", data={"user": user, "password": PASSWORD}).status_code == 303
        yield client


def assert_error_shape(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.parametrize(
    "body",
    ["[1, 2]", '"text"', "42", "null", '{"file": ["x.yml"], "text": ""}', "{not json", "[" * 100_000],
    ids=["list", "string", "number", "null", "file not text", "syntax", "too deep"],
)
def test_editor_check_answers_400_to_a_body_that_is_not_a_json_object(site: Site, body: str) -> None:
    with signed_in(site, "writer") as client:
        response = client.post("/editor/check", content=body, headers={"content-type": "application/json"})
    error = assert_error_shape(response, 400)
    assert "JSON object" in error["message"]
