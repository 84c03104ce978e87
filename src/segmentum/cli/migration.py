"""`segmentum migration NAME`: who moved where between two runs (a segmentation's segments, or in/out of one
segment). The default pair is `segmentum.store.snapshots.migration_pair`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from segmentum.cli.common import (
    FormatOpt,
    OutputFormat,
    WorkspaceOpt,
    emit,
    fits,
    make_table,
    operation,
    out,
    print_table,
)


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

    Without --from/--to: the latest run against the newest run of the same
    definition with an earlier as_of (two runs of the same as_of are never
    compared). A segment (big_spenders, rfm.champions) gives a matrix of
    in/out.
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
    runs = (
        f"{name}: run {result['from_run']} as of {_day(result['from_as_of'])} -> "
        f"run {result['to_run']} as of {_day(result['to_as_of'])}"
    )
    table = make_table(matrix, list(matrix[0].keys()) if matrix else [], f"{runs} (rows -> columns)")
    if not fits(table):
        # a matrix of a dozen segments is wider than a terminal of 80 columns: one line per flow instead
        table = make_table(_flows(result["flows"]), FLOW_COLUMNS, runs, compact=True)
    print_table(table)
    out.print()


FLOW_COLUMNS = ["from", "to", "customers", "share", "revenue"]


def _flows(flows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The non-empty cells of the matrix, largest first within each origin, with the share of the origin."""
    totals: dict[str, float] = {}
    for flow in flows:
        totals[flow["from_segment"]] = totals.get(flow["from_segment"], 0.0) + float(flow["customers"] or 0)
    rows = [
        {
            "from": flow["from_segment"],
            "to": flow["to_segment"],
            "customers": flow["customers"],
            "share": f"{float(flow['customers']) / totals[flow['from_segment']]:.0%}",
            "revenue": round(float(flow["revenue"] or 0)),
        }
        for flow in flows
        if flow["customers"]
    ]
    return sorted(rows, key=lambda r: (str(r["from"]), -float(r["customers"])))


def _day(value: object) -> str:
    """The date of an as_of, whether it came back as a datetime or as ISO text from a running server."""
    return str(value)[:10]
