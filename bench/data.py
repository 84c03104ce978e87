"""Benchmark data: the demo business written as Parquet and ingested into a fresh workspace (not timed).

`python -m bench.data --customers 1000000 --events-share 0.52 --serve-ready` builds `bench/data/c1000000_e52/ws`,
the real-time issue's store (1M customers / 9.9M orders / 30M events: the demo has about 58 events per
customer), then compacts it (`segmentum compact`: the fact tables in customer order) and stores a batch
run, which is what `bench.realtime` and `bench.microbatch_cost` serve.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from segmentum.demo.generator import TABLE_NAMES, iter_demo_chunks, write_demo_parquet
from segmentum.workspace import Workspace

HERE = Path(__file__).resolve().parent
DEFINITIONS = HERE / "definitions.yml"
TABLES = ("customers", "orders", "order_items", "events")
AS_OF = "2026-10-31 23:59:59.999999"  # the demo data end on 2026-10-31 (as_of=latest)
TIMEZONE = "Europe/Kyiv"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def data_root(data_dir: Path, customers: int, events_share: float = 1.0) -> Path:
    """Where the data of a size live: `c<customers>`, `c<customers>_e<percent>` with a share of the events."""
    return data_dir / (f"c{customers}" if events_share >= 1 else f"c{customers}_e{round(events_share * 100)}")


def write_parquet(folder: Path, customers: int, seed: int, events_share: float) -> dict[str, Path]:
    """The demo tables as Parquet; with `events_share` < 1, each chunk keeps that share of its events (a
    seeded random sample): the demo has about 58 events per customer, which at 10M customers is 580M rows
    where the issue's scale is 10M customers / 100M orders."""
    if events_share >= 1:
        return write_demo_parquet(folder, customers=customers, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.parquet" for name in TABLE_NAMES}
    writers: dict[str, pq.ParquetWriter] = {}
    rng = np.random.default_rng(seed)
    try:
        for chunk in iter_demo_chunks(customers, seed):
            for name, table in chunk.items():
                if name == "events":
                    table = table.filter(rng.random(table.num_rows) < events_share)
                if name not in writers:
                    writers[name] = pq.ParquetWriter(paths[name], table.schema, compression="zstd")
                writers[name].write_table(table.cast(writers[name].schema))
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def prepare(
    root: Path, customers: int, seed: int = 7, events_share: float = 1.0, memory_limit: str | None = None
) -> dict[str, float]:
    """Build `<root>/ws` (store with the four tables and the bench definitions) and `<root>/data/*.parquet`.

    Reuses an existing complete workspace (marker file `ready`). Returns seconds per phase. `memory_limit`:
    the ingest's DuckDB limit, as `engine.memory_limit` in segmentum.yml would set it (the workspace's file
    keeps the default).
    """
    root = Path(root)
    marker = root / "ready"
    if marker.exists():
        return {}
    if root.exists():
        shutil.rmtree(root)
    times: dict[str, float] = {}
    mark = time.perf_counter()
    paths = write_parquet(root / "data", customers, seed, events_share)
    times["generate"] = time.perf_counter() - mark
    times["generate_peak_rss_mb"] = _peak_rss_mb()
    ws = Workspace.init(root / "ws", name="bench", timezone=TIMEZONE, currency="UAH")
    if memory_limit:
        ws.close()  # reopened under the limit (the store reads it when it opens)
        ws = Workspace(root / "ws")
        ws.config.engine.memory_limit = memory_limit
    try:
        shutil.copy(DEFINITIONS, ws.root / "definitions" / "bench.yml")
        mark = time.perf_counter()
        for table in TABLES:
            report = ws.ingest(table, paths[table])
            if report.rows_quarantined:
                raise RuntimeError(f"bench data: {table} quarantined rows: {report.summary()}")
        times["ingest"] = time.perf_counter() - mark
        # this process's peak so far: the ingest's when above the generator's
        times["ingest_peak_rss_mb"] = _peak_rss_mb()
    finally:
        ws.close()
    marker.write_text("ok\n")
    return times


def serve_ready(ws_root: Path) -> dict[str, float]:
    """Compact the workspace's fact tables and store a batch run at the end of the data (seconds of each)."""
    from segmentum.store.compact import compact

    times: dict[str, float] = {}
    with Workspace(ws_root) as ws:
        mark = time.perf_counter()
        compact(ws.store)
        times["compact"] = time.perf_counter() - mark
        mark = time.perf_counter()
        ws.run(as_of=AS_OF, triggers=False)
        times["run"] = time.perf_counter() - mark
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--events-share", type=float, default=1.0, help="the share of the demo's events kept")
    parser.add_argument("--data-dir", default=str(HERE / "data"))
    parser.add_argument("--serve-ready", action="store_true", help="then compact and store a batch run")
    args = parser.parse_args(argv)
    root = data_root(Path(args.data_dir), args.customers, args.events_share)
    times = prepare(root, args.customers, events_share=args.events_share)
    if args.serve_ready:
        times |= serve_ready(root / "ws")
    print(json.dumps({"workspace": str(root / "ws"), **{k: round(v, 1) for k, v in times.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
