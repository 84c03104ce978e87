"""Ingest speed, side by side in one run (DESIGN section 8, issue 16): `segmentum` ingest of an orders CSV
(detection, typing, quarantine and derived customers included) against DuckDB's own `read_csv` into a table.

    python -m bench.ingest --rows 1000000 --repeat 3

Each side loads the same file into a fresh DuckDB file, in this process, one after the other; the best and
the median of `--repeat` rounds are reported with the ratios, best against best and median against median
(target: segmentum at no less than 1/3 of DuckDB's speed, i.e. a ratio of at most 3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb


def write_orders(path: Path, rows: int, seed: int = 7) -> None:
    """An orders export: ids, customers, ISO timestamps, amounts with 2 decimals, a status."""
    rng = random.Random(seed)
    statuses = ["", "", "", "cancelled", "returned"]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("order_id,customer_id,ordered_at,amount,status\n")
        for i in range(rows):
            day = rng.randrange(730)
            fh.write(
                f"O{i:08d},C{rng.randrange(rows // 10 + 1):07d},"
                f"{2023 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 28:02d} "
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:00,"
                f"{rng.randrange(1, 100_000) / 100:.2f},{statuses[rng.randrange(5)]}\n"
            )


def time_duckdb(csv: Path, work: Path) -> float:
    db = work / "duckdb.duckdb"
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{csv}')")
    con.close()
    return time.perf_counter() - started


def time_segmentum(csv: Path, work: Path) -> tuple[float, str]:
    from segmentum.ingest.load import ingest
    from segmentum.workspace import Workspace

    root = work / "ws"
    shutil.rmtree(root, ignore_errors=True)
    ws = Workspace.init(root)
    _ = ws.store.con  # opening the store is not ingest
    started = time.perf_counter()
    report = ingest(ws, "orders", csv)
    elapsed = time.perf_counter() - started
    ws.close()
    return elapsed, report.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="segmentum-bench-ingest-") as tmp:
        work = Path(tmp)
        csv = work / "orders.csv"
        write_orders(csv, args.rows)
        size_mb = csv.stat().st_size / 1e6
        duck, seg, summary = [], [], ""
        for _ in range(args.repeat):
            duck.append(time_duckdb(csv, work))
            elapsed, summary = time_segmentum(csv, work)
            seg.append(elapsed)
    result = {
        "rows": args.rows,
        "file_mb": round(size_mb, 1),
        "duckdb_read_csv_s": {"best": round(min(duck), 2), "median": round(statistics.median(duck), 2)},
        "segmentum_ingest_s": {"best": round(min(seg), 2), "median": round(statistics.median(seg), 2)},
        "ratio_best": round(min(seg) / min(duck), 2),
        "ratio_median": round(statistics.median(seg) / statistics.median(duck), 2),
        "segmentum_summary": summary,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"duckdb {duckdb.__version__}",
        # the cores may be shared: the load average says how busy they were (compare ratios, not seconds)
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "command": f"python -m bench.ingest --rows {args.rows} --repeat {args.repeat}",
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
