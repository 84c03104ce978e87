"""Sinks deliver outbox items: the built-in task, webhook, email and export, and any a user registers
(`segmentum.actions.sinks.base` says how)."""

from __future__ import annotations

from segmentum.actions.sinks.base import (
    ENTRY_POINT_GROUP,
    Delivered,
    DeliveryError,
    OutboxItem,
    Sink,
    register_sink,
    sink_class,
    sink_names,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Delivered",
    "DeliveryError",
    "OutboxItem",
    "Sink",
    "register_sink",
    "sink_class",
    "sink_names",
]
