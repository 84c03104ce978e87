"""The managers' task list (tasks are created by the `task` sink; `actions.tasks` assigns and completes them).

One reading for `segmentum tasks`, `GET /v1/tasks`, the dashboard's task page and a customer's 360: the soonest
due first (tasks without a due date last), then by id.
"""

from __future__ import annotations

from typing import Any

from segmentum.actions.tasks import COLUMNS, STATUSES
from segmentum.clock import now
from segmentum.compile.rules import money_sql
from segmentum.context import Context
from segmentum.errors import SegmentumError
from segmentum.store import META


class TaskFilterError(SegmentumError, ValueError):
    """A task list was asked for with a status that does not exist."""


SORTS = {
    "due": "due_at NULLS LAST, id",
    "-due": "due_at DESC NULLS LAST, id",
    "created": "created_at, id",
    "-created": "created_at DESC, id DESC",
    "value": "value NULLS FIRST, id",
    "-value": "value DESC NULLS LAST, id",
    "customer": "customer_id NULLS LAST, id",
}
DUES = ("overdue", "week", "later", "none")


def tasks(
    ctx: Context,
    *,
    status: str | None = None,
    assignee: str | None = None,
    customer_id: str | None = None,
    trigger: str | None = None,
    segment: str | None = None,
    due: str | None = None,
    sort: str = "due",
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """{"total", "limit", "offset", "tasks"}: tasks with this status (None or 'all': every status),
    assignee ('' = nobody), customer, trigger, segment (the one the task's reason names) and due ('overdue',
    'week': within 7 days, 'later', 'none': no due date), one page of them (every one without `limit`) in
    the order `sort` names (SORTS; default the soonest due first); empty before any task was made.

    Each task carries `value`: the customer's revenue (qualifying orders so far)."""
    if status == "all":
        status = None
    if status is not None and status not in STATUSES:
        raise TaskFilterError(f"unknown task status {status!r}; use one of {', '.join(STATUSES)} or all")
    if due is not None and due not in DUES:
        raise TaskFilterError(f"unknown due filter {due!r}; use one of {', '.join(DUES)}")
    if sort not in SORTS:
        raise TaskFilterError(f"unknown task order {sort!r}; use one of {', '.join(SORTS)}")
    page: dict[str, Any] = {"total": 0, "limit": limit, "offset": offset, "tasks": []}
    if not ctx.store.table_exists("tasks", schema=META):
        return page
    clock = now(ctx.config.timezone)
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    for column, value in (("status", status), ("customer_id", customer_id), ("trigger", trigger)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if assignee is not None:
        where.append("coalesce(assignee, '') = ?")
        params.append(assignee)
    if segment is not None:
        where.append("json_extract_string(reason, '$.segment') = ?")
        params.append(segment)
    if due == "overdue":
        where.append("status = 'open' AND due_at < ?")
        params.append(clock)
    elif due == "week":
        where.append("due_at >= ? AND due_at < ? + INTERVAL 7 DAY")
        params += [clock, clock]
    elif due == "later":
        where.append("due_at >= ? + INTERVAL 7 DAY")
        params.append(clock)
    elif due == "none":
        where.append("due_at IS NULL")
    cur = ctx.store.cursor()
    orders = money_sql(ctx.store, ctx.config.currency)  # a task's value in the workspace currency
    # only the tasks' customers: every customer's revenue took 1-2 s a page at 1M customers (twice: the count)
    values = (
        f"SELECT customer_id, sum(amount) AS value FROM {orders.relation} WHERE {orders.qualifying()} "
        f"AND customer_id IN (SELECT customer_id FROM {META}.tasks) GROUP BY ALL"
        if ctx.store.table_exists("orders") and {"amount", "customer_id"} <= set(ctx.store.columns("orders"))
        else "SELECT NULL::VARCHAR AS customer_id, NULL::DECIMAL(38, 6) AS value WHERE false"
    )
    base = (
        f"FROM (SELECT t.*, v.value FROM {META}.tasks t LEFT JOIN ({values}) v USING (customer_id)) "
        f"WHERE {' AND '.join(where)}"
    )
    # the count needs no value (no filter reads it; a customer has one value, so the join adds no row)
    total = cur.execute(f"SELECT count(*) FROM {META}.tasks WHERE {' AND '.join(where)}", params).fetchone()
    columns = [*COLUMNS, "value"]
    sql = f"SELECT {', '.join(columns)} {base} ORDER BY {SORTS[sort]}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if offset:
        sql += f" OFFSET {int(offset)}"
    page["total"] = int(total[0]) if total else 0
    page["tasks"] = [dict(zip(columns, row, strict=True)) for row in cur.execute(sql, params).fetchall()]
    return page


def task_counts(ctx: Context) -> dict[str, int]:
    """How many tasks are open, done, and open past their due time, in the whole list."""
    if not ctx.store.table_exists("tasks", schema=META):
        return {"open": 0, "done": 0, "overdue": 0}
    counted = (
        ctx.store.cursor()
        .execute(
            f"""SELECT count(*) FILTER (status = 'open'), count(*) FILTER (status = 'done'),
                       count(*) FILTER (status = 'open' AND due_at < ?) FROM {META}.tasks""",
            [now(ctx.config.timezone)],
        )
        .fetchone()
    )
    return dict(zip(("open", "done", "overdue"), (int(n or 0) for n in counted or (0, 0, 0)), strict=True))


def task_choices(ctx: Context) -> dict[str, list[str]]:
    """The values the task list can be filtered by: assignees, triggers and segments of the tasks there are."""
    if not ctx.store.table_exists("tasks", schema=META):
        return {"assignees": [], "triggers": [], "segments": []}
    cur = ctx.store.cursor()

    def distinct(expression: str) -> list[str]:
        rows = cur.execute(
            f"SELECT DISTINCT {expression} AS v FROM {META}.tasks WHERE v IS NOT NULL ORDER BY v"
        ).fetchall()
        return [str(r[0]) for r in rows]

    return {
        "assignees": distinct("assignee"),
        "triggers": distinct("trigger"),
        "segments": distinct("json_extract_string(reason, '$.segment')"),
    }
