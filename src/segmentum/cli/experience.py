"""`segmentum experience`: NPS and CSAT per period, first response time and churn rate, per segment."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, open_workspace

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
    from segmentum.analysis.experience import experience
    from segmentum.errors import ModelError

    if metric is not None and metric not in METRICS:
        raise ModelError(f"--metric {metric!r} is not known; allowed: {', '.join(METRICS)}")
    with open_workspace(workspace) as ws:
        data = experience(ws, segmentation, as_of=as_of, run_id=run, period=period, periods=periods)
    chosen = [metric] if metric else list(METRICS)
    if fmt is OutputFormat.csv:
        emit(data[metric or "nps"], fmt)
    elif fmt is OutputFormat.json:
        emit({k: data[k].to_dict(orient="records") for k in chosen}, fmt)
    else:
        titles = {
            "nps": "NPS per period",
            "csat": "CSAT per period",
            "first_response": "First response (hours)",
            "churn": "Churn rate per period",
        }
        for key in chosen:
            emit(data[key], fmt, title=titles[key])
