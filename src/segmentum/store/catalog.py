"""What the store holds: which canonical tables and columns exist, the model outputs, the newest timestamp.

These are the one home of every question about the store's shape; definitions are validated against
`data_columns`, and `as_of = latest` is resolved from `newest_timestamp`.
"""

from __future__ import annotations

from datetime import datetime

from segmentum.schema import TABLES
from segmentum.store.connection import META, Store
from segmentum.store.tables import MODEL_TABLE_PREFIX


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


def data_columns(store: Store) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """(canonical table -> column -> type, customer attribute -> type) as the store holds them now.

    Attributes are the columns of `customers` plus the per-customer outputs of fitted models.
    """
    tables = {name: store.columns(name) for name in TABLES if store.table_exists(name)}
    attributes = dict(tables.get("customers", {}))
    for table in model_tables(store):
        for column, kind in store.columns(table, schema=META).items():
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
