"""`segmentum migration NAME`: who moved where between two runs (a segmentation's segments, or in/out of one
segment). The default pair is `segmentum.store.snapshots.migration_pair`."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation, out


def migration_command(
    name: Annotated[
        str, typer.Argument(help="A segmentation (rfm), or a segment (big_spenders, rfm.champions): in/out")
    ],
    from_run: Annotated[
        int | None,
        typer.Option(
            "--from",
            help="Earlier run (default: the newest run of the same definition with an earlier as_of)",
        ),
    ] = None,
    to_run: Annotated[
        int | None,
        typer.Option("--to", help="Later run (default: the latest complete batch run that computed it)"),
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
    """Transition matrix between two runs (counts or revenue); --who lists the customers behind a cell.

    Without --from/--to: the latest run against the newest run of the same definition
    with an earlier as_of (two runs of the same as_of are never compared).
    A segment (big_spenders, rfm.champions) gives a matrix of in/out.
    """
    cell = tuple(who.split(":", 1)) if who else None
    result = operation(
        workspace,
        "migration",
        segmentation=name,
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
        title=(
            f"{name}: run {result['from_run']} as of {_day(result['from_as_of'])} (rows) -> "
            f"run {result['to_run']} as of {_day(result['to_as_of'])} (columns)"
        ),
    )
    out.print()


def _day(value: object) -> str:
    """The date of an as_of, whether it came back as a datetime or as ISO text from a running server."""
    return str(value)[:10]
