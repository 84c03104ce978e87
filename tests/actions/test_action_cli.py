"""`segmentum tasks` and `segmentum outbox` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from actions_helpers import RUN1, RUN2, SECRET, Receiver, make_workspace, write_run

from segmentum.actions import process_run


def segmentum(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SEG_TEST_SECRET=SECRET)
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.slow
def test_outbox_and_tasks_commands(tmp_path: Path, receiver: Receiver) -> None:
    ws = make_workspace(tmp_path / "ws", port=receiver.port, extra_config="email:\n  dry_run: true\n")
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    process_run(ws, 2)
    root = str(ws.root)
    ws.close()

    listed = segmentum("outbox", "-w", root, "--status", "pending", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 7

    receiver.status = 400
    sent = segmentum("outbox", "-w", root, "--deliver", "--format", "json")
    assert sent.returncode == 0, sent.stderr
    assert (
        "delivered 3, skipped 2, retrying later 0, failed 2" in sent.stderr
    )  # both webhooks refused by the receiver
    rows = json.loads(sent.stdout)
    failed = sorted(r["id"] for r in rows if r["status"] == "failed")
    assert len(failed) == 2

    receiver.status = 200
    again = segmentum("outbox", "-w", root, "--retry", str(failed[0]), "--deliver", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert "1 item(s) put back" in again.stderr
    status = {r["id"]: r["status"] for r in json.loads(again.stdout)}
    assert status[failed[0]] == "delivered" and status[failed[1]] == "failed"
    assert segmentum("outbox", "-w", root, "--retry", "all", "--deliver").returncode == 0
    bad = segmentum("outbox", "-w", root, "--retry", str(failed[0]))
    assert bad.returncode == 1 and bad.stderr.startswith("Error: outbox item") and "not failed" in bad.stderr

    tasks = json.loads(segmentum("tasks", "-w", root, "--format", "json").stdout)
    assert [(t["customer_id"], t["assignee"]) for t in tasks] == [("c1", "olga"), ("c2", "petro")]
    olga = json.loads(segmentum("tasks", "-w", root, "--assignee", "olga", "--format", "json").stdout)
    assert [t["customer_id"] for t in olga] == ["c1"]
    assigned = segmentum("tasks", "assign", str(tasks[1]["id"]), "olga", "-w", root, "--format", "json")
    assert json.loads(assigned.stdout)[0]["assignee"] == "olga"
    done = segmentum("tasks", "done", str(tasks[0]["id"]), "-w", root, "--format", "json")
    assert json.loads(done.stdout)[0]["status"] == "done"
    still_open = json.loads(segmentum("tasks", "-w", root, "--format", "json").stdout)
    assert [t["customer_id"] for t in still_open] == ["c2"]
    everything = json.loads(segmentum("tasks", "-w", root, "--status", "all", "--format", "json").stdout)
    assert len(everything) == 2
    missing = segmentum("tasks", "done", "999", "-w", root)
    assert missing.returncode == 1 and "task 999 does not exist" in missing.stderr
    assert len(receiver.requests) == 4  # 2 refused, then each delivered once
