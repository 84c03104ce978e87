"""A run killed (SIGKILL) at any moment never leaves a partial snapshot visible, and the next run succeeds."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta

import pytest

from segmentum.runs.execute import run
from segmentum.store import META
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

pytestmark = pytest.mark.slow

# started while the parent still checks the previous attempt (its imports take seconds): it opens the store only
# when told to, once the parent has closed it
CHILD = textwrap.dedent("""
    import sys
    from segmentum.workspace import Workspace
    from segmentum.runs.execute import run
    if sys.stdin.readline().strip() != "go":  # the parent ended (its pipe closed): nothing to do
        sys.exit(0)
    ws = Workspace(sys.argv[1])
    print("ready", flush=True)
    while True:
        run(ws, as_of="2024-06-30")
""")


def _spawn(root: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _check_consistent(ws: Workspace) -> None:
    store = ws.store
    for info in snapshot.list_runs(store):
        exists = store.table_exists(snapshot.traits_table(info.run_id), schema=META)
        if info.status == "complete":
            assert exists, f"complete run {info.run_id} lacks its traits table"
            n = store.query(f"SELECT count(*) FROM {META}.{snapshot.traits_table(info.run_id)}")[0][0]
            assert n == info.customers
            per = store.query(
                f"SELECT segmentation, count(*), count(DISTINCT customer_id) FROM {META}.memberships "
                "WHERE run_id = ? AND segmentation IS NOT NULL GROUP BY 1",
                [info.run_id],
            )
            for _segmentation, rows, distinct in per:
                assert rows == distinct == info.customers
        else:
            assert info.status == "failed", info
            assert not exists, f"{info.status} run {info.run_id} left a traits table"
            assert (
                store.query(f"SELECT count(*) FROM {META}.memberships WHERE run_id = ?", [info.run_id])[0][0]
                == 0
            )


def test_sigkill_at_random_moments_never_leaves_a_partial_snapshot(make_ws):
    rng = random.Random(5)
    start = datetime(2023, 1, 1)
    orders = [
        {
            "order_id": f"o{i}",
            "customer_id": f"c{i % 300}",
            "ordered_at": start + timedelta(hours=7 * i),
            "amount": (i % 17) * 3,
        }
        for i in range(3000)
    ]
    ws = make_ws(
        """
traits:
  revenue: {sum: orders.amount, within: 180d}
segments:
  big: {where: "revenue >= 100"}
""",
        {"customers": [{"customer_id": f"c{i}"} for i in range(300)], "orders": orders},
        builtins=["rfm", "abc", "lifecycle"],
    )
    run(ws, as_of="2024-06-30")
    root = str(ws.root)
    ws.close()
    attempts = 8
    waiting = _spawn(root)
    try:
        for attempt in range(attempts):
            child = waiting
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write("go\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 3.0))  # then killed at a random moment of its runs, as before
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            if attempt + 1 < attempts:
                waiting = _spawn(root)  # imports while this attempt is checked; opens the store when told
            ws = Workspace(root)
            try:
                result = run(ws, as_of="2024-06-30")
                assert result.status == "complete", attempt
                _check_consistent(ws)
                assert snapshot.latest_run(ws.store).run_id == result.run_id
                assert not store_running(ws)
            finally:
                ws.close()
    finally:  # a failed attempt leaves the next child waiting: end it
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait(30)


def store_running(ws: Workspace) -> list[int]:
    return [r[0] for r in ws.store.query(f"SELECT run_id FROM {META}.runs WHERE status = 'running'")]
