"""Where a micro-batch's time goes, step by step, as `segmentum serve` pays it (issue 20).

On a copy of a benchmark workspace (a batch run stored), `--batches` micro-batches per size, the sizes
interleaved, each for random existing customers, run as `segmentum serve` runs one: the events' append, then
the server's own micro-batch (`service.runtime.Runtime._evaluate`: the real-time run, the lookups' replica
refreshed, the triggers' actions into the outbox), in this process without the server's threads:

- `event_append`: `EventWriter.append` of one `cart_add` per customer (what POST /v1/events stores);
- the run's own steps from `Evaluator.evaluate`'s timings: `definitions` (cached definitions and
  `definitions_at`), `compile` (of which `key`: the compile cache key's queries), `recover`, `start` (the
  'running' row and its commit), `evaluate` (the query creating `segmentum.traits_<run_id>`),
  `write_memberships`, `commit` (live rows, run_customers, status and the commit), `committed` (what the
  server does right after the commit, where it does it there), `prune` (`runs.retention`), `diff` and `sizes`
  (where computed); `run`: the whole `Evaluator.evaluate`;
- `live_refresh`: `LiveState.refresh` of the customers (the lookups' replica, loaded once before), wherever
  the server calls it; `after_run`: what `Runtime._evaluate` spends after `Evaluator.evaluate` returned
  (the triggers' `process_run`, and the refresh where it comes after the run); `visible`: from the start of
  `Runtime._evaluate` until the replica holds the new state (what a lookup waits for, besides the interval);
- `total` (wall) and `cpu` (process CPU seconds, DuckDB's threads included) of the whole micro-batch, and
  `gil_stall`: the longest a 1 ms sleeper thread waited for the interpreter during it; `rss_mb` and
  `duckdb_mb` after it: the process's resident memory and what DuckDB's buffer manager holds
  (`duckdb_memory()`).

`drift`: each step's median over the first and the last tenth of the micro-batches of a size, for a long series
(`--batches 400`: what a server's minutes of micro-batches do to the next one's cost and to memory).

The order rows: as in a server, the first micro-batch asks for the order tables' rows in memory
(`runs.held_rows`, `serve.held_rows`), and the measured ones start once they are loaded (`held_load_s`,
`held_mb`), so micro-batches gather those rows instead of scanning them. `--held off` scans them (as before
2026-12-05); `--held both` interleaves the two, reported as "N" (gathered) and "N scanned" for each size.

Usage: `python -m bench.microbatch_cost --workspace bench/data/c100000/ws --sizes 100,1000 --batches 50`
(raw: bench/results/realtime_microbatch_cost.json). Report medians and p99 per step.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from segmentum.runs.realtime import EventRow, now_wall_clock
from segmentum.service.runtime import Runtime
from segmentum.workspace import Workspace

STEPS = (
    "event_append",
    "definitions",
    "compile",
    "key",
    "recover",
    "start",
    "evaluate",
    "write_memberships",
    "commit",
    "diff",
    "committed",
    "prune",
    "sizes",
    "run",
    "live_refresh",
    "after_run",
    "visible",
    "total",
    "cpu",
    "gil_stall",
    "rss_mb",
    "duckdb_mb",
)


class _StallMeter:
    """A thread sleeping 1 ms at a time: the longest it overslept is how long something held the GIL."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            before = time.perf_counter()
            time.sleep(0.001)
            self.longest = max(self.longest, time.perf_counter() - before - 0.001)

    def __enter__(self) -> _StallMeter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def micro_batch(runtime: Runtime, ids: list[str]) -> dict[str, float]:
    """One micro-batch for `ids` as the server runs it (`Runtime._evaluate`, after the events' append);
    seconds per step."""
    zone = runtime.zone
    refreshes: list[float] = []
    visible: list[float] = []  # when the replica held the new state
    refresh = runtime.live.refresh

    def timed_refresh(customer_ids: list[str], since_run: int | None = None) -> None:  # where the server does
        mark = time.perf_counter()
        refresh(customer_ids, since_run)
        refreshes.append(time.perf_counter() - mark)
        visible.append(time.perf_counter())

    runtime.live.refresh = timed_refresh  # type: ignore[method-assign]
    cpu = time.process_time()
    started = time.perf_counter()
    try:
        with _StallMeter() as meter:
            runtime.events.append(EventRow(c, "cart_add", now_wall_clock(zone)) for c in ids)
            appended = time.perf_counter()
            result = runtime._evaluate(ids, now_wall_clock(zone))
            done = time.perf_counter()
    finally:
        runtime.live.refresh = refresh  # type: ignore[method-assign]
    figures = {k: float(v) for k, v in result.timings.items()}
    # memory after the micro-batch: the process's resident set and what DuckDB's buffer manager holds
    (duckdb_bytes,) = runtime.ws.store.query("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")[0]
    figures.update(rss_mb=_rss_mb(), duckdb_mb=float(duckdb_bytes or 0) / 1e6)
    figures.update(
        event_append=appended - started,
        run=result.seconds,
        live_refresh=sum(refreshes),
        after_run=done - appended - result.seconds,
        visible=visible[-1] - appended,
        total=done - started,
        cpu=time.process_time() - cpu,
        gil_stall=meter.longest,
    )
    return figures


def measure(root: Path, sizes: list[int], batches: int, held: str = "on", seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    with Workspace(root) as ws:
        customers = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
        # the server's own micro-batch (`Runtime._evaluate`), without its threads: nothing else runs
        runtime = Runtime(ws, realtime=False)
        loaded = time.perf_counter()
        runtime.live.load()
        load_s = time.perf_counter() - loaded
        # the first micro-batch compiles the definitions (once per fingerprint and day) and asks for the order
        # rows in memory (`runs.held_rows`), loaded on a thread: neither measured
        held_rows = runtime.held
        micro_batch(runtime, rng.sample(customers, 10))
        loaded = time.perf_counter()
        held_tables = held_rows.wait() if held_rows is not None and held != "off" else {}
        held_load_s = time.perf_counter() - loaded
        # `--held both`: each size twice, its rows gathered from memory ("N") and scanned ("N scanned")
        variants = {"on": [True], "off": [False], "both": [True, False]}[held]
        labels = [(n, v, f"{n}" if v else f"{n} scanned") for n in sizes for v in variants]
        samples: dict[str, list[dict[str, float]]] = {label: [] for _, _, label in labels}
        for i in range(batches):
            for n, gathered, label in labels if i % 2 == 0 else list(reversed(labels)):
                runtime.evaluator.held = held_rows if gathered else None
                samples[label].append(micro_batch(runtime, rng.sample(customers, n)))
                print(
                    json.dumps({"size": label, **{k: round(v, 4) for k, v in samples[label][-1].items()}}),
                    flush=True,
                )
    # the fixed steps, then the staging's own ("stage" and "stage.<table>": `Evaluator.evaluate`'s timings)
    staging = sorted({k for rows in samples.values() for s in rows for k in s if k.startswith("stage")})
    summary = {
        str(n): {
            step: {
                "median": round(statistics.median(vals), 4),
                "p99": round(_pct(vals, 0.99), 4),
            }
            for step in (*STEPS, *staging)
            if (vals := [s[step] for s in rows if step in s])
        }
        for n, rows in samples.items()
    }
    # how the cost moves over a long series (issue 20: a server slowed down over minutes): each step's median over
    # the first and the last tenth of the micro-batches of each size
    drift = {
        str(n): {
            step: {
                "first_tenth": round(statistics.median(s[step] for s in rows[: max(1, len(rows) // 10)]), 4),
                "last_tenth": round(statistics.median(s[step] for s in rows[-max(1, len(rows) // 10) :]), 4),
            }
            for step in STEPS
            if all(step in s for s in rows)
        }
        for n, rows in samples.items()
        if rows
    }
    return {
        "customers": len(customers),
        "batches_per_size": batches,
        "drift": drift,
        "replica_load_s": round(load_s, 2),
        "held_rows": held_tables,
        "held_load_s": round(held_load_s, 2),
        "held_mb": round(held_rows.nbytes() / 1e6) if held_rows is not None else 0,
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "summary": summary,
        "samples": {str(n): rows for n, rows in samples.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", required=True, help="copied first (never written), unless --in-place")
    parser.add_argument(
        "--sizes", default="100,1000", help="touched customers per micro-batch, comma-separated"
    )
    parser.add_argument("--batches", type=int, default=50, help="micro-batches per size")
    parser.add_argument("--in-place", action="store_true", help="write into --workspace (a scratch copy)")
    parser.add_argument(
        "--held",
        choices=("on", "off", "both"),
        default="on",
        help="the order rows gathered from memory as a server does (on), scanned (off), or both interleaved",
    )
    parser.add_argument(
        "--scratch", default=None, help="where the copy goes (default: the system temp folder)"
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).resolve().parent / "results" / "realtime_microbatch_cost.json"),
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"start {datetime.now():%H:%M:%S}, load {os.getloadavg()}", flush=True)
    if args.in_place:
        figures = measure(Path(args.workspace), sizes, args.batches, args.held)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench_mbcost_", dir=args.scratch))
        try:
            shutil.copytree(args.workspace, tmp / "ws")
            figures = measure(tmp / "ws", sizes, args.batches, args.held)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    Path(args.out).write_text(json.dumps(figures, indent=2, default=str))
    print(json.dumps({k: v for k, v in figures.items() if k != "samples"}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
