"""The managers' task list (tasks are created by the `task` sink; `actions.tasks` assigns and completes them).

One reading for `segmentum tasks`, `GET /v1/tasks`, the dashboard's task page and a customer's 360: the soonest
due first (tasks without a due date last), then by id.
"""

from __future__ import annotations

from typing import Any

from segmentum.actions.tasks import COLUMNS, STATUSES
from segmentum.context import Context
from segmentum.errors import SegmentumError
from segmentum.store import META


class TaskFilterError(SegmentumError, ValueError):
    """A task list was asked for with a status that does not exist."""


def tasks(
    ctx: Context,
    *,
    status: str | None = None,
    assignee: str | None = None,
    customer_id: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """{"total", "limit", "offset", "tasks"}: tasks with this status (None or 'all': every status), assignee
    and customer, one page of them (every one without `limit`); empty before any task was made."""
    if status == "all":
        status = None
    if status is not None and status not in STATUSES:
        raise TaskFilterError(f"unknown task status {status!r}; use one of {', '.join(STATUSES)} or all")
    page: dict[str, Any] = {"total": 0, "limit": limit, "offset": offset, "tasks": []}
    if not ctx.store.table_exists("tasks", schema=META):
        return page
    where, params = ["1 = 1"], []
    for column, value in (("status", status), ("assignee", assignee), ("customer_id", customer_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    base = f"FROM {META}.tasks WHERE {' AND '.join(where)}"
    cur = ctx.store.cursor()
    total = cur.execute(f"SELECT count(*) {base}", params).fetchone()
    sql = f"SELECT {', '.join(COLUMNS)} {base} ORDER BY due_at NULLS LAST, id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if offset:
        sql += f" OFFSET {int(offset)}"
    page["total"] = int(total[0]) if total else 0
    page["tasks"] = [dict(zip(COLUMNS, row, strict=True)) for row in cur.execute(sql, params).fetchall()]
    return page
