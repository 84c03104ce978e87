"""`segmentum compare A B ...`: segments side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation


def compare_command(
    names: Annotated[list[str], typer.Argument(help="Two or more segments")],
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest complete run)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Compare segments: size, share, revenue share, order value, frequency, recency, NPS, CSAT, churn."""
    answer = operation(workspace, "compare", names=names, run_id=run)
    emit(answer["rows"], fmt, title="Segments compared", columns=answer["columns"])
