"""`segmentum experience`: NPS and CSAT per period, first response time and churn rate, per segment."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation

METRICS = ("nps", "csat", "first_response", "churn")


def experience_command(
    segmentation: Annotated[
        str | None, typer.Option("--segmentation", "-s", help="Also per segment of this segmentation")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric", help=f"Only one of: {', '.join(METRICS)} (--format csv prints one; default nps)"
        ),
    ] = None,
    period: Annotated[str, typer.Option("--period", help="week | month | quarter")] = "month",
    periods: Annotated[int, typer.Option("--periods", help="The last N periods")] = 24,
    as_of: Annotated[
        str, typer.Option("--as-of", help="YYYY-MM-DD, a timestamp, 'latest' or 'now'")
    ] = "latest",
    run: Annotated[
        int | None, typer.Option("--run", help="Reference run for segments (default: latest)")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """NPS and CSAT over time, first response time of tickets and churn rate, overall and per segment."""
    from segmentum.errors import ModelError

    if metric is not None and metric not in METRICS:
        raise ModelError(f"--metric {metric!r} is not known; allowed: {', '.join(METRICS)}")
    data = operation(
        workspace,
        "experience",
        segmentation=segmentation,
        as_of=as_of,
        run_id=run,
        period=period,
        periods=periods,
    )
    chosen = [metric] if metric else list(METRICS)
    if fmt is OutputFormat.csv:
        table = data[metric or "nps"]
        emit(table["rows"], fmt, columns=table["columns"])
    elif fmt is OutputFormat.json:
        emit({k: data[k]["rows"] for k in chosen}, fmt)
    else:
        titles = {
            "nps": "NPS per period",
            "csat": "CSAT per period",
            "first_response": "First response (hours)",
            "churn": "Churn rate per period",
        }
        for key in chosen:
            emit(data[key]["rows"], fmt, title=titles[key], columns=data[key]["columns"])
