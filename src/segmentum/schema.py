"""The canonical tables of a workspace (DESIGN.md section 4): keys, required columns, types.

Types are DuckDB SQL types. Money and quantities are exact DECIMAL(38, 6); timestamps are naive
wall-clock time in the workspace time zone; keys are text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from segmentum.sql import ident

MONEY = "DECIMAL(38, 6)"
TEXT = "VARCHAR"
TIMESTAMP = "TIMESTAMP"
BIGINT = "BIGINT"
DOUBLE = "DOUBLE"
BOOLEAN = "BOOLEAN"
DATE = "DATE"
JSON = "JSON"
TEXT_LIST = "VARCHAR[]"

# DuckDB's number types: the one rule of "a numeric column" (sum and avg take it, profiles compare it, ingest
# converts within it)
INTEGER_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL"})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES | {"DECIMAL", "NUMERIC"}


def base_type(kind: str) -> str:
    """A DuckDB type's name without its parameters: `DECIMAL(38, 6)` -> `DECIMAL` (a list stays `INTEGER[]`)."""
    return kind.strip().upper().split("(", 1)[0].strip()


def is_numeric_type(kind: str) -> bool:
    """A DuckDB column type holding one number (integers, unsigned integers, decimals, floats); not INTERVAL,
    not a list of numbers."""
    return base_type(kind) in NUMERIC_TYPES


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    required: tuple[str, ...]
    time_column: str | None
    # known columns and their types; columns not listed are kept as attributes with an inferred type
    columns: dict[str, str] = field(default_factory=dict)
    # columns of codes (ISO currency codes) that ingest stores upper-cased, so that they compare as they mean
    codes: tuple[str, ...] = ()
    # rows ingest quarantines: (column, SQL condition a stored value must meet, what the value must be)
    checks: tuple[tuple[str, str, str], ...] = ()

    def type_of(self, column: str) -> str | None:
        return self.columns.get(column)

    def ddl(self, columns: Iterable[str] | None = None) -> str:
        """`CREATE TABLE IF NOT EXISTS main.<table>` with these known columns (default: all) and their types,
        for a writer that needs the table before any file was loaded (ingest, the real-time path)."""
        names = list(self.columns if columns is None else columns)
        defs = ", ".join(f"{ident(n)} {self.columns[n]}" for n in names)
        return f"CREATE TABLE IF NOT EXISTS main.{ident(self.name)} ({defs})"


CUSTOMERS = TableSpec(
    "customers",
    key=("customer_id",),
    required=("customer_id",),
    time_column=None,
    columns={
        "customer_id": TEXT,
        "name": TEXT,
        "email": TEXT,
        "phone": TEXT,
        "created_at": TIMESTAMP,
        "birth_date": DATE,
        "gender": TEXT,
        "marital_status": TEXT,
        "education": TEXT,
        "income": MONEY,
        "language": TEXT,
        "country": TEXT,
        "region": TEXT,
        "city": TEXT,
        "postal_code": TEXT,
        "timezone": TEXT,
        "device": TEXT,
        "first_source": TEXT,
        "account_owner": TEXT,
        "email_opt_in": BOOLEAN,
        "company": TEXT,
        "industry": TEXT,
        "employees": BIGINT,
        "annual_revenue": MONEY,
        "lifecycle_stage": TEXT,
        "job_title": TEXT,
        "plan": TEXT,
        "renewal_at": TIMESTAMP,
        "interests": TEXT_LIST,
    },
)
ORDERS = TableSpec(
    "orders",
    key=("order_id",),
    required=("order_id", "customer_id", "ordered_at", "amount"),
    time_column="ordered_at",
    columns={
        "order_id": TEXT,
        "customer_id": TEXT,
        "ordered_at": TIMESTAMP,
        "amount": MONEY,
        "status": TEXT,
        "channel": TEXT,
        "currency": TEXT,
        "discount": MONEY,
    },
    codes=("currency",),
)
ORDER_ITEMS = TableSpec(
    "order_items",
    key=("order_id", "line"),
    required=("order_id", "customer_id", "ordered_at", "product_id", "quantity", "unit_price"),
    time_column="ordered_at",
    columns={
        "order_id": TEXT,
        "line": BIGINT,
        "customer_id": TEXT,
        "ordered_at": TIMESTAMP,
        "product_id": TEXT,
        "quantity": MONEY,
        "unit_price": MONEY,
        "category": TEXT,
        "product_name": TEXT,
    },
)
EVENTS = TableSpec(
    "events",
    key=("event_id",),
    required=("customer_id", "event", "occurred_at"),
    time_column="occurred_at",
    columns={
        "event_id": TEXT,
        "customer_id": TEXT,
        "event": TEXT,
        "occurred_at": TIMESTAMP,
        "properties": JSON,
    },
)
RESPONSES = TableSpec(
    "responses",
    key=("customer_id", "question", "answered_at"),
    required=("customer_id", "question", "answer", "answered_at"),
    time_column="answered_at",
    columns={"customer_id": TEXT, "question": TEXT, "answer": TEXT, "answered_at": TIMESTAMP, "survey": TEXT},
)
TICKETS = TableSpec(
    "tickets",
    key=("ticket_id",),
    required=("ticket_id", "customer_id", "opened_at"),
    time_column="opened_at",
    columns={
        "ticket_id": TEXT,
        "customer_id": TEXT,
        "opened_at": TIMESTAMP,
        "first_response_at": TIMESTAMP,
        "resolved_at": TIMESTAMP,
        "csat": DOUBLE,
        "channel": TEXT,
        "topic": TEXT,
    },
)
SUBSCRIPTIONS = TableSpec(
    "subscriptions",
    key=("subscription_id",),
    required=("subscription_id", "customer_id", "started_at"),
    time_column="started_at",
    columns={
        "subscription_id": TEXT,
        "customer_id": TEXT,
        "started_at": TIMESTAMP,
        "plan": TEXT,
        "mrr": MONEY,
        "renews_at": TIMESTAMP,
        "cancelled_at": TIMESTAMP,
        "cancel_reason": TEXT,
    },
)

# Attribute history (DESIGN section 5.1): a run sees each customer attribute as of its as_of
# (`compile.rules.attributes_at`); `ingest customers --mode upsert` records a row for every value it changes.
CUSTOMER_CHANGES = TableSpec(
    "customer_changes",
    key=("customer_id", "attribute", "changed_at"),
    required=("customer_id", "attribute", "value", "changed_at"),
    time_column="changed_at",
    columns={"customer_id": TEXT, "attribute": TEXT, "value": TEXT, "changed_at": TIMESTAMP},
)

# Identities (DESIGN section 5.1): from `linked_at` on, every row of `alias_id` counts for `customer_id`, and the
# alias is no customer of its own (`compile.rules.identities_at`); `POST /v1/identify` adds a link.
IDENTITIES = TableSpec(
    "identities",
    key=("alias_id",),
    required=("alias_id", "customer_id", "linked_at"),
    time_column="linked_at",
    columns={"alias_id": TEXT, "customer_id": TEXT, "linked_at": TIMESTAMP},
)

# Currencies (DESIGN section 5.1): the rate of one unit of `currency` in the workspace currency on `day`; an order
# in another currency is converted at the latest day at or before its date (`compile.rules.money_at`). A rate has
# six decimals, like money.
RATES = TableSpec(
    "rates",
    key=("currency", "day"),
    required=("currency", "day", "rate"),
    time_column=None,  # rates are no activity of a customer: they neither make one exist nor move `latest`
    columns={"currency": TEXT, "day": DATE, "rate": MONEY},
    codes=("currency",),
    checks=(("rate", "rate > 0", "a rate must be positive (units of the workspace currency per unit)"),),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        CUSTOMERS,
        ORDERS,
        ORDER_ITEMS,
        EVENTS,
        RESPONSES,
        TICKETS,
        SUBSCRIPTIONS,
        CUSTOMER_CHANGES,
        IDENTITIES,
        RATES,
    )
}
# the tables of rows about a customer (every canonical table but `customers` and `rates`)
FACT_TABLES = tuple(name for name, t in TABLES.items() if name != "customers" and "customer_id" in t.columns)
MONEY_COLUMNS = frozenset({"amount", "unit_price", "mrr", "annual_revenue", "income", "discount", "quantity"})
