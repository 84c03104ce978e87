"""A 6-month monthly backfill, two codes side by side: `python -m bench.backfill --before-src DIR [--customers N]`.

Builds the demo workspace once (`segmentum demo`, cached under bench/data/), copies it twice, and runs
`backfill(ws, FROM, TO, "1m")` on each copy at the same time in its own process: one with DIR (the code
before, e.g. `git archive COMMIT src | tar -x -C DIR`) first on PYTHONPATH, one with this tree's src/. Prints
and stores (bench/results/backfill-N.json) each side's wall and CPU seconds and compile seconds per point,
and checks that the two sides' runs hold identical memberships and traits.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
RESULTS = HERE / "results"

SIDE = r"""
import json, resource, sys, time
from datetime import date
from segmentum.runs.backfill import backfill
from segmentum.workspace import Workspace
root, start, end = sys.argv[1], date.fromisoformat(sys.argv[2]), date.fromisoformat(sys.argv[3])
mark = time.perf_counter()
with Workspace(root) as ws:
    results = backfill(ws, start, end, "1m", progress=lambda d, t, label, *_: print(f"{d}/{t} {label}", file=sys.stderr, flush=True))
    wall = time.perf_counter() - mark
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "runs": [r.run_id for r in results],
                  "compile_s": [r.timings.get("compile") for r in results]}))
"""


def prepare(customers: int) -> Path:
    root = DATA / f"backfill-demo-{customers}"
    if not (root / "segmentum.yml").exists():
        DATA.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "segmentum.cli.main",
                "demo",
                "--customers",
                str(customers),
                "--no-report",
                "-d",
                str(root),
            ],
            check=True,
        )
    return root


def identical(a: Path, b: Path, runs: list[int]) -> bool:
    from segmentum.store import snapshots
    from segmentum.workspace import Workspace

    with Workspace(a, read_only=True) as left, Workspace(b, read_only=True) as right:
        for run_id in runs:
            for read in (snapshots.memberships, snapshots.traits):
                x, y = read(left.store, run_id), read(right.store, run_id)
                keys = [c for c in ("customer_id", "name") if c in x.columns]
                x = x.sort_values(keys).reset_index(drop=True)
                y = y.sort_values(keys).reset_index(drop=True)
                if not x.astype(str).equals(y.astype(str)):
                    return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--before-src", required=True)
    parser.add_argument("--from", dest="start", default="2026-05-01")
    parser.add_argument("--to", dest="end", default="2026-10-31")
    args = parser.parse_args()
    demo = prepare(args.customers)
    work = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    sides = {"before": str(Path(args.before_src).resolve()), "after": str(ROOT / "src")}
    procs = {}
    load_start = os.getloadavg()
    for side, src in sides.items():
        copy = work / side
        shutil.copytree(demo, copy)
        env = {**os.environ, "PYTHONPATH": src}
        procs[side] = subprocess.Popen(
            [sys.executable, "-c", SIDE, str(copy), args.start, args.end],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
    out = {}
    for side, proc in procs.items():
        stdout, _ = proc.communicate()
        assert proc.returncode == 0, side
        out[side] = json.loads(stdout.strip().splitlines()[-1])
    runs = out["after"]["runs"]
    assert runs == out["before"]["runs"]
    out["identical"] = identical(work / "before", work / "after", runs)
    out["load"] = {"start": load_start, "end": os.getloadavg()}
    out["customers"] = args.customers
    out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(json.dumps(out, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"backfill-{args.customers}.json").write_text(json.dumps(out, indent=1))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
