"""Sinks deliver outbox items: the built-in task, webhook, email and export, and any a user registers.

A sink is a class with a `name`, `render` (turn an action's settings into the stored payload, at enqueue
time) and `deliver` (send one item; raise `DeliveryError` to retry later). Register your own with
`register_sink("slack", SlackSink)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from segmentum.errors import ActionError, did_you_mean

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.templates import Templates
    from segmentum.workspace import Workspace


class DeliveryError(ActionError):
    """Delivery failed. `retry` False means retrying the same payload cannot help (sent to failed at once)."""

    def __init__(self, message: str, *, retry: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


@dataclass
class OutboxItem:
    """One row of `segmentum.outbox` handed to a sink."""

    id: int
    idempotency_key: str
    trigger: str
    action_type: str
    customer_id: str | None
    run_id: int
    payload: dict[str, Any]
    attempts: int


@dataclass
class Delivered:
    """What a sink reports back: `delivered`, or `skipped` with the reason (e.g. no email consent)."""

    status: str = "delivered"
    note: str | None = None


class Sink:
    """Base class of sinks. One instance per delivery pass."""

    name: ClassVar[str] = ""
    per_customer: ClassVar[bool] = True  # False: one item per trigger and run (exports)
    transactional: ClassVar[bool] = False  # True: `deliver` writes to the store, inside the status update

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @property
    def rate_per_second(self) -> float | None:
        return None

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        """Check an action's settings at validation time; raise ActionError with `where` in the message."""

    def render(self, settings: dict[str, Any], context: dict[str, Any], templates: Templates) -> dict[str, Any]:
        """The action as stored in the outbox payload (templates rendered)."""
        return {k: (templates.render(v, context, where=f"{self.name}.{k}") if isinstance(v, str) else v)
                for k, v in settings.items()}

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        raise NotImplementedError

    def deliver_many(self, items: list[OutboxItem], con: duckdb.DuckDBPyConnection) -> list[Delivered]:
        """Deliver several items (transactional sinks get them in one transaction); override to batch."""
        return [self.deliver(item, con) for item in items]

    def close(self) -> None:
        """Release connections held across items."""


_SINKS: dict[str, type[Sink]] = {}


def register_sink(name: str, cls: type[Sink]) -> None:
    """Make `cls` deliver actions of type `name` (replacing a sink of that name)."""
    if not (isinstance(cls, type) and issubclass(cls, Sink)):
        raise ActionError(f"register_sink({name!r}, {cls!r}): a sink must be a subclass of segmentum.actions.Sink")
    _SINKS[name] = cls


def sink_class(name: str) -> type[Sink]:
    _builtins()
    if name not in _SINKS:
        raise ActionError(f"no sink named '{name}'{did_you_mean(name, _SINKS)} (sinks: {', '.join(sorted(_SINKS))}); "
                          "register one with segmentum.actions.register_sink")
    return _SINKS[name]


def sink_names() -> list[str]:
    _builtins()
    return sorted(_SINKS)


def _builtins() -> None:
    if "task" in _SINKS:
        return
    from segmentum.actions.sinks.email import EmailSink
    from segmentum.actions.sinks.export import ExportSink
    from segmentum.actions.sinks.task import TaskSink
    from segmentum.actions.sinks.webhook import WebhookSink

    for cls in (TaskSink, WebhookSink, EmailSink, ExportSink):
        _SINKS.setdefault(cls.name, cls)
