"""`segmentum report`: one self-contained HTML file with charts, readable offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import WorkspaceOpt, note, operation


def report_command(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="HTML file (default: report.html in the workspace)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language: en, uk or ru")] = "en",
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest complete run)")
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Write the HTML report: what changed, segments, RFM grid, Pareto curve, migration Sankey, CLV, profiles."""
    from segmentum.cli.progress import ProgressDisplay
    from segmentum.report import command as _report_command  # noqa: F401 - registers the `report` operation

    # the store's owner writes the file: a path relative to this shell's folder is made absolute here
    target = str(output.resolve()) if output is not None else None
    with ProgressDisplay("report") as progress:  # drawn here when this process writes it; a server shows none
        result = operation(workspace, "report", output=target, lang=lang, run_id=run, progress=progress)
    note(f"Report written to {result['written']}")
