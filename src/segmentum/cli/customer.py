"""`segmentum customer ID`: attributes, traits, memberships and history of one customer."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation


def customer_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Everything segmentum knows about one customer: attributes, traits, model outputs, segments now,
    history and tasks."""
    data = operation(workspace, "customer", customer_id=customer_id)  # the 360 the API and dashboard show
    if fmt is OutputFormat.json:
        emit(data, fmt)
        return
    for section in ("attributes", "traits", "models"):
        values = data.get(section) or {}
        if values:
            emit(values, fmt, title=section.capitalize())
    segments = data.get("segments") or []
    emit([{"segment": s} for s in segments], fmt, title="Segments now")
    history = data.get("history") or []
    if history:
        emit(history, fmt, title="History")
    tasks = data.get("tasks") or []
    if tasks:
        emit(tasks, fmt, title="Tasks", columns=["id", "status", "due_at", "assignee", "title"])
