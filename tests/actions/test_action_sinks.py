"""Sinks are plug-ins: a user's sink delivers through the same outbox; per-sink rate limits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from actions_helpers import DEFINITIONS, RUN1, RUN2, Receiver, make_workspace, write_run

from segmentum.actions import Delivered, DeliveryError, Sink, deliver, list_outbox, process_run, register_sink
from segmentum.actions.events import SegmentMoved, SegmentRefreshed, event_dict
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


# ------------------------------------------------------------------------------------------ plug-in registry


def test_the_built_in_sinks_are_plug_ins_of_the_entry_point_group() -> None:
    """The four built-ins come from `[project.entry-points."segmentum.sinks"]` as a user's sink would."""
    import subprocess
    import sys
    import tomllib
    from importlib.metadata import entry_points

    from segmentum.actions.sinks import ENTRY_POINT_GROUP, sink_class
    from segmentum.actions.sinks.email import EmailSink
    from segmentum.actions.sinks.export import ExportSink
    from segmentum.actions.sinks.task import TaskSink
    from segmentum.actions.sinks.webhook import WebhookSink

    builtins = {"task": TaskSink, "webhook": WebhookSink, "email": EmailSink, "export": ExportSink}
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert sorted(declared) == sorted(builtins)
    installed = {e.name: e for e in entry_points(group=ENTRY_POINT_GROUP)}
    for name, cls in builtins.items():
        assert declared[name] == f"{cls.__module__}:{cls.__name__}" and cls.name == name
        assert installed[name].load() is cls
        assert sink_class(name) is cls
    # nothing registers them in code: before the entry points are read, the registry is empty
    code = (
        "import segmentum.actions, segmentum.workspace; from segmentum.actions.sinks import base; "
        "assert base._SINKS == {}, base._SINKS; print(sorted(base.sink_names()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert set(builtins) <= set(eval(done.stdout))  # noqa: S307 - our own printed list


class RecordingSink(Sink):
    """Records what `render` receives; acts on customer events (the default)."""

    name = "recorder"
    rendered: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    def render(self, event, settings, context, templates):  # type: ignore[no-untyped-def]
        RecordingSink.rendered.append((event, settings, context))
        return {**super().render(event, settings, context, templates), "event_class": type(event).__name__}

    def deliver(self, item, con):  # type: ignore[no-untyped-def]
        return Delivered()


class RefreshSink(RecordingSink):
    """Acts on refreshed segments only, as the export sink does."""

    name = "refresh_recorder"
    events = (SegmentRefreshed,)
    rendered: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    def render(self, event, settings, context, templates):  # type: ignore[no-untyped-def]
        RefreshSink.rendered.append((event, settings, context))
        return {"segment": event.segment}


PLUGIN_TRIGGERS = (
    DEFINITIONS
    + """\
  recorded:
    on: move
    from: tier.vip
    to: tier.regular
    do:
      - recorder: {note: "{{ customer.name }} left {{ event.from }}"}
      - refresh_recorder: {segment: tier.*}
      - export: {path: "exports/{{ trigger.name }}.csv"}
"""
)


def test_sinks_render_the_typed_event_the_trigger_fired_on(tmp_path: Path) -> None:
    register_sink("recorder", RecordingSink)
    register_sink("refresh_recorder", RefreshSink)
    RecordingSink.rendered.clear()
    RefreshSink.rendered.clear()
    ws = make_workspace(tmp_path / "ws", definitions=PLUGIN_TRIGGERS)
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    report = process_run(ws, 2)
    assert report.fired["recorded"] == 2 and report.render_errors == 0
    # a customer sink gets each customer's typed event, and templates see event_dict of that same event
    events = sorted((e for e, _, _ in RecordingSink.rendered), key=lambda e: e.customer_id)
    assert events == [
        SegmentMoved("c1", "tier", "tier.vip", "tier.regular", 2, 1),
        SegmentMoved("c2", "tier", "tier.vip", "tier.regular", 2, 1),
    ]
    for event, settings, context in RecordingSink.rendered:
        assert context["event"] == event_dict(event) and settings == {
            "note": "{{ customer.name }} left {{ event.from }}"
        }
    # a per-run sink gets one refreshed segment per trigger and run; so does the built-in export
    assert [e for e, _, _ in RefreshSink.rendered] == [SegmentRefreshed("tier.*", "tier", 2)]
    rows = {(r["trigger"], r["action_type"], r["customer_id"]): r for r in list_outbox(ws, payload=True)}
    assert rows[("recorded", "recorder", "c1")]["payload"]["action"] == {
        "note": "Ann left tier.vip",
        "event_class": "SegmentMoved",
    }
    export = rows[("recorded", "export", None)]["payload"]
    assert export["action"]["segment"] == "tier.regular"  # the trigger's target, carried by the event
    assert export["event"] == {
        "segment": "tier.regular",
        "segmentation": "tier",
        "run_id": 2,
        "type": "refresh",
    }
    assert ("recorded", "refresh_recorder", "c1") not in rows  # it does not act on customer events
    ws.close()


def test_an_unknown_action_in_a_definitions_file_names_the_sinks_there_are(tmp_path: Path) -> None:
    from segmentum.actions import validate_triggers

    ws = make_workspace(tmp_path / "ws", definitions=DEFINITIONS.replace("- webhook:", "- webhok:"))
    with pytest.raises(
        ActionError, match=r"trigger 'slipping' do\[1\]: no sink named 'webhok'; did you mean"
    ):
        validate_triggers(ws, ws.definitions())
    ws.close()
