"""Deleted rows given back without DuckDB's vacuum (`segmentum.store.reclaim`, issue 20).

A server turns DuckDB's vacuum off (`Store.keep_row_groups`): its checkpoints then keep every deleted row that
shares a row group with a live one. The live rows of a row group that is mostly deleted rows are moved to the
table's end, and the next checkpoint drops the group. Real stores, DuckDB's own row groups (122,880 rows)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from segmentum.store import Store
from segmentum.store.reclaim import reclaim_main_tables, reclaim_row_groups, row_groups
from segmentum.workspace import Workspace

GROUP = 122_880  # DuckDB's default row group size: the store's tables are written in it


def _stored(store: Store, schema: str, table: str) -> int:
    """The rows `table` stores, deleted ones included."""
    found = store.query(
        "SELECT estimated_size FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [schema, table]
    )
    return int(found[0][0])


def _rows(store: Store, table: str) -> Counter[tuple[Any, ...]]:
    """Every row of `table` as it reads (lists as tuples), counted."""
    return Counter(
        tuple(tuple(v) if isinstance(v, list) else v for v in row)
        for row in store.query(f"SELECT * FROM {table}")
    )


def _three_groups(store: Store) -> None:
    """main.notes: 300,000 rows in three row groups (122,880, 122,880, 54,240), checkpointed."""
    cur = store.cursor()
    cur.execute(
        "CREATE TABLE main.notes AS SELECT 'c' || i AS customer_id, i AS n, [i % 7, i % 3] AS tags "
        "FROM range(300000) t(i) ORDER BY i"
    )
    cur.execute("CHECKPOINT")


def test_a_row_group_mostly_deleted_is_dropped_at_the_next_checkpoint_once_its_live_rows_are_moved(
    workspace: Workspace,
) -> None:
    store = workspace.store
    store.keep_row_groups()  # as a server's store
    _three_groups(store)
    cur = store.cursor()
    assert [(lo, n) for lo, n, _ in row_groups(cur, "main.notes")] == [
        (0, GROUP),
        (GROUP, GROUP),
        (2 * GROUP, 54_240),
    ]
    # 100,000 of the first group deleted (81 %), 30,000 of the second (24 %), and most of the last
    cur.execute("DELETE FROM main.notes WHERE n < 100000 OR n BETWEEN 130000 AND 159999 OR n > 250000")
    cur.execute("CHECKPOINT")
    before = _rows(store, "main.notes")
    assert _stored(store, "main", "notes") == 300_000  # without the vacuum, a checkpoint keeps them all
    assert row_groups(cur, "main.notes") == [
        (0, GROUP, 22_880),
        (GROUP, GROUP, 92_880),
        (2 * GROUP, 54_240, 4_241),
    ]

    with store.transaction(cur):
        moved = reclaim_row_groups(cur, "main.notes")
    assert moved == 22_880  # the first group only: the second is mostly live, the last is where appends go
    cur.execute("CHECKPOINT")
    assert _rows(store, "main.notes") == before
    assert _stored(store, "main", "notes") == 300_000 - GROUP + 22_880
    # the moved rows went after the old last group: that one is not where appends go any more
    assert row_groups(cur, "main.notes") == [
        (0, GROUP, 92_880),
        (GROUP, 54_240, 4_241),
        (GROUP + 54_240, 22_880, 22_880),
    ]
    with store.transaction(cur):
        assert reclaim_row_groups(cur, "main.notes") == 4_241
    cur.execute("CHECKPOINT")
    assert _rows(store, "main.notes") == before
    # all that is stored besides the live rows: the 30,000 deleted of the group that is mostly live
    assert _stored(store, "main", "notes") == sum(before.values()) + 30_000
    with store.transaction(cur):  # nothing left to give back
        assert reclaim_row_groups(cur, "main.notes") == 0


def test_each_call_moves_at_most_max_rows_the_sparsest_groups_first(workspace: Workspace) -> None:
    store = workspace.store
    store.keep_row_groups()
    _three_groups(store)
    cur = store.cursor()
    # the first group keeps 40,000 live rows, the second 10,000
    cur.execute("DELETE FROM main.notes WHERE n BETWEEN 40000 AND 122879 OR n BETWEEN 132880 AND 245759")
    cur.execute("CHECKPOINT")
    before = _rows(store, "main.notes")
    with store.transaction(cur):
        assert reclaim_row_groups(cur, "main.notes", max_rows=30_000) == 10_000  # the second; the first waits
    cur.execute("CHECKPOINT")
    assert _stored(store, "main", "notes") == 300_000 - GROUP + 10_000
    with store.transaction(cur):
        assert reclaim_row_groups(cur, "main.notes", max_rows=30_000) == 0  # 40,000 rows: over the limit
        assert reclaim_row_groups(cur, "main.notes", max_rows=50_000) == 40_000
    cur.execute("CHECKPOINT")
    assert _rows(store, "main.notes") == before
    assert _stored(store, "main", "notes") == 300_000 - 2 * GROUP + 50_000


def test_after_an_ingest_the_main_tables_are_given_back_but_the_fact_tables_keep_their_order(
    tmp_path: Path,
) -> None:
    """`reclaim_main_tables` moves no row of `orders`, `order_items` or `events`: `segmentum compact` writes them
    in customer order, and its next rewrite gives their deleted rows back."""
    ws = Workspace.init(tmp_path / "ws", name="reclaim")
    try:
        store = ws.store
        store.keep_row_groups()
        cur = store.cursor()
        # as an ingest creates them (their other columns do not matter here)
        cur.execute(
            "CREATE TABLE main.customers AS SELECT 'c' || lpad(i::VARCHAR, 6, '0') AS customer_id FROM range(300000) t(i) ORDER BY i"
        )
        cur.execute(
            "CREATE TABLE main.orders AS SELECT 'o' || i AS order_id, 'c' || lpad(i::VARCHAR, 6, '0') AS customer_id "
            "FROM range(300000) t(i) ORDER BY i"
        )
        cur.execute("CHECKPOINT")
        cur.execute("DELETE FROM main.customers WHERE customer_id < 'c100000'")
        cur.execute("DELETE FROM main.orders WHERE customer_id < 'c100000'")
        cur.execute("CHECKPOINT")
        customers, order_ids = _rows(store, "main.customers"), store.query("SELECT order_id FROM main.orders")
        assert reclaim_main_tables(store) == {"customers": 22_880}
        cur.execute("CHECKPOINT")
        assert _rows(store, "main.customers") == customers
        assert _stored(store, "main", "customers") == 200_000
        assert store.query("SELECT order_id FROM main.orders") == order_ids  # same rows, same order
        assert _stored(store, "main", "orders") == 300_000
    finally:
        ws.close()


def test_an_ingest_through_a_server_gives_back_the_rows_its_upserts_replaced(tmp_path: Path) -> None:
    """A server's store keeps a replaced customer's old row in its row group (no vacuum). The server gives
    those rows back after the ingest, while posted events still wait for it: customers stores its live rows
    and nothing else."""
    from segmentum.service.runtime import Runtime

    ws = Workspace.init(tmp_path / "ws", name="reclaim")
    try:
        runtime = Runtime(ws, realtime=False)  # its store: no vacuum
        first, again = tmp_path / "customers.csv", tmp_path / "customers_again.csv"
        ids = [f"c{i:06d}" for i in range(130_000)]
        first.write_text("customer_id,country\n" + "".join(f"{c},UA\n" for c in ids))
        again.write_text("customer_id,country\n" + "".join(f"{c},PL\n" for c in ids[:100_000]))
        runtime.command("ingest", {"table": "customers", "path": str(first)})
        runtime.command("ingest", {"table": "customers", "path": str(again), "mode": "upsert"})
        ws.store.checkpoint()
        assert ws.store.query("SELECT country, count(*) FROM main.customers GROUP BY ALL ORDER BY 1") == [
            ("PL", 100_000),
            ("UA", 30_000),
        ]
        assert _stored(ws.store, "main", "customers") == 130_000
    finally:
        ws.close()
