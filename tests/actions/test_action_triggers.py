"""process_run: events matched to triggers, rendered, enqueued once; webhooks delivered signed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from actions_helpers import RUN1, RUN2, Receiver, make_workspace, write_run

from segmentum.actions import deliver, list_outbox, process_run, retry, validate_triggers
from segmentum.actions.outbox import counts
from segmentum.errors import ActionError, DefinitionError
from segmentum.views.tasks import tasks as task_list
from segmentum.workspace import Workspace


def test_process_run_enqueues_each_action_of_each_transition(two_runs: Workspace) -> None:
    report = process_run(two_runs, 2)
    # slipping: c1 and c2 moved vip -> regular (task + webhook); welcome_big: c3, c4, c5 entered big_spenders
    assert report.fired == {"slipping": 2, "welcome_big": 3}
    assert report.enqueued == 2 * 2 + 3
    rows = list_outbox(two_runs, payload=True)
    keys = sorted(r["idempotency_key"] for r in rows)
    assert keys == [
        "slipping:c1:2:0",
        "slipping:c1:2:1",
        "slipping:c2:2:0",
        "slipping:c2:2:1",
        "welcome_big:c3:2:0",
        "welcome_big:c4:2:0",
        "welcome_big:c5:2:0",
    ]
    task = next(r for r in rows if r["idempotency_key"] == "slipping:c1:2:0")
    assert task["payload"]["action"]["title"] == "Call Ann: dropped to regular"
    assert task["payload"]["action"]["assignee"] == "olga"
    assert task["payload"]["event"]["from"] == "tier.vip" and task["payload"]["event"]["to"] == "tier.regular"
    mail = next(r for r in rows if r["idempotency_key"] == "welcome_big:c4:2:0")
    assert mail["payload"]["action"]["subject"] == "Thanks, Dee"
    assert "Your offer: 10% off" in mail["payload"]["action"]["html"]
    assert "Your offer: 10% off" in mail["payload"]["action"]["text"]  # plain part derived from the HTML
    assert mail["payload"]["segment"]["channel"] == "email"
    assert all(r["status"] == "pending" for r in rows)


def test_processing_a_run_again_enqueues_nothing(two_runs: Workspace) -> None:
    first = process_run(two_runs, 2)
    again = process_run(two_runs, 2)
    assert first.enqueued == 7 and again.enqueued == 0
    assert again.fired == first.fired
    assert len(list_outbox(two_runs)) == 7


def test_first_run_fires_nothing_unless_asked(tmp_path: Path, receiver: Receiver) -> None:
    ws = make_workspace(tmp_path / "ws", port=receiver.port)
    write_run(ws, 1, RUN1)
    report = process_run(ws, 1)
    assert report.enqueued == 0 and set(report.baseline) == {"slipping", "welcome_big"}
    ws.close()
    ws2 = make_workspace(tmp_path / "ws2", port=receiver.port)
    text = (ws2.root / "definitions" / "shop.yml").read_text()
    (ws2.root / "definitions" / "shop.yml").write_text(
        text.replace("    segment: big_spenders\n", "    segment: big_spenders\n    on_first_run: fire\n")
    )
    write_run(ws2, 1, RUN1)
    report = process_run(ws2, 1)
    assert report.fired == {"slipping": 0, "welcome_big": 2}  # c1 and c2 are big spenders in the first run
    ws2.close()


def test_webhook_is_signed_and_carries_the_idempotency_key(two_runs: Workspace, receiver: Receiver) -> None:
    process_run(two_runs, 2)
    report = deliver(two_runs, ids=[r["id"] for r in list_outbox(two_runs) if r["action_type"] == "webhook"])
    assert report.delivered == 2 and report.failed == 0
    assert len(receiver.requests) == 2
    assert all(r["signature_ok"] for r in receiver.requests)
    assert sorted(receiver.keys()) == ["slipping:c1:2:1", "slipping:c2:2:1"]
    body = next(r["body"] for r in receiver.requests if r["body"]["customer"]["customer_id"] == "c1")
    assert body["event"]["type"] == "move" and body["event"]["to"] == "tier.regular"
    assert body["segment"]["name"] == "tier.regular"
    assert body["segments"] == ["big_spenders", "tier.regular"]
    assert body["traits"] == {"revenue": 2000.0}
    assert body["run"]["run_id"] == 2 and body["run"]["previous_run"] == 1
    assert receiver.requests[0]["path"] == "/hooks/segmentum"
    # the header names the typed event the webhook sink rendered
    assert {r["headers"]["X-Segmentum-Event"] for r in receiver.requests} == {"move"}
    assert {r["headers"]["X-Segmentum-Trigger"] for r in receiver.requests} == {"slipping"}


def test_tasks_are_created_once_with_the_reason(two_runs: Workspace) -> None:
    process_run(two_runs, 2)
    deliver(two_runs, ids=[r["id"] for r in list_outbox(two_runs) if r["action_type"] == "task"])
    deliver(two_runs, ids=[r["id"] for r in list_outbox(two_runs) if r["action_type"] == "task"])
    tasks = task_list(two_runs, status="open")["tasks"]
    assert [(t["customer_id"], t["assignee"]) for t in tasks] == [("c1", "olga"), ("c2", "petro")]
    reason = json.loads(tasks[0]["reason"])
    assert reason["event"]["from"] == "tier.vip" and reason["traits"]["revenue"] == 2000.0
    assert (tasks[0]["due_at"] - tasks[0]["created_at"]).days in (2, 3)


def test_receiver_down_keeps_items_pending_and_delivers_them_once_back(
    two_runs: Workspace, receiver: Receiver
) -> None:
    receiver.stop()
    process_run(two_runs, 2)
    webhooks = [r["id"] for r in list_outbox(two_runs) if r["action_type"] == "webhook"]
    report = deliver(two_runs, ids=webhooks)
    assert report.retrying == 2 and report.delivered == 0
    rows = [r for r in list_outbox(two_runs) if r["action_type"] == "webhook"]
    assert all(r["status"] == "pending" and r["attempts"] == 1 and r["last_error"] for r in rows)
    assert deliver(two_runs, ids=webhooks).delivered == 0  # not due yet: backoff
    receiver.start()
    report = deliver(two_runs, ids=webhooks, due_only=False)
    assert report.delivered == 2
    deliver(two_runs, ids=webhooks, due_only=False)
    process_run(two_runs, 2)
    deliver(two_runs, due_only=False)
    assert sorted(receiver.keys()) == ["slipping:c1:2:1", "slipping:c2:2:1"]  # exactly once per transition


def test_exhausted_retries_fail_and_can_be_retried(two_runs: Workspace, receiver: Receiver) -> None:
    receiver.status = 503
    process_run(two_runs, 2)
    webhooks = [r["id"] for r in list_outbox(two_runs) if r["action_type"] == "webhook"]
    for _ in range(3):  # webhooks.max_attempts: 3 in the test workspace
        deliver(two_runs, ids=webhooks, due_only=False)
    rows = [r for r in list_outbox(two_runs) if r["action_type"] == "webhook"]
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert "HTTP 503" in rows[0]["last_error"]
    receiver.status = 200
    assert retry(two_runs, all_failed=True) == 2
    assert deliver(two_runs, ids=webhooks).delivered == 2
    assert counts(two_runs)["failed"] == 0
    with pytest.raises(ActionError, match="not failed"):
        retry(two_runs, [webhooks[0]])


def test_client_error_fails_at_once(two_runs: Workspace, receiver: Receiver) -> None:
    receiver.status = 400
    process_run(two_runs, 2)
    webhooks = [r["id"] for r in list_outbox(two_runs) if r["action_type"] == "webhook"]
    report = deliver(two_runs, ids=webhooks)
    assert report.failed == 2 and len(receiver.requests) == 2


def test_webhook_url_outside_the_allowlist_fails_only_its_items(tmp_path: Path) -> None:
    """An invalid trigger URL is flagged by validation; in a run it fails its own outbox items with the reason
    while the other triggers go on (it used to abort every trigger of the run)."""
    ws = make_workspace(tmp_path / "ws", port=8123)
    text = (ws.root / "definitions" / "shop.yml").read_text()
    (ws.root / "definitions" / "shop.yml").write_text(
        text.replace("http://127.0.0.1:8123/hooks/segmentum", "http://127.0.0.1:8123.evil.example/hooks/x")
    )
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    with pytest.raises(ActionError, match="not allowed .*webhooks.allow"):
        validate_triggers(ws, ws.definitions())
    report = process_run(ws, 2)
    assert report.processed and report.render_errors == 4  # slipping: c1 and c2, task and webhook
    rows = {r["idempotency_key"]: r for r in list_outbox(ws)}
    assert {k for k, r in rows.items() if r["status"] == "failed"} == {
        "slipping:c1:2:0",
        "slipping:c1:2:1",
        "slipping:c2:2:0",
        "slipping:c2:2:1",
    }
    assert "not allowed" in rows["slipping:c1:2:1"]["last_error"]
    assert {k for k, r in rows.items() if r["status"] == "pending"} == {
        "welcome_big:c3:2:0",
        "welcome_big:c4:2:0",
        "welcome_big:c5:2:0",
    }
    (ws.root / "definitions" / "shop.yml").write_text(
        text.replace("http://127.0.0.1:8123/hooks/segmentum", "http://{{ customer.name }}.example/hooks/")
    )
    with pytest.raises(ActionError, match="only the path"):
        validate_triggers(ws, ws.definitions())
    # once fixed, processing the run again replaces the failed items, and adds nothing twice
    (ws.root / "definitions" / "shop.yml").write_text(text)
    again = process_run(ws, 2)
    assert again.render_errors == 0 and again.enqueued == 4  # the four failed items, replaced
    after = {r["idempotency_key"]: r["status"] for r in list_outbox(ws)}
    assert len(after) == 7 and set(after.values()) == {"pending"}
    ws.close()


def test_move_between_segmentations_is_refused(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    text = (ws.root / "definitions" / "shop.yml").read_text()
    (ws.root / "definitions" / "shop.yml").write_text(text.replace("from: tier.vip", "from: big_spenders"))
    write_run(ws, 1, RUN1)
    with pytest.raises(DefinitionError, match="one segmentation"):
        validate_triggers(ws, ws.definitions())
    report = process_run(ws, 1)
    assert any("one segmentation" in e for e in report.errors)
    ws.close()


def test_a_task_is_never_created_twice_even_if_its_status_update_was_lost(two_runs: Workspace) -> None:
    process_run(two_runs, 2)
    deliver(two_runs)
    # as if the process died after writing the tasks but before recording them delivered
    two_runs.store.cursor().execute(
        "UPDATE segmentum.outbox SET status = 'pending' WHERE action_type = 'task'"
    )
    report = deliver(two_runs)
    assert report.delivered == 2
    assert len(task_list(two_runs, status="all")["tasks"]) == 2


def test_only_complete_runs_fire(tmp_path: Path) -> None:
    from segmentum.errors import NotFoundError

    ws = make_workspace(tmp_path / "ws")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2, status="failed")
    with pytest.raises(NotFoundError, match="run 2 is failed"):
        process_run(ws, 2)
    with pytest.raises(NotFoundError, match="run 9 does not exist"):
        process_run(ws, 9)
    ws.close()


@pytest.mark.parametrize(
    "title",
    ["Call {{ 1/0 }}", "{% for i in range(10**9) %}{% endfor %}x", "{{ customer.name.__class__ }}"],
    ids=["zero-division", "range-limit", "sandbox"],
)
def test_a_template_that_raises_fails_only_its_items(tmp_path: Path, title: str) -> None:
    ws = make_workspace(tmp_path / "ws")
    text = (ws.root / "definitions" / "shop.yml").read_text()
    old = 'title: "Call {{ customer.name }}: dropped to {{ segment.segment }}"'
    assert old in text
    (ws.root / "definitions" / "shop.yml").write_text(text.replace(old, f"title: {json.dumps(title)}"))
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    report = process_run(ws, 2)  # used to raise ZeroDivisionError / OverflowError out of every trigger
    assert report.processed and report.render_errors == 2
    rows = {r["idempotency_key"]: r for r in list_outbox(ws)}
    failed = {k for k, r in rows.items() if r["status"] == "failed"}
    assert failed == {"slipping:c1:2:0", "slipping:c2:2:0"}
    assert all(rows[k]["last_error"].startswith("render: task.title") for k in failed)
    # the webhook of the same trigger and the other trigger's emails go on
    assert {k for k, r in rows.items() if r["status"] == "pending"} == {
        "slipping:c1:2:1",
        "slipping:c2:2:1",
        "welcome_big:c3:2:0",
        "welcome_big:c4:2:0",
        "welcome_big:c5:2:0",
    }
    assert any("customer c1" in e and "task.title" in e for e in report.errors)
    ws.close()
