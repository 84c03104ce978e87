"""Static lists: segments whose members are given (DESIGN section 5.2), the one home of their rows.

A list is named like a standalone segment and behaves as one: `Context.definitions()` turns every stored list
into a standalone segment (`SegmentDef.list`), so a run records its members, `in_segment('name')` reads it, a
trigger may use it as its segment and `suppress` may name it. Its members are the ids given, whether or not
they are customers yet (a do-not-contact list may hold someone who has not ordered).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from segmentum.errors import IngestError, NotFoundError
from segmentum.sql import literal
from segmentum.store.connection import Store
from segmentum.store.tables import LIST_MEMBERS_TABLE, META, qualified

_TABLE = qualified(LIST_MEMBERS_TABLE)


@dataclass(frozen=True)
class ListChange:
    name: str
    added: int
    removed: int
    members: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "added": self.added, "removed": self.removed, "members": self.members}


def _count(cur: duckdb.DuckDBPyConnection, name: str) -> int:
    """The number of members of list `name`: the one member-count query, read inside a write's transaction."""
    row = cur.execute(f"SELECT count(*) FROM {_TABLE} WHERE name = ?", [name]).fetchone()
    return int(row[0]) if row else 0


def _present(store: Store) -> bool:
    return store.table_exists(LIST_MEMBERS_TABLE, META)


def _require(store: Store, name: str) -> None:
    known = names(store)
    if name not in known:
        raise NotFoundError(f"no list '{name}'; lists: {', '.join(known) or 'none'}")


def names(store: Store) -> list[str]:
    """The lists stored, by name."""
    if not _present(store):
        return []
    return [r[0] for r in store.query(f"SELECT DISTINCT name FROM {_TABLE} ORDER BY name")]


def sizes(store: Store) -> list[dict[str, Any]]:
    """Each list with its number of members and when it last changed."""
    if not _present(store):
        return []
    rows = store.query(f"SELECT name, count(*), max(added_at) FROM {_TABLE} GROUP BY name ORDER BY name")
    return [{"name": n, "members": int(c), "updated_at": at} for n, c, at in rows]


def members(store: Store, name: str) -> list[str]:
    _require(store, name)
    return [r[0] for r in store.query(f"SELECT customer_id FROM {_TABLE} WHERE name = ? ORDER BY 1", [name])]


def read_ids(path: str | Path) -> list[str]:
    """The customer ids of a file: a CSV with a `customer_id` column (any delimiter DuckDB detects), or one id
    per line. Blank ids are dropped, the others stripped and kept once."""
    file = Path(path)
    if not file.is_file():
        raise IngestError(f"{file}: no such file; give a CSV with a customer_id column, or one id per line")
    con = duckdb.connect()
    try:
        relation = con.sql(f"SELECT * FROM read_csv({literal(str(file))}, all_varchar = true, header = true)")
        columns = [c.lower() for c in relation.columns]
        if "customer_id" in columns:
            column = relation.columns[columns.index("customer_id")]
            rows = con.sql(f'SELECT "{column}" FROM relation').fetchall()
        else:  # one id per line: the first line is an id too
            rows = con.sql(
                f"SELECT column0 FROM read_csv({literal(str(file))}, all_varchar = true, header = false, "
                "columns = {'column0': 'VARCHAR'}, delim = '\\x01')"
            ).fetchall()
    except duckdb.Error as exc:
        raise IngestError(f"{file}: cannot read customer ids: {exc}") from exc
    finally:
        con.close()
    return list(dict.fromkeys(str(r[0]).strip() for r in rows if r[0] is not None and str(r[0]).strip()))


def put(store: Store, name: str, ids: Iterable[str], *, replace: bool, now: datetime) -> ListChange:
    """Add `ids` to list `name` (creating it), or make them its only members with `replace`."""
    wanted = list(dict.fromkeys(str(i).strip() for i in ids if str(i).strip()))
    if not wanted and not replace:
        raise IngestError(f"list '{name}': no customer id given")
    with store.transaction() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS __list_ids (customer_id VARCHAR)")
        cur.execute("DELETE FROM __list_ids")
        cur.executemany("INSERT INTO __list_ids VALUES (?)", [[i] for i in wanted])
        before = _count(cur, name)
        if replace:
            cur.execute(
                f"DELETE FROM {_TABLE} WHERE name = ? AND customer_id NOT IN (SELECT customer_id FROM __list_ids)",
                [name],
            )
        kept = _count(cur, name)
        cur.execute(
            f"INSERT INTO {_TABLE} SELECT ?, customer_id, ? FROM __list_ids "
            f"WHERE customer_id NOT IN (SELECT customer_id FROM {_TABLE} WHERE name = ?)",
            [name, now, name],
        )
        cur.execute("DROP TABLE __list_ids")
        total = _count(cur, name)
        # what changed, by the one member count: removed before the insert, added by it
        removed, added = before - kept, total - kept
    return ListChange(name, added, removed, total)


def remove_members(store: Store, name: str, ids: Iterable[str]) -> ListChange:
    gone = [str(i).strip() for i in ids]
    _require(store, name)
    with store.transaction() as cur:
        before = _count(cur, name)
        cur.executemany(f"DELETE FROM {_TABLE} WHERE name = ? AND customer_id = ?", [[name, i] for i in gone])
        after = _count(cur, name)
    return ListChange(name, 0, before - after, after)


def drop(store: Store, name: str) -> int:
    """Delete a list; returns how many members it had. A definition that names it no longer validates."""
    _require(store, name)
    with store.transaction() as cur:
        had = _count(cur, name)
        cur.execute(f"DELETE FROM {_TABLE} WHERE name = ?", [name])
    return had
