"""A bounded load test on loopback: concurrent clients post event batches to `segmentum serve`; none is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest

from segmentum.service.keys import KeyStore
from segmentum.service.ownership import free_port
from segmentum.workspace import Workspace

DEFS = """\
traits:
  cart_adds_7d: {count: events, where: "event = 'cart_add'", within: 7d}
segments:
  cart_active:
    where: "cart_adds_7d > 0"
"""


@pytest.mark.slow
def test_concurrent_event_batches_are_all_stored(workspace: Workspace) -> None:
    seconds = float(os.environ.get("SEGMENTUM_LOAD_SECONDS", "20"))
    clients, batch_size = 4, 250
    (workspace.root / "definitions" / "load.yml").write_text(DEFS, encoding="utf-8")
    con = workspace.store.cursor()
    con.execute(
        "CREATE TABLE main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, "
        "occurred_at TIMESTAMP, properties JSON)"
    )
    key = KeyStore(workspace.store).create("write")[0]
    root = workspace.root
    workspace.close()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "segmentum.cli.main", "serve", "--port", str(port), "-w", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    posted = [0] * clients
    errors: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)

        def worker(n: int) -> None:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                i = 0
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    now = datetime.now(UTC).isoformat()
                    events = [
                        {
                            "customer_id": f"w{n}-{(i + j) % 500}",
                            "event": "cart_add",
                            "occurred_at": now,
                            "properties": {"seq": i + j},
                        }
                        for j in range(batch_size)
                    ]
                    response = client.post("/v1/events", json={"events": events})
                    if response.status_code != 202 or response.json()["accepted"] != batch_size:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                        return
                    posted[n] += batch_size
                    i += batch_size

        latencies: list[float] = []
        probe_posts = [0]

        def probe() -> None:
            # one new customer every 2 s: how long until GET /v1/customers/{id} shows the segment
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                end = time.monotonic() + seconds - 2
                n = 0
                while time.monotonic() < end:
                    cid = f"probe-{n}"
                    event = {
                        "customer_id": cid,
                        "event": "cart_add",
                        "occurred_at": datetime.now(UTC).isoformat(),
                    }
                    assert client.post("/v1/events", json={"events": [event]}).status_code == 202
                    probe_posts[0] += 1
                    t0 = time.monotonic()
                    while time.monotonic() - t0 < 30:
                        if "cart_active" in client.get(f"/v1/customers/{cid}").json().get("segments", []):
                            latencies.append(time.monotonic() - t0)
                            break
                        time.sleep(0.05)
                    n += 1
                    time.sleep(max(0.0, 2 - (time.monotonic() - t0)))

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
        threads.append(threading.Thread(target=probe))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
            status = client.get("/v1/status").json()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert not errors, errors[:3]
    total = sum(posted) + probe_posts[0]
    probes = sorted(latencies)
    with Workspace(root) as ws:
        stored = ws.store.query("SELECT count(*), count(DISTINCT event_id) FROM main.events")[0]
        realtime_runs = ws.store.query(
            "SELECT count(*) FROM segmentum.runs WHERE kind = 'realtime' AND status = 'complete'"
        )[0][0]
    rate = total / elapsed
    print(
        f"\n{total} events in {elapsed:.1f} s = {rate:,.0f} events/s by {clients} clients; "
        f"{realtime_runs} real-time runs; realtime status {status['realtime']}; membership visible after "
        f"{', '.join(f'{x:.2f}' for x in probes)} s"
    )
    assert probes and probes[-1] < 15
    assert stored == (total, total)
    assert rate >= 1000
