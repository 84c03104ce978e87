"""The real-time path on a compacted store (issue 20, the storage step): the fact tables in customer order and
small row groups, events posted since in arrival order at the tail; a micro-batch's traits and memberships
equal a batch run's at the same as_of, before and after the compaction, and after an `--only` run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from segmentum.runs import execute as execute_mod
from segmentum.runs.execute import run
from segmentum.runs.realtime import (
    COMPACTED_MAX_PUSHED_IDS,
    MAX_PUSHED_IDS,
    OR_FILTER_SETTING,
    DefinitionsCache,
    Evaluator,
    EventRow,
    EventWriter,
    pushed_ids_cap,
)
from segmentum.store import snapshots as snapshot
from segmentum.store.compact import compact, layout
from segmentum.workspace import Workspace

DEFS = """
traits:
  spent: {sum: orders.amount, where: "status = 'paid'"}
  n: {count: orders}
  units: {sum: order_items.quantity}
  carts_7d: {count: events, where: "event = 'cart_add'", within: 7d}
  views: {count: events, where: "event = 'view'"}
  half: {expr: "ntile(spent, 2)"}
segments:
  cart_hot: {where: "carts_7d > 0"}
  top_half: {where: "half = 2"}
segmentations:
  engagement:
    segments:
      - {name: carting, where: "carts_7d > 0"}
      - {name: buying, where: "n >= 4"}
    else: idle
"""
T0 = datetime(2024, 3, 31, 12)
N = 300
CUSTOMERS = [f"c{i:04d}" for i in range(N)]


def _workspace(root: Path, *settings: str) -> Workspace:
    """Orders, items and events in arrival order (day by day, every customer), row groups of 2,048 rows; one
    item of c0001 lies in an order of c0200 (a micro-batch of c0001 must still read that order). `settings`:
    more lines of segmentum.yml."""
    Workspace.init(root, name="rt").close()
    config = root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    config.write_text(
        "\n".join([*lines, "builtins: []", "engine:", "  row_group_size: 2048", *settings]) + "\n"
    )
    (root / "definitions" / "test.yml").write_text(DEFS, encoding="utf-8")
    ws = Workspace(root)
    cur = ws.store.cursor()
    cur.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    cur.execute("INSERT INTO main.customers SELECT unnest(?)", [CUSTOMERS])
    cur.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    cur.execute(
        f"""INSERT INTO main.orders
        SELECT 'o' || d || '-' || c, 'c' || lpad(c::VARCHAR, 4, '0'), TIMESTAMP '2024-01-01' + d * INTERVAL 1 DAY,
               (c * 7 + d * 13) % 90, CASE WHEN (c + d) % 9 = 0 THEN 'cancelled' ELSE 'paid' END
        FROM range(0, 85, 2) r(d), range({N}) s(c) WHERE (c + d) % 5 = 0 ORDER BY d, c"""
    )
    cur.execute(
        "CREATE TABLE main.order_items (order_id VARCHAR, line BIGINT, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, product_id VARCHAR, quantity DECIMAL(38, 6), unit_price DECIMAL(38, 6))"
    )
    cur.execute(
        """INSERT INTO main.order_items
        SELECT order_id, l, customer_id, ordered_at, 'p' || l, 1 + l, 5 FROM main.orders, range(2) t(l)
        ORDER BY ordered_at, customer_id, l"""
    )
    other = cur.execute(
        "SELECT order_id, ordered_at FROM main.orders WHERE customer_id = 'c0200' LIMIT 1"
    ).fetchone()
    cur.execute("INSERT INTO main.order_items VALUES (?, 9, 'c0001', ?, 'q', 7, 2)", list(other))
    cur.execute(
        "CREATE TABLE main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP, "
        "properties JSON)"
    )
    cur.execute(
        f"""INSERT INTO main.events
        SELECT 'e' || d || '-' || c, 'c' || lpad(c::VARCHAR, 4, '0'),
               CASE WHEN (c + d) % 11 = 0 THEN 'cart_add' ELSE 'view' END,
               TIMESTAMP '2024-01-01' + d * INTERVAL 1 DAY + c * INTERVAL 1 SECOND, NULL
        FROM range(90) r(d), range({N}) s(c) ORDER BY d, c"""
    )
    return ws


def _frame(df: pd.DataFrame) -> list[dict]:
    df = df.sort_values("customer_id").reset_index(drop=True).astype(object)
    return df.where(df.notna(), None).to_dict("records")


def _lookups(ws: Workspace, customers: list[str]) -> list[tuple[str, str]]:
    return sorted((c, n) for c in customers for n in snapshot.current_memberships(ws.store, c)["name"])


def _batch(ws: Workspace, as_of: datetime, customers: list[str]) -> tuple[list[dict], list[tuple[str, str]]]:
    full = run(ws, as_of=as_of, preview=True)
    mem = full.memberships()
    mine = mem[mem.customer_id.isin(customers)]
    traits = full.traits(customers)
    return _frame(traits), sorted(zip(mine.customer_id, mine.name, strict=True))


def test_a_micro_batch_on_a_compacted_store_with_a_tail_equals_a_batch_run(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    try:
        run(ws, as_of=T0)
        writer = EventWriter(ws.store, ZoneInfo(ws.config.timezone))
        evaluator = Evaluator(ws, DefinitionsCache(ws))
        touched = ["c0001", "c0137", "c0299", "new1"]

        t1 = T0 + timedelta(minutes=10)
        writer.append([EventRow("c0137", "cart_add", t1 - timedelta(minutes=1))])
        before = evaluator.evaluate(touched, t1)
        expected_traits, expected = _batch(ws, t1, touched)
        assert _frame(before.traits(touched)) == expected_traits
        assert _lookups(ws, touched) == expected

        assert not any(c.skipped for c in compact(ws.store))
        # posted after the compaction: the tail, in arrival order
        t2 = t1 + timedelta(minutes=10)
        writer.append(
            [
                EventRow("c0299", "cart_add", t2 - timedelta(minutes=2)),
                EventRow("new1", "cart_add", t2 - timedelta(minutes=1)),
                EventRow("c0001", "view", t2),
            ]
        )
        assert layout(ws.store)[2].tail == 3
        after = evaluator.evaluate(touched, t2)
        expected_traits, expected = _batch(ws, t2, touched)
        assert (
            _frame(after.traits(touched)) == expected_traits
        )  # c0001's units: its item in c0200's order too
        assert {("c0137", "cart_hot"), ("c0299", "cart_hot"), ("new1", "cart_hot")} <= set(expected)
        assert _lookups(ws, touched) == expected
        # eight days later the carts are out of the window; after a run of some definitions only
        t3 = t2 + timedelta(days=8)
        run(ws, as_of=t3, only=["engagement"])
        evaluator.evaluate(touched, t3)
        _, expected = _batch(ws, t3, touched)
        assert ("c0137", "cart_hot") not in expected
        assert _lookups(ws, touched) == expected
    finally:
        ws.close()


def test_on_a_compacted_store_a_micro_batch_pushes_up_to_the_larger_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uncompacted, a micro-batch of more than MAX_PUSHED_IDS ids keeps DuckDB's default (random ids fall in
    nearly every large row group); once the fact tables are in customer order in small row groups, it pushes
    up to COMPACTED_MAX_PUSHED_IDS of them, and keeps the default beyond."""
    ws = _workspace(tmp_path / "ws")
    try:
        run(ws, as_of=T0)
        seen: list[int] = []
        real_create = execute_mod.create_traits_table

        def create(cur, run_id, source):  # the micro-batch's query, as it runs
            seen.append(int(cur.execute(f"SELECT current_setting('{OR_FILTER_SETTING}')").fetchone()[0]))
            return real_create(cur, run_id, source)

        monkeypatch.setattr(execute_mod, "create_traits_table", create)
        evaluator = Evaluator(ws)
        middle = CUSTOMERS + [f"n{i:05d}" for i in range(MAX_PUSHED_IDS)]
        assert MAX_PUSHED_IDS < len(middle) <= COMPACTED_MAX_PUSHED_IDS
        at = T0 + timedelta(hours=1)
        evaluator.evaluate(middle, at)
        assert pushed_ids_cap(ws.store) == MAX_PUSHED_IDS
        compact(ws.store)
        assert pushed_ids_cap(ws.store) == COMPACTED_MAX_PUSHED_IDS
        evaluator.evaluate(middle, at)
        evaluator.evaluate(CUSTOMERS + [f"n{i:05d}" for i in range(COMPACTED_MAX_PUSHED_IDS)], at)
        default = seen[0]
        assert seen == [default, len(middle), default]
    finally:
        ws.close()


def test_on_a_compacted_store_a_micro_batch_stages_every_row_of_its_customers_from_unindexed_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction leaves the fact tables without an index (DuckDB would write it again at each checkpoint:
    `store.compact`); a micro-batch's pruned scans stage every row of its customers, and of no one else."""
    ws = _workspace(tmp_path / "ws")
    try:
        run(ws, as_of=T0)
        compact(ws.store)
        assert ws.store.query(
            "SELECT count(*) FROM duckdb_indexes() WHERE table_name IN ('orders', 'order_items', 'events')"
        ) == [(0,)]
        seen: list[dict[str, int]] = []
        real_create = execute_mod.create_traits_table

        def create(cur, run_id, source):  # the micro-batch's query, after the staging, on its cursor
            seen.append(
                {
                    t: int(cur.execute(f'SELECT count(*) FROM "temp"."main"."_sgm_staged_{t}"').fetchone()[0])
                    for t in ("orders", "order_items", "events")
                }
            )
            return real_create(cur, run_id, source)

        monkeypatch.setattr(execute_mod, "create_traits_table", create)
        ids = CUSTOMERS[100:150]  # not c0001, whose item lies in an order of c0200 (fetched besides)
        Evaluator(ws).evaluate(ids, T0 + timedelta(hours=1))
        expected = {
            t: ws.store.query(
                f"SELECT count(*) FROM main.{t} WHERE customer_id IN (SELECT unnest(?))", [ids]
            )[0][0]
            for t in ("orders", "order_items", "events")
        }
        assert expected["events"] == 50 * 90
        assert seen == [expected]
    finally:
        ws.close()


def test_the_server_compacts_with_events_and_runs_held_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through `segmentum serve` (its command channel) the rewrite runs under the run lock and the event
    writer's lock: an append committed meanwhile would conflict with the table's replacement."""
    from segmentum.service.runtime import Runtime
    from segmentum.store import compact as compact_mod

    ws = _workspace(tmp_path / "ws")
    try:
        runtime = Runtime(ws, realtime=False)
        held: list[tuple[bool, bool]] = []
        real_rewrite = compact_mod._rewrite

        def rewrite(cur, spec, store):
            held.append((runtime.events.lock.locked(), runtime.run_lock.locked()))
            return real_rewrite(cur, spec, store)

        monkeypatch.setattr(compact_mod, "_rewrite", rewrite)
        rows = runtime.command("compact", {})
        assert [(r["table"], r["skipped"]) for r in rows] == [
            ("orders", False),
            ("order_items", False),
            ("events", False),
        ]
        assert held == [(True, True)] * 3
        assert not runtime.events.lock.locked() and not runtime.run_lock.locked()
        # posting events works again once it is done
        EventWriter(ws.store, ZoneInfo(ws.config.timezone)).append([EventRow("c0001", "view", T0)])
        assert layout(ws.store)[2].tail == 1
    finally:
        ws.close()


def test_every_customer_waiting_is_evaluated_in_one_micro_batch_however_many(tmp_path: Path) -> None:
    """The server's micro-batch on a compacted store takes every customer waiting, more than the pushdown cap
    too (one micro-batch costs less than several: BENCHMARKS.md "Every customer waiting in one micro-batch"); a
    customer touched again while waiting is evaluated once, touched again after its micro-batch once more. The
    lookups then equal a batch run's."""
    from segmentum.service.runtime import Runtime

    ws = _workspace(tmp_path / "ws")
    try:
        run(ws, as_of=T0)
        compact(ws.store)
        assert pushed_ids_cap(ws.store) == COMPACTED_MAX_PUSHED_IDS
        at = T0 + timedelta(hours=1)
        runtime = Runtime(ws, realtime=False)
        batches: list[list[str]] = []

        def evaluate(
            ids: list[str], _now: datetime
        ) -> None:  # the server's own micro-batch, at a fixed as_of
            batches.append(ids)
            runtime._evaluate(ids, at)

        micro = runtime.micro  # the server's micro-batcher, evaluating at `at`
        micro.evaluate = evaluate
        unknown = [f"n{i:05d}" for i in range(COMPACTED_MAX_PUSHED_IDS)]  # in no table: in no segment
        touched = [*reversed(CUSTOMERS), *unknown]
        for start in range(0, len(touched), 50):
            micro.enqueue(touched[start : start + 50])
            micro.enqueue([touched[0]])  # touched again while waiting
        assert micro.pending == len(touched) > COMPACTED_MAX_PUSHED_IDS
        assert micro.flush() == len(touched)
        assert batches == [sorted(touched)] and micro.pending == 0
        micro.enqueue([touched[0]])  # touched again after its micro-batch: evaluated again
        assert micro.flush() == 1 and batches[1] == [touched[0]]
        assert micro.evaluated == len(touched) + 1 and micro.batches == 2
        _, memberships = _batch(ws, at, CUSTOMERS)
        assert _lookups(ws, CUSTOMERS) == memberships
        assert _lookups(ws, unknown[:5]) == []
    finally:
        ws.close()


def test_the_server_checkpoints_after_a_micro_batch_once_the_lookups_show_its_customers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every write waits for a checkpoint. DuckDB's own one runs in whichever commit crosses its threshold, a
    micro-batch's too, whose customers' lookups then wait for it; a server checkpoints itself after the
    micro-batch, once the log holds `serve.checkpoint_wal` and the lookups' replica shows the new state."""
    from segmentum.service.runtime import Runtime

    ws = _workspace(tmp_path / "ws", "serve:", "  checkpoint_wal: 1MB")
    try:
        run(ws, as_of=T0)
        runtime = Runtime(ws, realtime=False)
        runtime.live.load()
        ws.store.checkpoint()
        at = T0 + timedelta(hours=1)
        # about 1.3 MB of log, under DuckDB's own threshold (twice `checkpoint_wal`)
        runtime.events.append(EventRow(CUSTOMERS[i % N], "view", at) for i in range(24_000))
        assert 10**6 <= ws.store.wal_bytes() < 2 * 10**6
        seen: list[tuple[int, Any]] = []
        checkpoint = ws.store.checkpoint

        def watched() -> bool:  # what the log and the lookups' replica hold when the checkpoint begins
            seen.append((ws.store.wal_bytes(), runtime.live.get("c0137")))
            return checkpoint()

        monkeypatch.setattr(ws.store, "checkpoint", watched)
        runtime.events.append([EventRow("c0137", "cart_add", at)])
        result = runtime._evaluate(["c0137"], at)
        assert len(seen) == 1
        logged, shown = seen[0]
        assert 10**6 <= logged < 2 * 10**6
        assert shown is not None and shown.run_id == result.run_id  # already visible to lookups
        assert ws.store.wal_bytes() < 10**5  # checkpointed
        # below `checkpoint_wal` the next micro-batch leaves the log as it is
        runtime.events.append([EventRow("c0138", "cart_add", at)])
        runtime._evaluate(["c0138"], at)
        assert len(seen) == 1 and 0 < ws.store.wal_bytes() < 10**6
    finally:
        ws.close()
