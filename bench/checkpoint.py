"""What a checkpoint of a served store costs, against what it writes (issue 20).

On a copy of a benchmark workspace (a batch run stored), the server's own micro-batch (`Runtime._evaluate` after
the events' append, as `bench.microbatch_cost` runs it) `--batches` times for `--size` random existing customers
with DuckDB's automatic checkpoints off, then one `CHECKPOINT`, timed, with the write-ahead log's size before it;
`--rounds` times. A cost that stays the same whatever the log holds is a fixed cost per checkpoint: the fewer
checkpoints a server makes (`serve.checkpoint_wal`), the less it pays.

Usage: `python -m bench.checkpoint --workspace bench/data/c1000000/ws --batches 20,100 --rounds 2`
(the workspace is copied first unless `--in-place`).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from segmentum.runs.realtime import EventRow, now_wall_clock
from segmentum.service.runtime import Runtime
from segmentum.workspace import Workspace


def measure(root: Path, batches: list[int], rounds: int, size: int, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    with Workspace(root) as ws:
        store = ws.store
        customers = [r[0] for r in store.query("SELECT customer_id FROM main.customers")]
        runtime = Runtime(ws, realtime=False)
        store.cursor().execute("SET GLOBAL checkpoint_threshold = '1TB'")  # only the timed ones
        runtime.live.load()
        store.cursor().execute("CHECKPOINT")
        for _ in range(rounds):
            for n in batches:
                for _ in range(n):
                    ids = rng.sample(customers, size)
                    runtime.events.append(EventRow(c, "cart_add", now_wall_clock(runtime.zone)) for c in ids)
                    runtime._evaluate(ids, now_wall_clock(runtime.zone))
                (wal,) = store.query(
                    "SELECT wal_size FROM pragma_database_size() WHERE database_name = current_database()"
                )[0]
                started = time.perf_counter()
                store.cursor().execute("CHECKPOINT")
                row = {
                    "micro_batches": n,
                    "wal": wal,
                    "checkpoint_s": round(time.perf_counter() - started, 3),
                }
                print(json.dumps(row), flush=True)
                out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", required=True)
    parser.add_argument(
        "--batches", default="20,100", help="micro-batches before each checkpoint, comma-separated"
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", type=int, default=700, help="customers per micro-batch")
    parser.add_argument("--in-place", action="store_true", help="write into --workspace (a scratch copy)")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    if args.in_place:
        measure(Path(args.workspace), batches, args.rounds, args.size)
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_checkpoint_"))
    try:
        shutil.copytree(args.workspace, tmp / "ws")
        measure(tmp / "ws", batches, args.rounds, args.size)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
