"""Benchmark data: the demo business written as Parquet and ingested into a fresh workspace (not timed)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from segmentum.demo.generator import write_demo_parquet
from segmentum.workspace import Workspace

HERE = Path(__file__).resolve().parent
DEFINITIONS = HERE / "definitions.yml"
TABLES = ("customers", "orders", "order_items", "events")
AS_OF = "2026-10-31 23:59:59.999999"  # the demo data end on 2026-10-31 (as_of=latest)
TIMEZONE = "Europe/Kyiv"


def prepare(root: Path, customers: int, seed: int = 7) -> dict[str, float]:
    """Build `<root>/ws` (store with the four tables and the bench definitions) and `<root>/data/*.parquet`.

    Reuses an existing complete workspace (marker file `ready`). Returns seconds per phase.
    """
    root = Path(root)
    marker = root / "ready"
    if marker.exists():
        return {}
    if root.exists():
        shutil.rmtree(root)
    times: dict[str, float] = {}
    mark = time.perf_counter()
    paths = write_demo_parquet(root / "data", customers=customers, seed=seed)
    times["generate"] = time.perf_counter() - mark
    ws = Workspace.init(root / "ws", name="bench", timezone=TIMEZONE, currency="UAH")
    try:
        shutil.copy(DEFINITIONS, ws.root / "definitions" / "bench.yml")
        mark = time.perf_counter()
        for table in TABLES:
            report = ws.ingest(table, paths[table])
            if report.rows_quarantined:
                raise RuntimeError(f"bench data: {table} quarantined rows: {report.summary()}")
        times["ingest"] = time.perf_counter() - mark
    finally:
        ws.close()
    marker.write_text("ok\n")
    return times
