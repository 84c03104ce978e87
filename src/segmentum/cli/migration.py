"""`segmentum migration SEGMENTATION`: who moved where between two runs."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation, out


def migration_command(
    segmentation: Annotated[str, typer.Argument(help="A segmentation, e.g. rfm")],
    from_run: Annotated[
        int | None, typer.Option("--from", help="Earlier run (default: the one before --to)")
    ] = None,
    to_run: Annotated[
        int | None, typer.Option("--to", help="Later run (default: the latest complete run)")
    ] = None,
    who: Annotated[
        str | None, typer.Option(help="List the customers of one cell: FROM_SEGMENT:TO_SEGMENT")
    ] = None,
    revenue: Annotated[
        bool, typer.Option("--revenue", help="Show the matrix in revenue instead of customers")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Transition matrix between two runs (counts or revenue); --who lists the customers behind a cell."""
    cell = tuple(who.split(":", 1)) if who else None
    result = operation(
        workspace,
        "migration",
        segmentation=segmentation,
        from_run=from_run,
        to_run=to_run,
        who=list(cell) if cell else None,
    )
    if cell is not None:
        emit(result["customers"], fmt, title=f"{cell[0]} -> {cell[1]}")
        return
    if fmt is not OutputFormat.table:
        emit(result["flows"], fmt)
        return
    matrix = result["revenue_matrix" if revenue else "matrix"]
    emit(
        matrix,
        fmt,
        title=f"{segmentation}: run {result['from_run']} (rows) -> run {result['to_run']} (columns)",
    )
    out.print()
