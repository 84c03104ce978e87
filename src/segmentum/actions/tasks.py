"""Tasks for managers, created by the `task` sink or by hand (the dashboard's "create a task for all"): assign,
complete with a note, reopen (undo) them (the list is a read model: `segmentum.views.tasks`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from segmentum.clock import now
from segmentum.context import Context
from segmentum.errors import ActionError, NotFoundError
from segmentum.store import META

STATUSES = ("open", "done")
COLUMNS = [
    "id",
    "title",
    "description",
    "assignee",
    "due_at",
    "status",
    "customer_id",
    "trigger",
    "reason",
    "created_at",
    "completed_at",
    "note",
    "completed_by",
]


def get_task(ws: Context, task_id: int) -> dict[str, Any]:
    row = (
        ws.store.cursor()
        .execute(f"SELECT {', '.join(COLUMNS)} FROM {META}.tasks WHERE id = ?", [task_id])
        .fetchone()
    )
    if row is None:
        raise NotFoundError(f"task {task_id} does not exist; `segmentum tasks --status all` lists every task")
    return dict(zip(COLUMNS, row, strict=True))


def assign_task(ws: Context, task_id: int, user: str) -> dict[str, Any]:
    """Give a task to `user`."""
    get_task(ws, task_id)
    if not user.strip():
        raise ActionError(f"cannot assign task {task_id} to an empty name; give a user name")
    ws.store.cursor().execute(f"UPDATE {META}.tasks SET assignee = ? WHERE id = ?", [user.strip(), task_id])
    return get_task(ws, task_id)


def complete_task(
    ws: Context, task_id: int, *, user: str | None = None, note: str | None = None
) -> dict[str, Any]:
    """Mark a task done by `user`, with what they write about it (completing a done task keeps its first
    completion time, user and note)."""
    task = get_task(ws, task_id)
    if task["status"] != "done":
        ws.store.cursor().execute(
            f"UPDATE {META}.tasks SET status = 'done', completed_at = ?, completed_by = ?, note = ? WHERE id = ?",
            [now(ws.config.timezone), user, (note or "").strip() or None, task_id],
        )
    return get_task(ws, task_id)


def reopen_task(ws: Context, task_id: int) -> dict[str, Any]:
    """Undo a completion: the task is open again, without its completion time, user and note."""
    get_task(ws, task_id)
    ws.store.cursor().execute(
        f"UPDATE {META}.tasks SET status = 'open', completed_at = NULL, completed_by = NULL, note = NULL "
        "WHERE id = ?",
        [task_id],
    )
    return get_task(ws, task_id)


def create_tasks(
    ws: Context,
    customer_ids: Sequence[str],
    title: str,
    *,
    description: str | None = None,
    assignee: str | None = None,
    due_at: datetime | None = None,
    reason: dict[str, Any] | None = None,
) -> list[int]:
    """One open task per customer (by hand: no trigger), with `reason` (JSON) saying why; their ids."""
    if not title.strip():
        raise ActionError("a task needs a title; say what to do, e.g. 'Call about their last order'")
    ids = list(dict.fromkeys(customer_ids))
    if not ids:
        return []
    cur = ws.store.cursor()
    created = now(ws.config.timezone)
    rows = cur.execute(
        f"""INSERT INTO {META}.tasks (id, title, description, assignee, due_at, status, customer_id, reason,
                created_at)
            SELECT nextval('{META}.task_seq'), ?, ?, ?, ?, 'open', c.customer_id, ?::JSON, ?
            FROM (SELECT unnest(?::VARCHAR[]) AS customer_id) c RETURNING id""",
        [
            title.strip(),
            description,
            (assignee or "").strip() or None,
            due_at,
            json.dumps(reason or {}, default=str),
            created,
            ids,
        ],
    ).fetchall()
    return sorted(int(r[0]) for r in rows)
