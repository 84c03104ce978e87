"""Real-time benchmark: a real `segmentum serve` over loopback at several offered event rates, with a lookup load.

A copy of a benchmark workspace (built-ins rfm, abc, lifecycle plus bench/definitions.yml, a batch run already
stored) is served by `segmentum serve` (uvicorn) on 127.0.0.1. For each offered rate (events/s), for `--seconds`:

- event clients post batches of `page_view` / `cart_add` / `login` events for random existing customers, paced
  to the rate (a 429 is counted and its events are not retried: they were not stored);
- `PROBES` probes each post one `cart_add` for a brand-new customer and poll GET /v1/customers/{id}/segments
  until `b_cart_abandoners` shows up (event -> membership latency), then pause a random 0-1 s before the next:
  their posts fall at random points of the micro-batches' cycle (until 2026-12-04 one probe posted as soon as
  it had seen its last event, so always just after a micro-batch: its figures are not comparable);
- lookup clients GET /v1/customers/{id}/segments for random existing customers at `--lookups` requests/s, from
  a process of their own, evenly spaced over 20 keep-alive connections (per 500/s) written on raw uvloop
  streams (in the event clients' process they would wait for its GIL; through httpx they took 0.66-0.76 of a
  core, which the server then lacked: the figures would be the client's), each timed from when it was due
  if the answer before it made it late (`lookup_worker`).

Reported per rate: events/s accepted (held), 429 answers, event -> membership p50/p95/p99, lookup p50/p99,
the server's peak RSS, and the cores each side used (`server_cores`, `generator_cores`: the event clients,
the probe and the lookup process); at the end, events stored = events accepted. The phases begin once the
server's start is done (a first event seen in the lookups, the stored run's segment profiles warmed, the
order rows the micro-batches gather loaded: `start_s`, `held_rows`). `lookup_p99_ms_by_minute`: the lookups'
p99 for each minute of a phase, `cores_by_minute` what the cores did in each minute (the machine's busy
cores, the server's cores and threads, and how long per second its event loop thread, all its threads and the
lookup process waited for a core in the run queue), and `realtime_series.by_minute` the micro-batches of each
minute (how many, their mean customers, their mean and p95 seconds).
Usage: `python -m bench.realtime --workspace bench/data/c100000/ws --rates 500,1000,2000,3000 --seconds 60`.
`--serve KEY=VALUE` sets a `serve:` setting in the served copy's segmentum.yml (e.g. `micro_batch_seconds=0.5`,
`held_rows=null`), or another section's named before a dot (`engine.threads=1`).
`--server-src DIR` serves with another checkout's `src` (e.g. `git archive <commit> src | tar -x -C DIR`), to
compare two versions of the server one after the other on the same store and machine. The server is started as
the tests start it (`bench.pages.serve`, `tests/servers.start_serve`: its log in a temporary file).

`--appends N` measures the write of POST /v1/events alone instead (issue 20): `--rounds` processes, each
opening the workspace and calling `EventWriter.append` N times back to back with requests of `--batch`
events (all but 3 for random existing customers, 3 for new ones), as the server does for each request.
Per round: each append's wall and CPU milliseconds (process CPU, DuckDB's threads included), the events/s
one writer held (events / the appends' wall), the memory DuckDB then holds for the customer_id index
(`index_mb`), the first append's time apart (`prepare_s`: it creates the
customer_id index when the store lacks it) and the load average. `--before-src DIR` alternates the rounds
between this checkout's code and another's `src` (e.g. `git archive <commit> src | tar -x -C DIR`): side
by side on the same store, after / before / before / after ... The appends stay in the store: measure on a
copy (the workspace is copied unless `--in-place`). Usage: `python -m bench.realtime --workspace <copy>
--in-place --appends 40 --rounds 4 --before-src /tmp/base/src` (raw: bench/results/realtime_append.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import psutil

from bench.pages import serve
from segmentum.service.keys import KeyStore
from segmentum.workspace import Workspace

PROBE_SEGMENT = "b_cart_abandoners"  # cart_adds_30d > 0 and orders_90d = 0: a new customer's first cart_add
PROBES = 2  # probes at once: about 300 probed events in 5 minutes
PROBE_PAUSE_S = 1.0  # each probe pauses a random 0 to 1 s before posting
PROBE_POLL_S = 0.04  # ... then polls every 40 ms until it shows: the two add 50 requests/s, as one did
BATCH = 100  # events per POST
STORE_TABLES = ("customers", "orders", "order_items", "events")
# the server's start and the first micro-batch (compiling the definitions, loading every customer's live state
# for the lookups): room for a 1M-customer store on a loaded 2-core machine
START_S = 600


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process in MB, from /proc."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


def _proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used (its threads included)."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _schedstat(pid: int, tid: int | None = None) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a thread (`tid`) or of every thread of a
    process, from the scheduler's own accounting (/proc/.../schedstat); a thread that ended meanwhile counts
    nothing (a process gone: OSError)."""
    tids = [tid] if tid is not None else [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    ran = waited = 0.0
    for t in tids:
        try:
            fields = Path(f"/proc/{pid}/task/{t}/schedstat").read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        ran += int(fields[0]) / 1e9
        waited += int(fields[1]) / 1e9
    return ran, waited


def _machine_busy_s() -> float:
    """CPU seconds the machine's cores have spent busy since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


class _CoresSampler(threading.Thread):
    """Samples, every second of a phase, what the cores did: the machine's busy cores, the server's cores and
    threads, and how long its event loop thread (its main thread: uvicorn's loop), all its threads and the
    lookup process were runnable but waited for a core (the run queue, which a GIL wait is not).
    `by_minute()` averages each minute's seconds: if the lookups slow down minute by minute, this says whether
    the cores were busier then."""

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.lookup_pid: int | None = None
        self.samples: list[dict[str, float]] = []
        self._done = threading.Event()
        self.started_at = time.monotonic()

    def _read(self) -> dict[str, float]:
        figures = {"at": time.monotonic(), "busy": _machine_busy_s()}
        figures["server_cpu"], figures["server_wait"] = _schedstat(self.server_pid)
        figures["loop_cpu"], figures["loop_wait"] = _schedstat(self.server_pid, self.server_pid)
        figures["server_threads"] = len(os.listdir(f"/proc/{self.server_pid}/task"))
        if self.lookup_pid is not None:
            figures["lookup_cpu"], figures["lookup_wait"] = _schedstat(self.lookup_pid)
        return figures

    def run(self) -> None:
        last = self._read()
        while not self._done.wait(1.0):
            try:
                now = self._read()
            except OSError:  # a process gone
                break
            seconds = now["at"] - last["at"]
            sample = {"at": now["at"] - self.started_at}
            sample["machine_busy_cores"] = (now["busy"] - last["busy"]) / seconds
            sample["server_threads"] = now["server_threads"]
            for name in ("server", "loop", "lookup"):
                if f"{name}_cpu" in now and f"{name}_cpu" in last:
                    sample[f"{name}_cores"] = (now[f"{name}_cpu"] - last[f"{name}_cpu"]) / seconds
                    sample[f"{name}_wait_ms_per_s"] = (
                        1000 * (now[f"{name}_wait"] - last[f"{name}_wait"]) / seconds
                    )
            self.samples.append(sample)
            last = now

    def stop(self) -> None:
        self._done.set()
        self.join(5)

    def by_minute(self) -> dict[str, list[float]]:
        minutes: dict[int, list[dict[str, float]]] = {}
        for sample in self.samples:
            minutes.setdefault(int(sample["at"] // 60), []).append(sample)
        names = sorted({k for s in self.samples for k in s if k != "at"})
        return {
            name: [
                round(statistics.fmean(s[name] for s in minutes[m] if name in s), 2)
                if any(name in s for s in minutes[m])
                else None
                for m in sorted(minutes)
            ]
            for name in names
        }


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def _phase(
    url: str,
    headers: dict[str, str],
    customers: list[str],
    customers_file: Path,
    rate: int,
    seconds: float,
    lookups: int,
    tag: str,
    server_pid: int,
) -> dict[str, Any]:
    accepted = [0]
    refused = [0]
    errors: list[str] = []
    latencies: list[float] = []
    unseen = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    event_threads = max(1, -(-rate // 1000))  # about 1,000 events/s per client

    def events(n: int) -> None:
        rng = random.Random(f"{tag}-{n}")
        interval = BATCH * event_threads / rate
        next_at = time.monotonic()
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            while time.monotonic() < stop_at:
                now = datetime.now(UTC).isoformat()
                body = {
                    "events": [
                        {
                            "customer_id": rng.choice(customers),
                            "occurred_at": now,
                            "event": rng.choice(("page_view", "page_view", "cart_add", "login")),
                            "properties": {"page": "/bench"},
                        }
                        for _ in range(BATCH)
                    ]
                }
                try:
                    response = client.post("/v1/events", json=body)
                except httpx.HTTPError as exc:
                    errors.append(f"events: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    if response.status_code == 202:
                        accepted[0] += response.json()["accepted"]
                    elif response.status_code == 429:
                        refused[0] += 1
                    else:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

    def probe(n: int) -> None:
        # a random pause before each post, so that the posts fall at every point of the micro-batches' cycle: a
        # probe posting as soon as it saw its last event would post just after a micro-batch every time
        rng = random.Random(f"{tag}-probe-{n}")
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            k = 0
            while time.monotonic() < stop_at - 2:
                time.sleep(rng.uniform(0.0, PROBE_PAUSE_S))
                cid = f"bench-probe-{tag}-{n}-{k}"
                k += 1
                event = {
                    "customer_id": cid,
                    "event": "cart_add",
                    "occurred_at": datetime.now(UTC).isoformat(),
                }
                t0 = time.monotonic()
                response = client.post("/v1/events", json={"events": [event]})
                if response.status_code == 429:
                    time.sleep(1)
                    continue
                if response.status_code != 202:
                    errors.append(f"probe: {response.status_code}")
                    return
                with lock:
                    accepted[0] += 1
                while True:
                    if time.monotonic() - t0 > 30:
                        unseen[0] += 1
                        break
                    got = client.get(f"/v1/customers/{cid}/segments")
                    if got.status_code == 200 and PROBE_SEGMENT in got.json()["segments"]:
                        latencies.append(time.monotonic() - t0)
                        break
                    time.sleep(PROBE_POLL_S)

    threads = [threading.Thread(target=events, args=(n,)) for n in range(event_threads)]
    threads += [threading.Thread(target=probe, args=(n,)) for n in range(PROBES)]
    # the lookups come from a process of their own: in this one they would wait for the GIL behind the event
    # clients, and the figure would be this client's, not the server's
    lookup_out = Path(tempfile.mkstemp(prefix="bench_lookups_", suffix=".json")[1])
    lookups_proc = (
        subprocess.Popen(
            [sys.executable, "-m", "bench.realtime", "--lookup-worker", "--url", url]
            + ["--key", headers["Authorization"].split()[-1], "--customers-file", str(customers_file)]
            + ["--lookups", str(lookups), "--seconds", str(seconds), "--tag", tag, "--out", str(lookup_out)],
            cwd=Path(__file__).resolve().parent.parent,
        )
        if lookups
        else None
    )
    sampler = _CoresSampler(server_pid)
    sampler.lookup_pid = lookups_proc.pid if lookups_proc is not None else None
    sampler.start()
    started = time.monotonic()
    clients_cpu = _cpu_s()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    clients_cpu = _cpu_s() - clients_cpu
    sampler.stop()
    lookup_s: list[float] = []
    lookup_at: list[float] = []
    lookups_cpu = 0.0
    if lookups_proc is not None:
        lookups_proc.wait(seconds + 120)
        done = json.loads(lookup_out.read_text() or "{}")
        lookup_s = done.get("seconds", [])
        lookup_at = done.get("at", [])
        lookups_cpu = done.get("cpu_s", 0.0)
        errors.extend(done.get("errors", []))
    lookup_out.unlink(missing_ok=True)
    return {
        "offered_events_per_s": rate,
        "seconds": round(elapsed, 1),
        "events_accepted": accepted[0],
        "events_per_s_held": round(accepted[0] / elapsed, 1),
        "answers_429": refused[0],
        "probes_seen": len(latencies),
        "probes_not_seen_in_30s": unseen[0],
        "latency_p50_s": _pct(latencies, 50),
        "latency_p95_s": _pct(latencies, 95),
        "latency_p99_s": _pct(latencies, 99),
        "lookups": len(lookup_s),
        "lookups_per_s": round(len(lookup_s) / elapsed, 1),
        "lookup_p50_ms": None if not lookup_s else round(1000 * float(np.percentile(lookup_s, 50)), 2),
        "lookup_p99_ms": None if not lookup_s else round(1000 * float(np.percentile(lookup_s, 99)), 2),
        # where in the phase the slow lookups fell (a server's start, a load, or all along)
        "lookup_p99_ms_by_minute": _by_minute(lookup_at, lookup_s),
        # ... set against what the cores did each minute (`_CoresSampler`)
        "cores_by_minute": sampler.by_minute(),
        "errors": errors[:3],
        # the load generator shares the machine's cores with the server: what it used, in cores
        "generator_cores": round((clients_cpu + lookups_cpu) / elapsed, 2),
    }


def _by_minute(at: list[float], seconds: list[float]) -> list[float]:
    """The p99 in milliseconds of the lookups sent in each minute of a phase."""
    minutes: dict[int, list[float]] = {}
    for when, took in zip(at, seconds, strict=True):
        minutes.setdefault(int(when // 60), []).append(took)
    return [round(1000 * float(np.percentile(minutes[m], 99)), 2) for m in sorted(minutes)]


def measure(
    source_ws: Path,
    rates: list[int],
    seconds: float = 60.0,
    lookups: int = 500,
    server_src: Path | None = None,
    serve_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Copy the workspace, serve it (with `server_src`'s code when given, and `serve_settings`, settings by
    section (`{"serve": {...}, "engine": {...}}`), in the copy's segmentum.yml), load it at each rate; the
    figures."""
    tmp = Path(tempfile.mkdtemp(prefix="bench_rt_"))
    try:  # the copy of a 1M store is 2.7 GB: never leave it behind
        return _measure(tmp, source_ws, rates, seconds, lookups, server_src, serve_settings or {})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _measure(
    tmp: Path,
    source_ws: Path,
    rates: list[int],
    seconds: float,
    lookups: int,
    server_src: Path | None,
    serve_settings: dict[str, Any],
) -> dict[str, Any]:
    import yaml

    root = tmp / "ws"
    shutil.copytree(source_ws, root)
    if serve_settings:
        config_path = root / "segmentum.yml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        for section, values in serve_settings.items():  # `serve:` and any other section named in a key
            config[section] = {**(config.get(section) or {}), **values}
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with Workspace(root) as ws:
        key = KeyStore(ws.store).create("admin", "bench")[0]
        batch_runs = ws.store.query("SELECT count(*) FROM segmentum.runs WHERE status = 'complete'")[0][0]
        customers = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
        # the store's size, as the issue states it (1M customers / 10M orders / 30M events)
        rows = {t: ws.store.query(f"SELECT count(*) FROM main.{t}")[0][0] for t in STORE_TABLES}
        events_before = rows["events"]
    if not batch_runs:
        raise SystemExit(f"{source_ws} has no complete run; run the batch benchmark first")
    customers_file = tmp / "customers.txt"  # what the lookup process draws from
    customers_file.write_text("\n".join(customers), encoding="utf-8")
    env = dict(os.environ)
    if server_src is not None:  # side by side: the same benchmark against another checkout's server
        env["PYTHONPATH"] = str(server_src)
    started_at = time.monotonic()
    proc, url = serve(root, env=env, timeout=START_S)
    headers = {"Authorization": f"Bearer {key}"}
    phases: list[dict[str, Any]] = []
    status: dict[str, Any] = {}
    try:
        # the first micro-batch compiles the definitions and the lookups' replica loads: not measured
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            event = {
                "customer_id": "bench-warm",
                "event": "cart_add",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            client.post("/v1/events", json={"events": [event]})
            warm_until = time.monotonic() + START_S
            while PROBE_SEGMENT not in client.get("/v1/customers/bench-warm/segments").json().get(
                "segments", []
            ):
                if time.monotonic() > warm_until:
                    raise RuntimeError("the warm-up event never showed")
                time.sleep(0.2)
            # and the rest of the start: the segment profiles of the stored run (at 1M a minute or more of
            # both cores), so that the phases measure the server running, not starting
            while client.get("/v1/status").json().get("warming_runs"):
                if time.monotonic() > warm_until:
                    raise RuntimeError("the server's start never finished (warming_runs)")
                time.sleep(0.5)
            # and the order rows the micro-batches gather, loaded after the first one (`serve.held_rows`;
            # servers before 2026-12-05 have none)
            while (client.get("/v1/status").json().get("held_rows") or {}).get("loading"):
                if time.monotonic() > warm_until:
                    raise RuntimeError("the server's start never finished (held_rows)")
                time.sleep(0.5)
            held_rows = client.get("/v1/status").json().get("held_rows")
        start_s = round(time.monotonic() - started_at, 1)
        warm_accepted = 1
        phases_from = time.time()  # the runs' wall clock: the micro-batches of each minute (`_run_series`)
        for rate in rates:
            server_cpu = _proc_cpu_s(proc.pid)
            figures = _phase(
                url, headers, customers, customers_file, rate, seconds, lookups, str(rate), proc.pid
            )
            figures["server_cores"] = round((_proc_cpu_s(proc.pid) - server_cpu) / figures["seconds"], 2)
            figures["server_rss_mb"], figures["server_peak_rss_mb"] = (round(v) for v in _rss_mb(proc.pid))
            phases.append(figures)
            print(json.dumps(figures), flush=True)
            time.sleep(3)  # let the queue drain between rates
        with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
            status = client.get("/v1/status").json()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()
    accepted = warm_accepted + sum(p["events_accepted"] for p in phases)
    with Workspace(root) as ws:
        stored = ws.store.query("SELECT count(*) FROM main.events")[0][0] - events_before
        rt = ws.store.query(
            "SELECT count(*), avg(customers), avg(epoch(finished_at) - epoch(started_at)) "
            "FROM segmentum.runs WHERE kind = 'realtime' AND status = 'complete'"
        )[0]
        series = _run_series(ws, phases_from)
    return {
        "customers": len(customers),
        "store_rows": rows,  # before the phases' events
        "start_s": start_s,
        "held_rows": held_rows,  # the server's launch until its start was done (first event seen, profiles stored)
        "server_src": str(server_src) if server_src else None,
        "seconds_per_rate": seconds,
        "lookups_offered_per_s": lookups,
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "phases": phases,
        "events_accepted": accepted,
        "events_stored": int(stored),
        "nothing_lost": int(stored) == accepted,
        "realtime_runs": int(rt[0]),
        "realtime_customers_avg": round(float(rt[1] or 0), 1),
        "realtime_run_seconds_avg": round(float(rt[2] or 0), 3),
        "realtime_run_seconds_p99": series["run_s"].get("p99") or 0.0,
        "realtime_series": series,
        "status": status.get("realtime"),
    }


def _run_series(ws: Workspace, phases_from: float | None = None) -> dict[str, Any]:
    """The micro-batches one after the other: how long each ran (the run: staging, query, write, commit) and
    the gap from one's end to the next one's start (the server's work between them: the lookups' replica, the
    triggers, pruning, checkpoints, and waiting for customers), p50 / p95 / p99 / max in seconds, and how many
    gaps were over half a second. A probe's latency is about one gap and one or two runs."""
    rows = ws.store.query(
        "SELECT epoch(started_at), epoch(finished_at), customers FROM segmentum.runs "
        "WHERE kind = 'realtime' AND status = 'complete' ORDER BY run_id"
    )
    runs = [float(end) - float(start) for start, end, _ in rows]
    gaps = [float(rows[i + 1][0]) - float(rows[i][1]) for i in range(len(rows) - 1)]
    # the longest gaps, each with when it began (the workspace's wall clock, as a run's times are stored) and
    # the customers of the run after it: to set against what else the server did then
    longest = sorted(range(len(gaps)), key=gaps.__getitem__, reverse=True)[:8]
    at = ws.config.timezone
    slowest = [
        {
            "after": datetime.fromtimestamp(float(rows[i][1]), UTC)
            .replace(tzinfo=None)
            .isoformat(timespec="milliseconds"),
            "gap_s": round(gaps[i], 3),
            "next_run_s": round(runs[i + 1], 3),
            "next_customers": int(rows[i + 1][2] or 0),
        }
        for i in sorted(longest)
    ]

    def spread(values: list[float]) -> dict[str, float | None]:
        if not values:
            return {}
        return {
            "p50": _pct(values, 50),
            "p95": _pct(values, 95),
            "p99": _pct(values, 99),
            "max": round(max(values), 4),
        }

    # each minute from the first phase's start: micro-batches, their mean customers and mean and p95 seconds
    # (a server near its limit drifts: longer runs wait for more customers, which make longer runs)
    if phases_from is not None:  # a run's times are the workspace's wall clock, stored without a zone
        local = datetime.fromtimestamp(phases_from, ZoneInfo(str(ws.config.timezone))).replace(tzinfo=None)
        phases_from = local.replace(tzinfo=UTC).timestamp()
    minutes: dict[int, list[tuple[float, int]]] = {}
    for (start, _, customers), took in zip(rows, runs, strict=True):
        if phases_from is not None and float(start) >= phases_from:
            minutes.setdefault(int((float(start) - phases_from) // 60), []).append(
                (took, int(customers or 0))
            )
    by_minute = {
        "runs": [len(minutes[m]) for m in sorted(minutes)],
        "customers_mean": [round(statistics.fmean(c for _, c in minutes[m])) for m in sorted(minutes)],
        "run_s_mean": [round(statistics.fmean(t for t, _ in minutes[m]), 3) for m in sorted(minutes)],
        "run_s_p95": [_pct([t for t, _ in minutes[m]], 95) for m in sorted(minutes)],
    }
    return {
        "by_minute": by_minute,
        "run_s": spread(runs),
        "gap_s": spread(gaps),
        "gaps_over_half_s": sum(g > 0.5 for g in gaps),
        "longest_gaps": slowest,
        "zone": str(at),
    }


def lookup_worker(url: str, key: str, customers: list[str], lookups: int, seconds: float, tag: str) -> dict:
    """GET /v1/customers/{id}/segments for random `customers` at `lookups` requests/s for `seconds`, over
    keep-alive connections (20 for 500/s); each answer's seconds, and this process's CPU seconds.

    The requests are evenly spaced: connection n of N sends at n/rate, n/rate + N/rate, ... (all N at the same
    instants would be a burst of N every N/rate seconds, and the last of each burst would wait for the
    others). A request held back by a slow answer before it on its connection counts that wait too: its time
    runs from when it was due.

    The requests are written and read on raw asyncio streams, not through httpx: on a 2-core machine the load
    generator shares the cores with the server, and 20 threads of httpx clients took 0.66-0.76 of a core
    (and still managed only 330-360 lookups a second of the 500), which the server's figures then paid for;
    this takes about 0.06 of a core.
    """
    parsed = urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    answered: list[float] = []
    sent_at: list[float] = []  # seconds into the phase each answered lookup was due or sent
    errors: list[str] = []
    cpu_before = _cpu_s()
    connections = max(1, lookups // 25)

    async def connection(n: int, started: float, stop_at: float) -> None:
        rng = random.Random(f"lookup-{tag}-{n}")
        reader, writer = await asyncio.open_connection(host, port)
        due = started + n / lookups
        try:
            while due < stop_at:
                late = time.monotonic() > due  # the answer before this one came after this was due
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                # from when it was due if the server made it late; else from when it was sent (asyncio's
                # timers wake up to a millisecond late: the client's, not the server's)
                begun = due if late else time.monotonic()
                request = (
                    f"GET /v1/customers/{quote(rng.choice(customers))}/segments HTTP/1.1\r\n"
                    f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n"
                ).encode()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                if status == 200:
                    answered.append(time.monotonic() - begun)
                    sent_at.append(begun - started)
                elif len(errors) < 3:
                    errors.append(f"lookup: {status}")
                due += connections / lookups
        finally:
            writer.close()

    started = time.monotonic() + 0.5  # the connections opened by then

    async def all_connections() -> None:
        await asyncio.gather(*(connection(n, started, started + seconds) for n in range(connections)))

    try:  # segmentum's server runs on it (a dependency where it builds); the client is lighter on it too
        import uvloop
    except ImportError:
        asyncio.run(all_connections())
    else:
        uvloop.run(all_connections())
    return {"seconds": answered, "at": sent_at, "errors": errors, "cpu_s": round(_cpu_s() - cpu_before, 2)}


# ------------------------------------------------------------------------------------------ the append alone

NEW_PER_REQUEST = 3  # customers of each request not in the store yet


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def append_round(root: Path, appends: int, batch: int, tag: str) -> dict[str, Any]:
    """One process's appends: `appends` requests of `batch` events through `EventWriter.append`."""
    from zoneinfo import ZoneInfo

    from segmentum.runs.realtime import EventRow, EventWriter

    load_before = os.getloadavg()
    with Workspace(root) as ws:
        known = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers USING SAMPLE 20000")]
        indexed = ws.store.query("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'customers'")[0][0]
        writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
        rng = random.Random(tag)
        now = datetime.now()
        started = time.perf_counter()
        writer.append([EventRow(rng.choice(known), "page_view", now)])
        prepare_s = time.perf_counter() - started
        wall_ms: list[float] = []
        cpu_ms: list[float] = []
        new_customers = 0
        for k in range(appends):
            ids = [rng.choice(known) for _ in range(batch - NEW_PER_REQUEST)]
            ids += [f"bench-append-{tag}-{k}-{j}" for j in range(NEW_PER_REQUEST)]
            rows = [EventRow(c, "page_view", now, {"page": "/bench"}) for c in ids]
            t0, c0 = time.perf_counter(), _cpu_s()
            result = writer.append(rows)
            wall_ms.append(1000 * (time.perf_counter() - t0))
            cpu_ms.append(1000 * (_cpu_s() - c0))
            new_customers += result.new_customers
        index_mb = ws.store.query(
            "SELECT coalesce(sum(memory_usage_bytes), 0) / 2 ^ 20 FROM duckdb_memory() WHERE tag = 'ART_INDEX'"
        )[0][0]
    if new_customers != appends * NEW_PER_REQUEST:
        raise RuntimeError(f"{new_customers} new customers created, {appends * NEW_PER_REQUEST} expected")
    return {
        "tag": tag,
        "customers": len(known),
        "index_before": bool(indexed),
        "prepare_s": round(prepare_s, 3),
        "wall_ms": [round(v, 2) for v in wall_ms],
        "cpu_ms": [round(v, 2) for v in cpu_ms],
        "events_per_s_held": round(batch * appends / (sum(wall_ms) / 1000), 1),
        "index_mb": round(float(index_mb), 1),  # what DuckDB holds of the customer_id index after the appends
        "load_average": [load_before, os.getloadavg()],
    }


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    wall = [v for r in rounds for v in r["wall_ms"]]
    cpu = [v for r in rounds for v in r["cpu_ms"]]
    return {
        "appends": len(wall),
        "wall_ms_median": round(statistics.median(wall), 2),
        "wall_ms_p95": _pct(wall, 95),
        "wall_ms_best": round(min(wall), 2),
        "cpu_ms_median": round(statistics.median(cpu), 2),
        "events_per_s_held_per_round": [r["events_per_s_held"] for r in rounds],
        "prepare_s_per_round": [r["prepare_s"] for r in rounds],
        "index_mb_per_round": [r["index_mb"] for r in rounds],
        "load_average_1min": [round(r["load_average"][i][0], 2) for r in rounds for i in (0, 1)],
    }


def measure_appends(
    source_ws: Path, appends: int, rounds: int, batch: int, before_src: Path | None, in_place: bool
) -> dict[str, Any]:
    """Rounds of appends, each in a process of its own, alternating with `before_src`'s code when given."""
    tmp = None if in_place else Path(tempfile.mkdtemp(prefix="bench_append_"))
    try:
        root = source_ws
        if tmp is not None:
            root = tmp / "ws"
            shutil.copytree(source_ws, root)
        here = Path(__file__).resolve().parent.parent
        variants = ["after", "before"] if before_src else ["after"]
        results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        run = f"{time.time():.0f}"  # new customers' ids unique to this run (the appends stay in the store)
        for n in range(rounds):
            # after / before, then before / after: neither always runs on the warmer cache
            for variant in variants if n % 2 == 0 else variants[::-1]:
                src = before_src if variant == "before" else here / "src"
                env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{here}"}
                command = [
                    sys.executable,
                    "-m",
                    "bench.realtime",
                    "--workspace",
                    str(root),
                    "--append-worker",
                ]
                command += ["--appends", str(appends), "--batch", str(batch), "--tag", f"{run}-{variant}{n}"]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
                if done.returncode:
                    raise RuntimeError(f"{variant} round {n} failed: {done.stderr[-2000:]}")
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                results[variant].append(figures)
                print(json.dumps({k: v for k, v in figures.items() if not k.endswith("_ms")}), flush=True)
        return {
            "workspace": str(source_ws),
            "batch": batch,
            "new_per_request": NEW_PER_REQUEST,
            "cpus": os.cpu_count(),
            "before_src": str(before_src) if before_src else None,
            "summary": {v: _summary(r) for v, r in results.items()},
            "rounds": results,
        }
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", help="the benchmark workspace (a copy is served)")
    parser.add_argument("--rates", default="500,1000,2000,3000", help="offered events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--serve",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a `serve:` setting of the served copy's segmentum.yml (e.g. micro_batch_seconds=0.5), or another "
        "section's with its name (engine.threads=1); repeatable",
    )
    parser.add_argument("--lookups", type=int, default=500, help="lookup requests/s offered during each rate")
    parser.add_argument(
        "--out", default=None, help="raw figures (default bench/results/realtime[_append].json)"
    )
    parser.add_argument("--appends", type=int, default=0, help="measure N appends per round instead of serve")
    parser.add_argument("--rounds", type=int, default=2, help="with --appends: processes per variant")
    parser.add_argument("--batch", type=int, default=BATCH, help="with --appends: events per request")
    parser.add_argument(
        "--before-src", default=None, help="with --appends: another checkout's src to compare"
    )
    parser.add_argument(
        "--in-place", action="store_true", help="with --appends: append to --workspace itself"
    )
    parser.add_argument(
        "--server-src", default=None, help="serve with another checkout's src (side-by-side comparisons)"
    )
    parser.add_argument("--append-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lookup-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--customers-file", help=argparse.SUPPRESS)
    parser.add_argument("--tag", default="round", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    results = Path(__file__).resolve().parent / "results"
    if args.lookup_worker:
        customers = Path(args.customers_file).read_text(encoding="utf-8").splitlines()
        done = lookup_worker(args.url, args.key, customers, args.lookups, args.seconds, args.tag)
        Path(args.out).write_text(json.dumps(done))
        return 0
    if not args.workspace:
        parser.error("--workspace is required")
    if args.append_worker:
        print(json.dumps(append_round(Path(args.workspace), args.appends, args.batch, args.tag)))
        return 0
    if args.appends:
        before = Path(args.before_src).resolve() if args.before_src else None
        appended = measure_appends(
            Path(args.workspace), args.appends, args.rounds, args.batch, before, args.in_place
        )
        Path(args.out or results / "realtime_append.json").write_text(json.dumps(appended, indent=2))
        print(json.dumps(appended["summary"], indent=2))
        return 0
    args.out = args.out or str(results / "realtime.json")
    rates = [int(r) for r in args.rates.split(",") if r.strip()]
    server_src = Path(args.server_src).resolve() if args.server_src else None
    import yaml

    settings: dict[str, dict[str, Any]] = {}
    for item in args.serve:
        key, _, value = item.partition("=")
        section, _, name = key.rpartition(".")
        settings.setdefault(section or "serve", {})[name] = yaml.safe_load(value)
    figures = measure(Path(args.workspace), rates, args.seconds, args.lookups, server_src, settings)
    if settings:
        figures["serve_settings"] = settings
    Path(args.out).write_text(json.dumps(figures, indent=2, default=str))
    print(json.dumps(figures, indent=2, default=str))
    return 0 if figures["nothing_lost"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
