"""`segmentum pareto`: revenue share against customer share, with the ABC cut points."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def pareto_command(
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest complete run)")
    ] = None,
    points: Annotated[int, typer.Option(help="Points on the curve")] = 20,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The Pareto curve of revenue (customers sorted by revenue, descending) and where A, B and C end on it."""
    result = operation(workspace, "pareto", run_id=run, points=points)
    columns = result.pop("curve_columns")
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    emit(result["curve"], fmt, title="Pareto curve", columns=columns)
    if fmt is OutputFormat.table:
        share = result["top_20_percent_revenue_share"]
        if share is not None:
            note(f"The top 20 % of customers bring {share:.1%} of revenue.")
        for cls, cut in sorted(result["cuts"].items()):
            note(
                f"{cls}: ends at {cut['customer_share']:.1%} of customers, {cut['revenue_share']:.1%} of revenue"
            )
