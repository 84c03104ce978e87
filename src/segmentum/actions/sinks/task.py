"""The `task` sink: a task for a manager in `segmentum.tasks`, written in the same transaction that marks
the outbox item delivered, so a task is created exactly once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segmentum.actions.clock import add_duration, now
from segmentum.actions.sinks import Delivered, OutboxItem, Sink
from segmentum.actions.tasks import ensure_tasks
from segmentum.errors import ActionError
from segmentum.store import META

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.templates import Templates


class TaskSink(Sink):
    name = "task"
    transactional = True

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        for key in ("title", "description", "assignee"):
            if settings.get(key):
                templates.check(settings[key], f"{where}.{key}")
        if settings.get("due"):
            try:
                add_duration(datetime(2000, 1, 1), settings["due"])
            except ValueError as exc:
                raise ActionError(f"{where}.due: {exc}") from None

    def render(self, settings: dict[str, Any], context: dict[str, Any], templates: Templates) -> dict[str, Any]:
        out = {k: (templates.render(settings[k], context, where=f"task.{k}") if settings.get(k) else None)
               for k in ("title", "description", "assignee")}
        out["title"] = (out["title"] or "").strip() or "Follow up"
        out["assignee"] = (out["assignee"] or "").strip() or None
        due = settings.get("due")
        out["due_at"] = add_duration(now(self.ws), due).isoformat(sep=" ") if due else None
        return out

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        ensure_tasks(self.ws.store)
        action = item.payload["action"]
        reason = {k: item.payload.get(k) for k in ("event", "segment", "traits", "run")}
        con.execute(
            f"""INSERT INTO {META}.tasks (id, title, description, assignee, due_at, status, customer_id, trigger,
                reason, created_at, outbox_key)
                SELECT nextval('{META}.task_seq'), ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?
                WHERE NOT EXISTS (SELECT 1 FROM {META}.tasks WHERE outbox_key = ?)""",
            [action["title"], action.get("description"), action.get("assignee"), action.get("due_at"),
             item.customer_id, item.trigger, json.dumps(reason, default=str), now(self.ws),
             item.idempotency_key, item.idempotency_key],
        )
        return Delivered()
