"""`segmentum behaviour`: customers whose frequency, order size or category mix changed against their own past."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


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
    answer = operation(
        workspace,
        "behaviour",
        as_of=as_of,
        period=period,
        baseline=baseline,
        status=status,
        customers=customers,
    )
    previous, start, end = (answer[k][:10] for k in ("previous_start", "period_start", "as_of"))
    note(f"last period ({start}, {end}] against ({previous}, {start}]")
    title = "Behaviour change per customer" if answer["per_customer"] else "Behaviour change"
    emit(answer["rows"]["rows"], fmt, title=title, columns=answer["rows"]["columns"])
