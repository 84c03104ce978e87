"""`segmentum customer ID`: attributes, traits, memberships and history of one customer."""

from __future__ import annotations

from typing import Annotated, Any

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
        emit(history_rows(history), fmt, title="History", columns=HISTORY_COLUMNS)
    tasks = data.get("tasks") or []
    if tasks:
        emit(tasks, fmt, title="Tasks", columns=["id", "status", "due_at", "assignee", "title"])


HISTORY_COLUMNS = ["run_id", "as_of", "kind", "segments", "entered", "left"]


def history_rows(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per run, oldest first: how many segments the customer was in, and which they entered and left
    since the run before (the first run lists none: there is nothing to compare it with)."""
    rows: list[dict[str, Any]] = []
    previous: set[str] | None = None
    for entry in sorted(history, key=lambda h: (str(h.get("as_of")), h.get("run_id") or 0)):
        now = set(entry.get("segments") or [])
        rows.append(
            {
                "run_id": entry.get("run_id"),
                "as_of": str(entry.get("as_of") or "")[:10],
                "kind": entry.get("kind"),
                "segments": len(now),
                "entered": sorted(now - previous) if previous is not None else [],
                "left": sorted(previous - now) if previous is not None else [],
            }
        )
        previous = now
    return rows
