"""What a sink is, and the registry that finds sinks: plug-ins of the entry-point group `segmentum.sinks`.

A sink is a class with a `name`, the typed `events` it acts on, `render` (at enqueue time: the typed event
and the action's settings become the stored payload) and `deliver` (send one item; raise `DeliveryError` to
retry later). The built-in task, webhook, email and export sinks are registered through the same entry-point
group as a user's (see pyproject.toml), so a package that declares

    [project.entry-points."segmentum.sinks"]
    slack = "my_package.slack:SlackSink"

works in `segmentum run` and in `segmentum serve` alike, and a trigger in a definitions file uses it as
`do: [{slack: {...settings}}]`. `register_sink("slack", SlackSink)` adds one at run time (a notebook, a test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from segmentum.actions.events import CUSTOMER_EVENTS, SinkEvent
from segmentum.errors import ActionError, did_you_mean

if TYPE_CHECKING:
    import duckdb

    from segmentum.actions.templates import Templates
    from segmentum.context import Context


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
    """Base class of sinks. One instance per processed run and per delivery pass."""

    name: ClassVar[str] = ""
    # The typed events (segmentum.actions.events) the sink acts on: by default a customer's enter, exit, move
    # or metric event (one outbox item per customer); `(SegmentRefreshed,)` for one item per trigger and
    # batch run (exports).
    events: ClassVar[tuple[type, ...]] = CUSTOMER_EVENTS
    transactional: ClassVar[bool] = False  # True: `deliver` writes to the store, inside the status update

    def __init__(self, ws: Context) -> None:
        self.ws = ws

    @property
    def rate_per_second(self) -> float | None:
        return None

    def validate(self, settings: dict[str, Any], where: str, templates: Templates) -> None:
        """Check an action's settings at validation time; raise ActionError with `where` in the message."""

    def accepts(self, event: SinkEvent) -> bool:
        """Does this sink act on `event`? (Its type is one of `events`.)"""
        return isinstance(event, self.events)

    def render(
        self, event: SinkEvent, settings: dict[str, Any], context: dict[str, Any], templates: Templates
    ) -> dict[str, Any]:
        """The action as stored in the outbox payload, at enqueue time.

        `event` is the typed event the trigger fired on; `context` is what templates see (`event` in it is
        `event_dict(event)`). The default renders every text setting as a template.
        """
        return {
            k: (templates.render(v, context, where=f"{self.name}.{k}") if isinstance(v, str) else v)
            for k, v in settings.items()
        }

    def deliver(self, item: OutboxItem, con: duckdb.DuckDBPyConnection) -> Delivered:
        raise NotImplementedError

    def deliver_many(self, items: list[OutboxItem], con: duckdb.DuckDBPyConnection) -> list[Delivered]:
        """Deliver several items (transactional sinks get them in one transaction); override to batch."""
        return [self.deliver(item, con) for item in items]

    def close(self) -> None:
        """Release connections held across items."""


ENTRY_POINT_GROUP = "segmentum.sinks"
_SINKS: dict[str, type[Sink]] = {}
_LOADED = False


def register_sink(name: str, cls: type[Sink]) -> None:
    """Make `cls` deliver actions of type `name` (replacing a sink of that name)."""
    if not (isinstance(cls, type) and issubclass(cls, Sink)):
        raise ActionError(
            f"register_sink({name!r}, {cls!r}): a sink must be a subclass of segmentum.actions.Sink"
        )
    _SINKS[name] = cls


def sink_class(name: str) -> type[Sink]:
    _load_entry_points()
    if name not in _SINKS:
        raise ActionError(
            f"no sink named '{name}'{did_you_mean(name, _SINKS)} (sinks: {', '.join(sorted(_SINKS))}); "
            f"declare one in the entry-point group '{ENTRY_POINT_GROUP}' or call "
            "segmentum.actions.register_sink"
        )
    return _SINKS[name]


def sink_names() -> list[str]:
    _load_entry_points()
    return sorted(_SINKS)


def _load_entry_points() -> None:
    """Register every sink of the entry-point group once per process (a sink registered in code wins)."""
    global _LOADED
    if _LOADED:
        return
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = entry.load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not stop the others
            raise ActionError(
                f"the sink plug-in '{entry.name}' ({entry.value}) cannot be loaded: {exc}"
            ) from exc
        if entry.name not in _SINKS:
            register_sink(entry.name, cls)
    _LOADED = True
