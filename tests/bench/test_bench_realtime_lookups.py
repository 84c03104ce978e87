"""The real-time benchmark's lookup client against a real server on 127.0.0.1: it sends at the rate asked,
spaced evenly, and counts the wait a slow answer causes the requests behind it (measured from when they were
due). Behaviour only: no figure of this machine is asserted."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from servers import start_app

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `bench` is a top-level package of the repository, not of the installed wheel
    sys.path.insert(0, str(REPO))

from bench.realtime import lookup_worker  # noqa: E402


def _lookup_server(seconds_per_answer: float):
    """An ASGI app answering every GET like the lookup, after `seconds_per_answer`; it records the paths."""
    paths: list[str] = []

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        paths.append(scope["path"])
        await asyncio.sleep(seconds_per_answer)
        body = b'{"segments": []}'
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app, paths


def _serve(request, app) -> str:
    server, thread, url = start_app(app)
    request.addfinalizer(lambda: (setattr(server, "should_exit", True), thread.join(15)))
    return url


def test_the_lookups_go_out_at_the_rate_asked_for_the_customers_given(request) -> None:
    app, paths = _lookup_server(0.0)
    url = _serve(request, app)
    done = lookup_worker(url, "key", ["a b", "c"], lookups=100, seconds=2.0, tag="t")
    assert done["errors"] == []
    assert 190 <= len(done["seconds"]) <= 201  # 100 a second for 2 s (4 connections, spaced 10 ms apart)
    assert set(paths) == {"/v1/customers/a b/segments", "/v1/customers/c/segments"}
    assert done["cpu_s"] >= 0


def test_a_slow_answer_makes_the_requests_behind_it_late_and_they_count_it(request) -> None:
    # one connection (10 a second: one every 0.1 s) to a server that takes 0.25 s: each request goes out later
    # than it was due, by more each time; timed from when it was sent, every answer would read 0.25 s
    app, _ = _lookup_server(0.25)
    url = _serve(request, app)
    seconds = lookup_worker(url, "key", ["c"], lookups=10, seconds=2.0, tag="t")["seconds"]
    assert len(seconds) >= 5
    assert seconds[0] < 0.5
    assert seconds[-1] > 0.25 + 0.5  # at least 4 requests behind, 0.15 s later each
    assert seconds == sorted(seconds)
