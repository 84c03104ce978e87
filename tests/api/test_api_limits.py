"""Hostile input past the server's limits answers 4xx in the one error shape, never a 500."""

from __future__ import annotations

from test_api_errors_auth import assert_error_shape

DEEP_YAML = "segments: " + "[" * 5000 + "]" * 5000 + "\n"
DEEP_EXPRESSION = 'segments:\n  s:\n    where: "' + "(" * 3000 + "1" + ")" * 3000 + '"\n'


def test_deeply_nested_definitions_are_refused_with_422(live) -> None:
    with live.client("write") as client:
        for text in (DEEP_YAML, DEEP_EXPRESSION):
            response = client.post("/v1/definitions/validate", json={"files": {"definitions/x.yml": text}})
            error = assert_error_shape(response, 422, "invalid_request")
            assert error["message"].startswith("definitions/x.yml:") and "levels deep" in error["message"]
            assert error["details"] == {"type": "NestingError"}


def test_an_invalid_definition_within_the_limits_is_still_an_answer(live) -> None:
    with live.client("write") as client:
        body = client.post(
            "/v1/definitions/validate",
            json={"files": {"definitions/x.yml": "segments:\n  s: {where: '(('}\n"}},
        ).json()
    assert body["valid"] is False and "definitions/x.yml:2:" in body["error"]


def test_a_json_body_nested_past_the_decoder_is_a_400(live) -> None:
    deep = '{"files": {}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with live.client("write") as client:
        for path in ("/v1/definitions/validate", "/v1/events"):
            response = client.post(path, content=deep, headers={"content-type": "application/json"})
            assert_error_shape(response, 400, "bad_request")
