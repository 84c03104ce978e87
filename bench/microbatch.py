"""One micro-batch of the real-time path, by the number of touched customers, and what reading only their rows
could save (issue 20).

On a copy of a benchmark workspace (a batch run stored), for each size and repeat, interleaved:

- `evaluate`: `runs.realtime.Evaluator.evaluate` for random existing customers (compiled once per definitions
  fingerprint and day, the ids a table joined in), with its timings (compile, evaluate, write, commit, diff);
- `query: whole store` / `query: touched rows only`: the micro-batch's SQL for the same customers, run into a
  temporary table, once against the store with DuckDB's default settings, once against the store with
  `dynamic_or_filter_threshold` raised to the number of ids as a micro-batch sets it (`query_whole_store_or_filter`:
  the join's IN list reaches the scans' zonemaps), and once against temporary copies of `customers`, `orders`,
  `order_items` and `events` that hold only the touched customers' rows (made beforehand, not timed): the
  last is the floor any storage that reads only the touched rows (index, order, side table) could reach;
- `index`: how long `customer_id IN (<n ids>)` on a fact table takes without and with an ART index on
  customer_id, whether the plan turned the list into a join (`in_list_as_join`: DuckDB does so from 5 values
  on), and the same read as one `customer_id = ?` per id;
- `scans` (`--scan-repeats`): each fact table's read for the touched customers alone, with DuckDB's default
  `dynamic_or_filter_threshold` and with the ids pushed into the scan as a micro-batch does;
- `evaluate_before`: the same micro-batch (other random customers of the same size) with the query reading the
  store's tables (`Evaluator(staged=False)`, the path before staging), interleaved with `evaluate` (the staged
  path), which goes first alternating by round;
- `query: staged`: the micro-batch's staged SQL (`read_staged`) for the same customers: the staging
  (`_BoundEngine`, one pruned scan per table, timed apart) then the query on the staged tables; its result is
  checked against the whole store's;
- `stages` (`--stage-repeats`, `--stage-sizes`): the staging alone for random customers, with the ids pushed
  into its scans and with DuckDB's default, alternating which goes first (wall and CPU seconds of the process).

`--in-place` measures the workspace given, not a copy of it (a scratch copy already: the micro-batches write
their runs into it).

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
from segmentum.runs.realtime import (
    OR_FILTER_SETTING,
    TOUCHED,
    Evaluator,
    _BoundEngine,
    pushed_ids_cap,
    read_staged,
)
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


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _staged_query(
    cur: Any,
    sql: str,
    ids: list[str],
    as_of: datetime,
    cap: int,
    columns: dict[str, tuple[str, ...]],
) -> tuple[float, float, int, pd.DataFrame]:
    """(staging seconds, query seconds, orders fetched, result) of the staged SQL as a micro-batch runs it
    (`cap`: `pushed_ids_cap`)."""
    engine = _BoundEngine(read_staged(sql), ids, as_of, cap, columns)
    try:
        mark = time.perf_counter()
        staged_sql = engine.result_sql(None, cur)
        stage_s = round(time.perf_counter() - mark, 4)
        query_s, frame = _timed(cur, staged_sql)
        return stage_s, query_s, engine.orders_fetched, frame
    finally:
        engine.release()
        cur.register(TOUCHED, pa.table({"customer_id": pa.array(ids, pa.string())}))  # the other variants'


def _stages(
    ws: Workspace,
    sql: str,
    ids_all: list[str],
    rng: random.Random,
    sizes: list[int],
    repeats: int,
    as_of: datetime,
    columns: dict[str, tuple[str, ...]],
) -> list[dict[str, Any]]:
    """The staging alone (every table the staged SQL reads) for random customers, with the ids pushed into
    its scans (the cap raised to the number of ids) and with DuckDB's default; which goes first alternates."""
    out: list[dict[str, Any]] = []
    staged_sql = read_staged(sql)
    for round_ in range(repeats):
        for n in sizes:
            ids = rng.sample(ids_all, n)
            row: dict[str, Any] = {"stage_ids": n, "round": round_, "load_average": os.getloadavg()[0]}
            for pushed in (round_ % 2 == 0, round_ % 2 == 1):
                cur = ws.store.cursor()
                engine = _BoundEngine(staged_sql, ids, as_of, n if pushed else 0, columns)
                try:
                    mark, cpu = time.perf_counter(), _cpu()
                    engine.result_sql(None, cur)
                    key = "pushed" if pushed else "default"
                    row[f"{key}_s"] = round(time.perf_counter() - mark, 4)
                    row[f"{key}_cpu_s"] = round(_cpu() - cpu, 3)
                    row[f"{key}_rows"] = {
                        t: cur.execute(f'SELECT count(*) FROM "temp"."main"."_sgm_staged_{t}"').fetchone()[0]
                        for t in engine.tables
                    }
                finally:
                    engine.release()
                    cur.close()
            assert row["pushed_rows"] == row["default_rows"]
            out.append(row)
            print(json.dumps(row), flush=True)
    return out


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


def _scans(
    ws: Workspace, ids_all: list[str], rng: random.Random, sizes: list[int], repeats: int
) -> list[dict]:
    """Each fact table's read for random touched customers (a join on the touched-ids table, every column
    read through an aggregate), with DuckDB's default `dynamic_or_filter_threshold` and with it raised to the
    number of ids as a micro-batch sets it; the order of the two alternates by round (the first warms the
    second's reads). Both must count the same rows."""
    cur = ws.store.cursor()
    out: list[dict[str, Any]] = []
    for round_ in range(repeats):
        for n in sizes:
            ids = rng.sample(ids_all, n)
            cur.register(TOUCHED, pa.table({"customer_id": pa.array(ids, pa.string())}))
            for name in FACTS[1:]:
                columns = [r[0] for r in cur.execute(f"DESCRIBE main.{name}").fetchall()]
                reads = ", ".join(f'max(t."{c}")::VARCHAR' for c in columns)
                sql = (
                    f"SELECT count(*), {reads} FROM main.{name} t "
                    f"JOIN {TOUCHED} k ON t.customer_id = k.customer_id"
                )
                row: dict[str, Any] = {"scan": name, "ids": n, "round": round_}
                results = {}
                for pushed in (round_ % 2 == 1, round_ % 2 == 0):
                    if pushed:
                        cur.execute(f"SET {OR_FILTER_SETTING} = {max(50, n)}")
                    mark = time.perf_counter()
                    results[pushed] = cur.execute(sql).fetchall()
                    row["pushed_s" if pushed else "default_s"] = round(time.perf_counter() - mark, 4)
                    cur.execute(f"RESET {OR_FILTER_SETTING}")
                assert results[True] == results[False], name
                out.append(row)
                print(json.dumps(row), flush=True)
            cur.unregister(TOUCHED)
    cur.close()
    return out


def measure(
    source_ws: Path,
    sizes: list[int],
    repeats: int,
    as_of: datetime,
    *,
    with_index: bool = True,
    scan_repeats: int = 0,
    stage_repeats: int = 0,
    stage_sizes: list[int] | None = None,
    in_place: bool = False,
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_mb_"))
    try:
        if in_place:
            ws = Workspace(source_ws)
        else:
            shutil.copytree(source_ws, tmp / "ws")
            ws = Workspace(tmp / "ws")
        try:
            ids_all = [r[0] for r in ws.store.query("SELECT customer_id FROM main.customers")]
            evaluator = Evaluator(ws)
            before = Evaluator(ws, evaluator.definitions, staged=False)
            rng = random.Random(20)
            evaluator.evaluate(rng.sample(ids_all, 10), as_of)  # compiles: not measured
            before.evaluate(rng.sample(ids_all, 10), as_of)
            defs = evaluator.definitions.current()
            # the micro-batch's SQL reading the store (`read_staged` makes the staged one of it)
            _, sql = evaluator.sql(defs, execute.definitions_at(ws, defs, as_of), as_of, staged=False)
            columns = evaluator.staged_columns(read_staged(sql))
            print(json.dumps({"staged_columns": columns}), flush=True)
            samples: list[dict[str, Any]] = []
            for round_ in range(repeats):
                for n in sizes:
                    ids = rng.sample(ids_all, n)
                    sample: dict[str, Any] = {"customers": n, "load_average": os.getloadavg()[0]}
                    # the staged path and the one before it, on other customers of the same number
                    for staged in (round_ % 2 == 0, round_ % 2 == 1):
                        who, prefix = (
                            (ids, "evaluate") if staged else (rng.sample(ids_all, n), "evaluate_before")
                        )
                        mark, cpu = time.perf_counter(), _cpu()
                        result = (evaluator if staged else before).evaluate(who, as_of)
                        sample[f"{prefix}_total_s"] = round(time.perf_counter() - mark, 4)
                        sample[f"{prefix}_cpu_s"] = round(_cpu() - cpu, 3)
                        sample |= {f"{prefix}_{k}_s": v for k, v in (result.timings or {}).items()}
                    cur = ws.store.cursor()
                    cur.register(TOUCHED, pa.table({"customer_id": pa.array(ids, pa.string())}))
                    narrow = _touched_only(cur, sql)
                    # which of the two goes first alternates by round: the first one warms the second's reads
                    for push in (round_ % 2 == 1, round_ % 2 == 0):
                        if (
                            push
                        ):  # whatever the micro-batch's cap (MAX_PUSHED_IDS): what pushing costs or saves
                            cur.execute(f"SET {OR_FILTER_SETTING} = {max(50, n)}")
                            pushed_s, pushed = _timed(cur, sql)
                            cur.execute(f"RESET {OR_FILTER_SETTING}")
                        else:
                            whole_s, whole = _timed(cur, sql)
                    narrow_s, same = _timed(cur, narrow)
                    stage_s, staged_s, fetched, staged_frame = _staged_query(
                        cur, sql, ids, as_of, pushed_ids_cap(ws.store), columns
                    )
                    # equal up to the last bits of floating-point sums (aggregated in another order)
                    pd.testing.assert_frame_equal(whole, same, check_exact=False, rtol=1e-9)
                    pd.testing.assert_frame_equal(whole, pushed, check_exact=False, rtol=1e-9)
                    pd.testing.assert_frame_equal(whole, staged_frame, check_exact=False, rtol=1e-9)
                    sample |= {
                        "query_whole_store_s": whole_s,
                        "query_whole_store_or_filter_s": pushed_s,
                        "query_touched_rows_only_s": narrow_s,
                        "query_staged_stage_s": stage_s,
                        "query_staged_query_s": staged_s,
                        "query_staged_s": round(stage_s + staged_s, 4),
                        "query_staged_orders_fetched": fetched,
                    }
                    cur.close()
                    samples.append(sample)
                    print(json.dumps(sample), flush=True)
            index = _index(ws, ids_all, rng) if with_index else []
            scans = _scans(ws, ids_all, rng, sizes, scan_repeats) if scan_repeats else []
            stages = (
                _stages(ws, sql, ids_all, rng, stage_sizes or sizes, stage_repeats, as_of, columns)
                if stage_repeats
                else []
            )
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
        "scans": scans,
        "stages": stages,
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
    parser.add_argument("--no-index", action="store_true", help="skip the ART index measurements")
    parser.add_argument(
        "--scan-repeats", type=int, default=0, help="rounds of each fact table's read, default vs ids pushed"
    )
    parser.add_argument(
        "--stage-repeats", type=int, default=0, help="rounds of the staging alone, ids pushed vs default"
    )
    parser.add_argument("--stage-sizes", default=None, help="touched customers for --stage-repeats")
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="measure the workspace given (a scratch copy), not a copy of it",
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    figures = measure(
        Path(args.workspace),
        [int(s) for s in args.sizes.split(",")],
        args.repeats,
        datetime.fromisoformat(args.as_of),
        with_index=not args.no_index,
        scan_repeats=args.scan_repeats,
        stage_repeats=args.stage_repeats,
        stage_sizes=[int(s) for s in args.stage_sizes.split(",")] if args.stage_sizes else None,
        in_place=args.in_place,
    )
    figures["load_average_before"] = load_before
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
