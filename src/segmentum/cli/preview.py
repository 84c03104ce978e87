"""`segmentum preview`: for edited definitions, who would enter and who would leave; nothing is stored."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace
from segmentum.runs.preview import preview


def preview_command(
    name: Annotated[list[str] | None, typer.Option("--name", help="Also preview these definitions")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Compare edited (or new) definitions with the last run: sizes before/after, who enters and who leaves."""
    ws = open_workspace(workspace)
    result = preview(ws, names=name)
    if fmt is OutputFormat.json:
        emit(result.to_dict(), fmt)
        return
    if not result.changed:
        note("No definition differs from the last run; nothing to preview.")
        return
    note("Changed: " + ", ".join(f"{n} ({k})" for n, k in result.changed.items()))
    emit(result.frame(), fmt, title=f"Preview against run {result.base_run}")
    for seg in result.segments:
        if seg.entered or seg.left:
            note(
                f"{seg.name}: enter {', '.join(seg.entered[:10])}{' ...' if len(seg.entered) > 10 else ''}"
                f" | leave {', '.join(seg.left[:10])}{' ...' if len(seg.left) > 10 else ''}"
            )
