"""Memberships stored narrow (issue 16): rows of (run, customer, key) and one key per name, read through the
view `segmentum.memberships` with the columns and rows the wide table had."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from store_helpers import old_store

from segmentum.store import Store
from segmentum.store import memberships as stored
from segmentum.store import snapshots as snapshot
from segmentum.store import tables as t

COLUMNS = "run_id, customer_id, segmentation, segment, name"


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "store.duckdb")
    yield s
    s.close()


def _traits(con: duckdb.DuckDBPyConnection, run_id: int, rows: list[tuple[str, bool, str]]) -> str:
    """A run's traits table before its segment columns are dropped: a standalone segment `big` (boolean) and
    a segmentation `tier` (label)."""
    table = f"segmentum.traits_{run_id}"
    con.execute(f"CREATE TABLE {table} (customer_id VARCHAR, segment_big BOOLEAN, segmentation_tier VARCHAR)")
    if rows:
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", rows)
    return table


# the wide table's writer before issue 16, over the same traits table: the reference the narrow rows must match
def _wide(con: duckdb.DuckDBPyConnection, run_id: int, table: str) -> list[tuple]:
    return con.execute(
        f"SELECT {run_id}::BIGINT, customer_id, NULL::VARCHAR, 'big', 'big' FROM {table} WHERE segment_big "
        f"UNION ALL SELECT {run_id}::BIGINT, customer_id, 'tier', segmentation_tier, 'tier.' || segmentation_tier "
        f"FROM {table} ORDER BY ALL"
    ).fetchall()


def _read(con: duckdb.DuckDBPyConnection, run_id: int) -> list[tuple]:
    return con.execute(
        f"SELECT {COLUMNS} FROM segmentum.memberships WHERE run_id = ? ORDER BY ALL", [run_id]
    ).fetchall()


def test_a_run_reads_back_exactly_the_rows_the_wide_table_held(store: Store) -> None:
    with store.transaction() as con:
        table = _traits(
            con, 1, [("c1", True, "vip"), ("c2", False, "low"), ("c3", None, "low"), ("c4", True, "mid")]
        )
        stored.write_run(con, 1, table, {"big": "segment_big"}, {"tier": "segmentation_tier"})
    con = store.cursor()
    assert _read(con, 1) == _wide(con, 1, "segmentum.traits_1")
    assert len(_read(con, 1)) == 6  # 4 customers in tier, 2 in big
    # the narrow table holds no string but the id
    assert [c for c in store.columns(t.MEMBERSHIP_ROWS_TABLE, schema=t.META)] == [
        "run_id",
        "customer_id",
        "segment_key",
    ]
    assert set(snapshot.memberships(store, 1, "tier.low")["customer_id"]) == {"c2", "c3"}


def test_several_segments_and_segmentations_in_one_scan_write_each_membership_once(store: Store) -> None:
    """Every customer's memberships come from one list per row (`write_run`): a true segment column and a
    label each give one row, a false or null column, a null label and a customer in nothing give none."""
    table = "segmentum.traits_7"
    rows = [
        ("c1", True, False, "vip", "a"),
        ("c2", None, True, None, "b"),
        ("c3", False, None, "low", None),
        ("c4", False, False, None, None),  # in nothing
        ("c5", True, True, "vip", "b"),
    ]
    with store.transaction() as con:
        con.execute(
            f"CREATE TABLE {table} (customer_id VARCHAR, seg_big BOOLEAN, seg_new BOOLEAN, "
            "sgm_tier VARCHAR, sgm_abc VARCHAR)"
        )
        con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?)", rows)
        stored.write_run(
            con, 7, table, {"big": "seg_big", "new": "seg_new"}, {"tier": "sgm_tier", "abc": "sgm_abc"}
        )
    expected = sorted(
        [(7, c, None, "big", "big") for c, big, *_ in rows if big]
        + [(7, c, None, "new", "new") for c, _, new, *_ in rows if new]
        + [(7, c, "tier", t, f"tier.{t}") for c, _, _, t, _ in rows if t is not None]
        + [(7, c, "abc", a, f"abc.{a}") for c, *_, a in rows if a is not None],
        key=lambda r: tuple("" if v is None else str(v) for v in r),
    )
    got = sorted(_read(store.cursor(), 7), key=lambda r: tuple("" if v is None else str(v) for v in r))
    assert got == expected
    assert len(got) == 10


def test_a_key_is_assigned_once_per_name_and_never_reused(store: Store) -> None:
    with store.transaction() as con:
        stored.write_run(
            con,
            1,
            _traits(con, 1, [("c1", True, "vip"), ("c2", False, "low")]),
            {"big": "segment_big"},
            {"tier": "segmentation_tier"},
        )
    keys_before = dict(store.query("SELECT name, segment_key FROM segmentum.segment_keys"))
    assert sorted(keys_before) == ["big", "tier.low", "tier.vip"]
    assert len(set(keys_before.values())) == 3
    with store.transaction() as con:
        # a label never seen before gets the next key; known ones keep theirs
        stored.write_run(
            con,
            2,
            _traits(con, 2, [("c1", False, "new"), ("c2", True, "low")]),
            {"big": "segment_big"},
            {"tier": "segmentation_tier"},
        )
    keys = dict(store.query("SELECT name, segment_key FROM segmentum.segment_keys"))
    assert {n: keys[n] for n in keys_before} == keys_before
    assert keys["tier.new"] == max(keys_before.values()) + 1
    con = store.cursor()
    assert _read(con, 2) == _wide(con, 2, "segmentum.traits_2")
    assert _read(con, 1) == _wide(con, 1, "segmentum.traits_1")  # an earlier run reads as it was
    # a run that never completed is removed (recover); its keys stay, so no later name can take them
    with store.transaction() as con:
        stored.delete_run(con, 2)
    assert _read(store.cursor(), 2) == [] and len(_read(store.cursor(), 1)) == 3
    assert dict(store.query("SELECT name, segment_key FROM segmentum.segment_keys")) == keys


def test_a_run_with_no_segment_and_an_empty_segmentation_writes_nothing(store: Store) -> None:
    with store.transaction() as con:
        stored.write_run(con, 1, _traits(con, 1, []), {"big": "segment_big"}, {"tier": "segmentation_tier"})
        stored.write_run(con, 2, _traits(con, 2, [("c1", True, "vip")]), {}, {})
    assert store.query("SELECT count(*) FROM segmentum.memberships")[0][0] == 0


def test_filters_on_run_and_name_reach_the_scan_of_the_rows(store: Store) -> None:
    """The view must not cost readers a scan of every run: run_id is compared as stored (no cast, so the
    row groups of other runs are skipped), and a name filter is applied to the dictionary."""
    with store.transaction() as con:
        for run_id in (3, 4):
            table = _traits(con, run_id, [("c1", True, "vip"), ("c2", False, "low")])
            stored.write_run(con, run_id, table, {"big": "segment_big"}, {"tier": "segmentation_tier"})
    plan = "\n".join(
        r[1]
        for r in store.query(
            "EXPLAIN SELECT customer_id FROM segmentum.memberships WHERE run_id = 3 AND name = 'tier.vip'"
        )
    )
    assert "run_id=3" in plan.replace(" ", "") and "CAST(run_id" not in plan
    assert "name='tier.vip'" in plan.replace(" ", "")


def test_a_store_of_the_previous_version_is_migrated_to_narrow_rows_reading_the_same(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = old_store(path)
    # the layout of the version before the narrow rows: the wide table (later steps may follow that one)
    before_narrow = t.MIGRATIONS.index(t._narrow_memberships)
    t.migrate(con, 0, t.MIGRATIONS[:before_narrow])
    assert t.stored_version(con) == before_narrow
    wide = [
        (1, "c1", None, "big", "big"),
        (1, "c1", "tier", "vip", "tier.vip"),
        (1, "c2", "tier", "low", "tier.low"),
        (2, "c2", None, "big", "big"),
        (2, "c1", "tier", "low", "tier.low"),
        (2, "c2", "tier", "low", "tier.low"),
    ]
    con.executemany("INSERT INTO segmentum.memberships VALUES (?, ?, ?, ?, ?)", wide)
    before = con.execute(f"SELECT {COLUMNS} FROM segmentum.memberships").fetchall()  # insertion order
    con.close()
    store = Store(path)
    try:
        cur = store.cursor()
        assert t.stored_version(cur) == t.SCHEMA_VERSION
        kind = cur.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_schema = 'segmentum' "
            "AND table_name = 'memberships'"
        ).fetchone()
        assert kind == ("VIEW",)
        after = cur.execute(f"SELECT {COLUMNS} FROM segmentum.memberships").fetchall()
        assert sorted(after, key=repr) == sorted(before, key=repr)
        assert sorted(after, key=repr) == sorted(wide, key=repr)
        # the rows moved in their order, one key per name
        assert cur.execute("SELECT count(*) FROM segmentum.membership_rows").fetchone() == (6,)
        assert sorted(r[0] for r in cur.execute("SELECT name FROM segmentum.segment_keys").fetchall()) == [
            "big",
            "tier.low",
            "tier.vip",
        ]
        # a run written after the migration goes on with the next keys
        with store.transaction() as con:
            stored.write_run(
                con,
                3,
                _traits(con, 3, [("c1", True, "mid")]),
                {"big": "segment_big"},
                {"tier": "segmentation_tier"},
            )
        assert cur.execute(
            "SELECT segment_key FROM segmentum.segment_keys WHERE name = 'tier.mid'"
        ).fetchone() == (4,)
        assert _read(cur, 3) == _wide(cur, 3, "segmentum.traits_3")
    finally:
        store.close()


def test_recover_removes_the_memberships_of_a_run_a_killed_process_left_running(store: Store) -> None:
    from segmentum.runs.execute import recover

    with store.transaction() as con:
        for run_id, status in ((1, "complete"), (2, "running")):
            con.execute(
                "INSERT INTO segmentum.runs (run_id, as_of, status, kind) VALUES (?, now(), ?, 'batch')",
                [run_id, status],
            )
            table = _traits(con, run_id, [("c1", True, "vip"), ("c2", False, "low")])
            stored.write_run(con, run_id, table, {"big": "segment_big"}, {"tier": "segmentation_tier"})
    keys = store.query("SELECT * FROM segmentum.segment_keys ORDER BY segment_key")
    assert recover(store) == [2]
    assert _read(store.cursor(), 2) == [] and len(_read(store.cursor(), 1)) == 3
    assert store.query("SELECT status FROM segmentum.runs WHERE run_id = 2") == [("failed",)]
    assert not store.table_exists("traits_2", schema=t.META)
    assert store.query("SELECT * FROM segmentum.segment_keys ORDER BY segment_key") == keys
