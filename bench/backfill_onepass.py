"""Can a backfill's month ends be evaluated in one pass? `python -m bench.backfill_onepass --store FILE [--points 6]`.

A backfill runs one query per point (compiled once, `runs/reuse.py`). The alternative, one query for every
point, joins each order to the points at or after it (`ordered_at <= point`) and groups by (point, customer):
the table is scanned once, but every order is aggregated once per later point either way. This measures the
two on the order aggregates that most traits are made of (last and first order, frequency, revenue, 365- and
90-day revenue, distinct channels), on a store's `orders` (read only), interleaved rounds, wall and CPU
seconds, and checks both give the same rows (a count and an order-free digest of every row, computed in the
store: bringing the rows into Python would cost more than either evaluation). Results are printed; BENCHMARKS.md
keeps them.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import datetime, timedelta

import duckdb

QUALIFYING = "amount >= 0 AND (status IS NULL OR lower(status) NOT IN ('cancelled', 'returned')) AS q"


def _aggregates(point: str) -> str:
    return (
        "max(ordered_at) FILTER (q) AS last_at, min(ordered_at) FILTER (q) AS first_at, "
        "count(*) FILTER (q) AS frequency, sum(amount) FILTER (q) AS gross, "
        f"sum(amount) FILTER (q AND ordered_at > {point} - INTERVAL 365 DAY) AS rev365, "
        f"sum(amount) FILTER (q AND ordered_at > {point} - INTERVAL 90 DAY) AS rev90, "
        "count(DISTINCT channel) FILTER (q) AS channels"
    )


def month_ends(last: datetime, points: int) -> list[datetime]:
    """The last `points` month ends before `last`'s month, oldest first."""
    ends: list[datetime] = []
    first = datetime(last.year, last.month, 1)
    for _ in range(points):
        ends.append(first - timedelta(microseconds=1))
        first = datetime((first - timedelta(days=1)).year, (first - timedelta(days=1)).month, 1)
    return sorted(ends)


# rows of (point, customer_id, aggregates...) -> (rows, xor of each row's hash)
DIGEST = "SELECT count(*), bit_xor(hash(r)) FROM ({rows}) r"


def one_query_per_point(con: duckdb.DuckDBPyConnection, ends: list[datetime]) -> tuple[int, int]:
    count, digest = 0, 0
    for end in ends:
        rows = (
            f"SELECT $a AS point, customer_id, {_aggregates('$a')} FROM (SELECT *, {QUALIFYING} FROM main.orders "
            "WHERE ordered_at <= $a) GROUP BY customer_id"
        )
        n, h = con.execute(DIGEST.format(rows=rows), {"a": end}).fetchone() or (0, 0)
        count, digest = count + n, digest ^ (h or 0)
    return count, digest


def one_pass(con: duckdb.DuckDBPyConnection, ends: list[datetime]) -> tuple[int, int]:
    points = ", ".join(f"(TIMESTAMP '{e.isoformat(sep=' ')}')" for e in ends)
    rows = (
        f"WITH p(a) AS (VALUES {points}) SELECT p.a AS point, customer_id, {_aggregates('p.a')} "
        f"FROM (SELECT *, {QUALIFYING} FROM main.orders) o JOIN p ON o.ordered_at <= p.a GROUP BY p.a, customer_id"
    )
    n, h = con.execute(DIGEST.format(rows=rows)).fetchone() or (0, 0)
    return n, h or 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="a store file with main.orders (opened read-only)")
    parser.add_argument("--points", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    con = duckdb.connect(args.store, read_only=True)
    row = con.execute("SELECT max(ordered_at), count(*) FROM main.orders").fetchone()
    assert row is not None
    ends = month_ends(row[0], args.points)
    print(f"{row[1]:,} orders, {len(ends)} month ends {ends[0]:%Y-%m-%d} .. {ends[-1]:%Y-%m-%d}")
    results: dict[str, list[tuple[float, float]]] = {"one query per point": [], "one pass": []}
    answers = {}
    for _ in range(args.rounds):
        for label, evaluate in (("one query per point", one_query_per_point), ("one pass", one_pass)):
            wall, cpu = time.perf_counter(), _cpu()
            answers[label] = evaluate(con, ends)
            results[label].append((time.perf_counter() - wall, _cpu() - cpu))
    assert answers["one query per point"] == answers["one pass"], "the two evaluations differ"
    print(f"both: {answers['one pass'][0]:,} (point, customer) rows, digest {answers['one pass'][1]}")
    for label, times in results.items():
        best_wall = min(w for w, _ in times)
        best_cpu = min(c for _, c in times)
        print(f"{label:22} best {best_wall:6.2f} s wall, {best_cpu:6.2f} s CPU  (rounds: {times})")


if __name__ == "__main__":
    main()
