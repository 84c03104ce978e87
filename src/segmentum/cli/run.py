"""`segmentum run`: compute a snapshot; prints sizes and the transitions since the previous run."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, err, note, open_workspace, warn
from segmentum.runs.diff import summary


def run_command(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="YYYY-MM-DD (end of that day), a timestamp, or 'latest' (end of the data); default: now",
        ),
    ] = None,
    engine: Annotated[str | None, typer.Option(help="duckdb (default) or spark")] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Only these segments/segmentations/built-ins (repeat the option)"),
    ] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Compute and print, store nothing")] = False,
    no_triggers: Annotated[
        bool, typer.Option("--no-triggers", help="Do not enqueue trigger actions")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Evaluate the definitions at a point in time and store the snapshot (traits and memberships)."""
    ws = open_workspace(workspace)
    with err.status("Running definitions"):
        result = ws.run(as_of=as_of, engine=engine, only=only, preview=preview, triggers=not no_triggers)
    for message in result.warnings:
        warn(message)
    actions = result.actions
    if fmt is OutputFormat.json:
        data = result.summary()
        if actions is not None:
            data["actions_enqueued"] = actions.get("enqueued")
        emit(data, fmt)
        return
    title = (
        "Preview" if preview else f"Run {result.run_id}"
    ) + f" at {result.as_of:%Y-%m-%d %H:%M:%S} ({result.engine}, {result.seconds:.1f} s)"
    columns = (
        ["name", "customers", "share", "revenue_share"]
        if "revenue_share" in result.sizes.columns
        else ["name", "customers", "share"]
    )
    emit(result.sizes, fmt, title=title, columns=columns)
    if preview:
        return
    trans = summary(result.transitions)
    if not trans.empty:
        emit(trans, fmt, title="Transitions since the previous run")
    if result.baselines:
        note(
            f"New baseline (first run, or first after an edit; no transitions): {', '.join(result.baselines)}"
        )
    elif trans.empty:
        note("No transitions since the previous run.")
    if actions and actions.get("enqueued"):
        note(f"{actions['enqueued']} trigger action(s) enqueued; `segmentum outbox` shows them.")
