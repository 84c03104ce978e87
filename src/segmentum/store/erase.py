"""Right to erasure: remove one customer from every table and snapshot of the store, in one transaction.

The audit log keeps that an erasure happened, when, and how many rows went, but not the id itself (only its
SHA-256), so the log holds no personal data. Files already written outside the store (exports, dry-run
emails) are not changed; the result lists where to look.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segmentum.errors import NotFoundError
from segmentum.sql import one
from segmentum.store import META

if TYPE_CHECKING:
    from segmentum.context import Context


def _tables_with_customer_id(ws: Context) -> list[tuple[str, str]]:
    rows = (
        ws.store.cursor()
        .execute(
            "SELECT DISTINCT c.table_schema, c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            "WHERE c.table_catalog = current_database() AND c.column_name = 'customer_id' AND t.table_type = 'BASE TABLE' "
            "ORDER BY 1, 2"
        )
        .fetchall()
    )
    return [(r[0], r[1]) for r in rows]


def forget(ws: Context, customer_id: str) -> dict[str, Any]:
    """Erase `customer_id` everywhere; returns rows deleted per table. NotFoundError if nothing matched."""
    customer_id = str(customer_id)
    deleted: dict[str, int] = {}
    with ws.store.transaction() as con:
        for schema, table in _tables_with_customer_id(ws):
            count = one(
                con.execute(f'SELECT count(*) FROM {schema}."{table}" WHERE customer_id = ?', [customer_id])
            )[0]
            if count:
                con.execute(f'DELETE FROM {schema}."{table}" WHERE customer_id = ?', [customer_id])
                deleted[f"{schema}.{table}"] = int(count)
        # quarantined rows keep the raw input as JSON text
        if ws.store.table_exists("quarantine", schema=META):
            where = "json_extract_string(TRY_CAST(raw AS JSON), '$.customer_id') = ?"
            count = one(con.execute(f"SELECT count(*) FROM {META}.quarantine WHERE {where}", [customer_id]))[
                0
            ]
            if count:
                con.execute(f"DELETE FROM {META}.quarantine WHERE {where}", [customer_id])
                deleted[f"{META}.quarantine"] = int(count)
        if not deleted:
            raise NotFoundError(f"customer '{customer_id}' is not in the store; nothing was erased")
        digest = hashlib.sha256(customer_id.encode()).hexdigest()
        con.execute(
            f"INSERT INTO {META}.audit_log VALUES (?, 'forget', ?, ?)",
            [datetime.now(), f"sha256:{digest}", json.dumps({"rows_deleted": deleted})],
        )
    files = [p for p in ("exports", ws.config.email.outbox_dir) if (ws.root / p).exists()]
    return {
        "customer_id": customer_id,
        "rows_deleted": deleted,
        "total": sum(deleted.values()),
        "files_not_changed": files,
    }
