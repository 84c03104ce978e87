"""The memberships write of one batch run, three ways side by side in one process on the same traits table
(evaluated once), each committed, in interleaved rounds: before issue 16's narrow rows (`wide`: the `INSERT ...
UNION ALL` of five columns, as `runs/execute.py` wrote it), the narrow rows written with one scan of the traits
table per segment (`union`: `write_run` until the fourth session of issue 16) and with one scan for all of them
(`narrow`: `store/memberships.py: write_run` now); checks that the view, the wide table and the union's rows hold
the same rows, then removes what it wrote.

Usage: `python -m bench.memberships_write bench/data/c300000 5` (a prepared bench root and the rounds).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from bench.data import AS_OF
from segmentum.compile.compiler import SEGMENT_PREFIX, SEGMENTATION_PREFIX
from segmentum.runs.execute import compiled_sql
from segmentum.sql import ident, literal
from segmentum.store import memberships as stored
from segmentum.workspace import Workspace


def main(argv: list[str]) -> None:
    root = Path(argv[0])
    rounds = int(argv[1]) if len(argv) > 1 else 5
    ws = Workspace(root / "ws")
    store = ws.store
    cur = store.cursor()

    def cpu() -> float:
        u = resource.getrusage(resource.RUSAGE_SELF)
        return u.ru_utime + u.ru_stime

    m = time.perf_counter()
    cur.execute(f"CREATE OR REPLACE TABLE segmentum.bench_traits AS {compiled_sql(ws, as_of=AS_OF)}")
    print("evaluate", round(time.perf_counter() - m, 2), flush=True)
    cols = [c for c in store.columns("bench_traits", schema="segmentum")]
    segments = {c[len(SEGMENT_PREFIX) :]: c for c in cols if c.startswith(SEGMENT_PREFIX)}
    segmentations = {c[len(SEGMENTATION_PREFIX) :]: c for c in cols if c.startswith(SEGMENTATION_PREFIX)}
    table = "segmentum.bench_traits"
    # the writer before issue 16 (runs/execute.py _write + _members), verbatim
    members = [("NULL::VARCHAR", literal(n), literal(n), ident(c)) for n, c in segments.items()]
    members += [
        (literal(n), ident(c), f"{literal(n + '.')} || {ident(c)}", None) for n, c in segmentations.items()
    ]
    cur.execute(
        "CREATE OR REPLACE TABLE segmentum.bench_wide (run_id BIGINT, customer_id VARCHAR, segmentation VARCHAR, segment VARCHAR, name VARCHAR)"
    )

    def wide(run_id):
        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO segmentum.bench_wide (run_id, customer_id, segmentation, segment, name) "
            + " UNION ALL ".join(
                f"SELECT {run_id}, customer_id, {s}, {g}, {n} FROM {table}"
                + (f" WHERE {c}" if c is not None else "")
                for s, g, n, c in members
            )
        )
        cur.execute("COMMIT")

    def union(run_id):
        # `write_run` before it read the traits table once: one SELECT per segment, verbatim
        cur.execute("BEGIN")
        found = {
            n: [
                r[0]
                for r in cur.execute(
                    f"SELECT DISTINCT {ident(c)} FROM {table} WHERE {ident(c)} IS NOT NULL"
                ).fetchall()
            ]
            for n, c in segmentations.items()
        }
        labels = [stored.label(None, n) for n in segments]
        labels += [stored.label(n, g) for n, gs in found.items() for g in gs]
        keys = stored.assign_keys(cur, labels)
        parts = [
            f"SELECT {run_id}, customer_id, {keys[n]} FROM {table} WHERE {ident(c)}"
            for n, c in segments.items()
        ]
        for n, c in segmentations.items():
            cases = " ".join(f"WHEN {literal(g)} THEN {keys[stored.label(n, g)[2]]}" for g in found[n])
            parts.append(
                f"SELECT {run_id}, customer_id, CASE {ident(c)} {cases} END FROM {table} WHERE {ident(c)} IS NOT NULL"
            )
        cur.execute(
            f"INSERT INTO {stored.ROWS} (run_id, customer_id, segment_key) " + " UNION ALL ".join(parts)
        )
        cur.execute("COMMIT")

    def narrow(run_id):
        cur.execute("BEGIN")
        stored.write_run(cur, run_id, table, segments, segmentations)
        cur.execute("COMMIT")

    res: dict[str, list[tuple[float, float]]] = {"wide": [], "union": [], "narrow": []}
    writers = [("wide", wide, 900000), ("union", union, 910000), ("narrow", narrow, 920000)]
    for r in range(rounds):
        for kind, f, base in writers[r % 3 :] + writers[: r % 3]:  # each goes first in turn
            w, c = time.perf_counter(), cpu()
            f(base + r)
            res[kind].append((round(time.perf_counter() - w, 3), round(cpu() - c, 3)))
        print(r, res, flush=True)
    rows = cur.execute("SELECT count(*) FROM segmentum.membership_rows WHERE run_id = 920000").fetchone()[0]
    union_rows = cur.execute(f"SELECT count(*) FROM {stored.ROWS} WHERE run_id = 910000").fetchone()[0]
    wide_rows = cur.execute("SELECT count(*) FROM segmentum.bench_wide WHERE run_id = 900000").fetchone()[0]

    # identical rows: the view against the wide table, order-insensitive
    def differing(view_run: int) -> int:
        return cur.execute(f"""SELECT count(*) FROM ((SELECT customer_id, segmentation, segment, name FROM segmentum.memberships WHERE run_id = {view_run}
           EXCEPT ALL SELECT customer_id, segmentation, segment, name FROM segmentum.bench_wide WHERE run_id = 900000)
           UNION ALL (SELECT customer_id, segmentation, segment, name FROM segmentum.bench_wide WHERE run_id = 900000
           EXCEPT ALL SELECT customer_id, segmentation, segment, name FROM segmentum.memberships WHERE run_id = {view_run}))""").fetchone()[
            0
        ]

    diff = {"narrow": differing(920000), "union": differing(910000)}
    for r in range(rounds):
        stored.delete_run(cur, 910000 + r)
        stored.delete_run(cur, 920000 + r)
    cur.execute("DROP TABLE segmentum.bench_wide")
    cur.execute("DROP TABLE segmentum.bench_traits")
    print(
        json.dumps(
            {
                "rows": rows,
                "union_rows": union_rows,
                "wide_rows": wide_rows,
                "differing_rows": diff,
                "segments": len(segments),
                "segmentations": len(segmentations),
                "wide_best": min(res["wide"]),
                "union_best": min(res["union"]),
                "narrow_best": min(res["narrow"]),
                "wide_best_cpu": min(x[1] for x in res["wide"]),
                "union_best_cpu": min(x[1] for x in res["union"]),
                "narrow_best_cpu": min(x[1] for x in res["narrow"]),
                "rounds": res,
            }
        )
    )
    ws.close()


if __name__ == "__main__":
    main(sys.argv[1:])
