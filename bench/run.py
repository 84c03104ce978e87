"""Benchmark harness: `python -m bench.run --scale quick|large [--impl segmentum,sql,pandas,spark]`.

Each implementation runs in its own subprocess (`--worker IMPL`) so that its wall time and peak memory (RSS of
the process tree, sampled every 50 ms, Spark's JVM included) are its own. Outputs are compared row for row with
the hand-written SQL before any figure is reported; a mismatch fails the benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import psutil

from bench.data import AS_OF, data_root, prepare
from segmentum.sql import ident, literal
from segmentum.store import META

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
PROFILES = {  # customers per size
    "tiny": [2_000],
    "quick": [100_000, 300_000],
    "quick1m": [100_000, 300_000, 1_000_000],
    "large": [1_000_000, 10_000_000],
}
IMPLS = ["sql", "segmentum", "pandas", "spark"]
MEMORY_ENV = "BENCH_MEMORY_LIMIT"  # --memory-limit, passed to the workers


# ----------------------------------------------------------------------------------------------- workers


def _cpu() -> float:
    """CPU seconds of this process so far, every thread (DuckDB's included): steadier than wall time on a
    machine shared with other jobs, which slow the wall clock but not the work done."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _max_rss_mb() -> float:
    """Peak RSS of this process so far (VmHWM: reset at exec, unlike getrusage's ru_maxrss, which a child
    started by fork inherits from its parent)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return 0.0


def _worker(impl: str, root: Path, out: Path) -> dict[str, Any]:
    """Run one implementation once; write its outputs to `out` (not timed) and return its figures."""
    from segmentum.workspace import Workspace

    ws = Workspace(root / "ws")
    limit = os.environ.get(MEMORY_ENV)
    if limit:
        # as `engine: {memory_limit: ...}` in segmentum.yml would (read when the store opens), every impl alike
        ws.config.engine.memory_limit = limit
    figures: dict[str, Any] = {}
    try:
        if impl in ("segmentum", "spark"):
            from segmentum.runs.execute import run
            from segmentum.store import snapshots as snapshot

            mark, cpu = time.perf_counter(), _cpu()
            result = run(ws, as_of=AS_OF, engine="duckdb" if impl == "segmentum" else "spark")
            figures["seconds"] = time.perf_counter() - mark
            # this process's peak RSS up to the end of the run, before its outputs are read into pandas for
            # the comparison (the sampled peak of the process tree includes that)
            figures["run_peak_rss_mb"] = _max_rss_mb()
            if impl == "segmentum":  # Spark's work is in its JVM, another process
                figures["cpu_seconds"] = _cpu() - cpu
            figures["phases"] = result.timings
            columns = [c for c in ws.store.columns(snapshot.traits_table(result.run_id), schema=META)]
            outputs = (
                f"SELECT {', '.join(ident(c) for c in columns if not c.startswith('__'))} "
                f"FROM {META}.{snapshot.traits_table(result.run_id)}",
                f"SELECT customer_id, segmentation, segment, name FROM {META}.memberships "
                f"WHERE run_id = {int(result.run_id)}",
            )
        elif impl == "sql":
            from bench import sql

            mark, cpu = time.perf_counter(), _cpu()
            sql.run(ws.store.con, AS_OF)
            figures["seconds"] = time.perf_counter() - mark
            figures["run_peak_rss_mb"] = _max_rss_mb()
            figures["cpu_seconds"] = _cpu() - cpu
            outputs = sql.OUTPUTS
        elif impl == "pandas":
            from bench import pandas_impl

            mark, cpu = time.perf_counter(), _cpu()
            data = pandas_impl.load(ws.store.con)
            figures["load_seconds"] = time.perf_counter() - mark
            mark2 = time.perf_counter()
            frames = pandas_impl.compute(data, AS_OF)
            figures["compute_seconds"] = time.perf_counter() - mark2
            figures["seconds"] = time.perf_counter() - mark
            figures["run_peak_rss_mb"] = _max_rss_mb()
            figures["cpu_seconds"] = _cpu() - cpu
        else:
            raise SystemExit(f"unknown implementation {impl!r}; choose from {', '.join(IMPLS)}")
        # the limit the store's connection ran under (DuckDB's own words, e.g. '953.6 MiB')
        figures["memory_limit"] = ws.store.query("SELECT current_setting('memory_limit')")[0][0]
        out.mkdir(parents=True, exist_ok=True)
        if impl == "pandas":
            traits, mem = frames
            traits[[c for c in traits.columns if not c.startswith("__")]].to_parquet(out / "traits.parquet")
            mem[["customer_id", "segmentation", "segment", "name"]].to_parquet(out / "memberships.parquet")
        else:
            # copied by DuckDB, not through pandas: at 10M customers the memberships are 60M rows
            cur = ws.store.cursor()
            for name, query in zip(("traits", "memberships"), outputs, strict=True):
                cur.execute(f"COPY ({query}) TO {literal(str(out / (name + '.parquet')))} (FORMAT parquet)")
        counts = duckdb.sql(
            f"SELECT (SELECT count(*) FROM {literal(str(out / 'traits.parquet'))}), "
            f"(SELECT count(*) FROM {literal(str(out / 'memberships.parquet'))})"
        ).fetchone()
        assert counts is not None
        figures["customers"], figures["memberships"] = int(counts[0]), int(counts[1])
    finally:
        ws.close()
    return figures


def _spawn(impl: str, root: Path, out: Path, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a worker subprocess; its figures plus the peak RSS of its process tree."""
    env = dict(os.environ, **(extra_env or {}))
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    report = out.with_suffix(".json")
    cmd = [
        sys.executable,
        "-m",
        "bench.run",
        "--worker",
        impl,
        "--root",
        str(root),
        "--out",
        str(out),
        "--report",
        str(report),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    peak = 0
    spill = 0  # DuckDB's temporary files (the store's default temp_directory), at their largest
    spill_dir = root / "ws" / "segmentum.duckdb.tmp"
    done = threading.Event()

    def spilled() -> int:
        try:
            return sum(f.stat().st_size for f in spill_dir.iterdir() if f.is_file())
        except OSError:
            return 0

    def sample() -> None:
        nonlocal peak, spill
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            total = 0
            try:
                for p in [parent, *parent.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += p.memory_info().rss
            except psutil.NoSuchProcess:
                break
            peak = max(peak, total)
            spill = max(spill, spilled())
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    mark = time.perf_counter()
    rc = proc.wait()
    wall = time.perf_counter() - mark
    done.set()
    thread.join()
    if rc != 0:
        raise RuntimeError(f"worker {impl} failed with exit code {rc}")
    figures = json.loads(report.read_text())
    figures["process_seconds"] = wall
    figures["peak_rss_mb"] = peak / 2**20
    figures["peak_spill_mb"] = spill / 2**20
    return figures


# ----------------------------------------------------------------------------------------------- compare


def compare(reference: Path, other: Path) -> list[str]:
    """Differences between two outputs (traits column by column, memberships as sets); [] when identical.

    Read and compared by DuckDB, never whole in pandas: at 10M customers the memberships are 60M rows. Numbers
    agree within a relative and absolute 1e-9 (numpy's `isclose`: pandas' float sums), other values exactly."""
    con = duckdb.connect()
    problems: list[str] = []
    for side, folder in (("a", reference), ("b", other)):
        for name in ("traits", "memberships"):
            con.execute(
                f"CREATE VIEW {name}_{side} AS SELECT * FROM {literal(str(folder / (name + '.parquet')))}"
            )
    types = {
        side: {r[0]: r[1] for r in con.execute(f"DESCRIBE traits_{side}").fetchall()} for side in ("a", "b")
    }
    if set(types["a"]) != set(types["b"]):
        problems.append(
            f"trait columns differ: only in reference {sorted(set(types['a']) - set(types['b']))}, "
            f"only in other {sorted(set(types['b']) - set(types['a']))}"
        )
    sizes = con.execute(
        "SELECT (SELECT count(*) FROM traits_a), (SELECT count(*) FROM traits_b), "
        "(SELECT count(*) FROM traits_a FULL JOIN traits_b USING (customer_id) "
        " WHERE traits_a.customer_id IS NULL OR traits_b.customer_id IS NULL)"
    ).fetchone()
    assert sizes is not None
    if sizes[0] != sizes[1] or sizes[2]:
        return [*problems, f"customers differ: {sizes[0]} vs {sizes[1]}"]
    numeric = ("DECIMAL", "DOUBLE", "FLOAT", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT", "UBIGINT")
    for column in sorted(set(types["a"]) & set(types["b"]) - {"customer_id"}):
        x, y = f"a.{ident(column)}", f"b.{ident(column)}"
        if all(types[s][column].startswith(numeric) for s in ("a", "b")):
            x, y = f"{x}::DOUBLE", f"{y}::DOUBLE"
            same = f"(({x} IS NULL AND {y} IS NULL) OR abs({x} - {y}) <= 1e-9 + 1e-9 * abs({y}))"
        elif "TIMESTAMP" in types["a"][column] or "TIMESTAMP" in types["b"][column]:
            same = f"{x}::TIMESTAMP IS NOT DISTINCT FROM {y}::TIMESTAMP"
        else:
            same = f"{x}::VARCHAR IS NOT DISTINCT FROM {y}::VARCHAR"
        row = con.execute(
            f"SELECT count(*), min(a.customer_id), arg_min({x}::VARCHAR, a.customer_id), "
            f"arg_min({y}::VARCHAR, a.customer_id) "
            f"FROM traits_a a JOIN traits_b b USING (customer_id) WHERE NOT coalesce({same}, false)"
        ).fetchone()
        if row and row[0]:
            problems.append(f"trait {column}: {row[0]} rows differ, e.g. {row[1]}: {row[2]!r} vs {row[3]!r}")
    only = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT customer_id, name FROM memberships_a EXCEPT "
        "SELECT customer_id, name FROM memberships_b)), "
        "(SELECT count(*) FROM (SELECT customer_id, name FROM memberships_b EXCEPT "
        "SELECT customer_id, name FROM memberships_a)), "
        "(SELECT count(*) FROM memberships_a), (SELECT count(*) FROM memberships_b)"
    ).fetchone()
    assert only is not None
    if only[0] or only[1] or only[2] != only[3]:
        problems.append(
            f"memberships differ: {only[0]} only in reference, {only[1]} only in other; rows {only[2]} vs {only[3]}"
        )
    con.close()
    return problems


# ----------------------------------------------------------------------------------------------- harness


def machine() -> dict[str, Any]:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next(
            (line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), ""
        )
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
    }


def bench_size(
    customers: int,
    impls: list[str],
    repeats: int,
    data_dir: Path,
    spark_repeats: int = 1,
    events_share: float = 1.0,
) -> dict[str, Any]:
    root = data_root(data_dir, customers, events_share)
    print(f"== {customers:,} customers: preparing data in {root}", flush=True)
    prep = prepare(root, customers, events_share=events_share, memory_limit=os.environ.get(MEMORY_ENV))
    from segmentum.workspace import Workspace

    ws = Workspace(root / "ws")
    try:
        rows = {
            t: ws.store.con.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0]
            for t in ("customers", "orders", "order_items", "events")
        }
    finally:
        ws.close()
    print(f"   rows {rows} (prepare {prep})", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {i: [] for i in impls}
    for rep in range(repeats):
        for impl in impls:  # interleaved so that background load hits every implementation alike
            if impl == "spark" and rep >= spark_repeats:
                continue
            out = root / "out" / f"{impl}_{rep}"
            figures = _spawn(impl, root, out)
            runs[impl].append(figures)
            print(
                f"   {impl:10s} rep {rep}: {figures['seconds']:.2f} s (CPU {figures.get('cpu_seconds', 0):.2f} s), "
                f"peak {figures['peak_rss_mb']:.0f} MB (run {figures.get('run_peak_rss_mb', 0):.0f}), spilled {figures['peak_spill_mb']:.0f} MB, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    reference = "sql" if "sql" in impls else impls[0]
    checks = {}
    for impl in impls:
        if impl != reference:
            problems = compare(root / "out" / f"{reference}_0", root / "out" / f"{impl}_0")
            checks[impl] = problems or "identical"
            print(f"   {impl} vs {reference}: {problems if problems else 'identical'}", flush=True)
    best = {impl: min(r["seconds"] for r in rs) for impl, rs in runs.items()}
    # ratios within each round (same background load) are steadier than ratios of bests on a shared machine
    rounds = (
        {
            impl: [
                rs[i]["seconds"] / runs[reference][i]["seconds"]
                for i in range(min(len(rs), len(runs[reference])))
            ]
            for impl, rs in runs.items()
        }
        if reference in runs
        else {}
    )
    summary = {
        impl: {
            "seconds": round(best[impl], 3),
            "ratio_to_sql": round(best[impl] / best[reference], 2) if reference in best else None,
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in rs), 1),
            "peak_spill_mb": round(max(r.get("peak_spill_mb", 0.0) for r in rs), 1),
            "run_peak_rss_mb": round(max(r.get("run_peak_rss_mb", 0.0) for r in rs), 1),
            "memory_limit": rs[0].get("memory_limit"),
            "all_seconds": [round(r["seconds"], 3) for r in rs],
            "median_round_ratio": round(float(np.median(rounds[impl])), 2) if rounds.get(impl) else None,
            # CPU seconds (every thread of the worker): the work done, less swayed by other jobs than wall time
            "cpu_seconds": [round(r["cpu_seconds"], 2) for r in rs if "cpu_seconds" in r],
            "cpu_ratio_best": (
                round(min(r["cpu_seconds"] for r in rs) / min(r["cpu_seconds"] for r in runs[reference]), 2)
                if reference in runs and all("cpu_seconds" in r for r in [*rs, *runs[reference]])
                else None
            ),
            **(
                {
                    "compute_seconds": round(min(r["compute_seconds"] for r in rs), 3),
                    "load_seconds": round(min(r["load_seconds"] for r in rs), 3),
                }
                if impl == "pandas"
                else {}
            ),
            **(
                {"phases": rs[int(np.argmin([r["seconds"] for r in rs]))].get("phases")}
                if impl in ("segmentum", "spark")
                else {}
            ),
        }
        for impl, rs in runs.items()
    }
    return {"customers": customers, "rows": rows, "check": checks, "impls": summary}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", default="quick", help=f"one of {', '.join(PROFILES)} or a customer count")
    parser.add_argument("--impl", default=",".join(IMPLS), help="comma-separated implementations")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--spark-repeats", type=int, default=1, help="Spark takes minutes: fewer repeats")
    parser.add_argument("--spark-max", type=int, default=100_000, help="largest size Spark runs at")
    parser.add_argument("--data-dir", default=str(HERE / "data"))
    parser.add_argument(
        "--events-share",
        type=float,
        default=1.0,
        help="keep this share of the demo's events (about 58 a customer), e.g. 0.1 for the 10M run",
    )
    parser.add_argument(
        "--memory-limit",
        help="DuckDB memory limit for every implementation's store (as engine.memory_limit, e.g. 1GB)",
    )
    parser.add_argument("--worker")
    parser.add_argument("--root")
    parser.add_argument("--out")
    parser.add_argument("--report")
    args = parser.parse_args(argv)
    if args.worker:
        figures = _worker(args.worker, Path(args.root), Path(args.out))
        Path(args.report).write_text(json.dumps(figures, default=str))
        return 0
    if args.memory_limit:
        os.environ[MEMORY_ENV] = args.memory_limit  # the workers inherit it
    sizes = PROFILES.get(args.scale) or [int(args.scale)]
    impls = [i.strip() for i in args.impl.split(",") if i.strip()]
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "command": " ".join(["python -m bench.run", *(argv if argv is not None else sys.argv[1:])]),
        "scale": args.scale,
        "memory_limit": args.memory_limit,
        "events_share": args.events_share,
        "sizes": [],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = (f"_mem{args.memory_limit}" if args.memory_limit else "") + (
        f"_e{round(args.events_share * 100)}" if args.events_share < 1 else ""
    )
    out_file = RESULTS / f"batch_{args.scale}{suffix}.json"
    failed = False
    for customers in sizes:
        here = [i for i in impls if i != "spark" or customers <= args.spark_max]
        entry = bench_size(
            customers, here, args.repeats, Path(args.data_dir), args.spark_repeats, args.events_share
        )
        results["sizes"].append(entry)
        failed |= any(v != "identical" for v in entry["check"].values())
        out_file.write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps(results, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
