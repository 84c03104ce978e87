"""`segmentum compact` (segmentum.store.compact): the fact tables rewritten in customer order in small row
groups, so that a read of a few customers skips the other customers' row groups; every row and every run's
numbers kept; a crash in the middle leaves the store as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from segmentum.faults import ENV, EXIT_CODE, STORE_CRASH_POINTS
from segmentum.runs.execute import run
from segmentum.store.compact import (
    CLUSTERED,
    CUSTOMERS_PER_ROW_GROUP,
    TAIL_SHARE,
    compact,
    compacted_customers_per_row_group,
    layout,
    row_group_size_for,
)
from segmentum.store.erase import forget
from segmentum.workspace import Workspace

CUSTOMERS = [f"c{i:04d}" for i in range(400)]
AS_OF = datetime(2024, 3, 31, 12)
DEFS = """
traits:
  spent: {sum: orders.amount}
  n: {count: orders}
  units: {sum: order_items.quantity}
  carts: {count: events, where: "event = 'cart_add'", within: 30d}
  last_seen: {max: events.occurred_at}
segments:
  carting: {where: "carts > 0"}
segmentations:
  tier:
    segments:
      - {name: gold, where: "spent >= 600"}
      - {name: silver, where: "spent >= 200"}
    else: bronze
"""


def _workspace(root: Path) -> Workspace:
    """400 customers whose orders, items and events arrive in time order (every customer in every row group),
    with the store's row groups at DuckDB's minimum (2,048 rows) so that these few thousand rows span many."""
    Workspace.init(root, name="compact").close()
    config = root / "segmentum.yml"
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("builtins:")]
    config.write_text("\n".join([*lines, "builtins: []", "engine:", "  row_group_size: 2048"]) + "\n")
    (root / "definitions" / "test.yml").write_text(DEFS, encoding="utf-8")
    ws = Workspace(root)
    cur = ws.store.cursor()
    cur.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    cur.execute("INSERT INTO main.customers SELECT unnest(?)", [CUSTOMERS])
    # day by day, every customer: arrival order, as ingest and the event API append
    cur.execute(
        "CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP, "
        "amount DECIMAL(38, 6), status VARCHAR)"
    )
    cur.execute(
        """INSERT INTO main.orders
        SELECT 'o' || d || '-' || c, 'c' || lpad(c::VARCHAR, 4, '0'), TIMESTAMP '2024-01-01' + d * INTERVAL 1 DAY,
               (c * 7 + d * 13) % 90, CASE WHEN (c + d) % 9 = 0 THEN 'cancelled' ELSE 'paid' END
        FROM range(0, 40, 3) r(d), range(400) s(c) WHERE (c + d) % 4 = 0 ORDER BY d, c"""
    )
    cur.execute(
        "CREATE TABLE main.order_items (order_id VARCHAR, line BIGINT, customer_id VARCHAR, "
        "ordered_at TIMESTAMP, product_id VARCHAR, quantity DECIMAL(38, 6), unit_price DECIMAL(38, 6))"
    )
    cur.execute(
        """INSERT INTO main.order_items
        SELECT order_id, l, customer_id, ordered_at, 'p' || l, 1 + l, 5 FROM main.orders, range(3) t(l)
        ORDER BY ordered_at, customer_id, l"""
    )
    cur.execute(
        "CREATE TABLE main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP, "
        "properties JSON)"
    )
    cur.execute(
        """INSERT INTO main.events
        SELECT 'e' || d || '-' || c, 'c' || lpad(c::VARCHAR, 4, '0'),
               CASE WHEN (c + d) % 5 = 0 THEN 'cart_add' ELSE 'view' END,
               TIMESTAMP '2024-01-01' + d * INTERVAL 1 DAY + c * INTERVAL 1 SECOND, NULL
        FROM range(90) r(d), range(400) s(c) ORDER BY d, c"""
    )
    cur.execute("COMMENT ON TABLE main.events IS 'what customers did'")
    cur.execute("COMMENT ON COLUMN main.events.event IS 'the event name'")
    return ws


@pytest.fixture
def ws(tmp_path: Path):
    ws = _workspace(tmp_path / "ws")
    yield ws
    ws.close()


def _rows(ws: Workspace, table: str) -> pd.DataFrame:
    """Every row of a table in its stored order."""
    return ws.store.cursor().execute(f"SELECT * FROM main.{table} ORDER BY rowid").df()


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    key = list(a.columns)
    left = a.sort_values(key).reset_index(drop=True)
    right = b.sort_values(key).reset_index(drop=True)
    return bool(left.equals(right))


def _rows_scanned(ws: Workspace, table: str, ids: list[str]) -> int:
    """Rows DuckDB's scan of `table` read for a join on `ids` (its profile's `operator_rows_scanned`): what the
    row groups' order alone prunes (how a micro-batch's staging reads them; the fact tables have no index)."""
    cur = ws.store.cursor()
    out = ws.root / "profile.json"
    cur.execute("CREATE OR REPLACE TEMP TABLE wanted AS SELECT unnest(?) AS customer_id", [ids])
    cur.execute("PRAGMA enable_profiling = 'json'")
    cur.execute(f"PRAGMA profiling_output = '{out}'")
    cur.execute(f"SELECT count(*) FROM main.{table} JOIN wanted USING (customer_id)").fetchall()
    cur.execute("PRAGMA disable_profiling")

    def scans(node: dict) -> list[int]:
        found = [int(node["operator_rows_scanned"])] if node.get("operator_name") == "SEQ_SCAN" else []
        extra = node.get("extra_info") or {}
        table_name = str(extra.get("Table", "")) if isinstance(extra, dict) else ""
        if found and not table_name.endswith(f"main.{table}"):
            found = []
        return found + [n for child in node.get("children", []) for n in scans(child)]

    return max(scans(json.loads(out.read_text())))


def test_compaction_sorts_by_customer_so_a_read_of_two_customers_skips_the_others_row_groups(
    ws: Workspace,
) -> None:
    before = {t.name: _rows(ws, t.name) for t in CLUSTERED}
    scanned_before = _rows_scanned(ws, "events", ["c0007", "c0301"])
    assert scanned_before == len(before["events"])  # arrival order: every row group holds every customer

    done = compact(ws.store)
    assert [(c.table, c.rows, c.skipped) for c in done] == [
        (t.name, len(before[t.name]), False) for t in CLUSTERED
    ]
    for spec in CLUSTERED:
        after = _rows(ws, spec.name)
        assert _same_rows(after, before[spec.name]), spec.name  # every row, every value
        assert list(after.dtypes) == list(before[spec.name].dtypes)
        # in customer order, by time within a customer
        keys = after[["customer_id", spec.time_column]]
        assert keys.equals(keys.sort_values(["customer_id", spec.time_column]).reset_index(drop=True))
    # 36,000 events in row groups of 2,048 rows: two customers' 180 events lie in one or two of them
    assert _rows_scanned(ws, "events", ["c0007", "c0301"]) <= 2 * 2048 < scanned_before / 4
    # the comments stay on the table and its columns
    assert ws.store.query(
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'events'"
    ) == [("what customers did",)]
    assert ws.store.query(
        "SELECT comment FROM duckdb_columns() WHERE database_name = current_database() "
        "AND table_name = 'events' AND column_name = 'event'"
    ) == [("the event name",)]
    assert not ws.store.query("SELECT 1 FROM duckdb_tables() WHERE table_name LIKE '_segmentum_compact_%'")


def test_compaction_stores_money_and_quantities_uncompressed_with_their_types_unchanged(
    ws: Workspace,
) -> None:
    """A micro-batch that fetched its customers' rows one by one (through the staging indexes of older
    releases) paid 4.5x for a row of a bit-packed DECIMAL(38, 6) (a 128-bit integer) against the same values in
    64 bits (BENCHMARKS.md "What staging order_items costs at 1M"): the rewrite stores those columns uncompressed, keeps their type, and
    leaves every other column to DuckDB's compression; a second rewrite keeps it so."""
    types = {t.name: ws.store.columns(t.name) for t in CLUSTERED}
    wide = {(t, c) for t, cols in types.items() for c, ty in cols.items() if ty == "DECIMAL(38,6)"}
    assert wide == {("orders", "amount"), ("order_items", "quantity"), ("order_items", "unit_price")}

    def compression() -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = {}
        for spec in CLUSTERED:
            for column, method in ws.store.query(
                f"SELECT column_name, compression FROM pragma_storage_info('{spec.name}') "
                "WHERE segment_type <> 'VALIDITY'"
            ):
                found.setdefault((spec.name, column), set()).add(method)
        return found

    ws.store.cursor().execute("CHECKPOINT")  # rows still in the log have no compression yet
    before = compression()
    assert all(before[key] != {"Uncompressed"} for key in wide), before  # DuckDB bit-packs them
    for force in (False, True):
        compact(ws.store, force=force)
        after = compression()
        # (a segment whose values are all equal is stored as one value whatever was asked)
        assert all(after[key] <= {"Uncompressed", "Constant"} for key in wide), {k: after[k] for k in wide}
        assert after[("orders", "customer_id")] != {"Uncompressed"}  # the others: DuckDB's choice
        assert {t.name: ws.store.columns(t.name) for t in CLUSTERED} == types


def test_every_run_s_numbers_are_the_same_after_compaction(ws: Workspace) -> None:
    first = run(ws, as_of=AS_OF)
    traits = first.traits(CUSTOMERS)
    memberships = first.memberships()
    compact(ws.store)
    again = run(ws, as_of=AS_OF)

    def frame(df: pd.DataFrame) -> list[dict]:
        df = df.sort_values(list(df.columns)).reset_index(drop=True).astype(object)
        return df.where(df.notna(), None).to_dict("records")

    assert frame(again.traits(CUSTOMERS)) == frame(traits)
    assert frame(again.memberships()) == frame(memberships)
    assert frame(again.sizes) == frame(first.sizes)
    assert again.transitions.empty  # against the run before compaction: nobody moved


def test_only_a_table_whose_appended_tail_is_large_is_rewritten_again(ws: Workspace) -> None:
    # in DuckDB's own row group size, which its checkpoints do not merge (`TableLayout.merged`: a test below)
    ws.store.row_group_size = 122_880
    compact(ws.store)
    assert {t.table: t.tail for t in layout(ws.store)} == {"orders": 0, "order_items": 0, "events": 0}
    events = layout(ws.store)[2].rows
    cur = ws.store.cursor()
    small = int(TAIL_SHARE * events) // 2
    cur.execute(
        "INSERT INTO main.events SELECT 'x' || range, 'c0001', 'view', TIMESTAMP '2024-03-30', NULL FROM range(?)",
        [small],
    )
    assert [c.skipped for c in compact(ws.store)] == [True, True, True]
    assert layout(ws.store)[2].tail == small
    cur.execute(
        "INSERT INTO main.events SELECT 'y' || range, 'c0002', 'view', TIMESTAMP '2024-03-30', NULL FROM range(?)",
        [2 * small],  # the tail now 3 * small, over TAIL_SHARE of the table's rows
    )
    assert [c.skipped for c in compact(ws.store)] == [True, True, False]
    assert layout(ws.store)[2].tail == 0 and layout(ws.store)[2].rows == events + 3 * small
    assert [c.skipped for c in compact(ws.store, force=True)] == [False, False, False]


def test_a_store_opened_with_another_row_group_size_is_compacted_again(ws: Workspace, tmp_path: Path) -> None:
    compact(ws.store)
    ws.close()
    config = ws.root / "segmentum.yml"
    config.write_text(config.read_text().replace("row_group_size: 2048", "row_group_size: 4096"))
    again = Workspace(ws.root)
    try:
        assert all(t.needs_compaction() for t in layout(again.store))
        assert [c.skipped for c in compact(again.store)] == [False, False, False]
        assert {t.row_group_size for t in layout(again.store)} == {4096}
    finally:
        again.close()


def test_only_the_compacted_tables_get_small_row_groups(tmp_path: Path) -> None:
    """The store is attached with DuckDB's row group size (a batch run's writes need it) except while a
    compaction writes: the fact tables it rewrites are in their small groups (here 16,384 rows: 280 customers'
    of 840 with 58.5 events each), a table written after it is not."""
    Workspace.init(tmp_path / "w", name="w").close()
    ws = Workspace(tmp_path / "w")
    rows = 3 * 16_384

    def groups(table: str) -> int:
        found = ws.store.query(
            f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('main.{table}')"
        )
        return int(found[0][0])

    try:
        assert ws.store.row_group_size is None  # each table its own size
        cur = ws.store.cursor()
        cur.execute("CREATE TABLE main.customers AS SELECT range::VARCHAR AS customer_id FROM range(840)")
        cur.execute(
            "CREATE TABLE main.events AS SELECT range::VARCHAR AS event_id, (range % 840)::VARCHAR AS customer_id, "
            "'view' AS event, TIMESTAMP '2024-01-01' + range * INTERVAL 1 SECOND AS occurred_at FROM range(?)",
            [rows],
        )
        assert groups("events") == 1  # DuckDB's default: 122,880 rows a group
        compact(ws.store)
        assert groups("events") == 3
        cur = ws.store.cursor()  # the cursors handed out before keep working too
        cur.execute("CREATE TABLE main.later AS SELECT range AS i FROM range(?)", [rows])
        assert groups("later") == 1
    finally:
        ws.close()


def test_an_erasure_s_rewrite_of_the_file_leaves_the_tables_due_for_compaction(ws: Workspace) -> None:
    compact(ws.store)
    assert _rows_scanned(ws, "events", ["c0007"]) <= 2 * 2048
    forget(ws, "c0300")
    assert not ws.store.query("SELECT 1 FROM main.events WHERE customer_id = 'c0300'")
    # COPY FROM DATABASE wrote every table in DuckDB's row groups: the record says so, compact redoes them
    assert all(t.compacted_at is None for t in layout(ws.store))
    assert [c.skipped for c in compact(ws.store)] == [False, False, False]
    assert _rows_scanned(ws, "events", ["c0007"]) <= 2 * 2048


def _segmentum(root: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if fault:
        env[ENV] = fault
    return subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args, "-w", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_a_crash_in_the_middle_of_a_compaction_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws")
    before = {t.name: _rows(ws, t.name) for t in CLUSTERED}
    numbers = run(ws, as_of=AS_OF).traits(CUSTOMERS)
    ws.close()

    (point,) = STORE_CRASH_POINTS
    killed = _segmentum(tmp_path / "ws", "compact", fault=point)
    assert killed.returncode == EXIT_CODE, killed.stderr
    assert f"fault injected at {point}" in killed.stderr

    ws = Workspace(tmp_path / "ws")
    try:
        for spec in CLUSTERED:  # the same rows in the same (arrival) order: nothing was rewritten
            assert _rows(ws, spec.name).equals(before[spec.name]), spec.name
        assert all(t.compacted_at is None for t in layout(ws.store))
        assert not ws.store.query(
            "SELECT 1 FROM duckdb_tables() WHERE table_name LIKE '_segmentum_compact_%'"
        )
        pd.testing.assert_frame_equal(run(ws, as_of=AS_OF).traits(CUSTOMERS), numbers)
    finally:
        ws.close()

    done = _segmentum(tmp_path / "ws", "compact", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert {r["table"]: r["skipped"] for r in json.loads(done.stdout)} == {
        "orders": False,
        "order_items": False,
        "events": False,
    }
    ws = Workspace(tmp_path / "ws")
    try:
        assert _same_rows(_rows(ws, "events"), before["events"])
        assert _rows_scanned(ws, "events", ["c0007"]) <= 2 * 2048
    finally:
        ws.close()


def test_rows_appended_after_a_compaction_are_read_too(ws: Workspace) -> None:
    compact(ws.store)
    late = AS_OF - timedelta(hours=1)
    ws.store.cursor().execute("INSERT INTO main.events VALUES ('late', 'c0007', 'cart_add', ?, NULL)", [late])
    counted = ws.store.query(
        "SELECT count(*) FROM main.events WHERE customer_id = 'c0007' AND event_id = 'late'"
    )
    assert counted == [(1,)]
    traits = run(ws, as_of=AS_OF).traits(["c0007"])
    assert traits.set_index("customer_id").loc["c0007", "last_seen"] == late


def test_row_group_sizes_hold_about_the_same_customers_in_every_table() -> None:
    """At 1M (58 events, 17 items, 10 orders a customer) events keep 16,384 rows a group, items get 4,096, orders
    2,048; always a multiple of DuckDB's vector size between it and DuckDB's default; a fixed size wins."""
    customers = 1_000_000
    assert row_group_size_for(57_808_218, customers) == 16_384
    assert row_group_size_for(17_095_187, customers) == 4_096
    assert row_group_size_for(9_912_720, customers) == 2_048
    assert row_group_size_for(100, customers) == 2_048  # DuckDB's minimum
    assert row_group_size_for(10**12, customers) == 122_880  # DuckDB's default is the most it takes here
    assert row_group_size_for(0, customers) == 122_880
    assert row_group_size_for(57_808_218, customers, fixed=4_096) == 4_096
    for rows in range(1_000_000, 200_000_000, 7_000_001):
        size = row_group_size_for(rows, customers)
        assert size % 2_048 == 0 and 2_048 <= size <= 122_880
        if 2_048 < size < 122_880:  # within half a vector of CUSTOMERS_PER_ROW_GROUP customers' rows
            assert abs(size - CUSTOMERS_PER_ROW_GROUP * rows / customers) <= 1_024


def _groups(ws: Workspace, table: str) -> int:
    found = ws.store.query(
        f"SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('main.{table}') WHERE column_name = 'customer_id'"
    )
    return int(found[0][0])


def _arrival_order_workspace(root: Path) -> Workspace:
    """600 customers with 10 orders, 17 items and 58 events each, in arrival order; the store attached as
    usual (DuckDB's 122,880-row groups outside a compaction)."""
    Workspace.init(root, name="w").close()
    ws = Workspace(root)
    assert ws.store.row_group_size is None
    cur = ws.store.cursor()
    cur.execute(
        "CREATE TABLE main.customers AS SELECT 'c' || lpad(range::VARCHAR, 4, '0') AS customer_id FROM range(600)"
    )
    for table, per_customer, time_column in (
        ("orders", 10, "ordered_at"),
        ("order_items", 17, "ordered_at"),
        ("events", 58, "occurred_at"),
    ):
        cur.execute(
            f"CREATE TABLE main.{table} AS SELECT 'c' || lpad(c::VARCHAR, 4, '0') AS customer_id, "
            f"'{table}-' || d || '-' || c AS {'event_id' if table == 'events' else 'order_id'}, "
            f"TIMESTAMP '2024-01-01' + d * INTERVAL 1 HOUR AS {time_column} "
            f"FROM range({per_customer}) r(d), range(600) s(c) ORDER BY d, c"
        )
    return ws


def test_each_table_is_compacted_in_row_groups_of_its_own_size_and_again_when_that_size_changes(
    tmp_path: Path,
) -> None:
    """600 customers with 10 orders, 17 items and 58 events each, in arrival order, no fixed size: each table's
    row groups hold about 280 customers (orders 2,048 rows, items 4,096, events 16,384), recorded per table, so a
    read of two customers' orders skips the other groups. When the customers quadruple, the tables whose size
    would change (items, events) are rewritten in their new size, orders are not."""
    ws = _arrival_order_workspace(tmp_path / "w")
    try:
        cur = ws.store.cursor()
        assert {t.table: t.target_row_group_size for t in layout(ws.store)} == {
            "orders": 2_048,
            "order_items": 4_096,
            "events": 16_384,
        }
        assert _rows_scanned(ws, "orders", ["c0007", "c0301"]) == 6_000  # arrival order: every group
        compact(ws.store)
        recorded = dict(ws.store.query("SELECT table_name, row_group_size FROM segmentum.compactions"))
        assert recorded == {"orders": 2_048, "order_items": 4_096, "events": 16_384}
        assert {t: _groups(ws, t) for t in recorded} == {"orders": 3, "order_items": 3, "events": 3}
        assert _rows_scanned(ws, "orders", ["c0007", "c0008"]) <= 2_048 < 6_000
        assert not any(t.needs_compaction() for t in layout(ws.store))
        # the most customers a group holds: events' 16,384 rows of 58 a customer
        assert compacted_customers_per_row_group(ws.store) == pytest.approx(16_384 / 58)

        cur.execute("INSERT INTO main.customers SELECT 'd' || lpad(range::VARCHAR, 4, '0') FROM range(1800)")
        changed = [t.table for t in layout(ws.store) if t.target_row_group_size != t.row_group_size]
        assert changed == ["order_items", "events"]  # orders: 2.5 rows a customer, still DuckDB's minimum
        # a checkpoint with the store attached as usual (DuckDB's 122,880) merges the small row groups (its
        # vacuum): seen, and undone by the next compaction
        cur.execute("CHECKPOINT")
        assert all(t.merged and t.needs_compaction() for t in layout(ws.store))
        assert {t: _groups(ws, t) for t in ("orders", "order_items", "events")} == {
            "orders": 1,
            "order_items": 1,
            "events": 1,
        }
        assert [c.skipped for c in compact(ws.store)] == [False, False, False]
        recorded = dict(ws.store.query("SELECT table_name, row_group_size FROM segmentum.compactions"))
        assert recorded == {"orders": 2_048, "order_items": 2_048, "events": 4_096}
        assert {t: _groups(ws, t) for t in recorded} == {"orders": 3, "order_items": 5, "events": 9}
        assert not any(t.needs_compaction() for t in layout(ws.store))
    finally:
        ws.close()


def _indexes(ws: Workspace) -> set[tuple[str, str]]:
    return set(
        ws.store.query(
            "SELECT table_name, index_name FROM duckdb_indexes() WHERE database_name = current_database()"
        )
    )


def test_compaction_builds_no_index_and_a_store_with_the_old_staging_indexes_loses_them_at_open(
    ws: Workspace,
) -> None:
    """DuckDB writes every index it has read or changed again in full at each checkpoint, which every write waits
    for (`store.compact`): `compact` builds none on the fact tables, and a store to which an older segmentum
    gave them (`<table>_customer_id`, until 2026-12-04) has them dropped by its migration when next opened,
    its rows untouched; the customers' own index stays (an event's append looks its ids up there)."""
    from segmentum.store import tables as t
    from segmentum.store.customers import CUSTOMER_ID_INDEX

    def counts(w: Workspace) -> dict[str, int]:
        return {s.name: w.store.query(f"SELECT count(*) FROM main.{s.name}")[0][0] for s in CLUSTERED}

    old = {(s.name, f"{s.name}_customer_id") for s in CLUSTERED}
    done = compact(ws.store)
    assert [(c.table, c.skipped) for c in done] == [(s.name, False) for s in CLUSTERED]
    assert not {i for _, i in _indexes(ws)} & {i for _, i in old}
    cur = ws.store.cursor()
    for table, index in old:  # as the last older release built them
        cur.execute(f"CREATE INDEX {index} ON main.{table} (customer_id)")
    cur.execute(f"CREATE INDEX IF NOT EXISTS {CUSTOMER_ID_INDEX} ON main.customers (customer_id)")
    cur.execute(f"DELETE FROM segmentum.{t.VERSION_TABLE} WHERE version = {t.SCHEMA_VERSION}")
    before = counts(ws)
    root = ws.root
    assert old <= _indexes(ws)
    ws.close()
    with Workspace(root) as again:
        assert t.stored_version(again.store.cursor()) == t.SCHEMA_VERSION
        assert _indexes(again) == {("customers", CUSTOMER_ID_INDEX)}
        assert counts(again) == before


def test_a_server_s_checkpoints_keep_the_compacted_row_groups(tmp_path: Path) -> None:
    """Issue 20: DuckDB's vacuum merged compacted row groups at every checkpoint (the test above: 3 groups -> 1),
    which at 1M customers cost about 2 s a checkpoint while the server's micro-batches waited. A server's store
    keeps them (`Store.keep_row_groups`), at every checkpoint: its deleted rows are given back another way
    (`store.reclaim`; a vacuuming checkpoint every 10 minutes held every write for 4.7-6.9 s)."""
    from segmentum.service.runtime import Runtime

    ws = _arrival_order_workspace(tmp_path / "w")
    try:
        compact(ws.store)
        tables = ("orders", "order_items", "events")
        assert {t: _groups(ws, t) for t in tables} == {"orders": 3, "order_items": 3, "events": 3}
        Runtime(ws, realtime=False)  # what `segmentum serve` sets on its store
        cur = ws.store.cursor()
        # each a checkpoint after a write, as after a micro-batch (an empty log checkpoints nothing)
        for i in range(3):
            cur.execute(f"INSERT INTO main.customers VALUES ('new{i}')")
            assert ws.store.checkpoint()
        assert {t: _groups(ws, t) for t in tables} == {"orders": 3, "order_items": 3, "events": 3}
        assert not any(t.merged or t.needs_compaction() for t in layout(ws.store))
        assert ws.store.query("SELECT current_setting('max_vacuum_tasks')") == [(0,)]
    finally:
        ws.close()
