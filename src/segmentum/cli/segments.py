"""`segmentum segments`: every segmentation and segment of a run with size, share and revenue share."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, open_workspace
from segmentum.views.segments import segment_sizes


def segments_command(
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the newest complete batch run)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Sizes of every segment: customers, share of the run's customers, revenue and revenue share."""
    ws = open_workspace(workspace)
    overview = segment_sizes(ws, run)
    info = overview.run
    emit(
        overview.sizes,
        fmt,
        title=f"Segments of run {info.run_id} (as_of {info.as_of:%Y-%m-%d %H:%M:%S})",
        columns=["name", "customers", "share", "revenue", "revenue_share"],
    )
