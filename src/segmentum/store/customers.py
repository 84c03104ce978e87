"""`main.customers` as writers of other tables see it: which ids are customers already, and the one way a
customer is created from another table's id (DESIGN.md section 4: "A customer id that appears in another table
but not in `customers` creates the customer").

An event appended through the API must find out which of its few customers are new without reading the whole
table (at 1M customers a scan of `customer_id` cost 50-70 ms per request, BENCHMARKS.md "Real-time path"):
`index_customer_ids` keeps an ART index on `customer_id` (not unique: it constrains nothing, duplicates a user
loaded stay loadable) and `existing_customers` looks the ids up in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from segmentum.sql import ident, literal
from segmentum.store.connection import META, Store

# the index the event writer creates on `main.customers`; it goes with the table when an ingest replaces it
# (CREATE OR REPLACE TABLE) and is copied by `Store.rewrite` (an erasure)
CUSTOMER_ID_INDEX = "customers_customer_id"


def index_customer_ids(cur: duckdb.DuckDBPyConnection) -> None:
    """Create the index on `main.customers.customer_id` when it is missing (a catalog look-up when present;
    at 1M customers its build took 16 s of CPU once; it persists in the store file)."""
    cur.execute(f"CREATE INDEX IF NOT EXISTS {ident(CUSTOMER_ID_INDEX)} ON main.customers (customer_id)")


def customer_count(store: Store) -> int:
    """How many customers `main.customers` holds (0 without the table): a count DuckDB keeps, no scan."""
    if not store.table_exists("customers"):
        return 0
    return int(store.query("SELECT count(*) FROM main.customers")[0][0])


def existing_customers(cur: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> set[str]:
    """The ids among `ids` that are in `main.customers`.

    The ids are written as literals: DuckDB 1.5 reads the index for a literal IN list while it expects at
    most `index_scan_max_count` (2,048) matches, and scans the table otherwise (a bound list parameter is
    always a scan). Either way the answer is the same; with the index the cost follows `ids`, not the table.
    """
    if not ids:
        return set()
    values = ", ".join(literal(i) for i in sorted(set(ids)))
    rows = cur.execute(f"SELECT customer_id FROM main.customers WHERE customer_id IN ({values})").fetchall()
    return {r[0] for r in rows}


def add_derived_customers(
    cur: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str], params: list[Any] | None = None
) -> None:
    """Create the customers in `relation` (a table or a subquery, with `params` bound to its `?`s: ids not
    yet in `main.customers`, with `columns`, `customer_id` among them) and list them as created
    automatically: a later customer file in `append` mode replaces their rows instead of quarantining its own
    as duplicates (docs/ingest.md)."""
    names = ", ".join(ident(c) for c in columns)
    cur.execute(f"INSERT INTO main.customers ({names}) SELECT {names} FROM {relation}", params or [])
    cur.execute(f"INSERT INTO {META}.auto_customers SELECT customer_id FROM {relation}", params or [])
