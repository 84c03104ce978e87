"""Links of anonymous ids to known customers (DESIGN section 5.1): the one home of the rows of `identities`.

An alias links to one customer and is never itself linked to; a run at `as_of` counts every row of an alias
linked at or before `as_of` for its customer (`segmentum.compile.rules.identities_at`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from segmentum.errors import IngestError
from segmentum.schema import IDENTITIES
from segmentum.store.connection import Store


def link(store: Store, alias_id: str, customer_id: str, linked_at: datetime) -> dict[str, Any]:
    """Link `alias_id` to `customer_id` from `linked_at` on; linking the same pair again changes nothing."""
    alias, customer = str(alias_id).strip(), str(customer_id).strip()
    if not alias or not customer:
        raise IngestError("identify: alias_id and customer_id must both be non-empty")
    if alias == customer:
        raise IngestError(f"identify: '{alias}' cannot be linked to itself")
    with store.transaction() as cur:
        cur.execute(IDENTITIES.ddl())
        known = cur.execute(
            "SELECT customer_id, linked_at FROM main.identities WHERE alias_id = ?", [alias]
        ).fetchone()
        if known is not None:
            if known[0] == customer:
                return {"alias_id": alias, "customer_id": customer, "linked_at": known[1], "created": False}
            raise IngestError(
                f"identify: '{alias}' is already linked to '{known[0]}' (since {known[1]}); an alias links to one "
                "customer"
            )
        if cur.execute("SELECT 1 FROM main.identities WHERE alias_id = ?", [customer]).fetchone():
            raise IngestError(
                f"identify: '{customer}' is itself an alias; link '{alias}' to the customer it is linked to"
            )
        if cur.execute("SELECT 1 FROM main.identities WHERE customer_id = ?", [alias]).fetchone():
            raise IngestError(
                f"identify: other ids are linked to '{alias}', so it is a customer, not an alias; an alias is "
                "never itself linked to"
            )
        cur.execute(
            "INSERT INTO main.identities (alias_id, customer_id, linked_at) VALUES (?, ?, ?)",
            [alias, customer, linked_at],
        )
    return {"alias_id": alias, "customer_id": customer, "linked_at": linked_at, "created": True}


def customer_of(store: Store, ids: list[str]) -> dict[str, str]:
    """alias -> customer for the ids that are linked aliases (the real-time path re-evaluates the customer)."""
    if not ids or not store.table_exists("identities"):
        return {}
    rows = store.query(
        "SELECT alias_id, customer_id FROM main.identities WHERE alias_id IN (SELECT unnest(?))", [ids]
    )
    return {a: c for a, c in rows}


def aliases_of(store: Store, customer_id: str) -> list[str]:
    """The aliases linked to `customer_id`, whatever their `linked_at` (an erasure erases them with it)."""
    if not store.table_exists("identities"):
        return []
    rows = store.query(
        "SELECT alias_id FROM main.identities WHERE customer_id = ? ORDER BY alias_id", [str(customer_id)]
    )
    return [r[0] for r in rows]


def aliases_linked_sql(customers: str) -> str:
    """DuckDB SQL of the aliases linked, at or before the moment bound to its one `?`, to the customers in the
    `customer_id` column of the relation `customers` (the real-time path stages their rows with the customer's:
    `rules.identities_at` counts them as the customer's). Read only when `main.identities` exists."""
    return (
        "SELECT alias_id AS customer_id FROM main.identities "
        f"WHERE customer_id IN (SELECT customer_id FROM {customers}) AND linked_at <= ?"
    )
