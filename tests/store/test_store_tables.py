"""A new store gets every declared table of schema `segmentum` at the current schema version."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import layout, old_store

from segmentum.errors import StoreError
from segmentum.store import Store
from segmentum.store import tables as t
from segmentum.store.catalog import model_tables

FIT_TABLES = {"model_clv", "model_churn", "model_replenishment", "replenishment_categories"}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store.duckdb")
    yield s
    s.close()


def test_a_new_store_is_at_the_current_version_with_every_table_created_at_open(store: Store) -> None:
    cur = store.cursor()
    assert t.stored_version(cur) == t.SCHEMA_VERSION
    got = layout(cur)
    opened = {name for name, table in t.TABLES.items() if table.created == "open"}
    assert set(got["tables"]) == opened | set(t.VIEWS)
    assert got["sequences"] == sorted(t.SEQUENCES)
    for name in opened:
        declared = [
            (c.name, c.type, not c.not_null and c.name not in t.TABLES[name].key)
            for c in t.TABLES[name].columns
        ]
        assert [c[:3] for c in got["tables"][name]["columns"]] == declared, name
    # one row: the version the file was created at, and by which release
    rows = cur.execute("SELECT version, release FROM segmentum.schema_version").fetchall()
    assert [r[0] for r in rows] == [t.SCHEMA_VERSION] and rows[0][1]


def test_model_outputs_are_created_by_their_fit_not_at_open(store: Store) -> None:
    """An empty model_clv would make clv_12m look like an attribute and load `value_clv` unfitted."""
    assert {n for n, table in t.TABLES.items() if table.created == "fit"} == FIT_TABLES
    assert model_tables(store) == []
    with store.transaction() as cur:
        t.create_on_fit(cur, "model_clv")
    assert model_tables(store) == ["model_clv"]
    assert list(store.columns("model_clv", schema=t.META)) == [c.name for c in t.TABLES["model_clv"].columns]
    with pytest.raises(StoreError, match="'runs' is not a table created by a fit; those are: model_clv"):
        t.create_on_fit(store.cursor(), "runs")


def test_a_new_store_has_the_layout_an_old_store_migrates_to(store: Store, tmp_path: Path) -> None:
    """Declared once here, the tables of a new store are what the first release's own DDL strings created
    (columns, types, nullability, defaults, keys) after the declared migrations ran, so a migrated old store
    and a new one are the same."""
    with store.transaction() as cur:
        t.create_on_fit(cur, *sorted(FIT_TABLES))
    new = layout(store.cursor())
    old = old_store(tmp_path / "old.duckdb")
    before = layout(old)
    old.close()
    # added since: the version table, the fits of the models (migration step 1 -> 2), the stored segment
    # profiles (step 3 -> 4), the versions of definitions files (step 4 -> 5), the real-time live rows
    # (step 5 -> 6), static lists (step 6 -> 7), the triggers' transitions (step 7 -> 8), the memberships'
    # narrow rows and keys (step 9 -> 10: `memberships` is their view since), the fact tables' compactions
    # (step 10 -> 11)
    assert set(new["tables"]) - set(before["tables"]) == {
        t.MEMBERSHIP_ROWS_TABLE,
        t.SEGMENT_KEYS_TABLE,
        t.VERSION_TABLE,
        t.MODEL_FITS_TABLE,
        t.PROFILES_TABLE,
        t.DEFINITION_VERSIONS_TABLE,
        t.LIST_MEMBERS_TABLE,
        t.LIVE_TABLE,
        t.TRANSITIONS_TABLE,
        t.COMPACTIONS_TABLE,
    }
    assert new["sequences"] == before["sequences"]
    migrated = Store(tmp_path / "old.duckdb")
    try:
        with migrated.transaction() as cur:
            t.create_on_fit(cur, *sorted(FIT_TABLES))
        after = layout(migrated.cursor())
    finally:
        migrated.close()
    for name, table in new["tables"].items():
        assert after["tables"][name] == table, name


def test_reopening_a_current_store_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    first = Store(path)
    before = layout(first.cursor())
    first.close()
    again = Store(path)
    try:
        cur = again.cursor()
        assert layout(cur) == before
        assert cur.execute("SELECT count(*) FROM segmentum.schema_version").fetchone()[0] == 1
    finally:
        again.close()
