"""Fault injection: a real `segmentum run` killed at each crash point of run -> outbox -> delivery
(segmentum.faults) loses no transition and delivers each once (a repeat carries the same idempotency key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from actions_helpers import SECRET, Receiver, make_workspace

from segmentum.faults import CRASH_POINTS, ENV, EXIT_CODE
from segmentum.store import META
from segmentum.workspace import Workspace

DEFS = """\
traits:
  revenue_30d: {sum: orders.amount, within: 30d}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue_30d >= 1000"}
    else: low
triggers:
  upgraded:
    on: enter
    segment: tier.vip
    do:
      - task: {title: "Thank {{ customer.name }}"}
      - webhook: {url: "http://127.0.0.1:PORT/hooks/up", secret_env: SEG_TEST_SECRET}
"""
ENTERING = ["c1", "c2", "c3", "c4", "c5"]  # February orders of 1500 each; c6 stays low


def segmentum(root: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SEG_TEST_SECRET=SECRET)
    env.pop(ENV, None)
    if fault is not None:
        env[ENV] = fault
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args, "-w", str(root)],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def _workspace(root: Path, port: int) -> Path:
    ws = make_workspace(root, port=port, definitions=DEFS)
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    for i, cid in enumerate(["c1", "c2", "c3", "c4", "c5", "c6"]):
        con.execute("INSERT INTO main.orders VALUES (?, ?, '2024-01-10', 10, NULL)", [f"j{i}", cid])
        if cid in ENTERING:
            con.execute("INSERT INTO main.orders VALUES (?, ?, '2024-02-10', 1500, NULL)", [f"f{i}", cid])
    first = ws.run(as_of="2024-01-31")  # the baseline: fires nothing
    assert first.actions is not None and first.actions["enqueued"] == 0
    ws.close()
    return root


def _state(root: Path) -> tuple[dict[str, str], list[str]]:
    ws = Workspace(root)
    try:
        cur = ws.store.cursor()
        outbox = dict(cur.execute(f"SELECT idempotency_key, status FROM {META}.outbox").fetchall())
        tasks = [r[0] for r in cur.execute(f"SELECT outbox_key FROM {META}.tasks ORDER BY 1").fetchall()]
    finally:
        ws.close()
    return outbox, tasks


@pytest.mark.slow
@pytest.mark.parametrize("point", CRASH_POINTS)
@pytest.mark.parametrize("resume", ["outbox", "next run"])
def test_a_process_killed_at_each_crash_point_loses_no_transition(
    tmp_path: Path, receiver: Receiver, point: str, resume: str
) -> None:
    root = _workspace(tmp_path / "ws", receiver.port)
    killed = segmentum(root, "run", "--as-of", "2024-02-29", fault=point)
    assert killed.returncode == EXIT_CODE, killed.stderr
    assert f"fault injected at {point}" in killed.stderr
    outbox, _ = _state(root)
    if point == "after_snapshot":
        assert outbox == {}  # the snapshot committed, nothing reached the outbox: exactly the lost case
    else:
        assert len(outbox) == 2 * len(ENTERING)
    sent_before = len(receiver.requests)
    assert sent_before == (1 if point == "after_send" else 0)

    if resume == "outbox":
        done = segmentum(root, "outbox", "--deliver", "--force", "--format", "json")
    else:  # the next run finishes what the killed one owed (the same state: no transitions of its own)
        done = segmentum(root, "run", "--as-of", "2024-02-29", "--format", "json")
    assert done.returncode == 0, done.stderr
    if resume == "next run" and point == "after_send":
        # the item sent before the crash waits for its retry time like any other; an operator forces it
        assert segmentum(root, "outbox", "--deliver", "--force").returncode == 0
    time.sleep(0.2)  # a request may still be being recorded by the receiver thread

    run_id = 2
    expected = {f"upgraded:{c}:{run_id}:1" for c in ENTERING}
    keys = Counter(receiver.keys())
    assert set(keys) == expected  # every transition delivered ...
    repeats = {k: n for k, n in keys.items() if n > 1}
    # ... once; the one item in flight at an `after_send` crash is repeated with the same key (dropped by
    # the receiver, which is what the Idempotency-Key header is for)
    assert sum(repeats.values()) - len(repeats) == (1 if point == "after_send" else 0)
    outbox, tasks = _state(root)
    assert set(outbox.values()) == {"delivered"} and len(outbox) == 2 * len(ENTERING)
    assert tasks == sorted(f"upgraded:{c}:{run_id}:0" for c in ENTERING)  # each task exactly once
    assert all(r["signature_ok"] for r in receiver.requests)

    # processing the run again, as an operator would, changes nothing and sends nothing
    again = segmentum(root, "outbox", "--reprocess", str(run_id), "--deliver", "--force", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert len(json.loads(again.stdout)) == 2 * len(ENTERING)
    assert _state(root) == (outbox, tasks) and Counter(receiver.keys()) == keys


@pytest.mark.slow
def test_run_exits_0_and_reports_the_actions_that_failed(tmp_path: Path, receiver: Receiver) -> None:
    root = _workspace(tmp_path / "ws", receiver.port)
    shop = root / "definitions" / "shop.yml"
    shop.write_text(shop.read_text().replace("Thank {{ customer.name }}", "Thank {{ 1/0 }}"))
    done = segmentum(root, "run", "--as-of", "2024-02-29")
    assert done.returncode == 0, done.stderr  # the run committed
    assert "5 trigger action(s) failed" in done.stderr and "ZeroDivisionError" in done.stderr
    outbox, tasks = _state(root)
    assert sorted(k for k, s in outbox.items() if s == "failed") == sorted(
        f"upgraded:{c}:2:0" for c in ENTERING
    )
    assert tasks == [] and set(receiver.keys()) == {f"upgraded:{c}:2:1" for c in ENTERING}
    # fixed, the operator reprocesses the run: the tasks come, nothing else is sent again
    shop.write_text(shop.read_text().replace("Thank {{ 1/0 }}", "Thank {{ customer.name }}"))
    again = segmentum(root, "outbox", "--reprocess", "2", "--deliver")
    assert again.returncode == 0, again.stderr
    assert "5 new or replaced item(s), 0 failed" in again.stderr
    outbox, tasks = _state(root)
    assert set(outbox.values()) == {"delivered"} and len(tasks) == 5 and len(receiver.keys()) == 5


@pytest.mark.slow
def test_serve_finishes_a_run_a_killed_process_left(tmp_path: Path, receiver: Receiver) -> None:
    from servers import start_serve

    root = _workspace(tmp_path / "ws", receiver.port)
    killed = segmentum(root, "run", "--as-of", "2024-02-29", fault="after_snapshot")
    assert killed.returncode == EXIT_CODE, killed.stderr
    env = dict(os.environ, SEG_TEST_SECRET=SECRET)
    env.pop(ENV, None)
    proc, _ = start_serve(root, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(set(receiver.keys())) < len(ENTERING) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(30)
    assert Counter(receiver.keys()) == Counter({f"upgraded:{c}:2:1": 1 for c in ENTERING})
    outbox, tasks = _state(root)
    assert set(outbox.values()) == {"delivered"} and len(tasks) == len(ENTERING)
