"""`segmentum compare A B ...`: segments side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.analysis import compare
from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, open_workspace


def compare_command(
    names: Annotated[list[str], typer.Argument(help="Two or more segments")],
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest complete run)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Compare segments: size, share, revenue share, order value, frequency, recency, NPS, CSAT, churn."""
    emit(compare(open_workspace(workspace), names, run_id=run), fmt, title="Segments compared")
