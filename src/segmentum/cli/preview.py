"""`segmentum preview`: for edited definitions, who would enter and who would leave; nothing is stored."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn

PREVIEW_COLUMNS = ["name", "before", "after", "entered_count", "left_count"]


def preview_command(
    name: Annotated[list[str] | None, typer.Option("--name", help="Also preview these definitions")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Compare edited (or new) definitions with the last run: sizes before/after, who enters and who leaves."""
    result = operation(workspace, "preview", names=name)
    table = result.pop("table")
    for message in result["warnings"]:  # as `segmentum run` prints them: a skipped definition says why
        warn(message)
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    if not result["changed"]:
        note("No definition differs from the last run; nothing to preview.")
        return
    note("Changed: " + ", ".join(f"{n} ({k})" for n, k in result["changed"].items()))
    emit(table, fmt, title=f"Preview against run {result['base_run']}", columns=PREVIEW_COLUMNS)
    for seg in result["segments"]:
        entered, left = seg["entered"], seg["left"]
        if entered or left:
            note(
                f"{seg['name']}: enter {', '.join(entered[:10])}{' ...' if seg['entered_count'] > 10 else ''}"
                f" | leave {', '.join(left[:10])}{' ...' if seg['left_count'] > 10 else ''}"
            )
