"""`segmentum quarantine`: rows that could not be stored, with file, line, column and reason."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def quarantine_command(
    table: Annotated[str | None, typer.Option(help="Only rows meant for this table")] = None,
    ingest_id: Annotated[
        int | None, typer.Option("--ingest", help="Only rows of this ingest (its id)")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all)")] = 100,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Rows that could not be stored: source file, line, column and reason, newest ingest first."""
    rows = operation(workspace, "quarantine", table=table, ingest_id=ingest_id, limit=limit or None)
    columns = ["ingest_id", "table", "source", "line", "column", "reason", "raw"]
    if fmt is OutputFormat.table:
        for row in rows:
            raw = row.get("raw") or ""
            row["raw"] = raw if len(raw) <= 80 else raw[:77] + "..."
        columns = columns[:-1] + ["raw"]
    emit(rows, fmt, title="Quarantined rows", columns=columns)
    if fmt is OutputFormat.table and not rows:
        note("no quarantined rows")
