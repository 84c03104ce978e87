"""Right to erasure: remove one customer from every table and snapshot of the store, in one transaction, then
rewrite the store file so that no byte of the customer is left in it.

DuckDB leaves deleted values in the free blocks of its file (readable with `strings` after any number of
checkpoints); only a file written afresh (`Store.rewrite`) holds none of them. Quarantined rows keep the raw
input under its source column names (`Customer ID`, `Клиент`, ...): they are matched on the source column that
the ingest mapped to `customer_id` (`id_column`, which the caller supplies: the ingest's column rules live above
this layer), and unparsed lines on the id as one of their fields.

The audit log keeps that an erasure happened, when, and how many rows went, but not the id itself (only its
SHA-256), so the log holds no personal data. Files written outside the store (exports, dry-run emails, reports,
Parquet for Spark) are not changed: the result lists the files that hold the customer, for the caller to offer
to delete (`delete_files`).

An alias linked to the customer (`identities`) is the same person under another id: its rows are the customer's
(DESIGN section 5.1), so forgetting the customer forgets every alias linked to it, whenever it was linked.
Forgetting an alias forgets that alias only (and its link).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmentum.errors import NotFoundError
from segmentum.sql import ident, one
from segmentum.store import META
from segmentum.store.identities import aliases_of
from segmentum.store.tables import SHOWN_AS

if TYPE_CHECKING:
    import duckdb

    from segmentum.context import Context

# (table, source columns, explicit mapping of the ingest) -> the source column holding the customer id, or None
IdColumn = Callable[[str, list[str], dict[str, str] | None], str | None]
# columns that name a customer in any table (an alias of identities is a customer of its own before linking)
CUSTOMER_COLUMNS = ("customer_id", "alias_id")
# contact attributes whose values identify the customer in files written outside the store
CONTACT_COLUMNS = ("name", "first_name", "last_name", "full_name", "email", "phone", "mobile")
FILE_SUFFIXES = {".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".html", ".htm", ".eml", ".parquet"}
MAX_SCAN_BYTES = 512 * 1024 * 1024


def _tables_with(ws: Context, column: str) -> list[tuple[str, str]]:
    rows = (
        ws.store.cursor()
        .execute(
            "SELECT DISTINCT c.table_schema, c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_catalog, table_schema, table_name) "
            "WHERE c.table_catalog = current_database() AND c.column_name = ? AND t.table_type = 'BASE TABLE' "
            "ORDER BY 1, 2",
            [column],
        )
        .fetchall()
    )
    return [(r[0], r[1]) for r in rows]


def _contacts(ws: Context, customer_id: str) -> list[str]:
    """The customer's name, email, phone, ... as stored (before they are deleted): what files are searched for."""
    columns = [c for c in ws.store.columns("customers") if c in CONTACT_COLUMNS]
    if not columns:
        return []
    row = (
        ws.store.cursor()
        .execute(
            f"SELECT {', '.join(ident(c) for c in columns)} FROM main.customers WHERE customer_id = ?",
            [customer_id],
        )
        .fetchone()
    )
    values = {str(v).strip() for v in (row or ()) if v is not None}
    return sorted(v for v in values if len(v) >= 3)


def _quarantined(
    con: duckdb.DuckDBPyConnection, customer_id: str, id_column: IdColumn | None
) -> list[tuple[int, int | None, str]]:
    """(ingest_id, line, raw) of the quarantined rows of the customer."""
    rows = con.execute(
        f"SELECT q.ingest_id, q.line, q.table_name, q.raw, i.options FROM {META}.quarantine q "
        f"LEFT JOIN {META}.ingests i USING (ingest_id) WHERE q.raw IS NOT NULL"
    ).fetchall()
    token = re.compile(rf"(?:^|[,;\t|\"'\s]){re.escape(customer_id)}(?:$|[,;\t|\"'\s])")
    found = []
    for ingest_id, line, table, raw, options in rows:
        if customer_id not in raw:
            continue  # the quick test: most rows are somebody else's
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            if token.search(raw):  # an unparsed line: the id as one of its fields
                found.append((ingest_id, line, raw))
            continue
        mapping = (json.loads(options) if isinstance(options, str) else options or {}).get("mapping")
        source = None
        if id_column is not None:
            try:
                source = id_column(table, [str(k) for k in record], mapping)
            except Exception:  # noqa: BLE001 - columns the ingest could not map: fall back to every value
                source = None
        if source is None and "customer_id" in record:
            source = "customer_id"
        values = [record.get(source)] if source is not None else list(record.values())
        if any(v is not None and str(v).strip() == customer_id for v in values):
            found.append((ingest_id, line, raw))
    return found


def forget(ws: Context, customer_id: str, *, id_column: IdColumn | None = None) -> dict[str, Any]:
    """Erase `customer_id` everywhere and rewrite the store file; returns the rows deleted per table and the
    files outside the store that hold the customer. NotFoundError if nothing matched and the customer was
    never erased before (a second `forget` of an erased customer rewrites the file and lists files again)."""
    customer_id = str(customer_id)
    digest = f"sha256:{hashlib.sha256(customer_id.encode()).hexdigest()}"
    aliases = aliases_of(ws.store, customer_id)
    ids = [customer_id, *aliases]
    has_customers = ws.store.table_exists("customers")
    contacts = sorted({c for i in ids for c in _contacts(ws, i)}) if has_customers else []
    deleted: dict[str, int] = {}
    with ws.store.transaction() as con:
        for column in CUSTOMER_COLUMNS:
            for schema, table in _tables_with(ws, column):
                where = f"{ident(column)} IN (SELECT unnest(?))"
                count = one(
                    con.execute(f"SELECT count(*) FROM {schema}.{ident(table)} WHERE {where}", [ids])
                )[0]
                if count:
                    con.execute(f"DELETE FROM {schema}.{ident(table)} WHERE {where}", [ids])
                    # the rows of a view (memberships) count under the view's name, as users know it
                    key = f"{schema}.{SHOWN_AS.get(table, table) if schema == META else table}"
                    deleted[key] = deleted.get(key, 0) + int(count)
        # quarantined rows keep the raw input under its source column names
        if ws.store.table_exists("quarantine", schema=META):
            rows = [row for i in ids for row in _quarantined(con, i, id_column)]
            for ingest_id, line, raw in rows:
                con.execute(
                    f"DELETE FROM {META}.quarantine WHERE ingest_id = ? AND line IS NOT DISTINCT FROM ? "
                    "AND raw = ?",
                    [ingest_id, line, raw],
                )
            if rows:
                deleted[f"{META}.quarantine"] = len(rows)
        erased_before = one(
            con.execute(
                f"SELECT count(*) FROM {META}.audit_log WHERE action = 'forget' AND subject = ?", [digest]
            )
        )[0]
        if not deleted and not erased_before:
            raise NotFoundError(f"customer '{customer_id}' is not in the store; nothing was erased")
        con.execute(
            f"INSERT INTO {META}.audit_log VALUES (?, 'forget', ?, ?)",
            [datetime.now(), digest, json.dumps({"rows_deleted": deleted, "aliases": len(aliases)})],
        )
    # deleted values stay in the file's free blocks until a fresh file replaces it
    ws.store.rewrite()
    files = sorted({f for i in ids for f in files_holding(ws, [i, *contacts])})
    folders = [p for p in _folders(ws) if p.exists()]
    return {
        "customer_id": customer_id,
        "aliases": aliases,
        "rows_deleted": deleted,
        "total": sum(deleted.values()),
        "erased_before": bool(erased_before),
        "store_rewritten": True,
        "files": [_shown(ws, f) for f in files],
        "files_not_changed": [_shown(ws, f) for f in folders],
    }


def _folders(ws: Context) -> list[Path]:
    """Folders where segmentum writes files that may hold customers."""
    found = [ws.root / "exports", ws.root / ws.config.email.outbox_dir, ws.root / "reports"]
    folder = Path(ws.config.exports.folder).expanduser()
    found.append(folder if folder.is_absolute() else ws.root / folder)
    if ws.config.warehouse:
        found.append(ws.root / ws.config.warehouse)
    unique: list[Path] = []
    for path in found:
        if path.resolve() not in [u.resolve() for u in unique]:
            unique.append(path)
    return unique


def _candidates(ws: Context) -> list[Path]:
    paths = [p for p in ws.root.iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES]
    for folder in _folders(ws):
        if folder.is_dir():
            paths += [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in FILE_SUFFIXES]
    return sorted({p.resolve() for p in paths if not p.is_symlink()})


def files_holding(ws: Context, needles: list[str]) -> list[Path]:
    """Files segmentum wrote (exports, dry-run emails, reports, Parquet for Spark, files in the workspace
    folder) that hold any of `needles`: the customer id as a whole value, or a contact value anywhere."""
    customer_id, contacts = needles[0], [n for n in needles[1:] if n]
    texts = {n.encode() for n in contacts} | {html.escape(n).encode() for n in contacts}
    token = re.compile(rb"(?<![\w@.\-])" + re.escape(customer_id.encode()) + rb"(?![\w@\-]|\.\w)")
    found = []
    for path in _candidates(ws):
        try:
            if path.stat().st_size > MAX_SCAN_BYTES:
                continue
            if path.suffix.lower() == ".parquet":
                if _parquet_holds(path, customer_id, contacts):
                    found.append(path)
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if token.search(data) or any(t in data for t in texts):
            found.append(path)
    return found


def _parquet_holds(path: Path, customer_id: str, contacts: list[str]) -> bool:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception:  # noqa: BLE001 - not a Parquet file after all
        return False
    for column in table.itercolumns():
        for value in column.to_pylist():
            if isinstance(value, str) and (value.strip() == customer_id or any(c in value for c in contacts)):
                return True
    return False


def delete_files(ws: Context, files: list[str]) -> list[str]:
    """Delete files that `forget` listed (paths as it showed them); returns those deleted. Only files of the
    places `forget` searches are deleted, whatever the list holds."""
    allowed = set(_candidates(ws))
    gone = []
    for shown in files:
        path = Path(shown)
        path = (path if path.is_absolute() else ws.root / path).resolve()
        if path in allowed and path.is_file():
            path.unlink()
            gone.append(shown)
    return gone


def _shown(ws: Context, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ws.root.resolve()))
    except ValueError:
        return str(path)
