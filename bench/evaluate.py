"""The evaluation alone against the hand SQL's traits: `python -m bench.evaluate --workspace DIR [--repeats N]
[--profile DIR] [--memory-limit 4GB]`.

`bench.run` times whole runs (bookkeeping included) in processes of their own. This times only the query that
computes the traits, on one connection of a store `bench.run` prepared (e.g. `bench/data/c1000000_e10/ws`):
the SELECT a segmentum run of the store's definitions executes (`compiled_sql`, as_of the bench's) and the hand
SQL's `TRAITS` (`bench/sql.py`), each materialised as a temporary table, interleaved so that a busy moment hits
both. `--profile DIR` writes DuckDB's JSON profile of each side's last round there (operator by operator).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import duckdb

from bench import sql
from bench.data import AS_OF
from segmentum.runs.execute import compiled_sql
from segmentum.workspace import Workspace


def queries(workspace: Path) -> dict[str, str]:
    """{'segmentum': the run's evaluation, 'sql': the hand SQL's traits}, as SELECTs."""
    ws = Workspace(workspace)
    try:
        run = compiled_sql(ws, None, as_of=AS_OF)
    finally:
        ws.close()
    hand = sql.TRAITS.replace("$as_of", f"TIMESTAMP '{AS_OF}'")
    hand = hand[hand.index(" AS\nWITH") + len(" AS\n") :]  # the SELECT of its CREATE TABLE
    return {"segmentum": run, "sql": hand}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--memory-limit", default=None, help="DuckDB's memory_limit for both, e.g. 4GB")
    args = parser.parse_args(argv)
    selects = queries(args.workspace)
    con = duckdb.connect(str(args.workspace / "segmentum.duckdb"), read_only=True)
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    seconds: dict[str, list[float]] = {name: [] for name in selects}
    rows: dict[str, int] = {}
    for round_ in range(args.repeats):
        for name, select in selects.items():
            if args.profile and round_ == args.repeats - 1:
                args.profile.mkdir(parents=True, exist_ok=True)
                con.execute("PRAGMA enable_profiling = 'json'")
                con.execute(f"PRAGMA profiling_output = '{args.profile / (name + '.json')}'")
            mark = time.perf_counter()
            con.execute(f"CREATE OR REPLACE TEMP TABLE bench_{name} AS {select}")
            seconds[name].append(time.perf_counter() - mark)
            con.execute("PRAGMA disable_profiling")
            (rows[name],) = con.execute(f"SELECT count(*) FROM bench_{name}").fetchone() or (0,)
            con.execute(f"DROP TABLE bench_{name}")
    report = {
        "workspace": str(args.workspace),
        "rows": rows,  # one per customer on each side
        "seconds": {n: [round(s, 3) for s in v] for n, v in seconds.items()},
        "best_ratio": round(min(seconds["segmentum"]) / min(seconds["sql"]), 3),
        "median_ratio": round(statistics.median(seconds["segmentum"]) / statistics.median(seconds["sql"]), 3),
    }
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
