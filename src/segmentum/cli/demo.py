"""`segmentum demo`: a demo workspace with realistic synthetic data, ingested, run and reported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, emit, out, warn


def demo_command(
    customers: Annotated[
        int, typer.Option("--customers", "-n", min=1, help="Number of customers (about 10% B2B)")
    ] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data")] = 42,
    directory: Annotated[
        Path, typer.Option("--dir", "-d", help="Folder for the new workspace (must not hold one)")
    ] = Path("segmentum-demo"),
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write the HTML report")] = True,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Make a demo workspace (B2C shop and B2B accounts), ingest, run every built-in, write the report."""
    from segmentum.cli.progress import ProgressDisplay
    from segmentum.demo.workspace import INGEST_ORDER, create_demo_workspace
    from segmentum.report import write_report

    # the demo says a line before each step: generate, ingest each table, fit CLV, run every built-in, report.
    # Each weighs about its share of the time (a 5,000-customer demo), so the estimate of the time left holds.
    weights = [4] + [1] * len(INGEST_ORDER) + [2, 14] + ([14] if report else [])
    steps = sum(weights)
    with ProgressDisplay("demo") as progress:
        done = [0, 0]  # steps started, units done

        def step(message: str) -> None:
            if done[0]:
                done[1] += weights[min(done[0] - 1, len(weights) - 1)]
            progress(min(done[1], steps), steps, message)
            done[0] += 1

        summary = create_demo_workspace(
            directory, customers, seed, report=report, progress=step, write_report=write_report
        )
        progress(steps, steps, "demo workspace ready")
    for message in summary.notes:
        warn(message)
    if fmt is OutputFormat.json:
        emit(summary.to_dict(), fmt)
        return
    emit(
        [
            {"table": t, "rows": n, "quarantined": summary.quarantined.get(t, 0)}
            for t, n in summary.rows.items()
        ],
        fmt,
        title="Tables",
    )
    if summary.sizes:
        emit(summary.sizes, fmt, title=f"Segments (run {summary.run_id}, as of {summary.as_of})")
    if fmt is OutputFormat.csv:
        return
    out.print(f"Workspace: {summary.root}")
    out.print(f"Store:     {summary.store}")
    out.print(f"Data:      {summary.data_folder}")
    if summary.report:
        out.print(f"Report:    {summary.report}")
    out.print("Next, try:")
    for command in summary.next_commands:
        out.print(f"  {command}")
