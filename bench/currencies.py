"""Currencies benchmark: the cost of converting orders (`compile.rules.money_at`) in a batch run, side by side.

Two copies of one generated shop (orders only, a third of them in EUR or GBP with a rate for every day of the
year, a few without one) run the same definitions, interleaved round by round: one without a `rates` table (no
conversion: the compiled query has no join for it) and one with it. Reported: the best wall time of each and the
median over rounds of the ratio within a round (the steadier figure on a shared machine).
Usage: `python -m bench.currencies --orders 300000 --rounds 3` (data under bench/data/currencies).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from segmentum.runs.execute import run
from segmentum.workspace import Workspace

DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
  spent_90d: {sum: orders.amount, within: 90d}
  avg_order: {avg: orders.amount}
  biggest: {max: orders.amount}
  orders_n: {count: orders}
segments:
  big: {where: "spent >= 1000"}
"""
START = datetime(2025, 1, 1)


def _shop(root: Path, orders: int, rates: bool, seed: int = 7) -> Workspace:
    rng = np.random.default_rng(seed)
    ws = Workspace.init(root, name="bench-currencies")
    (ws.root / "definitions" / "bench.yml").write_text(DEFINITIONS, encoding="utf-8")
    config = ws.root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    config.write_text("\n".join([*lines, "builtins: []"]) + "\n")
    ws = Workspace(root)
    customers = max(orders // 10, 1)
    seconds = rng.integers(0, 365 * 86400, orders)
    table = pa.table(
        {
            "order_id": [f"o{i}" for i in range(orders)],
            "customer_id": [f"c{i}" for i in rng.integers(0, customers, orders)],
            "ordered_at": [START + timedelta(seconds=int(s)) for s in seconds],
            "amount": pa.array((rng.integers(100, 5_000_000, orders) / 1000).round(3)).cast(
                pa.decimal128(38, 6)
            ),
            "currency": rng.choice(
                ["USD", "USD", "usd", "EUR", "GBP", "CHF"], orders, p=[0.5, 0.1, 0.06, 0.2, 0.12, 0.02]
            ),
        }
    )
    con = ws.store.cursor()
    con.register("bench_orders", table)
    con.execute("CREATE TABLE main.orders AS SELECT * FROM bench_orders")
    con.execute("CREATE TABLE main.customers AS SELECT DISTINCT customer_id FROM main.orders")
    if rates:
        days = [date(2025, 1, 1) + timedelta(days=d) for d in range(365)]
        values = [
            (code, day, round(base + 0.01 * ((i * 7919) % 100), 6))
            for code, base in (("EUR", 1.05), ("GBP", 1.25))
            for i, day in enumerate(days)
        ]
        con.execute("CREATE TABLE main.rates (currency VARCHAR, day DATE, rate DECIMAL(38, 6))")
        con.executemany("INSERT INTO main.rates VALUES (?, ?, ?)", values)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="bench/data/currencies")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    shops = {name: _shop(out / name, args.orders, rates=name == "rates") for name in ("plain", "rates")}
    times: dict[str, list[float]] = {name: [] for name in shops}
    for _ in range(args.rounds):
        for name, ws in shops.items():
            started = time.perf_counter()
            run(ws, as_of="2025-12-31")
            times[name].append(time.perf_counter() - started)
    ratios = [r / p for p, r in zip(times["plain"], times["rates"], strict=True)]
    print(f"{args.orders:,} orders, {args.rounds} rounds")
    for name, values in times.items():
        print(f"{name:>6}: best {min(values):.2f} s, rounds {', '.join(f'{v:.2f}' for v in values)}")
    print(
        f"with rates / without: best {min(times['rates']) / min(times['plain']):.2f}, "
        f"median of rounds {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
