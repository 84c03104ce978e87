"""`segmentum behaviour`: customers whose frequency, order size or category mix changed against their own past."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace


def behaviour_command(
    period: Annotated[str, typer.Option("--period", help="The last period: 90d, 12w, 3m, 1y")] = "90d",
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Compare with this much history before the "
            "period (scaled), e.g. 360d; default the previous period",
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Only customers with this status: growing, declining, stable, not_comparable"
        ),
    ] = None,
    customers: Annotated[
        bool, typer.Option("--customers", help="One row per customer instead of totals")
    ] = False,
    as_of: Annotated[
        str, typer.Option("--as-of", help="YYYY-MM-DD, a timestamp, 'latest' or 'now'")
    ] = "latest",
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Change of frequency, average order value and category mix in the last period against the previous one,
    with the rule that flagged each customer as growing, declining or stable."""
    from segmentum.analysis.behaviour import behaviour_changes

    with open_workspace(workspace) as ws:
        frame = behaviour_changes(ws, as_of, period, baseline=baseline)
    note(
        f"last period ({frame.attrs['period_start']:%Y-%m-%d}, {frame.attrs['as_of']:%Y-%m-%d}] against "
        f"({frame.attrs['previous_start']:%Y-%m-%d}, {frame.attrs['period_start']:%Y-%m-%d}]"
    )
    if status is not None:
        frame = frame[frame["status"] == status]
    if customers or status is not None:
        emit(frame, fmt, title="Behaviour change per customer")
        return
    summary = (
        frame.groupby("status")
        .agg(customers=("customer_id", "size"), category_shift=("category_shift", "sum"))
        .reset_index()
    )
    emit(summary, fmt, title="Behaviour change")
