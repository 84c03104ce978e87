"""`segmentum segments`: every segmentation and segment of a run with size, share and revenue share."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation


def segments_command(
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the newest complete batch run)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Sizes of every segment: customers, share of the run's customers, revenue and revenue share."""
    answer = operation(workspace, "segments", run_id=run)
    info = answer["run"]
    emit(
        answer["sizes"],
        fmt,
        title=f"Segments of run {info['run_id']} (as_of {str(info['as_of']).replace('T', ' ')[:19]})",
        columns=["name", "customers", "share", "revenue", "revenue_share"],
    )
