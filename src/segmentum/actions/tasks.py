"""Tasks for managers, created by the `task` sink: assign and complete them (the list is a read model:
`segmentum.views.tasks`)."""

from __future__ import annotations

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


def complete_task(ws: Context, task_id: int) -> dict[str, Any]:
    """Mark a task done (completing a done task keeps its first completion time)."""
    task = get_task(ws, task_id)
    if task["status"] != "done":
        ws.store.cursor().execute(
            f"UPDATE {META}.tasks SET status = 'done', completed_at = ? WHERE id = ?",
            [now(ws.config.timezone), task_id],
        )
    return get_task(ws, task_id)
