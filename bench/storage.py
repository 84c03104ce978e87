"""The storage step of the real-time path (issue 20): the fact tables in customer order and the store's row
group size, against the batch run and a micro-batch.

For each variant, on a fresh copy of a benchmark workspace (a batch run stored): `engine.row_group_size` set,
the fact tables rewritten in customer order in row groups of that size (`segmentum.store.compact`; not for
`asis`; every other table keeps DuckDB's row groups, BENCHMARKS.md "The storage step"), then one batch run of the workspace's definitions (wall and CPU seconds, as `bench.run` times
segmentum) and `bench.microbatch` for the given sizes. Variants: `asis` (the store as it is, DuckDB's row
groups of 122,880), `sorted` (customer order, 122,880), `rg<N>` (customer order, row groups of N rows).

Usage: `python -m bench.storage --workspace bench/data/c1000000/ws --scratch /work/wt/rt-data/v
--variants asis,rg16384,rg4096 --sizes 100,1000,2000` (raw: bench/results/realtime_storage.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.data import AS_OF
from bench.microbatch import measure as measure_microbatch

DEFAULT_ROW_GROUP = 122_880


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _variant(name: str) -> tuple[int, bool]:
    """(row group size, rewritten in customer order)."""
    if name == "asis":
        return DEFAULT_ROW_GROUP, False
    if name == "sorted":
        return DEFAULT_ROW_GROUP, True
    if name.startswith("rg"):
        return int(name[2:]), True
    raise SystemExit(f"unknown variant {name!r}: asis, sorted or rg<rows>")


def one(
    source: Path, scratch: Path, name: str, sizes: list[int], memory_limit: str | None, keep: bool = False
) -> dict[str, Any]:
    from segmentum.runs.execute import run
    from segmentum.store.compact import compact
    from segmentum.workspace import Workspace

    size, ordered = _variant(name)
    ws_dir = scratch / name
    shutil.rmtree(ws_dir, ignore_errors=True)
    shutil.copytree(source, ws_dir)
    config = yaml.safe_load((ws_dir / "segmentum.yml").read_text(encoding="utf-8"))
    config["engine"] = {"name": "duckdb", "row_group_size": size}
    if memory_limit:
        config["engine"]["memory_limit"] = memory_limit
    (ws_dir / "segmentum.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    out: dict[str, Any] = {"variant": name, "row_group_size": size, "customer_order": ordered}
    try:
        ws = Workspace(ws_dir)
        try:
            if ordered:
                load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _cpu()
                done = compact(ws.store, force=True)
                out["compact"] = {
                    "wall_s": round(time.perf_counter() - wall, 2),
                    "cpu_s": round(_cpu() - cpu, 2),
                    "load": load,
                    "tables": {c.table: c.seconds for c in done},
                }
            out["row_groups"] = {
                t: ws.store.query(
                    f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('main.{t}') "
                    "WHERE column_name = 'customer_id'"
                )[0][0]
                for t in ("orders", "order_items", "events")
            }
            out["file_bytes"] = (ws_dir / "segmentum.duckdb").stat().st_size
            load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _cpu()
            result = run(ws, as_of=AS_OF)
            out["batch"] = {
                "wall_s": round(time.perf_counter() - wall, 2),
                "cpu_s": round(_cpu() - cpu, 2),
                "load": load,
                "phases": result.timings if hasattr(result, "timings") else None,
            }
            print(json.dumps(out, default=str), flush=True)
        finally:
            ws.close()
        out["microbatch"] = measure_microbatch(
            ws_dir, sizes, 1, datetime.fromisoformat(AS_OF[:19]), with_index=False
        )["samples"]
    finally:
        if not keep:
            shutil.rmtree(ws_dir, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--scratch", required=True, help="folder for the copies (one at a time)")
    parser.add_argument("--variants", default="asis,rg16384,rg4096")
    parser.add_argument("--sizes", default="100,1000,2000")
    parser.add_argument("--keep", action="store_true", help="keep each variant's workspace under --scratch")
    parser.add_argument("--memory-limit", default=None, help="engine.memory_limit of every variant")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "realtime_storage.json")
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    figures = []
    for name in args.variants.split(","):
        figures.append(one(Path(args.workspace), scratch, name, sizes, args.memory_limit, args.keep))
        print(json.dumps(figures[-1], default=str), flush=True)
        Path(args.out).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
