"""The store as the previous release wrote it, and a way to compare two stores' layouts."""

from __future__ import annotations

from typing import Any

import duckdb

# Every DDL string of the release before schema versions, exactly as its modules held them (each module ran
# its own with `Store.ensure` when it first needed its table). Keys: the module that owned them.
OLD_RELEASE_DDL: dict[str, list[str]] = {
    "store/connection.py CORE_DDL": [
        "CREATE SCHEMA IF NOT EXISTS segmentum",
        "CREATE SEQUENCE IF NOT EXISTS segmentum.ingest_seq START 1",
        """CREATE TABLE IF NOT EXISTS segmentum.ingests (
        ingest_id BIGINT PRIMARY KEY, table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, mode VARCHAR NOT NULL,
        rows_read BIGINT NOT NULL, rows_stored BIGINT NOT NULL, rows_quarantined BIGINT NOT NULL,
        options JSON, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS segmentum.quarantine (
        ingest_id BIGINT NOT NULL, table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, line BIGINT,
        column_name VARCHAR, reason VARCHAR NOT NULL, raw VARCHAR, quarantined_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS segmentum.audit_log (
        logged_at TIMESTAMP NOT NULL, action VARCHAR NOT NULL, subject VARCHAR, details JSON)""",
    ],
    "store/snapshots.py RUNS_DDL": [
        "CREATE SEQUENCE IF NOT EXISTS segmentum.run_seq START 1",
        """CREATE TABLE IF NOT EXISTS segmentum.runs (
        run_id BIGINT PRIMARY KEY, as_of TIMESTAMP, started_at TIMESTAMP, finished_at TIMESTAMP,
        status VARCHAR, engine VARCHAR, kind VARCHAR, definitions_hash VARCHAR, definition_hashes JSON,
        customers BIGINT, message VARCHAR)""",
        """CREATE TABLE IF NOT EXISTS segmentum.memberships (
        run_id BIGINT, customer_id VARCHAR, segmentation VARCHAR, segment VARCHAR, name VARCHAR)""",
    ],
    "ingest/load.py DERIVED_DDL, AUTO_CUSTOMERS_DDL": [
        "CREATE TABLE IF NOT EXISTS segmentum.derived (table_name VARCHAR PRIMARY KEY, derived_from VARCHAR, "
        "derived_at TIMESTAMP)",
        "CREATE TABLE IF NOT EXISTS segmentum.auto_customers (customer_id VARCHAR)",
    ],
    "runs/diff.py RUN_CUSTOMERS_DDL": [
        "CREATE TABLE IF NOT EXISTS segmentum.run_customers (run_id BIGINT, customer_id VARCHAR)",
    ],
    "actions/outbox.py OUTBOX_DDL": [
        "CREATE SEQUENCE IF NOT EXISTS segmentum.outbox_seq START 1",
        """CREATE TABLE IF NOT EXISTS segmentum.outbox (
        id BIGINT PRIMARY KEY, idempotency_key VARCHAR NOT NULL UNIQUE, trigger VARCHAR NOT NULL,
        action_type VARCHAR NOT NULL, customer_id VARCHAR, run_id BIGINT NOT NULL, payload JSON NOT NULL,
        status VARCHAR NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TIMESTAMP,
        last_error VARCHAR, created_at TIMESTAMP NOT NULL, delivered_at TIMESTAMP)""",
    ],
    "actions/tasks.py TASKS_DDL": [
        "CREATE SEQUENCE IF NOT EXISTS segmentum.task_seq START 1",
        """CREATE TABLE IF NOT EXISTS segmentum.tasks (
        id BIGINT PRIMARY KEY, title VARCHAR NOT NULL, description VARCHAR, assignee VARCHAR, due_at TIMESTAMP,
        status VARCHAR NOT NULL, customer_id VARCHAR, trigger VARCHAR, reason JSON, created_at TIMESTAMP NOT NULL,
        completed_at TIMESTAMP, outbox_key VARCHAR UNIQUE)""",
    ],
    "service/keys.py KEYS_DDL": [
        """CREATE TABLE IF NOT EXISTS segmentum.api_keys (
    prefix VARCHAR PRIMARY KEY, name VARCHAR, scope VARCHAR NOT NULL, salt VARCHAR NOT NULL,
    hash VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP)""",
    ],
    "service/users.py USERS_DDL": [
        """CREATE TABLE IF NOT EXISTS segmentum.users (
        name VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, salt VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL)""",
        "CREATE TABLE IF NOT EXISTS segmentum.web_secrets (name VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
    ],
    "models/cluster_store.py CLUSTERINGS_DDL": [
        "CREATE TABLE IF NOT EXISTS segmentum.clusterings (name VARCHAR NOT NULL, fitted_at TIMESTAMP NOT NULL, "
        "params JSON NOT NULL)",
    ],
    "models/clv.py MODEL_DDL": [
        """CREATE TABLE IF NOT EXISTS segmentum.model_clv (
    customer_id VARCHAR NOT NULL, p_alive DOUBLE, expected_purchases_90d DOUBLE, expected_average_value DOUBLE,
    clv_12m DOUBLE, fitted_at TIMESTAMP NOT NULL, calibration_end DATE NOT NULL)""",
    ],
    "models/churn.py MODEL_DDL": [
        """CREATE TABLE IF NOT EXISTS segmentum.model_churn (
    customer_id VARCHAR NOT NULL, churn_risk DOUBLE, churn_active BOOLEAN, churn_fitted_at TIMESTAMP,
    churn_as_of TIMESTAMP)""",
    ],
    "models/replenishment.py MODEL_DDL, DETAIL_DDL": [
        """CREATE TABLE IF NOT EXISTS segmentum.model_replenishment (
    customer_id VARCHAR NOT NULL, replen_category VARCHAR, replen_interval_days DOUBLE, replen_last_at DATE,
    replen_next_at DATE, replen_days_until_due INTEGER, replen_status VARCHAR, replen_due_categories INTEGER,
    replen_as_of TIMESTAMP)""",
        """CREATE TABLE IF NOT EXISTS segmentum.replenishment_categories (
    customer_id VARCHAR NOT NULL, category VARCHAR NOT NULL, purchase_days BIGINT, gaps BIGINT,
    own_interval_days DOUBLE, interval_days DOUBLE, interval_source VARCHAR, first_at DATE, last_at DATE,
    next_at DATE, days_until_due INTEGER, status VARCHAR, as_of TIMESTAMP)""",
    ],
}
# what every store of that release had: `Store` ran these on every writable open
OLD_CORE = "store/connection.py CORE_DDL"


def connect(path: Any) -> duckdb.DuckDBPyConnection:
    """A plain DuckDB connection to a store file, attached under an alias as `Store` does (a file named
    `segmentum.duckdb` would otherwise be a catalog clashing with the schema `segmentum`)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS raw")
    con.execute("USE raw")
    return con


def old_store(path: Any, modules: list[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB file laid out by the previous release: the core tables plus those of `modules` (all: None)."""
    con = connect(path)
    for module, statements in OLD_RELEASE_DDL.items():
        if modules is None or module == OLD_CORE or module in modules:
            for statement in statements:
                con.execute(statement)
    return con


def layout(con: duckdb.DuckDBPyConnection, schema: str = "segmentum") -> dict[str, Any]:
    """Tables of a schema with their columns (name, type, nullable, default) and constraints, and its sequences,
    of the database `con` uses."""
    columns = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = ? ORDER BY table_name, column_index",
        [schema],
    ).fetchall()
    tables: dict[str, Any] = {}
    for table, *column in columns:
        tables.setdefault(table, {"columns": [], "constraints": []})["columns"].append(tuple(column))
    for table, kind, names in con.execute(
        "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND schema_name = ? ORDER BY ALL",
        [schema],
    ).fetchall():
        tables[table]["constraints"].append((kind, tuple(names)))
    sequences = [
        r[0]
        for r in con.execute(
            "SELECT sequence_name FROM duckdb_sequences() WHERE database_name = current_database() "
            "AND schema_name = ? ORDER BY 1",
            [schema],
        ).fetchall()
    ]
    return {"tables": tables, "sequences": sequences}
