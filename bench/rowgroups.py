"""Row group sizes per fact table, side by side in one store (issue 20): what a micro-batch's staging scans
read, what a micro-batch and a batch run cost, with each table in its current row groups and in smaller ones.

On a scratch copy of a compacted workspace (a batch run stored; the copy is changed), in one process:

1. `prepare`: for each `--candidates` entry `table=rows`, a copy of `main.<table>` in customer order written in
   row groups of `rows` (`Store.writing_row_groups`), kept beside it as `main._rg_<table>` (wall and CPU
   seconds, peak memory of the process, row groups);
2. `scans`: for random customers of each `--sizes`, the staging scan of each table (`CREATE TEMP TABLE ... AS
   SELECT <the columns a micro-batch stages> FROM main.<t> WHERE customer_id IN (...)`, the ids pushed as
   `_BoundEngine._push` does), on the current table and on its candidate, the same ids, alternating which goes
   first; wall and CPU seconds, and the rows the scan read (DuckDB's JSON profile, `operator_rows_scanned`);
3. `microbatch`/`batch`: `Evaluator.evaluate` for random customers of each size, and one batch run of the
   workspace (`runs.execute.run`), with the current tables and with the candidates swapped in (renamed, one
   transaction), alternating by round.

Usage: `python -m bench.rowgroups --workspace <scratch copy> --candidates orders=2048,order_items=4096
--sizes 100,1000,2000 --repeats 2 --batch-repeats 1` (raw: bench/results/realtime_rowgroups.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.data import AS_OF
from segmentum.runs.realtime import OR_FILTER_SETTING, Evaluator
from segmentum.sql import ident
from segmentum.workspace import Workspace

CANDIDATE = "_rg_"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_gb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2)


def _row_groups(ws: Workspace, table: str) -> int:
    rows = ws.store.query(
        f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('main.{table}') "
        "WHERE column_name = 'customer_id'"
    )
    return int(rows[0][0])


def prepare(ws: Workspace, candidates: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table, size in candidates.items():
        name = CANDIDATE + table
        if ws.store.table_exists(name):
            out[table] = {"row_group_size": size, "reused": True, "row_groups": _row_groups(ws, name)}
            continue
        load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _cpu()
        # the current table is in customer order already (compacted): a plain copy keeps its order
        with ws.store.writing_row_groups(size):
            ws.store.cursor().execute(f"CREATE TABLE main.{ident(name)} AS SELECT * FROM main.{ident(table)}")
        out[table] = {
            "row_group_size": size,
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(_cpu() - cpu, 2),
            "load": load,
            "peak_rss_gb": _peak_rss_gb(),
            "row_groups": _row_groups(ws, name),
            "row_groups_current": _row_groups(ws, table),
        }
        print(json.dumps({"prepared": table, **out[table]}), flush=True)
    return out


def _profiled(cur: Any, sql: str, profile: Path) -> dict[str, Any]:
    cur.execute("SET enable_profiling = 'json'")
    cur.execute(f"SET profiling_output = '{profile}'")
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _cpu()
    cur.execute(sql)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    cur.execute("SET enable_profiling = 'no_output'")
    tree = json.loads(profile.read_text(encoding="utf-8"))
    scanned: list[int] = []

    def walk(node: dict[str, Any]) -> None:
        info = node.get("extra_info") or {}
        if node.get("operator_type") == "TABLE_SCAN" and str(info.get("Table", "")).endswith(".main._ids"):
            return
        if node.get("operator_type") == "TABLE_SCAN":
            scanned.append(int(node.get("operator_rows_scanned", 0)))
        for child in node.get("children", []):
            walk(child)

    walk(tree)
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "rows_scanned": sum(scanned), "load": load}


def scans(
    ws: Workspace, tables: list[str], columns: dict[str, tuple[str, ...]], sizes: list[int], repeats: int
) -> list[dict[str, Any]]:
    customers = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
    rng = random.Random(20)
    out: list[dict[str, Any]] = []
    profile = Path(tempfile.mkdtemp()) / "profile.json"
    for round_ in range(repeats):
        for size in sizes:
            ids = rng.sample(customers, size)
            cur = ws.store.cursor()
            cur.register("_ids_arrow", pa.table({"customer_id": pa.array(ids, pa.string())}))
            cur.execute("CREATE OR REPLACE TEMP TABLE _ids AS SELECT * FROM _ids_arrow")
            cur.execute(f"SET {OR_FILTER_SETTING} = {max(50, size)}")
            for table in tables:
                select = ", ".join(ident(c) for c in columns.get(table, ("*",))) if table in columns else "*"
                variants = [table, CANDIDATE + table]
                if round_ % 2:
                    variants.reverse()
                for variant in variants:
                    figures = _profiled(
                        cur,
                        f"CREATE OR REPLACE TEMP TABLE _staged AS SELECT {select} FROM main.{ident(variant)} "
                        "WHERE customer_id IN (SELECT customer_id FROM _ids)",
                        profile,
                    )
                    (staged,) = cur.execute("SELECT count(*) FROM _staged").fetchone()
                    row = {"round": round_, "size": size, "table": table, "variant": variant, "rows": staged}
                    out.append({**row, **figures})
                    print(json.dumps(out[-1]), flush=True)
            cur.execute(f"RESET {OR_FILTER_SETTING}")
            cur.execute("DROP TABLE IF EXISTS _staged")
            cur.execute("DROP TABLE IF EXISTS _ids")
    return out


def swap(ws: Workspace, tables: list[str]) -> None:
    """Each table and its candidate exchange names (one transaction)."""
    with ws.store.transaction() as cur:
        for table in tables:
            cur.execute(f"ALTER TABLE main.{ident(table)} RENAME TO _rg_swap")
            cur.execute(f"ALTER TABLE main.{ident(CANDIDATE + table)} RENAME TO {ident(table)}")
            cur.execute(f"ALTER TABLE main._rg_swap RENAME TO {ident(CANDIDATE + table)}")


def runs(
    ws: Workspace, tables: list[str], sizes: list[int], repeats: int, batch_repeats: int, as_of: datetime
) -> dict[str, list[dict[str, Any]]]:
    from segmentum.runs.execute import run

    customers = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
    rng = random.Random(21)
    evaluator = Evaluator(ws)
    evaluator.evaluate(rng.sample(customers, 10), as_of)  # compiled once, not timed
    micro: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    swapped = False
    try:
        for round_ in range(max(repeats, batch_repeats)):
            for turn in range(2):
                if swapped != bool((round_ + turn) % 2):  # round 0: current, candidates; round 1: reversed
                    swap(ws, tables)
                    swapped = not swapped
                state = "candidates" if swapped else "current"
                for size in sizes if round_ < repeats else []:
                    ids = rng.sample(customers, size)
                    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _cpu()
                    result = evaluator.evaluate(ids, as_of, details=False)
                    micro.append(
                        {
                            "round": round_,
                            "size": size,
                            "state": state,
                            "wall_s": round(time.perf_counter() - wall, 3),
                            "cpu_s": round(_cpu() - cpu, 3),
                            "stage_s": result.timings.get("stage") if result.timings else None,
                            "load": load,
                        }
                    )
                    print(json.dumps(micro[-1]), flush=True)
                if round_ < batch_repeats:
                    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), _cpu()
                    run(ws, as_of=as_of)
                    batch.append(
                        {
                            "round": round_,
                            "state": state,
                            "wall_s": round(time.perf_counter() - wall, 2),
                            "cpu_s": round(_cpu() - cpu, 2),
                            "load": load,
                        }
                    )
                    print(json.dumps(batch[-1]), flush=True)
    finally:
        if swapped:
            swap(ws, tables)
    return {"microbatch": micro, "batch": batch}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workspace", required=True, help="a scratch copy of a compacted workspace (changed)"
    )
    parser.add_argument("--candidates", default="orders=2048,order_items=4096", help="table=rows,...")
    parser.add_argument("--sizes", default="100,1000,2000")
    parser.add_argument(
        "--run-sizes", default=None, help="touched customers of the micro-batches (default: --sizes)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the scans and the micro-batches")
    parser.add_argument("--batch-repeats", type=int, default=1, help="rounds of the batch run (each state)")
    parser.add_argument("--steps", default="prepare,scans,runs")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "realtime_rowgroups.json")
    )
    args = parser.parse_args(argv)
    candidates = {k: int(v) for k, v in (pair.split("=") for pair in args.candidates.split(","))}
    sizes = [int(s) for s in args.sizes.split(",")]
    steps = args.steps.split(",")
    as_of = datetime.fromisoformat(AS_OF[:19])
    figures: dict[str, Any] = {"candidates": candidates, "load_average_before": os.getloadavg()}
    ws = Workspace(Path(args.workspace))
    try:
        if "prepare" in steps:
            figures["prepare"] = prepare(ws, candidates)
        tables = list(candidates)
        if "scans" in steps:
            # the columns a micro-batch stages of each table (`staged_columns`), from one evaluation
            evaluator = Evaluator(ws)
            customers = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers LIMIT 1000")]
            evaluator.evaluate(customers[:10], as_of, details=False)
            columns = evaluator._cached.columns if evaluator._cached else {}
            figures["staged_columns"] = columns
            figures["scans"] = scans(ws, tables, columns, sizes, args.repeats)
        if "runs" in steps:
            run_sizes = [int(s) for s in args.run_sizes.split(",")] if args.run_sizes else sizes
            figures.update(runs(ws, tables, run_sizes, args.repeats, args.batch_repeats, as_of))
    finally:
        ws.close()
    figures["load_average_after"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
