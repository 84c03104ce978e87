"""Real-time benchmark: events/s through POST /v1/events and event-to-membership latency (p50/p99).

A real `segmentum serve` (uvicorn) on 127.0.0.1 over a copy of a benchmark workspace (built-ins rfm, abc,
lifecycle plus bench/definitions.yml, with a batch run already stored), several concurrent httpx clients
posting batches of events for existing customers, and a probe that posts one `cart_add` for a brand-new
customer every second and polls GET /v1/customers/{id} until `b_cart_abandoners` shows up.
Usage: `python -m bench.realtime --workspace bench/data/c100000/ws --seconds 30`.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from segmentum.service.keys import KeyStore
from segmentum.service.ownership import free_port
from segmentum.workspace import Workspace

PROBE_SEGMENT = "b_cart_abandoners"  # cart_adds_30d > 0 and orders_90d = 0: a new customer's first cart_add


def measure(
    source_ws: Path,
    seconds: float = 30.0,
    clients: int = 4,
    batch_size: int = 250,
    max_events: int = 1_000_000,
) -> dict[str, Any]:
    """Copy the workspace, serve it, load it; return the figures."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_rt_"))
    root = tmp / "ws"
    shutil.copytree(source_ws, root)
    with Workspace(root) as ws:
        key = KeyStore(ws.store).create("admin", "bench")[0]
        batch_runs = ws.store.query("SELECT count(*) FROM segmentum.runs WHERE status = 'complete'")[0][0]
        customers = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
        events_before = ws.store.query("SELECT count(*) FROM main.events")[0][0]
    if not batch_runs:
        raise SystemExit(f"{source_ws} has no complete run; run the batch benchmark first")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "segmentum.cli.main", "serve", "--port", str(port), "-w", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    posted = [0] * clients
    errors: list[str] = []
    latencies: list[float] = []
    request_seconds: list[float] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)
        per_client = max_events // clients

        def worker(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                end = time.monotonic() + seconds
                while time.monotonic() < end and posted[n] < per_client:
                    now = datetime.now(UTC).isoformat()
                    events = [
                        {
                            "customer_id": rng.choice(customers),
                            "occurred_at": now,
                            "event": rng.choice(("page_view", "page_view", "cart_add", "login")),
                            "properties": {"page": "/bench"},
                        }
                        for _ in range(batch_size)
                    ]
                    t0 = time.monotonic()
                    response = client.post("/v1/events", json={"events": events})
                    request_seconds.append(time.monotonic() - t0)
                    if response.status_code != 202:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                        return
                    posted[n] += batch_size

        probes = [0]

        def probe() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                end = time.monotonic() + seconds - 2
                n = 0
                while time.monotonic() < end:
                    cid = f"bench-probe-{n}"
                    event = {
                        "customer_id": cid,
                        "event": "cart_add",
                        "occurred_at": datetime.now(UTC).isoformat(),
                    }
                    t0 = time.monotonic()
                    if client.post("/v1/events", json={"events": [event]}).status_code != 202:
                        errors.append("probe post failed")
                        return
                    probes[0] += 1
                    while time.monotonic() - t0 < 30:
                        segments = client.get(f"/v1/customers/{cid}").json().get("segments", [])
                        if PROBE_SEGMENT in segments:
                            latencies.append(time.monotonic() - t0)
                            break
                        time.sleep(0.02)
                    n += 1
                    time.sleep(max(0.0, 1 - (time.monotonic() - t0)))

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
        threads.append(threading.Thread(target=probe))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    total = sum(posted) + probes[0]
    with Workspace(root) as ws:
        stored = ws.store.query("SELECT count(*) FROM main.events")[0][0] - events_before
        rt = ws.store.query(
            "SELECT count(*), avg(customers), avg(epoch(finished_at) - epoch(started_at)) "
            "FROM segmentum.runs WHERE kind = 'realtime' AND status = 'complete'"
        )[0]
    shutil.rmtree(tmp, ignore_errors=True)
    lat = np.array(latencies) if latencies else np.array([np.nan])
    return {
        "customers": len(customers),
        "clients": clients,
        "batch_size": batch_size,
        "seconds": round(elapsed, 2),
        "events_posted": total,
        "events_stored": int(stored),
        "events_per_second": round(total / elapsed, 1),
        "request_p50_s": round(float(np.percentile(request_seconds, 50)), 3) if request_seconds else None,
        "probes": probes[0],
        "probes_seen": len(latencies),
        "latency_p50_s": round(float(np.percentile(lat, 50)), 3),
        "latency_p99_s": round(float(np.percentile(lat, 99)), 3),
        "latency_max_s": round(float(lat.max()), 3),
        "realtime_runs": int(rt[0]),
        "realtime_customers_avg": round(float(rt[1] or 0), 1),
        "realtime_run_seconds_avg": round(float(rt[2] or 0), 3),
        "errors": errors[:3],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "realtime.json"))
    args = parser.parse_args(argv)
    figures = measure(Path(args.workspace), args.seconds, args.clients, args.batch_size)
    Path(args.out).write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    return 0 if not figures["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
