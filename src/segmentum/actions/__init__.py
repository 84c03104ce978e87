"""Acting on segments: typed events from run diffs, triggers, the persisted outbox and its sinks.

from segmentum.actions import process_run, deliver
report = process_run(ws, run_id)   # enqueue (idempotent)
deliver(ws)                        # send what is due
"""

from __future__ import annotations

from segmentum.actions.events import (
    MetricChanged,
    SegmentEntered,
    SegmentExited,
    SegmentMoved,
    SegmentRefreshed,
    SinkEvent,
    event_dict,
)
from segmentum.actions.outbox import deliver, deliver_until_done, list_outbox, retry
from segmentum.actions.sinks import Delivered, DeliveryError, OutboxItem, Sink, register_sink
from segmentum.actions.tasks import assign_task, complete_task
from segmentum.actions.triggers import ProcessReport, process_run, validate_triggers

__all__ = [
    "Delivered",
    "DeliveryError",
    "MetricChanged",
    "OutboxItem",
    "ProcessReport",
    "SegmentEntered",
    "SegmentExited",
    "SegmentMoved",
    "SegmentRefreshed",
    "Sink",
    "SinkEvent",
    "assign_task",
    "complete_task",
    "deliver",
    "deliver_until_done",
    "event_dict",
    "list_outbox",
    "process_run",
    "register_sink",
    "retry",
    "validate_triggers",
]
