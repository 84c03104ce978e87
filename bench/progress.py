"""What showing a run's progress costs: `python -m bench.progress --data DIR [--scale N] [--rounds R]`.

One process, one copy of the bench workspace (`bench.data.prepare` into DIR/c<N>), `runs.execute.run` timed
side by side: rounds alternate a run without a progress callback and one with a callback that draws nothing
(DuckDB's progress tracking on, its estimate polled every 0.5 s from a thread: `store/progress.py`), so the
machine's load falls on both alike. Prints and stores (bench/results/progress-N.json) each side's seconds
per run (wall and CPU), best and median, their ratios, each phase's median, and the load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main() -> None:
    from bench.data import AS_OF, data_root, prepare
    from segmentum.runs.execute import run
    from segmentum.workspace import Workspace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    root = data_root(args.data, args.scale)
    prepare(root, args.scale)
    work = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    shutil.copytree(root / "ws", work / "ws")
    calls = [0]

    def quiet(done: int, total: int | None, label: str, unit: str = "") -> None:
        calls[0] += 1  # a display that draws nothing: what remains is the cost of measuring

    seconds: dict[str, list[float]] = {"without": [], "with": []}
    # CPU seconds of the process (DuckDB's threads included): less noisy than wall time on a loaded machine
    cpu: dict[str, list[float]] = {"without": [], "with": []}
    phases: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    load_start = os.getloadavg()
    try:
        with Workspace(work / "ws") as ws:
            run(ws, as_of=AS_OF)  # a first run not timed: the store's files in the page cache, a baseline
            for index in range(args.rounds * 2):
                # ABBA order: neither side always runs first
                side = ("without", "with")[(index + index // 2) % 2]
                mark, cpu_mark = time.perf_counter(), time.process_time()
                result = run(ws, as_of=AS_OF, progress=quiet if side == "with" else None)
                seconds[side].append(round(time.perf_counter() - mark, 3))
                cpu[side].append(round(time.process_time() - cpu_mark, 3))
                phases[side].append(result.timings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {
        "customers": args.scale,
        "rounds": args.rounds,
        "seconds": seconds,
        "best": {side: min(values) for side, values in seconds.items()},
        "median": {side: statistics.median(values) for side, values in seconds.items()},
        "cpu_seconds": cpu,
        "cpu_best": {side: min(values) for side, values in cpu.items()},
        "cpu_median": {side: statistics.median(values) for side, values in cpu.items()},
        "phases_median": {
            side: {
                name: round(statistics.median(t.get(name, 0.0) for t in timings), 3) for name in timings[0]
            }
            for side, timings in phases.items()
        },
        "progress_calls_per_run": calls[0] / args.rounds,
        "load": {"start": load_start, "end": os.getloadavg()},
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out["ratio_best"] = round(out["best"]["with"] / out["best"]["without"], 3)
    out["ratio_median"] = round(out["median"]["with"] / out["median"]["without"], 3)
    out["cpu_ratio_best"] = round(out["cpu_best"]["with"] / out["cpu_best"]["without"], 3)
    out["cpu_ratio_median"] = round(out["cpu_median"]["with"] / out["cpu_median"]["without"], 3)
    print(json.dumps(out, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"progress-{args.scale}.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
