"""POST /v1/events: events are stored before the 202, new customers are created, the customers are queued."""

from __future__ import annotations

import threading
import time
from zoneinfo import ZoneInfo

from segmentum.runs.realtime import MicroBatcher, normalize_id


def test_posted_events_are_stored_and_unknown_customers_created(live) -> None:
    events = [
        {
            "customer_id": "c1",
            "event": "cart_add",
            "occurred_at": "2024-05-01T10:00:00",
            "properties": {"product_id": "p1", "value": 12.5},
        },
        {"customer_id": 17850, "event": "login", "occurred_at": "2024-05-01T12:00:00+03:00"},
        {"customer_id": "c1", "event": "checkout", "occurred_at": "2024-05-01T10:05:00Z", "properties": None},
    ]
    with live.client("write") as client:
        response = client.post("/v1/events", json={"events": events})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "customers": 2, "new_customers": 2, "queued_for_realtime": True}
    rows = live.ws.store.query(
        "SELECT customer_id, event, occurred_at, properties->>'$.product_id', event_id FROM main.events "
        "ORDER BY occurred_at"
    )
    assert [(r[0], r[1], r[2].isoformat(), r[3]) for r in rows] == [
        ("17850", "login", "2024-05-01T09:00:00", None),  # +03:00 converted to the workspace zone (UTC)
        ("c1", "cart_add", "2024-05-01T10:00:00", "p1"),
        ("c1", "checkout", "2024-05-01T10:05:00", None),
    ]
    assert len({r[4] for r in rows}) == 3
    customers = live.ws.store.query("SELECT customer_id FROM main.customers ORDER BY 1")
    assert customers == [("17850",), ("c1",)]
    with live.client("write") as client:
        again = client.post("/v1/events", json={"events": [events[0]]}).json()
    assert again["new_customers"] == 0


def test_spreadsheet_style_numeric_ids_are_the_same_customer() -> None:
    assert (
        normalize_id("17850.0") == "17850" and normalize_id(" 42 ") == "42" and normalize_id("A.0") == "A.0"
    )


def test_events_that_cannot_be_stored_are_refused_whole_with_422(live) -> None:
    bad = [
        {"events": [{"customer_id": "", "event": "x", "occurred_at": "2024-01-01"}]},
        {"events": [{"customer_id": "c", "event": "x", "occurred_at": "yesterday"}]},
        {"events": [{"customer_id": "c", "event": "x\u0000", "occurred_at": "2024-01-01"}]},
        {"events": [{"customer_id": "c", "event": "x", "occurred_at": "2024-01-01", "colour": "red"}]},
        {"events": [{"customer_id": "c", "event": "x", "occurred_at": "2024-01-01", "properties": [1, 2]}]},
        {"events": []},
    ]
    with live.client("write") as client:
        for body in bad:
            response = client.post("/v1/events", json=body)
            assert response.status_code == 422, body
        nan = client.post(
            "/v1/events",
            content=b'{"events": [{"customer_id": "c", "event": "x", '
            b'"occurred_at": "2024-01-01", "properties": {"v": NaN}}]}',
            headers={"content-type": "application/json"},
        )
        assert nan.status_code == 422
    assert not live.ws.store.table_exists("events") or live.ws.store.query(
        "SELECT count(*) FROM main.events"
    ) == [(0,)]


def test_micro_batcher_evaluates_each_touched_customer_once_per_batch() -> None:
    calls: list[list[str]] = []
    done = threading.Event()

    def evaluate(ids: list[str], as_of) -> None:
        calls.append(ids)
        done.set()

    batcher = MicroBatcher(evaluate, ZoneInfo("UTC"), interval=0.05)
    batcher.enqueue(["b", "a", "b"])
    batcher.enqueue(["a"])
    batcher.start()
    try:
        assert done.wait(5)
    finally:
        batcher.stop()
    assert calls[0] == ["a", "b"]
    assert batcher.status()["evaluated"] == 2 and batcher.pending == 0


def test_micro_batcher_survives_a_failing_engine() -> None:
    def evaluate(ids: list[str], as_of) -> None:
        raise RuntimeError("engine down")

    batcher = MicroBatcher(evaluate, ZoneInfo("UTC"), interval=0.05)
    batcher.enqueue(["a"])
    assert batcher.flush() == 0
    assert "engine down" in batcher.last_error
    batcher.enqueue(["b"])
    batcher.start()
    deadline = time.monotonic() + 5
    while batcher.pending and time.monotonic() < deadline:
        time.sleep(0.02)
    batcher.stop()
    assert batcher.pending == 0


def test_events_table_loaded_without_properties_gets_the_column(live) -> None:
    live.ws.store.cursor().execute(
        "CREATE TABLE main.events (customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP)"
    )
    live.ws.store.cursor().execute("INSERT INTO main.events VALUES ('old', 'login', '2024-01-01')")
    with live.client("write") as client:
        response = client.post(
            "/v1/events",
            json={
                "events": [
                    {
                        "customer_id": "c1",
                        "event": "cart_add",
                        "occurred_at": "2024-05-01T10:00:00",
                        "properties": {"a": 1},
                    }
                ]
            },
        )
    assert response.status_code == 202
    rows = live.ws.store.query(
        "SELECT customer_id, event_id IS NULL, properties->>'$.a' FROM main.events ORDER BY 1"
    )
    assert rows == [("c1", False, "1"), ("old", True, None)]
