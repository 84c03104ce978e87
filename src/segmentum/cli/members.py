"""`segmentum members NAME`: the members of a segment, printed or written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace
from segmentum.views.members import export, members


def members_command(
    name: Annotated[
        str, typer.Argument(help="A standalone segment, segmentation.segment, or segmentation.* (all of it)")
    ],
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the newest complete batch run)")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="Only members for whom this condition holds, in the definition language over traits and "
            "attributes (e.g. \"country = 'UK' and revenue_365d > 100\"); repeat for AND",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to FILE (.csv, .parquet, .json, .jsonl) instead of printing"
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Members of a segment (customer_id first, then their attributes)."""
    ws = open_workspace(workspace)
    df = members(ws, name, run_id=run, filters=filters or (), segment=name.endswith(".*")).rows
    if output is not None:
        path = export(df, output)
        note(f"{len(df):,} customers of {name} written to {path}")
        return
    emit(df, fmt, title=f"{name}: {len(df):,} customers")
