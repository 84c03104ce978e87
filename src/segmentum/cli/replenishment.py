"""`segmentum replenishment`: predict each customer's next purchase of consumables and store it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def replenishment_command(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Point in time: YYYY-MM-DD, a timestamp, 'latest', 'now'")
    ] = "latest",
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Due window as a share of the interval (0.2 = +-20 %)")
    ] = 0.2,
    min_gaps: Annotated[
        int, typer.Option("--min-gaps", help="Gaps between purchase days for an own interval")
    ] = 2,
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            help="A re-bought category (repeat the option); default: the replenishment "
            "built-in's consumables; 'all' for every category",
        ),
    ] = None,
    customers: Annotated[
        bool, typer.Option("--customers", help="Print one row per customer instead of totals")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Usual re-buy interval, next purchase date and status (due, overdue, not_due) per customer; stored in
    segmentum.model_replenishment (columns replen_* usable in definitions) and segmentum.replenishment_categories."""
    categories: list[str] | str | None = None
    if category:
        categories = "all" if [c.lower() for c in category] == ["all"] else list(category)
    answer = operation(
        workspace,
        "replenishment",
        as_of=as_of,
        tolerance=tolerance,
        min_gaps=min_gaps,
        categories=categories,
        customers=customers,
    )
    as_of_time = datetime.fromisoformat(answer["as_of"])
    note(
        f"as of {as_of_time:%Y-%m-%d %H:%M}: {answer['customers']:,} customers with a predicted next purchase "
        f"({answer['table']})"
    )
    rows = answer["rows"]
    title = "Replenishment per customer" if customers else "Replenishment status"
    emit(rows["rows"], fmt, title=title, columns=rows["columns"])
