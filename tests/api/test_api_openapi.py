"""The OpenAPI document matches behaviour: every status a route answers to a bad request is documented, a
timestamp is a string as documented, and a 405 names every method its path allows."""

from __future__ import annotations

import json
import re

import httpx
from test_api_errors_auth import assert_error_shape

BAD_BODIES = {
    "malformed JSON": b"{",
    "JSON nested past the decoder": b"[" * 100_000,
    "not an object": b"[]",
    "empty": b"",
    "wrong types": json.dumps({"events": 1, "files": 2, "scope": 3, "from": [], "as_of": 4}).encode(),
}


def _concrete(path: str) -> str:
    # a definitions file is named NAME.yml in its path (its route takes no other name)
    return re.sub(r"\{[^}]+\}", "x1", path.replace("{file}", "x1.yml"))


def _bad_query_values(parameter: dict) -> list[str]:
    schema = parameter.get("schema", {})
    kinds = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    bad = ["-1", "1e999", "x" * 5000]
    return bad + (["not-a-number", "1.5"] if kinds & {"integer", "number"} else [])


def test_every_operation_documents_what_it_answers_to_bad_requests(live) -> None:
    document = live.app.openapi()
    checked = 0
    with live.client("admin") as client:
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                documented = set(operation["responses"])
                url = _concrete(path)
                tries: list[tuple[str, httpx.Response]] = [("plain", client.request(method, url))]
                if "requestBody" in operation:
                    for what, body in BAD_BODIES.items():
                        headers = {"content-type": "application/json"}
                        tries.append((what, client.request(method, url, content=body, headers=headers)))
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        for value in _bad_query_values(parameter):
                            response = client.request(method, url, params={parameter["name"]: value})
                            tries.append((f"?{parameter['name']}={value[:20]}", response))
                for what, response in tries:
                    status = str(response.status_code)
                    assert status in documented, (
                        f"{method.upper()} {path} answers {status} to {what}, "
                        f"documented: {sorted(documented)}: {response.text[:300]}"
                    )
                    if response.status_code >= 400:
                        assert_error_shape(response, response.status_code, response.json()["error"]["code"])
                    checked += 1
    assert checked > 60


def test_every_operation_but_health_documents_400(live) -> None:
    for path, operations in live.app.openapi()["paths"].items():
        for method, operation in operations.items():
            if path != "/v1/health":
                assert "400" in operation["responses"], f"{method.upper()} {path}"


def test_occurred_at_is_a_timestamp_string_as_documented(live) -> None:
    schema = live.app.openapi()["components"]["schemas"]["EventIn"]["properties"]["occurred_at"]
    assert schema["type"] == "string" and schema["format"] == "date-time"
    with live.client("write") as client:
        for value in (1714550400, 1714550400.5, True):
            event = {"customer_id": "c1", "event": "cart_add", "occurred_at": value}
            error = assert_error_shape(
                client.post("/v1/events", json={"events": [event]}), 422, "invalid_request"
            )
            assert "occurred_at" in error["message"] and "ISO 8601" in error["message"]
        for field in ("from", "to"):
            body = {"from": "2024-01-01", "to": "2024-03-31", field: 20240101}
            error = assert_error_shape(client.post("/v1/runs/backfill", json=body), 422, "invalid_request")
            assert field in error["message"]
        event = {"customer_id": "c1", "event": "cart_add", "occurred_at": "2024-05-01T10:00:00"}
        assert client.post("/v1/events", json={"events": [event]}).status_code == 202


def test_405_names_every_method_the_path_allows(live) -> None:
    document = live.app.openapi()
    with live.client("admin") as client:
        for path, operations in document["paths"].items():
            documented = {m.upper() for m in operations}
            tried = next(m for m in ("PUT", "PATCH", "DELETE") if m not in documented)
            response = client.request(tried, _concrete(path))
            assert_error_shape(response, 405, "method_not_allowed")
            allowed = set(response.headers["allow"].split(", "))
            # every documented method (GET and POST /v1/runs are two routes: Starlette named only the first);
            # /v1/runs/backfill also allows GET, answered by GET /v1/runs/{run_id}
            assert documented <= allowed and tried not in allowed, (path, allowed)
            assert response.json()["error"]["message"].endswith(f"allowed: {response.headers['allow']}")
