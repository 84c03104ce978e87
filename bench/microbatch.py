"""One micro-batch of the real-time path, by the number of touched customers, and what reading only their rows
could save (issue 20).

On a copy of a benchmark workspace (a batch run stored), for each size and repeat, interleaved:

- `evaluate`: `runs.realtime.Evaluator.evaluate` for random existing customers (compiled once per definitions
  fingerprint and day, the ids a table joined in), with its timings (compile, evaluate, write, commit, diff);
- `query: whole store` / `query: touched rows only`: the micro-batch's SQL for the same customers, run into a
  temporary table, once against the store and once against temporary copies of `customers`, `orders`,
  `order_items` and `events` that hold only the touched customers' rows (made beforehand, not timed): the
  second is the floor any storage that reads only the touched rows (index, order, side table) could reach;
- `index`: how long `customer_id IN (<n ids>)` on a fact table takes without and with an ART index on
  customer_id, whether the plan turned the list into a join (`in_list_as_join`: DuckDB does so from 5 values
  on), and the same read as one `customer_id = ?` per id.

Usage: `python -m bench.microbatch --workspace bench/data/c100000/ws --sizes 10,100,1000,10000 --repeats 2`
(raw: bench/results/realtime_microbatch.json).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from segmentum.runs import execute
from segmentum.runs.realtime import TOUCHED, Evaluator
from segmentum.workspace import Workspace

FACTS = ("customers", "orders", "order_items", "events")


def _touched_only(cur: Any, sql: str) -> str:
    """`sql` reading temporary copies of the fact tables that hold only the touched customers' rows (an
    order of another customer is kept when a touched customer's item belongs to it, so the result is exact)."""
    touched = f"(SELECT customer_id FROM {TOUCHED})"
    for name in FACTS:
        extra = (
            f" OR order_id IN (SELECT order_id FROM main.order_items WHERE customer_id IN {touched})"
            if name == "orders"
            else ""
        )
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _bench_{name} AS "
            f"SELECT * FROM main.{name} WHERE customer_id IN {touched}{extra}"
        )
        sql = sql.replace(f'FROM "main"."{name}"', f'FROM "_bench_{name}"')
    return sql


def _timed(cur: Any, sql: str) -> tuple[float, pd.DataFrame]:
    mark = time.perf_counter()
    cur.execute(f"CREATE OR REPLACE TEMP TABLE _bench_result AS {sql}")
    seconds = time.perf_counter() - mark
    return round(seconds, 4), cur.execute("SELECT * FROM _bench_result ORDER BY customer_id").df()


def _index(ws: Workspace, ids_all: list[str], rng: random.Random) -> list[dict[str, Any]]:
    cur = ws.store.cursor()
    out: list[dict[str, Any]] = []
    for indexed in (False, True):
        if indexed:
            for name in FACTS[1:]:
                mark = time.perf_counter()
                cur.execute(f"CREATE INDEX IF NOT EXISTS bench_{name}_customer ON main.{name} (customer_id)")
                out.append({"create_index": name, "seconds": round(time.perf_counter() - mark, 3)})
        for n in (1, 4, 5, 10, 100):
            ids = rng.sample(ids_all, n)
            listed = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
            for name in FACTS[1:]:
                sql = f"SELECT * FROM main.{name} WHERE customer_id IN ({listed})"
                plan = "\n".join(str(r[1]) for r in cur.execute(f"EXPLAIN {sql}").fetchall())
                mark = time.perf_counter()
                rows = len(cur.execute(sql).fetchall())
                seconds = round(time.perf_counter() - mark, 4)
                # one `customer_id = ?` read per id: the form the index does answer
                mark = time.perf_counter()
                for one in ids:
                    cur.execute(f"SELECT * FROM main.{name} WHERE customer_id = ?", [one]).fetchall()
                out.append(
                    {
                        "indexed": indexed,
                        "ids": n,
                        "table": name,
                        "rows": rows,
                        "seconds": seconds,
                        "seconds_one_read_per_id": round(time.perf_counter() - mark, 4),
                        "in_list_as_join": "MARK" in plan,
                    }
                )
    return out


def measure(source_ws: Path, sizes: list[int], repeats: int, as_of: datetime) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_mb_"))
    try:
        shutil.copytree(source_ws, tmp / "ws")
        ws = Workspace(tmp / "ws")
        try:
            ids_all = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
            evaluator = Evaluator(ws)
            rng = random.Random(20)
            evaluator.evaluate(rng.sample(ids_all, 10), as_of)  # compiles: not measured
            samples: list[dict[str, Any]] = []
            for _ in range(repeats):
                for n in sizes:
                    ids = rng.sample(ids_all, n)
                    mark = time.perf_counter()
                    result = evaluator.evaluate(ids, as_of)
                    sample: dict[str, Any] = {
                        "customers": n,
                        "evaluate_total_s": round(time.perf_counter() - mark, 4),
                        **{f"evaluate_{k}_s": v for k, v in (result.timings or {}).items()},
                    }
                    defs = evaluator.definitions.current()
                    _, sql = evaluator.sql(defs, execute.definitions_at(ws, defs, as_of), as_of)
                    cur = ws.store.cursor()
                    cur.register(TOUCHED, pa.table({"customer_id": pa.array(ids, pa.string())}))
                    narrow = _touched_only(cur, sql)
                    whole_s, whole = _timed(cur, sql)
                    narrow_s, same = _timed(cur, narrow)
                    # equal up to the last bits of floating-point sums (aggregated in another order)
                    pd.testing.assert_frame_equal(whole, same, check_exact=False, rtol=1e-9)
                    sample |= {"query_whole_store_s": whole_s, "query_touched_rows_only_s": narrow_s}
                    cur.close()
                    samples.append(sample)
                    print(json.dumps(sample), flush=True)
            index = _index(ws, ids_all, rng)
            for row in index:
                print(json.dumps(row), flush=True)
            facts = {t: ws.store.query(f"SELECT count(*) FROM main.{t}")[0][0] for t in FACTS}
        finally:
            ws.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "workspace": str(source_ws),
        "as_of": as_of.isoformat(),
        "rows": facts,
        "load_average": os.getloadavg(),
        "samples": samples,
        "index": index,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--sizes", default="10,100,1000,10000", help="touched customers, comma-separated")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--as-of", default="2026-10-31T12:00:00", help="the micro-batches' as_of")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "realtime_microbatch.json")
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    figures = measure(
        Path(args.workspace),
        [int(s) for s in args.sizes.split(",")],
        args.repeats,
        datetime.fromisoformat(args.as_of),
    )
    figures["load_average_before"] = load_before
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
