"""What the store holds: which canonical tables and columns exist, the model outputs, the newest timestamp.

These are the one home of every question about the store's shape; definitions are validated against
`data_columns`, and `as_of = latest` is resolved from `newest_timestamp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from segmentum.schema import TABLES
from segmentum.store.connection import META, Store
from segmentum.store.tables import MODEL_FITS_TABLE, MODEL_TABLE_PREFIX, qualified


def model_tables(store: Store) -> list[str]:
    """Tables (schema `segmentum`) holding model outputs per customer (CLV, replenishment, churn risk, clusters):
    the `model_*` tables present, i.e. of the models fitted so far. Every reader of model outputs asks here."""
    return [
        r[0]
        for r in store.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
            "AND starts_with(table_name, ?) ORDER BY table_name",
            [META, MODEL_TABLE_PREFIX],
        )
    ]


@dataclass(frozen=True)
class ModelFit:
    """The fit behind a `model_*` table: which model, its per-customer columns, and where its data ended.

    `data_end` None: not recorded (a table written outside segmentum's fits), used at every as_of."""

    table: str
    model: str  # as messages name it: 'CLV', 'churn risk', 'replenishment', "clustering 'needs'"
    columns: tuple[str, ...]  # the attributes it adds (customer_id left out)
    data_end: datetime | None
    fitted_at: datetime | None = None


def model_fits(store: Store) -> list[ModelFit]:
    """The fit of every model table present (`model_tables`), from `segmentum.fits`."""
    recorded: dict[str, tuple[str, datetime | None, datetime | None]] = {}
    if store.table_exists(MODEL_FITS_TABLE, schema=META):
        recorded = {
            r[0]: (r[1], r[2], r[3])
            for r in store.query(
                f"SELECT table_name, model, data_end, fitted_at FROM {qualified(MODEL_FITS_TABLE)}"
            )
        }
    out = []
    for table in model_tables(store):
        model, end, fitted = recorded.get(table, (table.removeprefix(MODEL_TABLE_PREFIX), None, None))
        columns = tuple(c for c in store.columns(table, schema=META) if c != "customer_id")
        out.append(ModelFit(table, model, columns, end, fitted))
    return out


def data_columns(store: Store) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(canonical table -> column -> type, customer attribute -> type) as the store holds them now.

    Attributes are the columns of `customers` plus the per-customer outputs of fitted models.
    """
    # one catalog query (a query per table cost about 0.25 s of every definitions load on a loaded machine)
    rows = store.query(
        "SELECT t.table_schema, t.table_name, c.column_name, c.data_type FROM information_schema.tables t "
        "LEFT JOIN information_schema.columns c ON c.table_schema = t.table_schema AND c.table_name = t.table_name "
        "WHERE (t.table_schema = 'main' AND list_contains(?, t.table_name)) "
        "OR (t.table_schema = ? AND starts_with(t.table_name, ?)) "
        "ORDER BY t.table_schema, t.table_name, c.ordinal_position",
        [list(TABLES), META, MODEL_TABLE_PREFIX],
    )
    found: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column, kind in rows:
        columns = found.setdefault((schema, table), {})
        if column is not None:
            columns[column] = kind
    tables = {name: found[("main", name)] for name in TABLES if ("main", name) in found}
    attributes = dict(tables.get("customers", {}))
    for (schema, _table), columns in sorted(found.items()):
        if schema != META:
            continue
        for column, kind in columns.items():
            if column != "customer_id":
                attributes.setdefault(column, kind)
    return tables, attributes


def newest_timestamp(store: Store) -> datetime | None:
    """The newest timestamp in the data (the time columns of the canonical tables)."""
    parts = []
    for name, spec in TABLES.items():
        if spec.time_column and store.table_exists(name) and spec.time_column in store.columns(name):
            parts.append(f"SELECT max({spec.time_column}) AS ts FROM main.{name}")
    if not parts:
        return None
    row = store.query(f"SELECT max(ts) FROM ({' UNION ALL '.join(parts)})")
    return row[0][0] if row and row[0][0] is not None else None
