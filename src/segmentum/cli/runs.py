"""`segmentum runs`: the runs with their as_of, status and duration."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, open_workspace
from segmentum.store.snapshots import list_runs


def runs_command(
    limit: Annotated[int, typer.Option(help="Show at most this many (newest first)")] = 50,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List runs, newest first: as_of, status, kind, engine, customers, duration."""
    ws = open_workspace(workspace)
    rows = [r.to_dict() for r in list_runs(ws.store)[:limit]]
    if fmt is OutputFormat.table:
        for row in rows:
            for key in ("as_of", "started_at"):
                row[key] = f"{row[key]:%Y-%m-%d %H:%M:%S}" if row[key] is not None else None
            row["duration_s"] = round(row["duration_s"], 2) if row["duration_s"] is not None else None
    emit(
        rows,
        fmt,
        title="Runs",
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
