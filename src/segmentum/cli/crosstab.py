"""`segmentum crosstab ROWS COLUMNS`: customers and revenue by two segmentations or attributes."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation


def crosstab_command(
    rows: Annotated[str, typer.Argument(help="A segmentation (rfm) or a customer attribute (industry)")],
    columns: Annotated[str, typer.Argument(help="A segmentation or a customer attribute")],
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest complete run)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Cross-tab of two dimensions with customer counts, revenue and share (e.g. company size x industry)."""
    answer = operation(workspace, "crosstab", rows=rows, columns=columns, run_id=run)
    emit(answer["rows"], fmt, title=f"{rows} x {columns}", columns=answer["columns"])
