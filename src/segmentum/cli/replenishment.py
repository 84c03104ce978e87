"""`segmentum replenishment`: predict each customer's next purchase of consumables and store it."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace


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
    from segmentum.models.persist import REPLENISHMENT_TABLE, qualified, write_replenishment
    from segmentum.models.replenishment import ReplenishmentModel, replenishment_summary

    categories: list[str] | str | None = None
    if category:
        categories = "all" if [c.lower() for c in category] == ["all"] else list(category)
    with open_workspace(workspace) as ws:
        summary = replenishment_summary(ws, as_of, categories=categories)
        model = ReplenishmentModel(min_gaps=min_gaps, tolerance=tolerance).fit(summary)
        write_replenishment(ws, model)
    note(
        f"as of {model.as_of_:%Y-%m-%d %H:%M}: {len(model.customers_):,} customers with a predicted next purchase "
        f"({qualified(REPLENISHMENT_TABLE)})"
    )
    if customers:
        emit(model.customers_.drop(columns=["replen_as_of"]), fmt, title="Replenishment per customer")
    else:
        emit(model.summary(), fmt, title="Replenishment status")
