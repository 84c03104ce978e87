"""The `task` sink: a task for a manager in `segmentum.tasks`, written in the same transaction that marks
the outbox item delivered, so a task is created exactly once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from segmentum.actions.sinks.base import Delivered, OutboxItem, Sink
from segmentum.clock import add_duration, now
from segmentum.errors import ActionError
from segmentum.store import META

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.events import SinkEvent
    from segmentum.actions.templates import Templates
    from segmentum.context import Context


class TaskSink(Sink):
    """A task about the customer of an enter, exit, move or metric event (the default `events`)."""

    name = "task"
    transactional = True

    def __init__(self, ws: Context) -> None:
        super().__init__(ws)
        self._due: dict[str, str] = {}  # one due date per processed run

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        for key in ("title", "description", "assignee"):
            if settings.get(key):
                templates.check(settings[key], f"{where}.{key}")
        if settings.get("due"):
            try:
                add_duration(datetime(2000, 1, 1), settings["due"])
            except ValueError as exc:
                raise ActionError(f"{where}.due: {exc}") from None

    def render(
        self, event: SinkEvent, settings: dict[str, Any], context: dict[str, Any], templates: Templates
    ) -> dict[str, Any]:
        out = {
            k: (templates.render(settings[k], context, where=f"task.{k}") if settings.get(k) else None)
            for k in ("title", "description", "assignee")
        }
        out["title"] = (out["title"] or "").strip() or "Follow up"
        out["assignee"] = (out["assignee"] or "").strip() or None
        due = settings.get("due")
        if due and due not in self._due:
            self._due[due] = add_duration(now(self.ws.config.timezone), due).isoformat(sep=" ")
        out["due_at"] = self._due[due] if due else None
        return out

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        return self.deliver_many([item], con)[0]

    def deliver_many(self, items: list[OutboxItem], con: duckdb.DuckDBPyConnection) -> list[Delivered]:
        import pandas as pd

        actions = [item.payload["action"] for item in items]
        frame = pd.DataFrame(
            {
                "title": [a["title"] for a in actions],
                "description": [a.get("description") for a in actions],
                "assignee": [a.get("assignee") for a in actions],
                "due_at": [a.get("due_at") for a in actions],
                "customer_id": [i.customer_id for i in items],
                "trigger": [i.trigger for i in items],
                "reason": [
                    json.dumps(
                        {k: i.payload.get(k) for k in ("event", "segment", "traits", "run")}, default=str
                    )
                    for i in items
                ],
                "outbox_key": [i.idempotency_key for i in items],
            },
            dtype="object",
        )
        con.register("_segmentum_new_tasks", frame)
        try:
            # the outbox key makes a task exactly once even if a status update was lost
            con.execute(
                f"""INSERT INTO {META}.tasks (id, title, description, assignee, due_at, status, customer_id, trigger,
                    reason, created_at, outbox_key)
                    SELECT nextval('{META}.task_seq'), n.title::VARCHAR, n.description::VARCHAR, n.assignee::VARCHAR,
                        n.due_at::TIMESTAMP, 'open', n.customer_id::VARCHAR, n.trigger::VARCHAR, n.reason::JSON, ?,
                        n.outbox_key::VARCHAR
                    FROM _segmentum_new_tasks n
                    WHERE NOT EXISTS (SELECT 1 FROM {META}.tasks t WHERE t.outbox_key = n.outbox_key)""",
                [now(self.ws.config.timezone)],
            )
        finally:
            con.unregister("_segmentum_new_tasks")
        return [Delivered() for _ in items]
