"""The one error shape, and keys checked before routing: 401 without or with a wrong key, 403 when too narrow."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from segmentum.api.middleware import required_scope


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _api_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) the app serves: its operations (as the OpenAPI document lists them, which
    covers routers included in any way) plus plain routes such as the document itself."""
    out = [(method.upper(), path) for path, ops in app.openapi()["paths"].items() for method in ops]
    for route in app.routes:
        if isinstance(route, Route) and not isinstance(route, APIRoute):
            out += [(method, route.path) for method in sorted(route.methods or ()) if method != "HEAD"]
    assert all(path.startswith("/v1/") for _, path in out), out
    return sorted(set(out))


def test_health_answers_without_a_key(live) -> None:
    response = httpx.get(f"{live.url}/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_every_endpoint_but_health_answers_401_without_a_key_or_with_a_wrong_one(live) -> None:
    routes = _api_routes(live.app)
    assert len(routes) >= 15
    with httpx.Client(base_url=live.url) as anon:
        for method, path in routes:
            if path == "/v1/health":
                continue
            url = _concrete(path)
            assert_error_shape(anon.request(method, url), 401, "unauthorized")
            wrong = live.keys["admin"][:-3] + "xyz"
            for token in (wrong, "not-a-key", "sgm_deadbeef_nope"):
                response = anon.request(method, url, headers={"Authorization": f"Bearer {token}"})
                assert_error_shape(response, 401, "unauthorized")
            response = anon.request(method, url, headers={"Authorization": f"Basic {live.keys['admin']}"})
            assert_error_shape(response, 401, "unauthorized")


def test_openapi_document_needs_a_key_too(live) -> None:
    assert httpx.get(f"{live.url}/v1/openapi.json").status_code == 401
    with live.client("read") as client:
        doc = client.get("/v1/openapi.json").json()
    assert "/v1/events" in doc["paths"]
    assert doc["paths"]["/v1/health"]["get"]["security"] == []
    assert doc["paths"]["/v1/segments"]["get"]["security"] == [{"apiKey": []}]


def test_too_narrow_scope_answers_403_before_routing(live) -> None:
    narrower = {"write": "read", "admin": "write"}
    checked = 0
    for method, path in _api_routes(live.app):
        needed = required_scope(method, path)
        if needed not in narrower:
            continue
        with live.client(narrower[needed]) as client:
            error = assert_error_shape(client.request(method, _concrete(path)), 403, "forbidden")
        assert error["details"] == {"needed": needed, "granted": narrower[needed]}
        checked += 1
    assert checked >= 6  # events, runs, definitions (validate, preview), keys (list, create, revoke)


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v1/segments", "read"),
        ("POST", "/v1/events", "write"),
        ("POST", "/v1/runs", "write"),
        ("POST", "/v1/definitions/validate", "write"),
        ("GET", "/v1/keys", "admin"),
        ("DELETE", "/v1/keys/x", "admin"),
        ("GET", "/v1/health", None),
        ("GET", "/nowhere", "read"),
        ("PUT", "/v1/segments", "write"),
    ],
)
def test_required_scopes(method: str, path: str, scope: str | None) -> None:
    assert required_scope(method, path) == scope


def test_unknown_path_is_401_without_key_and_404_in_the_shape_with_one(live) -> None:
    assert_error_shape(httpx.get(f"{live.url}/v1/nothing-here"), 401, "unauthorized")
    assert_error_shape(httpx.get(f"{live.url}/elsewhere"), 401, "unauthorized")
    with live.client("read") as client:
        error = assert_error_shape(client.get("/v1/nothing-here"), 404, "not_found")
    assert "/v1/nothing-here" in error["message"]


def test_wrong_method_is_405_in_the_shape(live) -> None:
    with live.client("admin") as client:
        assert_error_shape(client.put("/v1/segments"), 405, "method_not_allowed")
        assert_error_shape(client.delete("/v1/events"), 405, "method_not_allowed")


def test_validation_errors_are_422_in_the_shape(live) -> None:
    with live.client("write") as client:
        error = assert_error_shape(
            client.post("/v1/events", json={"events": [{"customer_id": "c1"}]}), 422, "invalid_request"
        )
        assert {tuple(d["loc"]) for d in error["details"]} >= {("body", "events", "0", "event")}
        assert_error_shape(
            client.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"}),
            422,
            "invalid_request",
        )
        assert_error_shape(client.post("/v1/events", json={"events": [], "extra": 1}), 422, "invalid_request")
        assert_error_shape(client.get("/v1/runs", params={"limit": "many"}), 422, "invalid_request")


def test_body_over_the_limit_is_413(live) -> None:
    big = b'{"events": [' + b" " * (10 * 1024 * 1024 + 10) + b"]}"
    with live.client("write") as client:
        assert_error_shape(
            client.post("/v1/events", content=big, headers={"content-type": "application/json"}),
            413,
            "payload_too_large",
        )


def test_a_revoked_key_answers_401_at_once(live) -> None:
    with live.client("admin") as admin:
        created = admin.post("/v1/keys", json={"scope": "read", "name": "temp"})
        assert created.status_code == 201
        key = created.json()["key"]
        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{live.url}/v1/segments", headers=headers).status_code == 200
        assert admin.delete(f"/v1/keys/{created.json()['prefix']}").json()["active"] is False
        assert_error_shape(httpx.get(f"{live.url}/v1/segments", headers=headers), 401, "unauthorized")
        listed = {k["prefix"]: k for k in admin.get("/v1/keys").json()["keys"]}
        assert listed[created.json()["prefix"]]["revoked_at"] is not None
        assert "key" not in listed[created.json()["prefix"]]


def test_a_browser_may_read_with_the_key_in_a_cookie_but_not_write(live) -> None:
    cookies = {"segmentum_key": live.keys["admin"]}
    with httpx.Client(base_url=live.url, cookies=cookies) as browser:
        assert browser.get("/v1/segments").status_code == 200
        response = browser.post("/v1/events", json={"events": []})
        assert_error_shape(response, 401, "unauthorized")
    with httpx.Client(base_url=live.url, cookies={"segmentum_key": "sgm_x_y"}) as browser:
        assert_error_shape(browser.get("/v1/segments"), 401, "unauthorized")
