"""`segmentum backfill`: runs at past points in time to build history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, warn


def _day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a date; write YYYY-MM-DD") from exc


def backfill_command(
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), always included")],
    every: Annotated[str, typer.Option(help="Step: 1m = month ends, 1w, 7d, 1y = year ends")] = "1m",
    engine: Annotated[str, typer.Option(help="duckdb or spark")] = "duckdb",
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only these segments/segmentations/built-ins")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Run past points in time (point-in-time correct: each sees only data up to its day); no triggers fire."""
    from segmentum.cli.common import open_workspace
    from segmentum.cli.progress import ProgressDisplay
    from segmentum.runs.backfill import backfill_dates
    from segmentum.service.commands import call_backfill

    first, last = _day(start), _day(end)
    backfill_dates(first, last, every)  # a wrong --every or --to fails here, before any work
    ws = open_workspace(workspace)
    try:
        with ProgressDisplay("backfill") as progress:
            rows: list[dict[str, Any]] = call_backfill(
                ws,
                start=first.isoformat(),
                end=last.isoformat(),
                every=every,
                engine=engine,
                only=only,
                progress=progress,
            )
    finally:
        ws.close()
    skipped: dict[str, list[Any]] = {}  # what the points skipped: [first point, last point, first message]
    for row in rows:
        row["as_of"] = str(row["as_of"])[:10]
        for message in row.pop("warnings", None) or []:
            if "skipped" in message:  # a built-in without data, a model fitted on later data
                seen = skipped.setdefault(
                    message.split(", after this run's as_of")[0], [row["as_of"], None, message]
                )
                seen[1] = row["as_of"]
    for first, last, message in skipped.values():
        warn(f"{first}{'' if last == first else f' to {last}'}: {message}")
    emit(rows, fmt, title=f"{len(rows)} runs")
