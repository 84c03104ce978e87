"""Every table segmentum owns in schema `segmentum`, declared once, with the store's schema version and the
migrations that bring an older store up to it.

A writable `Store` calls `prepare` when it opens a file:

- a new file (no table in schema `segmentum`) gets every table created at open, stamped `SCHEMA_VERSION`;
- an older store is migrated step by step (`MIGRATIONS[n]` takes version n to n + 1) in ONE transaction, so a
  failed step leaves the file as it was. A store written before versions existed is version 0: "whatever the
  tables are"; step 0 -> 1 creates what is missing and adds missing columns, keeping every row;
- a store from a newer release is refused (StoreError): this release cannot know its layout.

A read-only store is never migrated; it opens only at exactly `SCHEMA_VERSION`.

Three kinds of tables:

- created at open (`created="open"`): bookkeeping, runs and memberships, outbox, tasks, keys, users, ...;
- created by a fit (`created="fit"`): the model outputs `model_clv`, `model_churn`, `model_replenishment` and
  `replenishment_categories`. Their presence means "this model was fitted": their columns become attributes
  definitions may use, and built-ins that need them load only then. The writer creates them with
  `create_on_fit` (same declared DDL), inside its own transaction, and records the fit in `fits` (which
  model, when, and where its data ends: a run uses a model's outputs only when that end is at or before its
  as_of);
- one per run or per fit, with columns that depend on it: `traits_table(run_id)` (one column per trait) and
  `cluster_table(name)` (one `cluster_<name>` column); and `live_traits_table(signature)`, the real-time runs'
  traits folded per customer (`runs.retention`), one per set of trait columns and versions. Their names and
  their CREATE statements live here.

The canonical data tables of schema `main` belong to `segmentum.schema` and ingest, not to this module.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from segmentum.errors import StoreError
from segmentum.schema import BIGINT, BOOLEAN, DATE, DOUBLE, JSON, TEXT, TIMESTAMP
from segmentum.schema import TABLES as DATA_TABLES
from segmentum.sql import ident, literal
from segmentum.sql import qualified as _qualified

META = "segmentum"
INTEGER = "INTEGER"
MODEL_TABLE_PREFIX = "model_"
MODEL_FITS_TABLE = "fits"  # deliberately not model_*: it is not a per-customer output
VERSION_TABLE = "schema_version"
PROFILES_TABLE = "segment_profiles"
DEFINITION_VERSIONS_TABLE = "definition_versions"
LIST_MEMBERS_TABLE = "list_members"
# the current memberships of the customers real-time runs re-evaluated since (segmentum.runs.realtime)
LIVE_TABLE = "live_memberships"
TRANSITIONS_TABLE = "trigger_transitions"  # the transitions triggers fired on (actions/policy.py)
MEMBERSHIPS_VIEW = "memberships"
MEMBERSHIP_ROWS_TABLE = "membership_rows"
SEGMENT_KEYS_TABLE = "segment_keys"
# per fact table, its rows when it was last rewritten in customer order (segmentum.store.compact)
COMPACTIONS_TABLE = "compactions"
# The memberships as every reader knows them, (run_id, customer_id, segmentation, segment, name): a view over
# the narrow rows and the keys' dictionary. A filter on run_id reaches the rows' scan (zone maps: a run's rows
# are written together); one on name or segmentation reaches the dictionary's, and the join hands the rows'
# scan the matching keys. No catalog in the text: `Store.rewrite` copies the view into another file.
MEMBERSHIPS_VIEW_SQL = (
    f"CREATE VIEW IF NOT EXISTS {META}.{MEMBERSHIPS_VIEW} AS "
    "SELECT r.run_id, r.customer_id, k.segmentation, k.segment, k.name "
    f"FROM {META}.{MEMBERSHIP_ROWS_TABLE} r JOIN {META}.{SEGMENT_KEYS_TABLE} k ON k.segment_key = r.segment_key"
)
# the views of schema `segmentum`: name -> CREATE statement (created with the tables, and by their migration)
VIEWS = {MEMBERSHIPS_VIEW: MEMBERSHIPS_VIEW_SQL}
# a table of schema `segmentum` that stores the rows of a view: the name users know it by (erasure's counts)
SHOWN_AS = {MEMBERSHIP_ROWS_TABLE: MEMBERSHIPS_VIEW}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    unique: bool = False
    default: str | None = None

    def sql(self) -> str:
        parts = [ident(self.name), self.type]
        if self.not_null:
            parts.append("NOT NULL")
        if self.unique:
            parts.append("UNIQUE")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    """A table of schema `segmentum`: its columns in order, its key, and when it is created."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    created: Literal["open", "fit"] = "open"

    @property
    def qualified(self) -> str:
        return qualified(self.name)

    def ddl(self) -> str:
        defs = [c.sql() for c in self.columns]
        if self.key:
            defs.append(f"PRIMARY KEY ({', '.join(ident(k) for k in self.key)})")
        return f"CREATE TABLE IF NOT EXISTS {self.qualified} ({', '.join(defs)})"


def _c(
    name: str, type_: str, *, not_null: bool = False, unique: bool = False, default: str | None = None
) -> Column:
    return Column(name, type_, not_null, unique, default)


def _nn(name: str, type_: str) -> Column:
    return Column(name, type_, not_null=True)


# Sequences of schema `segmentum` (ids of ingests, runs, outbox rows and tasks).
SEQUENCES: tuple[str, ...] = ("ingest_seq", "run_seq", "outbox_seq", "task_seq")

_DECLARED: tuple[Table, ...] = (
    Table(
        VERSION_TABLE,
        (_nn("version", INTEGER), _nn("migrated_at", TIMESTAMP), _c("release", TEXT)),
    ),
    # ingest (segmentum.ingest.load)
    Table(
        "ingests",
        (
            _nn("ingest_id", BIGINT),
            _nn("table_name", TEXT),
            _nn("source", TEXT),
            _nn("mode", TEXT),
            _nn("rows_read", BIGINT),
            _nn("rows_stored", BIGINT),
            _nn("rows_quarantined", BIGINT),
            _c("options", JSON),
            _nn("started_at", TIMESTAMP),
            _c("finished_at", TIMESTAMP),
        ),
        key=("ingest_id",),
    ),
    Table(
        "quarantine",
        (
            _nn("ingest_id", BIGINT),
            _nn("table_name", TEXT),
            _nn("source", TEXT),
            _c("line", BIGINT),
            _c("column_name", TEXT),
            _nn("reason", TEXT),
            _c("raw", TEXT),
            _nn("quarantined_at", TIMESTAMP),
        ),
    ),
    Table(
        "audit_log",
        (_nn("logged_at", TIMESTAMP), _nn("action", TEXT), _c("subject", TEXT), _c("details", JSON)),
    ),
    # which canonical tables ingest derived from others, and the customers it created from other tables
    Table(
        "derived",
        (_c("table_name", TEXT), _c("derived_from", TEXT), _c("derived_at", TIMESTAMP)),
        key=("table_name",),
    ),
    Table("auto_customers", (_c("customer_id", TEXT),)),
    # snapshots (segmentum.store.snapshots, segmentum.runs)
    Table(
        "runs",
        (
            _c("run_id", BIGINT),
            _c("as_of", TIMESTAMP),
            _c("started_at", TIMESTAMP),
            _c("finished_at", TIMESTAMP),
            _c("status", TEXT),
            _c("engine", TEXT),
            _c("kind", TEXT),
            _c("definitions_hash", TEXT),
            _c("definition_hashes", JSON),
            _c("customers", BIGINT),
            _c("message", TEXT),
        ),
        key=("run_id",),
    ),
    # the memberships, stored narrow (segmentum.store.memberships): one row per run, customer and segment with
    # the segment's key, and one row per segment name ever written; readers read the view `memberships`
    Table(
        MEMBERSHIP_ROWS_TABLE,
        (_nn("run_id", BIGINT), _nn("customer_id", TEXT), _nn("segment_key", INTEGER)),
    ),
    Table(
        SEGMENT_KEYS_TABLE,
        (
            _nn("segment_key", INTEGER),
            _c("segmentation", TEXT),  # NULL for a standalone segment
            _nn("segment", TEXT),
            _c("name", TEXT, not_null=True, unique=True),
        ),
        key=("segment_key",),
    ),
    # the customers a real-time run re-evaluated
    Table("run_customers", (_c("run_id", BIGINT), _c("customer_id", TEXT))),
    # one row per customer re-evaluated by a real-time run: their memberships in the newest such run, replaced
    # by each micro-batch that re-evaluates them (readers: snapshots.current_memberships)
    Table(
        LIVE_TABLE,
        (
            _nn("customer_id", TEXT),
            _nn("run_id", BIGINT),
            _nn("as_of", TIMESTAMP),
            _nn("memberships", 'STRUCT(segmentation VARCHAR, segment VARCHAR, "name" VARCHAR)[]'),
        ),
    ),
    # actions (segmentum.actions.outbox, segmentum.actions.tasks)
    Table(
        "outbox",
        (
            _c("id", BIGINT),
            _c("idempotency_key", TEXT, not_null=True, unique=True),
            _nn("trigger", TEXT),
            _nn("action_type", TEXT),
            _c("customer_id", TEXT),
            _nn("run_id", BIGINT),
            _nn("payload", JSON),
            _nn("status", TEXT),
            _c("attempts", INTEGER, not_null=True, default="0"),
            _c("next_attempt_at", TIMESTAMP),
            _c("last_error", TEXT),
            _nn("created_at", TIMESTAMP),
            _c("delivered_at", TIMESTAMP),
            # why an action was skipped or held before any send: cooldown, cap, suppressed, holdout,
            # quiet_hours (held until next_attempt_at); null for an action sent as soon as it was due
            _c("reason", TEXT),
        ),
        key=("id",),
    ),
    # every transition a trigger fired on, treated or held out, and what became of it (actions/policy.py):
    # the cooldown's memory and the population `segmentum uplift` compares
    Table(
        TRANSITIONS_TABLE,
        (
            _nn("trigger", TEXT),
            _nn("customer_id", TEXT),
            _nn("run_id", BIGINT),
            _nn("as_of", TIMESTAMP),
            _nn("grp", TEXT),  # treated | control
            _nn("outcome", TEXT),  # acted | holdout | cooldown | suppressed
            _nn("recorded_at", TIMESTAMP),
        ),
        key=("trigger", "customer_id", "run_id"),
    ),
    Table(
        "tasks",
        (
            _c("id", BIGINT),
            _nn("title", TEXT),
            _c("description", TEXT),
            _c("assignee", TEXT),
            _c("due_at", TIMESTAMP),
            _nn("status", TEXT),
            _c("customer_id", TEXT),
            _c("trigger", TEXT),
            _c("reason", JSON),
            _nn("created_at", TIMESTAMP),
            _c("completed_at", TIMESTAMP),
            _c("outbox_key", TEXT, unique=True),
            _c("note", TEXT),  # what the manager wrote when closing it
            _c("completed_by", TEXT),  # who closed it (a dashboard user, key:<prefix>, or the CLI's name)
        ),
        key=("id",),
    ),
    # the serve process (segmentum.service.keys, segmentum.service.users)
    Table(
        "api_keys",
        (
            _c("prefix", TEXT),
            _c("name", TEXT),
            _nn("scope", TEXT),
            _nn("salt", TEXT),
            _nn("hash", TEXT),
            _nn("created_at", TIMESTAMP),
            _c("revoked_at", TIMESTAMP),
        ),
        key=("prefix",),
    ),
    Table(
        "users",
        (
            _c("name", TEXT),
            _nn("password_hash", TEXT),
            _nn("salt", TEXT),
            _nn("created_at", TIMESTAMP),
            _c("role", TEXT, default="'read'"),  # read | write | admin, the scopes of API keys
        ),
        key=("name",),
    ),
    Table("web_secrets", (_c("name", TEXT), _nn("value", TEXT)), key=("name",)),
    # a segment's profile in a run (segmentum.analysis.profile.stored_profile), computed once and reused while
    # `stamp` (the data, fits and definitions it read) is unchanged; `profile` is the JSON of the result
    Table(
        PROFILES_TABLE,
        (
            _c("run_id", BIGINT),
            _c("name", TEXT),
            _c("top", INTEGER),
            _nn("stamp", TEXT),
            _nn("profile", JSON),
            _nn("created_at", TIMESTAMP),
        ),
        key=("run_id", "name", "top"),
    ),
    # every saved version of a definitions file (segmentum.service.definitions): its text, who saved it and how
    # ('save', 'rollback', or 'found' for a text first seen on disk, edited by hand); `digest` is its ETag
    Table(
        DEFINITION_VERSIONS_TABLE,
        (
            _nn("file", TEXT),
            _nn("version", INTEGER),
            _nn("digest", TEXT),
            _nn("text", TEXT),
            _nn("saved_at", TIMESTAMP),
            _c("saved_by", TEXT),
            _nn("action", TEXT),
            _c("restored", INTEGER),
        ),
        key=("file", "version"),
    ),
    # static lists (segmentum.store.lists): segments whose members are given, one row per list and customer
    # (kept unique by store/lists.py: no index, so replacing a list is a plain DELETE and INSERT)
    Table(LIST_MEMBERS_TABLE, (_nn("name", TEXT), _nn("customer_id", TEXT), _nn("added_at", TIMESTAMP))),
    # models (segmentum.models.*): every fit of a clustering, then the per-model outputs
    Table("clusterings", (_nn("name", TEXT), _nn("fitted_at", TIMESTAMP), _nn("params", JSON))),
    # the fit behind each model_* table (segmentum.models.persist writes it with the outputs): `data_end` is
    # the newest instant of data the fit used, so a run at an earlier as_of does not use the outputs
    Table(
        MODEL_FITS_TABLE,
        (_c("table_name", TEXT), _nn("model", TEXT), _c("data_end", TIMESTAMP), _c("fitted_at", TIMESTAMP)),
        key=("table_name",),
    ),
    Table(
        "model_clv",
        (
            _nn("customer_id", TEXT),
            _c("p_alive", DOUBLE),
            _c("expected_purchases_90d", DOUBLE),
            _c("expected_average_value", DOUBLE),
            _c("clv_12m", DOUBLE),
            _nn("fitted_at", TIMESTAMP),
            _nn("calibration_end", DATE),
        ),
        created="fit",
    ),
    Table(
        "model_churn",
        (
            _nn("customer_id", TEXT),
            _c("churn_risk", DOUBLE),
            _c("churn_active", BOOLEAN),
            _c("churn_fitted_at", TIMESTAMP),
            _c("churn_as_of", TIMESTAMP),
        ),
        created="fit",
    ),
    Table(
        "model_replenishment",
        (
            _nn("customer_id", TEXT),
            _c("replen_category", TEXT),
            _c("replen_interval_days", DOUBLE),
            _c("replen_last_at", DATE),
            _c("replen_next_at", DATE),
            _c("replen_days_until_due", INTEGER),
            _c("replen_status", TEXT),
            _c("replen_due_categories", INTEGER),
            _c("replen_as_of", TIMESTAMP),
        ),
        created="fit",
    ),
    # deliberately not named model_*: the engine joins every model_* table onto customers (one row per
    # customer), and this one has a row per customer and category
    Table(
        "replenishment_categories",
        (
            _nn("customer_id", TEXT),
            _nn("category", TEXT),
            _c("purchase_days", BIGINT),
            _c("gaps", BIGINT),
            _c("own_interval_days", DOUBLE),
            _c("interval_days", DOUBLE),
            _c("interval_source", TEXT),
            _c("first_at", DATE),
            _c("last_at", DATE),
            _c("next_at", DATE),
            _c("days_until_due", INTEGER),
            _c("status", TEXT),
            _c("as_of", TIMESTAMP),
        ),
        created="fit",
    ),
    # one row per fact table rewritten in customer order: the rows it held then (those after them are the
    # tail appended since, in arrival order) and the row group size it was written with
    Table(
        COMPACTIONS_TABLE,
        (
            _nn("table_name", TEXT),
            _nn("rows", BIGINT),
            _nn("row_group_size", BIGINT),
            _nn("compacted_at", TIMESTAMP),
            _c("seconds", DOUBLE),
        ),
        key=("table_name",),
    ),
)
TABLES: dict[str, Table] = {t.name: t for t in _DECLARED}


# ------------------------------------------------------------------------------------------------ names


def qualified(name: str) -> str:
    """`segmentum."name"`: a table of schema `segmentum`, quoted, for SQL text."""
    return _qualified(META, name)


TRAITS_PREFIX = "traits_"
# the traits tables among a schema's tables, for a LIKE in SQL text
TRAITS_TABLE_LIKE = "table_name LIKE 'traits\\_%' ESCAPE '\\'"


def traits_table(run_id: int) -> str:
    """Name (without schema) of the traits table of a run: `traits_<run_id>`."""
    return f"{TRAITS_PREFIX}{int(run_id)}"


def run_of_traits_table(name: str) -> int | None:
    """The run whose traits table is called `name`, or None when `name` is not a traits table."""
    suffix = name.removeprefix(TRAITS_PREFIX)
    return int(suffix) if name.startswith(TRAITS_PREFIX) and suffix.isdigit() else None


LIVE_TRAITS_PREFIX = "live_traits_"
# the live traits tables among a schema's tables, for a LIKE in SQL text
LIVE_TRAITS_TABLE_LIKE = "table_name LIKE 'live\\_traits\\_%' ESCAPE '\\'"
# the column of a live traits table naming the real-time run each row comes from (`__`: hidden, never a trait)
LIVE_TRAITS_RUN = "__run_id"


def live_traits_table(signature: str) -> str:
    """Name (without schema) of the live traits table of one signature (the trait columns, their types and
    their definition hashes: `runs.retention`): `live_traits_<signature>`."""
    return f"{LIVE_TRAITS_PREFIX}{signature}"


def cluster_table(name: str) -> str:
    """Name (without schema) of the assignments of clustering `name`: `model_cluster_<name>` (a model table,
    so its `cluster_<name>` column is an attribute)."""
    return f"{MODEL_TABLE_PREFIX}cluster_{name}"


# ------------------------------------------------------------------------------------------------ creation


def create_traits_table(con: duckdb.DuckDBPyConnection, run_id: int, select_sql: str) -> str:
    """Create a run's traits table from the query of its results; returns the qualified name."""
    name = qualified(traits_table(run_id))
    con.execute(f"CREATE TABLE {name} AS {select_sql}")
    return name


def create_live_traits_table(
    con: duckdb.DuckDBPyConnection, signature: str, like: str, hashes_json: str | None
) -> str:
    """Create the (empty) live traits table of `signature` with the columns of traits table `like` plus
    `__run_id`, its comment the runs' trait hashes (`hashes_json`; none when unknown); returns the qualified name."""
    name = qualified(live_traits_table(signature))
    con.execute(
        f"CREATE TABLE {name} AS SELECT *, NULL::BIGINT AS {LIVE_TRAITS_RUN} FROM {qualified(like)} WHERE false"
    )
    if hashes_json is not None:
        con.execute(f"COMMENT ON TABLE {name} IS {literal(hashes_json)}")
    return name


def replace_cluster_table(con: duckdb.DuckDBPyConnection, name: str, select_sql: str) -> str:
    """Create or replace the assignments table of clustering `name`; returns the qualified name."""
    table = qualified(cluster_table(name))
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {select_sql}")
    return table


def create_on_fit(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Create declared tables of kind 'fit' (a model's outputs) when they do not exist yet.

    Not created at open on purpose: their presence is what tells definitions and built-ins that the model was
    fitted (an empty `model_clv` would make `clv_12m` look available)."""
    for name in names:
        table = TABLES.get(name)
        if table is None or table.created != "fit":
            raise StoreError(
                f"{name!r} is not a table created by a fit; those are: "
                f"{', '.join(t.name for t in _DECLARED if t.created == 'fit')}"
            )
        con.execute(table.ddl())


# ------------------------------------------------------------------------------------------------ versions


Step = Callable[[duckdb.DuckDBPyConnection], None] | Sequence[str]


def _adopt(con: duckdb.DuckDBPyConnection) -> None:
    """0 -> 1: a store of the release before versions (each module created its own tables when it first
    needed them). Create what is missing, add declared columns an older layout lacks, keep every row."""
    _create_declared(con)
    for table in _DECLARED:
        present = _columns(con, table.name)
        if not present:  # a 'fit' table never fitted: it stays absent
            continue
        for column in table.columns:
            if column.name not in present:
                # DuckDB adds no constraint through ALTER TABLE: the column comes as type (and default)
                default = f" DEFAULT {column.default}" if column.default is not None else ""
                con.execute(
                    f"ALTER TABLE {table.qualified} ADD COLUMN IF NOT EXISTS {ident(column.name)} "
                    f"{column.type}{default}"
                )


# where the data of a fit ended, for outputs written before `fits` existed: from their own columns (a
# CLV calibration end is a day: its end)
_LEGACY_FITS = {
    "model_clv": (
        "CLV",
        "calibration_end",
        "max(calibration_end)::TIMESTAMP + INTERVAL 1 DAY - INTERVAL 1 MICROSECOND",
    ),
    "model_churn": ("churn risk", "churn_as_of", "max(churn_as_of)"),
    "model_replenishment": ("replenishment", "replen_as_of", "max(replen_as_of)"),
}


def _record_model_fits(con: duckdb.DuckDBPyConnection) -> None:
    """1 -> 2: `fits` (a run uses a model only when its data ends at or before the run's as_of). The
    fits already in the store are recorded from their own columns; a clustering from the as_of of the run or
    data its newest saved fit used; otherwise from the newest timestamp of the data (nothing a fit used can be
    newer)."""
    con.execute(TABLES[MODEL_FITS_TABLE].ddl())
    present = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND starts_with(table_name, ?) ORDER BY table_name",
        [META, MODEL_TABLE_PREFIX],
    ).fetchall()
    for (name,) in present:
        clustering = name.removeprefix(cluster_table("")) if name.startswith(cluster_table("")) else None
        label = f"clustering '{clustering}'" if clustering else name.removeprefix(MODEL_TABLE_PREFIX)
        model, column, end_sql = _LEGACY_FITS.get(name, (label, None, None))
        end = None
        if end_sql is not None and column in _columns(con, name):
            end = con.execute(f"SELECT {end_sql} FROM {qualified(name)}").fetchone()[0]  # type: ignore[index]
        elif clustering:
            end = _clustering_data_end(con, clustering)
        if end is None:
            end = _newest_data(con)
        con.execute(
            f"INSERT INTO {qualified(MODEL_FITS_TABLE)} VALUES (?, ?, ?, NULL) ON CONFLICT DO NOTHING",
            [name, model, end],
        )


def _clustering_data_end(con: duckdb.DuckDBPyConnection, name: str) -> datetime | None:
    """The as_of of the run or data the newest saved fit of clustering `name` used, if it says."""
    import json

    if not _columns(con, "clusterings"):
        return None
    row = con.execute(
        f"SELECT params FROM {qualified('clusterings')} WHERE name = ? ORDER BY fitted_at DESC LIMIT 1",
        [name],
    ).fetchone()
    if not row:
        return None
    as_of = ((json.loads(row[0]) or {}).get("source") or {}).get("as_of")
    return datetime.fromisoformat(as_of) if as_of else None


def _newest_data(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest timestamp of the canonical tables in schema main, or None."""
    present = {
        r[0]: r[1]
        for r in con.execute(
            "SELECT table_name, list(column_name) FROM duckdb_columns() WHERE database_name = current_database() "
            "AND schema_name = 'main' GROUP BY table_name"
        ).fetchall()
    }
    parts = [
        f"SELECT max({ident(spec.time_column)}) AS ts FROM main.{ident(name)}"
        for name, spec in DATA_TABLES.items()
        if spec.time_column and spec.time_column in present.get(name, [])
    ]
    if not parts:
        return None
    row = con.execute(f"SELECT max(ts) FROM ({' UNION ALL '.join(parts)})").fetchone()
    return row[0] if row else None


# MIGRATIONS[n] takes a store from version n to n + 1: a function of the connection, or SQL statements. Every
# step runs inside the one migration transaction and must be idempotent against the declarations above (a
# new file is created from them directly, at SCHEMA_VERSION, without running any step). To add a column:
# declare it LAST in its table (ALTER TABLE appends, and positional INSERTs rely on new and migrated stores
# having the same column order), then add a step `ALTER TABLE ... ADD COLUMN IF NOT EXISTS ...`.
def _user_roles(con: duckdb.DuckDBPyConnection) -> None:
    """The dashboard users' `role`; users of an older store keep what they could do there (edit definitions,
    complete tasks): 'write'."""
    con.execute(f"ALTER TABLE {qualified('users')} ADD COLUMN IF NOT EXISTS role VARCHAR DEFAULT 'read'")
    con.execute(f"UPDATE {qualified('users')} SET role = 'write'")


def _segment_profiles(con: duckdb.DuckDBPyConnection) -> None:
    """The stored segment profiles (empty: each is computed on first need)."""
    con.execute(TABLES[PROFILES_TABLE].ddl())


def _definition_versions(con: duckdb.DuckDBPyConnection) -> None:
    """The saved versions of definitions files (empty: a file's current text is recorded at its first save)."""
    con.execute(TABLES[DEFINITION_VERSIONS_TABLE].ddl())


def _live_memberships(con: duckdb.DuckDBPyConnection) -> None:
    """The real-time path's live table (empty: lookups read the latest run until a micro-batch writes)."""
    con.execute(TABLES[LIVE_TABLE].ddl())


def _static_lists(con: duckdb.DuckDBPyConnection) -> None:
    """The members of static lists (empty: no list was uploaded before)."""
    con.execute(TABLES[LIST_MEMBERS_TABLE].ddl())


def _trigger_policies(con: duckdb.DuckDBPyConnection) -> None:
    """Acting responsibly (DESIGN 5.2): the outbox's `reason` and the triggers' recorded transitions."""
    con.execute(f"ALTER TABLE {qualified('outbox')} ADD COLUMN IF NOT EXISTS reason VARCHAR")
    con.execute(TABLES[TRANSITIONS_TABLE].ddl())


def _task_notes(con: duckdb.DuckDBPyConnection) -> None:
    """Tasks as a work queue: the note written when closing a task and who closed it."""
    con.execute(f"ALTER TABLE {qualified('tasks')} ADD COLUMN IF NOT EXISTS note VARCHAR")
    con.execute(f"ALTER TABLE {qualified('tasks')} ADD COLUMN IF NOT EXISTS completed_by VARCHAR")


def _narrow_memberships(con: duckdb.DuckDBPyConnection) -> None:
    """Memberships stored narrow (issue 16): the rows of the old wide table `memberships` move to
    `membership_rows` with one key per name in `segment_keys`, in their order; the old table is dropped and
    `memberships` becomes the view over the two, so every reader sees the same rows."""
    for table in (MEMBERSHIP_ROWS_TABLE, SEGMENT_KEYS_TABLE):
        con.execute(TABLES[table].ddl())
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?",
        [META, MEMBERSHIPS_VIEW],
    ).fetchone()
    if kind is not None and kind[0] == "BASE TABLE":
        old = qualified(MEMBERSHIPS_VIEW)
        keys = qualified(SEGMENT_KEYS_TABLE)
        # a row without a name (none is written; a store edited by hand) has no key: it could not be read
        # back by name either way, and the view joins on keys
        con.execute(
            f"""INSERT INTO {keys}
            SELECT (SELECT coalesce(max(segment_key), 0) FROM {keys}) + row_number() OVER (ORDER BY name),
                   segmentation, segment, name
            FROM (SELECT name, any_value(segmentation) AS segmentation, any_value(segment) AS segment
                  FROM {old} WHERE name IS NOT NULL AND segment IS NOT NULL
                  AND name NOT IN (SELECT name FROM {keys}) GROUP BY name)"""
        )
        con.execute(
            f"INSERT INTO {qualified(MEMBERSHIP_ROWS_TABLE)} "
            f"SELECT m.run_id, m.customer_id, k.segment_key FROM {old} m JOIN {keys} k USING (name) "
            "WHERE m.run_id IS NOT NULL AND m.customer_id IS NOT NULL ORDER BY m.rowid"
        )
        con.execute(f"DROP TABLE {old}")
    con.execute(MEMBERSHIPS_VIEW_SQL)


def _compactions(con: duckdb.DuckDBPyConnection) -> None:
    """The record of the fact tables' rewrites in customer order (empty: no table was compacted yet)."""
    con.execute(TABLES[COMPACTIONS_TABLE].ddl())


def _no_staging_indexes(con: duckdb.DuckDBPyConnection) -> None:
    """The indexes on `customer_id` that `segmentum compact` built on the fact tables until 2026-12-04 dropped:
    DuckDB wrote each again in full at every checkpoint (`store.compact`). Named here, not imported: compact
    builds none any more."""
    for table in ("orders", "order_items", "events"):
        con.execute(f"DROP INDEX IF EXISTS main.{ident(table + '_customer_id')}")


MIGRATIONS: tuple[Step, ...] = (
    _adopt,
    _record_model_fits,
    _user_roles,
    _segment_profiles,
    _definition_versions,
    _live_memberships,
    _static_lists,
    _trigger_policies,
    _task_notes,
    _narrow_memberships,
    _compactions,
    _no_staging_indexes,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _release() -> str:
    try:
        return importlib.metadata.version("segmentum")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [META, name],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _create_declared(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
    for seq in SEQUENCES:
        con.execute(f"CREATE SEQUENCE IF NOT EXISTS {qualified(seq)} START 1")
    for table in _DECLARED:
        if table.created == "open":
            con.execute(table.ddl())


def _stamp(con: duckdb.DuckDBPyConnection, version: int) -> None:
    con.execute(
        f"INSERT INTO {qualified(VERSION_TABLE)} VALUES (?, ?, ?)",
        [version, datetime.now().replace(microsecond=0), _release()],
    )


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version of the attached store; 0 for a store written before versions existed, None for
    a file with no table in schema `segmentum` yet."""
    names = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = ?",
            [META],
        ).fetchall()
    }
    if VERSION_TABLE not in names:
        return 0 if names else None
    # fetchall, not fetchone: a result left unread keeps its transaction open, and on the store's root
    # connection (never used again) that was for the process's life: no automatic checkpoint could run after
    # it, and the WAL, the uncheckpointed rows and the undo buffers grew with every write (issue 20)
    rows = con.execute(f"SELECT max(version) FROM {qualified(VERSION_TABLE)}").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def migrate(
    con: duckdb.DuckDBPyConnection, from_version: int, migrations: Sequence[Step] = MIGRATIONS
) -> int:
    """Run the steps from `from_version` to `len(migrations)` in one transaction; returns the new version.
    Any error rolls every step back."""
    target = len(migrations)
    con.execute("BEGIN TRANSACTION")
    try:
        # a store before versions has no version table: it is there before any step runs
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
        con.execute(TABLES[VERSION_TABLE].ddl())
        for version in range(from_version, target):
            step = migrations[version]
            if callable(step):
                step(con)
            else:
                for statement in step:
                    con.execute(statement)
            _stamp(con, version + 1)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return target


def create_new(con: duckdb.DuckDBPyConnection) -> None:
    """Every table created at open, at SCHEMA_VERSION, in one transaction (a new file)."""
    con.execute("BEGIN TRANSACTION")
    try:
        _create_declared(con)
        for view in VIEWS.values():
            con.execute(view)
        _stamp(con, SCHEMA_VERSION)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def prepare(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> int:
    """Bring the attached store to SCHEMA_VERSION (writable) or check that it is there (read-only);
    returns the version. StoreError when this release cannot open it."""
    version = stored_version(con)
    if version is not None and version > SCHEMA_VERSION:
        row = con.execute(
            f"SELECT release FROM {qualified(VERSION_TABLE)} ORDER BY version DESC LIMIT 1"
        ).fetchone()
        by = f" (written by segmentum {row[0]})" if row and row[0] else ""
        raise StoreError(
            f"the store {path} has schema version {version}{by}, newer than this segmentum "
            f"({_release()}) knows (version {SCHEMA_VERSION}); upgrade segmentum (`pip install -U segmentum`) "
            "to open it"
        )
    if read_only:
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"the store {path} has schema version {version or 0}, this segmentum needs version "
                f"{SCHEMA_VERSION}, and a read-only store is not migrated; open it once without read-only "
                "(any `segmentum` command does) to migrate it"
            )
        return version
    if version is None:
        create_new(con)
        return SCHEMA_VERSION
    if version < SCHEMA_VERSION:
        return migrate(con, version)
    return version
