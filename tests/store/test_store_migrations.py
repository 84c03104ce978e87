"""Stores of older releases are migrated on open (in one transaction, keeping every row); stores of newer
releases are refused with what to do; read-only stores are never migrated."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from store_helpers import OLD_RELEASE_DDL, connect, layout, old_store

from segmentum.cli.main import main
from segmentum.errors import StoreError
from segmentum.service.keys import KeyStore
from segmentum.service.users import add_user
from segmentum.store import Store
from segmentum.store import snapshots as snapshot
from segmentum.store import tables as t
from segmentum.store.catalog import model_fits
from segmentum.views.tasks import tasks
from segmentum.workspace import Workspace


def _fill_old_store(con: duckdb.DuckDBPyConnection) -> None:
    """Rows as the previous release wrote them, ids drawn from its sequences."""
    for source in ("a.csv", "b.csv"):
        con.execute(
            "INSERT INTO segmentum.ingests VALUES (nextval('segmentum.ingest_seq'), 'orders', ?, 'append', 2, 2, 0, "
            "NULL, TIMESTAMP '2024-03-01 10:00:00', TIMESTAMP '2024-03-01 10:00:01')",
            [source],
        )
    con.execute("SELECT nextval('segmentum.run_seq')")
    con.execute(
        "INSERT INTO segmentum.runs VALUES (1, TIMESTAMP '2024-02-29 23:59:59', NULL, NULL, 'complete', 'duckdb', "
        "'batch', 'h', '{\"big\": \"abc\"}', 2, NULL)"
    )
    con.execute("INSERT INTO segmentum.memberships VALUES (1, 'c1', NULL, 'big', 'big')")
    con.execute("CREATE TABLE segmentum.traits_1 (customer_id VARCHAR, spent DECIMAL(38, 6))")
    con.execute("INSERT INTO segmentum.traits_1 VALUES ('c1', 700), ('c2', 50)")
    con.execute(
        "INSERT INTO segmentum.outbox (id, idempotency_key, trigger, action_type, customer_id, run_id, payload, "
        "status, created_at) VALUES (nextval('segmentum.outbox_seq'), 'welcome:c1:1:0', 'welcome', 'task', 'c1', 1, "
        "'{}', 'delivered', TIMESTAMP '2024-03-01 10:00:00')"
    )
    con.execute(
        "INSERT INTO segmentum.tasks (id, title, status, customer_id, created_at) VALUES "
        "(nextval('segmentum.task_seq'), 'Call c1', 'open', 'c1', TIMESTAMP '2024-03-01 10:00:00')"
    )
    con.execute(
        "INSERT INTO segmentum.api_keys VALUES ('sgm_00000000', 'old', 'read', 's', 'h', TIMESTAMP '2024-03-01', NULL)"
    )
    con.execute(
        "INSERT INTO segmentum.model_clv VALUES ('c1', 0.9, 1.5, 80, 120, TIMESTAMP '2024-03-01', DATE '2024-02-29')"
    )


def _counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'segmentum' AND table_name <> 'schema_version' ORDER BY 1"
        ).fetchall()
    ]
    return {n: con.execute(f'SELECT count(*) FROM segmentum."{n}"').fetchone()[0] for n in names}


def test_a_store_of_the_previous_release_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = old_store(path)
    _fill_old_store(con)
    before, rows_before = _counts(con), layout(con)
    con.close()
    store = Store(path)
    try:
        cur = store.cursor()
        assert t.stored_version(cur) == t.SCHEMA_VERSION
        # every step stamps the version it reached
        assert cur.execute("SELECT version FROM segmentum.schema_version ORDER BY version").fetchall() == [
            (v,) for v in range(1, t.SCHEMA_VERSION + 1)
        ]
        # the fit behind each model table is recorded (a later release's table): model_clv's data ends with its
        # calibration day; the empty ones (and a store without data) say no end; no stored segment profile yet
        # the wide memberships table became the narrow rows and their keys, read through the view
        assert before.pop("memberships") == 1
        assert _counts(cur) == {
            **before,
            t.MEMBERSHIP_ROWS_TABLE: 1,
            t.SEGMENT_KEYS_TABLE: 1,
            t.MODEL_FITS_TABLE: 3,
            t.PROFILES_TABLE: 0,
            t.DEFINITION_VERSIONS_TABLE: 0,
            t.LIST_MEMBERS_TABLE: 0,
            t.LIVE_TABLE: 0,
            t.TRANSITIONS_TABLE: 0,
            t.COMPACTIONS_TABLE: 0,
        }
        assert cur.execute(
            "SELECT table_name, model, data_end FROM segmentum.fits ORDER BY 1"
        ).fetchall() == [
            ("model_churn", "churn risk", None),
            ("model_clv", "CLV", datetime(2024, 2, 29, 23, 59, 59, 999999)),
            ("model_replenishment", "replenishment", None),
        ]
        assert layout(cur)["tables"]["traits_1"] == rows_before["tables"]["traits_1"]
        assert [r.run_id for r in snapshot.list_runs(store)] == [1]
        assert snapshot.get_run(store, 1).definition_hashes == {"big": "abc"}
        # the sequences go on from where the old release left them
        assert cur.execute("SELECT nextval('segmentum.ingest_seq')").fetchone()[0] == 3
        assert cur.execute("SELECT nextval('segmentum.outbox_seq')").fetchone()[0] == 2
        assert cur.execute("SELECT clv_12m FROM segmentum.model_clv").fetchall() == [(120.0,)]
    finally:
        store.close()


def test_an_old_store_gets_the_tables_its_modules_never_created(tmp_path: Path) -> None:
    """The previous release created a table when a module first needed it: a store that never had a task,
    a key or a user lacks those tables, and no model was fitted."""
    path = tmp_path / "old.duckdb"
    old_store(path, modules=["store/snapshots.py RUNS_DDL"]).close()
    store = Store(path)
    try:
        present = set(layout(store.cursor())["tables"])
        # and the view the memberships are read through
        assert present == {n for n, table in t.TABLES.items() if table.created == "open"} | {
            t.MEMBERSHIPS_VIEW
        }
        add_user(store, "ann", "long enough password")
        assert KeyStore(store).create("read", "new")[0].startswith("sgm_")
    finally:
        store.close()


def test_columns_an_older_layout_lacks_are_added_and_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = connect(path)
    con.execute("CREATE SCHEMA segmentum")
    # columns arrive over releases at the end of a table (ALTER TABLE appends): older layouts lack the last ones
    con.execute(
        "CREATE TABLE segmentum.runs (run_id BIGINT PRIMARY KEY, as_of TIMESTAMP, started_at TIMESTAMP, "
        "finished_at TIMESTAMP, status VARCHAR)"
    )
    con.execute(
        "INSERT INTO segmentum.runs VALUES (7, TIMESTAMP '2024-01-31 23:59:59', NULL, NULL, 'complete')"
    )
    con.execute("CREATE TABLE segmentum.model_churn (customer_id VARCHAR NOT NULL, churn_risk DOUBLE)")
    con.execute("INSERT INTO segmentum.model_churn VALUES ('c1', 0.25)")
    # and one lacking a column with a default, in the middle
    con.execute(
        "CREATE TABLE segmentum.outbox (id BIGINT PRIMARY KEY, idempotency_key VARCHAR NOT NULL UNIQUE, "
        "trigger VARCHAR NOT NULL, action_type VARCHAR NOT NULL, customer_id VARCHAR, run_id BIGINT NOT NULL, "
        "payload JSON NOT NULL, status VARCHAR NOT NULL, next_attempt_at TIMESTAMP, last_error VARCHAR, "
        "created_at TIMESTAMP NOT NULL, delivered_at TIMESTAMP)"
    )
    con.execute(
        "INSERT INTO segmentum.outbox VALUES (1, 'k', 'welcome', 'task', 'c1', 7, '{}', 'pending', NULL, NULL, "
        "TIMESTAMP '2024-02-01', NULL)"
    )
    con.close()
    store = Store(path)
    try:
        for name in ("runs", "model_churn"):
            assert list(store.columns(name, schema=t.META)) == [c.name for c in t.TABLES[name].columns], name
        assert set(store.columns("outbox", schema=t.META)) == {c.name for c in t.TABLES["outbox"].columns}
        info = snapshot.get_run(store, 7)
        assert (info.status, info.kind, info.message) == ("complete", None, None)
        assert store.query("SELECT churn_risk, churn_as_of FROM segmentum.model_churn") == [(0.25, None)]
        # a column with a declared default gets it for the old rows
        assert store.query("SELECT attempts, last_error FROM segmentum.outbox") == [(0, None)]
    finally:
        store.close()


DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
segments:
  big: {where: "spent >= 100"}
"""


def test_a_migrated_workspace_ingests_runs_and_acts_where_the_old_one_stopped(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "shop", name="shop")
    store_path = ws.root / ws.config.store
    (ws.root / "definitions" / "shop.yml").write_text(DEFINITIONS)
    con = old_store(store_path)
    _fill_old_store(con)
    con.execute("CREATE TABLE main.customers (customer_id VARCHAR)")
    con.execute("INSERT INTO main.customers VALUES ('c1'), ('c2')")
    con.close()
    with Workspace(ws.root) as migrated:
        orders = pd.DataFrame(
            {
                "order_id": ["o1", "o2"],
                "customer_id": ["c1", "c2"],
                "ordered_at": pd.to_datetime(["2024-03-02", "2024-03-03"]),
                "amount": [150.0, 20.0],
            }
        )
        assert migrated.ingest_frame("orders", orders).ingest_id == 3
        result = migrated.run(as_of="2024-03-31")
        assert result.run_id == 2
        assert [r.run_id for r in snapshot.list_runs(migrated.store)] == [2, 1]
        assert set(snapshot.memberships(migrated.store, 2, "big")["customer_id"]) == {"c1"}
        assert set(snapshot.memberships(migrated.store, 1, "big")["customer_id"]) == {"c1"}
        assert [task["title"] for task in tasks(migrated)["tasks"]] == ["Call c1"]


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = old_store(path, modules=[])
    before = layout(con)
    broken = (
        t.MIGRATIONS[0],
        ["CREATE TABLE segmentum.half_done (a INTEGER)", "SELECT * FROM segmentum.nothing"],
    )
    with pytest.raises(duckdb.CatalogException, match="nothing"):
        t.migrate(con, 0, broken)
    assert layout(con) == before  # neither the first step's tables, nor half of the second, nor a version
    assert t.stored_version(con) == 0
    con.close()
    store = Store(path)
    try:
        assert t.stored_version(store.cursor()) == t.SCHEMA_VERSION
    finally:
        store.close()


def test_steps_run_in_order_from_the_stored_version_and_each_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = old_store(path, modules=["store/snapshots.py RUNS_DDL"])
    con.execute("INSERT INTO segmentum.runs (run_id, status) VALUES (1, 'complete')")
    steps = (
        t.MIGRATIONS[0],
        ["ALTER TABLE segmentum.runs ADD COLUMN note VARCHAR"],
        lambda c: c.execute("UPDATE segmentum.runs SET note = 'after 2'"),
    )
    assert t.migrate(con, 0, steps) == 3
    assert con.execute("SELECT version FROM segmentum.schema_version ORDER BY 1").fetchall() == [
        (1,),
        (2,),
        (3,),
    ]
    assert con.execute("SELECT run_id, note FROM segmentum.runs").fetchall() == [(1, "after 2")]
    # from a stored version only the later steps run
    more = (*steps, ["UPDATE segmentum.runs SET note = note || ', then 4'"])
    assert t.migrate(con, t.stored_version(con), more) == 4
    assert con.execute("SELECT note FROM segmentum.runs").fetchall() == [("after 2, then 4",)]
    con.close()


def _newer_store(path: Path) -> None:
    store = Store(path)
    store.cursor()  # opens (and creates) the file at this release's version
    store.close()
    con = connect(path)
    con.execute(
        "INSERT INTO segmentum.schema_version VALUES (?, TIMESTAMP '2030-01-01', '9.9.9')",
        [t.SCHEMA_VERSION + 1],
    )
    con.close()


@pytest.mark.parametrize("read_only", [False, True])
def test_a_store_of_a_newer_release_is_refused_with_what_to_do(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "new.duckdb"
    _newer_store(path)
    expected = (
        rf"schema version {t.SCHEMA_VERSION + 1} \(written by segmentum 9\.9\.9\), newer than this segmentum "
        rf"\(.+\) knows \(version {t.SCHEMA_VERSION}\); upgrade segmentum"
    )
    for _ in range(2):  # refused each time: the refused file is not left attached in this process
        with pytest.raises(StoreError, match=expected):
            Store(path, read_only=read_only).cursor()
    con = connect(path)  # and not locked, nor changed
    assert t.stored_version(con) == t.SCHEMA_VERSION + 1
    con.close()


def test_the_cli_says_to_upgrade_when_the_store_is_newer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = Workspace.init(tmp_path / "shop")
    _newer_store(ws.root / ws.config.store)
    with pytest.raises(SystemExit) as exit_info:
        main(["runs", "--workspace", str(ws.root)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the store ") and "upgrade segmentum" in err


def test_a_read_only_store_at_the_current_version_reads_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    writer = Store(path)
    writer.cursor().execute(
        "INSERT INTO segmentum.runs (run_id, status, kind) VALUES (1, 'complete', 'batch')"
    )
    before = layout(writer.cursor())
    writer.close()
    reader = Store(path, read_only=True)
    try:
        assert [r.run_id for r in snapshot.list_runs(reader)] == [1]
        assert layout(reader.cursor()) == before
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            reader.cursor().execute("DELETE FROM segmentum.runs")
    finally:
        reader.close()


def test_a_read_only_store_is_never_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = old_store(path)
    before = layout(con)
    con.close()
    with pytest.raises(
        StoreError, match=r"schema version 0, .*read-only store is not migrated; open it once without"
    ):
        Store(path, read_only=True).cursor()
    con = connect(path)
    assert layout(con) == before
    con.close()


def test_the_old_release_ddl_covers_every_declared_table() -> None:
    """The fixture of the previous release is complete: every table declared now existed then (but the version
    table), so the migration tests above exercise each one."""
    created = " ".join(s for statements in OLD_RELEASE_DDL.values() for s in statements)
    # tables added by a migration step after that release
    later = (
        t.VERSION_TABLE,
        t.MODEL_FITS_TABLE,
        t.PROFILES_TABLE,
        t.DEFINITION_VERSIONS_TABLE,
        t.LIST_MEMBERS_TABLE,
        t.LIVE_TABLE,
        t.TRANSITIONS_TABLE,
        t.MEMBERSHIP_ROWS_TABLE,
        t.SEGMENT_KEYS_TABLE,
        t.COMPACTIONS_TABLE,
    )
    missing = [n for n in t.TABLES if n not in later and f"segmentum.{n} (" not in created]
    assert missing == []
    assert created.count("CREATE SEQUENCE") == len(t.SEQUENCES)
    for seq in t.SEQUENCES:
        assert f"CREATE SEQUENCE IF NOT EXISTS segmentum.{seq} START 1" in created


def test_a_version_1_store_records_the_fits_of_its_models_from_their_own_columns(tmp_path: Path) -> None:
    """1 -> 2 (DESIGN.md section 5, models are point in time): each model table present gets the end of the data
    its fit used: CLV the end of its calibration day, churn and replenishment their as_of, a clustering the as_of
    of its newest saved fit, a clustering that does not say it the newest timestamp of the data."""
    path = tmp_path / "v1.duckdb"
    con = old_store(path)
    t.migrate(con, 0, t.MIGRATIONS[:1])
    assert t.stored_version(con) == 1
    _fill_old_store(con)  # model_clv calibrated to 2024-02-29
    con.execute(
        "INSERT INTO segmentum.model_churn VALUES ('c1', 0.2, true, TIMESTAMP '2024-03-02', "
        "TIMESTAMP '2024-02-15 23:59:59.999999')"
    )
    con.execute(
        "INSERT INTO segmentum.model_replenishment (customer_id, replen_as_of) VALUES "
        "('c1', TIMESTAMP '2024-01-31 23:59:59.999999')"
    )
    con.execute("CREATE TABLE segmentum.model_cluster_needs (customer_id VARCHAR, cluster_needs VARCHAR)")
    con.execute("CREATE TABLE segmentum.model_cluster_old (customer_id VARCHAR, cluster_old VARCHAR)")
    con.execute(
        "INSERT INTO segmentum.clusterings VALUES ('needs', TIMESTAMP '2024-03-05', "
        '\'{"source": {"kind": "run", "run_id": 1, "as_of": "2024-02-29T23:59:59"}}\')'
    )
    con.execute("CREATE TABLE main.orders (order_id VARCHAR, customer_id VARCHAR, ordered_at TIMESTAMP)")
    con.execute("INSERT INTO main.orders VALUES ('o1', 'c1', TIMESTAMP '2024-03-03 12:00')")
    con.close()
    store = Store(path)
    try:
        assert t.stored_version(store.cursor()) == t.SCHEMA_VERSION
        fits = {f.table: (f.model, f.data_end) for f in model_fits(store)}
        assert fits == {
            "model_churn": ("churn risk", datetime(2024, 2, 15, 23, 59, 59, 999999)),
            "model_cluster_needs": ("clustering 'needs'", datetime(2024, 2, 29, 23, 59, 59)),
            "model_cluster_old": ("clustering 'old'", datetime(2024, 3, 3, 12)),
            "model_clv": ("CLV", datetime(2024, 2, 29, 23, 59, 59, 999999)),
            "model_replenishment": ("replenishment", datetime(2024, 1, 31, 23, 59, 59, 999999)),
        }
    finally:
        store.close()


def test_opening_a_store_leaves_no_transaction_open_so_checkpoints_run(tmp_path: Path) -> None:
    """Reading the schema version at open left its one-row result unread on the root connection, which nothing
    uses again: its transaction stayed open for the process's life, and once a write came after it (the event
    writer's first index build) no checkpoint could run, automatic or asked for. A serving process's WAL,
    uncheckpointed rows and undo buffers then grew with every micro-batch (issue 20: 1.6 GB after 400)."""
    path = tmp_path / "shop.duckdb"
    first = Store(path)
    first.cursor().execute(
        "CREATE TABLE main.customers AS SELECT range::VARCHAR AS customer_id FROM range(50000)"
    )
    first.close()  # the file now has its version table: the next open reads it
    store = Store(path)
    store.cursor().execute("CREATE INDEX customers_id ON main.customers (customer_id)")
    store.cursor().execute("INSERT INTO main.customers VALUES ('new')")
    store.cursor().execute("CHECKPOINT")  # raised "there are other write transactions active"
    assert store.query("SELECT wal_size FROM pragma_database_size() WHERE database_name = 'store'") == [
        ("0 bytes",)
    ]
    store.close()
