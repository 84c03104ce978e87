"""A delivery process killed mid-way loses nothing; a repeat carries the same idempotency key."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from actions_helpers import SECRET, Receiver, make_workspace, write_run

from segmentum.actions import deliver, list_outbox, process_run
from segmentum.workspace import Workspace

WEBHOOK_ONLY = """\
traits:
  revenue: {sum: orders.amount}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue >= 5000"}
    else: low
triggers:
  slipping:
    on: move
    from: tier.vip
    to: tier.low
    do:
      - webhook: {url: "http://127.0.0.1:PORT/hooks/x", secret_env: SEG_TEST_SECRET}
"""
N = 30


@pytest.mark.slow
def test_killed_delivery_loses_nothing_and_repeats_use_the_same_key(
    tmp_path: Path, receiver: Receiver
) -> None:
    ws = make_workspace(tmp_path / "ws", port=receiver.port, definitions=WEBHOOK_ONLY)
    ids = [f"k{i:02d}" for i in range(N)]
    write_run(
        ws,
        1,
        {c: {"tier": "vip", "revenue": 6000} for c in ids},
        hashes={"tier": ws.definitions().hashes["tier"]},
    )
    write_run(
        ws,
        2,
        {c: {"tier": "low", "revenue": 10} for c in ids},
        hashes={"tier": ws.definitions().hashes["tier"]},
    )
    assert process_run(ws, 2).enqueued == N
    root = ws.root
    ws.close()  # the delivering process must own the store file

    receiver.delay = 0.1
    code = (
        "import sys; from segmentum.workspace import Workspace; from segmentum.actions import deliver; "
        "deliver(Workspace(sys.argv[1]))"
    )
    env = dict(os.environ, SEG_TEST_SECRET=SECRET)
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], env=env)
    deadline = time.monotonic() + 60
    while len(receiver.requests) < N // 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    received_before = len(receiver.requests)
    assert 0 < received_before < N

    receiver.delay = 0.0
    ws = Workspace(root)
    pending = [r for r in list_outbox(ws) if r["status"] == "pending"]
    assert pending  # nothing lost: the rest is still waiting
    deliver(ws, due_only=False)
    time.sleep(0.2)  # a request the killed process left in flight may still be being recorded
    rows = list_outbox(ws)
    assert {r["status"] for r in rows} == {"delivered"}
    expected = {f"slipping:{c}:2:0" for c in ids}
    counts = Counter(receiver.keys())
    assert set(counts) == expected  # every transition arrived, nothing else did
    assert sum(counts.values()) - N <= 1  # at most the item in flight at the kill is repeated, with its key
    assert all(r["signature_ok"] for r in receiver.requests)
    ws.close()
