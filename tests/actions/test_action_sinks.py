"""Sinks are plug-ins: a user's sink delivers through the same outbox; per-sink rate limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from actions_helpers import RUN1, RUN2, Receiver, make_workspace, write_run

from segmentum.actions import Delivered, DeliveryError, Sink, deliver, list_outbox, process_run, register_sink
from segmentum.actions.outbox import Entry, backoff_seconds, enqueue
from segmentum.actions.sinks import sink_names
from segmentum.errors import ActionError


class ListSink(Sink):
    name = "collect"
    received: list[str] = []
    fail_first = True

    def deliver(self, item, con):  # type: ignore[no-untyped-def]
        if ListSink.fail_first:
            ListSink.fail_first = False
            raise DeliveryError("not yet")
        ListSink.received.append(item.idempotency_key)
        return Delivered(note="collected")


def test_a_registered_sink_delivers_through_the_outbox(tmp_path: Path) -> None:
    register_sink("collect", ListSink)
    assert "collect" in sink_names() and {"task", "webhook", "email", "export"} <= set(sink_names())
    ws = make_workspace(tmp_path / "ws")
    entries = [Entry("mine", "collect", f"c{i}", 5, 0, {"action": {"text": "hi"}}) for i in range(3)]
    assert enqueue(ws, entries) == 3
    assert enqueue(ws, entries) == 0
    first = deliver(ws)
    assert (first.delivered, first.retrying) == (2, 1)
    deliver(ws, due_only=False)
    assert sorted(ListSink.received) == ["mine:c0:5:0", "mine:c1:5:0", "mine:c2:5:0"]
    assert {r["status"] for r in list_outbox(ws)} == {"delivered"}
    ws.close()


def test_register_sink_refuses_what_is_not_a_sink() -> None:
    with pytest.raises(ActionError, match="subclass"):
        register_sink("bad", object)  # type: ignore[arg-type]


def test_backoff_grows_exponentially_with_jitter() -> None:
    import random

    rng = random.Random(7)
    delays = [backoff_seconds(n, base=2.0, rng=rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        assert 0.5 * 2.0 * 2 ** (n - 1) <= delay <= 1.5 * 2.0 * 2 ** (n - 1)
    assert backoff_seconds(40, base=2.0, cap=3600.0) <= 1.5 * 3600


def test_webhook_rate_limit_spaces_the_sends(tmp_path: Path, receiver: Receiver) -> None:
    ws = make_workspace(tmp_path / "ws", port=receiver.port)
    text = (
        (ws.root / "segmentum.yml")
        .read_text()
        .replace("  max_attempts: 3\n", "  max_attempts: 3\n  rate_per_second: 5\n")
    )
    (ws.root / "segmentum.yml").write_text(text)
    ws.close()
    from segmentum.workspace import Workspace

    ws = Workspace(ws.root)
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    process_run(ws, 2)
    started = time.monotonic()
    report = deliver(ws, ids=[r["id"] for r in list_outbox(ws) if r["action_type"] == "webhook"])
    assert report.delivered == 2
    assert time.monotonic() - started >= 0.19  # 5 per second: the second send waits 0.2 s
    ws.close()


def test_delivery_worker_sends_in_the_background(tmp_path: Path, receiver: Receiver) -> None:
    from segmentum.actions.outbox import DeliveryWorker

    ws = make_workspace(tmp_path / "ws", port=receiver.port, extra_config="email:\n  dry_run: true\n")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    process_run(ws, 2)
    worker = DeliveryWorker(ws, interval=0.05).start()
    deadline = time.monotonic() + 20
    while len(receiver.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    assert sorted(receiver.keys()) == ["slipping:c1:2:1", "slipping:c2:2:1"]
    assert worker.last_error is None
    ws.close()
