"""Real time: an event posted to the API shows in GET /v1/customers/{id} segments within seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

DEFS = """\
traits:
  cart_adds_7d: {count: events, where: "event = 'cart_add'", within: 7d}
segments:
  cart_active:
    where: "cart_adds_7d > 0"
segmentations:
  engagement:
    segments:
      - {name: carting, where: "cart_adds_7d > 0"}
    else: idle
"""


@pytest.fixture
def realtime_ws(workspace):
    (workspace.root / "definitions" / "rt.yml").write_text(DEFS, encoding="utf-8")
    con = workspace.store.cursor()
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    con.execute("INSERT INTO main.customers VALUES ('old1'), ('old2')")
    con.execute(
        "CREATE TABLE main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, "
        "occurred_at TIMESTAMP, properties JSON)"
    )
    con.execute(
        "INSERT INTO main.events VALUES ('e1', 'old1', 'cart_add', now()::TIMESTAMP - INTERVAL 1 DAY, NULL)"
    )
    return workspace


def test_posted_event_moves_the_customer_within_two_seconds(realtime_ws, request) -> None:
    from api_support import start_server

    from segmentum.api.main import create_app
    from segmentum.service.keys import KeyStore

    key = KeyStore(realtime_ws.store).create("write")[0]
    app = create_app(realtime_ws)  # default micro-batch interval: 1 s
    server, thread, url = start_server(app)
    request.addfinalizer(lambda: (setattr(server, "should_exit", True), thread.join(15)))
    import httpx

    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        started = client.post("/v1/runs", json={})
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 60
        while client.get("/v1/runs").json()["in_progress"] is not None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        job = client.get("/v1/runs").json()["jobs"][0]
        assert job["status"] == "complete", job
        assert client.get("/v1/customers/old2").json()["segments"] == ["engagement.idle"]

        now = datetime.now(UTC)
        posted = client.post(
            "/v1/events",
            json={
                "events": [
                    {
                        "customer_id": "old2",
                        "event": "cart_add",
                        "occurred_at": (now - timedelta(seconds=1)).isoformat(),
                    },
                    {
                        "customer_id": "new1",
                        "event": "cart_add",
                        "occurred_at": (now - timedelta(seconds=1)).isoformat(),
                    },
                ]
            },
        )
        assert posted.status_code == 202 and posted.json()["new_customers"] == 1
        t0 = time.monotonic()
        seen: dict[str, list[str]] = {}
        while time.monotonic() - t0 < 30:
            seen = {
                cid: client.get(f"/v1/customers/{cid}").json().get("segments", []) for cid in ("old2", "new1")
            }
            if all("cart_active" in s for s in seen.values()):
                break
            time.sleep(0.05)
        latency = time.monotonic() - t0
        assert seen == {
            "old2": ["cart_active", "engagement.carting"],
            "new1": ["cart_active", "engagement.carting"],
        }
        customer = client.get("/v1/customers/new1").json()
        assert customer["run"]["kind"] == "realtime" and customer["traits"]["cart_adds_7d"] == 1
        print(f"membership visible {latency:.3f} s after the 202; status {client.get('/v1/status').json()}")
        # the target is 2 s (about 0.5-1 s on an idle machine); the bound is generous because the test
        # machine is shared and the first real-time run also compiles the definitions
        assert latency < 10, f"membership visible only after {latency:.2f} s"
        # readers of the batch run are not disturbed: old1 keeps its batch state
        assert client.get("/v1/customers/old1").json()["segments"] == ["cart_active", "engagement.carting"]
