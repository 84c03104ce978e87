"""`segmentum segments`: every segmentation and segment of a run with size, share and revenue share."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, open_workspace
from segmentum.runs.sizes import segment_sizes
from segmentum.store.snapshots import resolve_run


def segments_command(
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the newest complete batch run)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Sizes of every segment: customers, share of the run's customers, revenue and revenue share."""
    ws = open_workspace(workspace)
    info = resolve_run(ws.store, run)
    sizes = segment_sizes(ws.store, info.run_id)
    emit(
        sizes,
        fmt,
        title=f"Segments of run {info.run_id} (as_of {info.as_of:%Y-%m-%d %H:%M:%S})",
        columns=["name", "customers", "share", "revenue", "revenue_share"],
    )
