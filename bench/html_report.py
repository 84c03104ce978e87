"""The HTML report, whole process as a user runs it: `python -m bench.html_report [--customers 20000]`.

Uses the cached demo workspace of `bench.pages` (`segmentum demo`, under bench/data/), then, each timed as a
whole `segmentum report` process (wall and CPU of the process, and the load average beside them):

1. `fresh`: a new batch run (`segmentum run`, so nothing is stored for it), then the English report: it
   computes every segment's profile once and stores it (`segment_profiles`, as serve's warming does);
2. `second language`: the Ukrainian report of the same run: the stored profiles, rendering only;
3. `after serve warmed`: another new run, its profiles stored as `segmentum serve` stores them after a batch
   run (`warm_profiles`, timed in this process), then the English report.

`python -m bench.html_report --compare-src DIR` runs every step with DIR's code too, the two sides interleaved
(a busy moment hits both alike), each on its own copy of the workspace. Results go to
bench/results/html_report_<customers>.json. Timings are for reading, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"


def _env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def timed(args: list[str], src: Path | None) -> dict[str, Any]:
    """Wall and CPU seconds of one `segmentum` process (CPU of the child alone, from its rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    mark = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args],
        check=True,
        cwd=ROOT,
        env=_env(src),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - mark
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load": round(load, 1),
    }


def warm(root: Path, src: Path | None) -> dict[str, Any]:
    """Every segment's profile of the latest run stored as serve does after a batch run (a child process)."""
    code = (
        "import sys, time\n"
        "from segmentum.analysis.profile import warm_profiles\n"
        "from segmentum.store import snapshots as snapshot\n"
        "from segmentum.workspace import Workspace\n"
        "with Workspace(sys.argv[1]) as ws:\n"
        "    warm_profiles(ws, snapshot.latest_run(ws.store).run_id)\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    mark = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(root)], check=True, cwd=ROOT, env=_env(src))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(time.perf_counter() - mark, 2), "cpu_s": round(cpu, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument(
        "--compare-src", type=Path, default=None, help="another source tree, timed side by side"
    )
    args = parser.parse_args(argv)
    from bench.pages import prepare

    base = prepare(args.customers)
    sides: dict[str, Path | None] = {"this": ROOT / "src"}  # this tree, not an installed segmentum
    if args.compare_src is not None:
        sides["compare"] = args.compare_src.resolve()
    roots = {}
    for side in sides:  # each side on its own copy: one side's stored profiles must not serve the other
        roots[side] = base.parent / f"{base.name}-report-{side}"
        shutil.rmtree(roots[side], ignore_errors=True)
        shutil.copytree(base, roots[side])
    results: dict[str, dict[str, Any]] = {side: {} for side in sides}
    steps = [
        ("run", lambda root: ["run", "--as-of", "latest", "-w", str(root)]),
        ("fresh", lambda root: ["report", "-w", str(root), "-o", str(root / "r-en.html")]),
        (
            "second language",
            lambda root: ["report", "--lang", "uk", "-w", str(root), "-o", str(root / "r-uk.html")],
        ),
        ("run again", lambda root: ["run", "--as-of", "latest", "-w", str(root)]),
    ]
    for label, command in steps:
        for side, src in sides.items():
            results[side][label] = timed(command(roots[side]), src)
            print(f"{side:8} {label:18} {results[side][label]}", flush=True)
    for side, src in sides.items():
        results[side]["warming"] = warm(roots[side], src)
        print(f"{side:8} {'warming':18} {results[side]['warming']}", flush=True)
    for side, src in sides.items():
        root = roots[side]
        results[side]["after serve warmed"] = timed(
            ["report", "-w", str(root), "-o", str(root / "r-w.html")], src
        )
        print(f"{side:8} {'after serve warmed':18} {results[side]['after serve warmed']}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"html_report_{args.customers}.json"
    info = {
        "customers": args.customers,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "results": results,
    }
    out.write_text(json.dumps(info, indent=2), encoding="utf-8")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
