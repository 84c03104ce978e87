"""`segmentum runs`: the runs with their as_of, status and duration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation


def runs_command(
    limit: Annotated[int, typer.Option(help="Show at most this many (newest first)")] = 50,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List runs, newest first: as_of, status, kind, engine, customers, duration, started_at (as_of and
    started_at both in the workspace time zone)."""
    rows = operation(workspace, "runs", limit=limit)
    zone = rows[0].get("timezone") if rows else None
    if fmt is OutputFormat.table:
        for row in rows:
            for key in ("as_of", "started_at"):
                value = row[key]
                row[key] = f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M:%S}" if value is not None else None
            row["duration_s"] = round(row["duration_s"], 2) if row["duration_s"] is not None else None
    emit(
        rows,
        fmt,
        title=f"Runs (as_of and started_at in {zone})" if zone else "Runs",
        columns=[
            "run_id",
            "as_of",
            "status",
            "kind",
            "engine",
            "customers",
            "duration_s",
            "started_at",
            "message",
        ],
    )
