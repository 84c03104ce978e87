"""`segmentum run`: compute a snapshot; prints sizes and the transitions since the previous run."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn


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
    """Evaluate the definitions at a point in time, store the snapshot (traits and memberships) and enqueue the
    actions of the triggers its transitions fire (--no-triggers to skip)."""
    from segmentum.cli.progress import ProgressDisplay

    # each step longer than 2 s shows its bar (or plain lines in a log) with the time left; a server that runs
    # the run for this workspace shows its progress on the dashboard instead
    with ProgressDisplay("run") as progress:
        result = operation(
            workspace,
            "run",
            as_of=as_of,
            engine=engine,
            only=only,
            preview=preview,
            triggers=not no_triggers,
            progress=progress,
        )
    for message in result["warnings"]:
        warn(message)
    actions = result.get("actions")
    if fmt is OutputFormat.json:
        data = {k: v for k, v in result.items() if k != "actions"}
        if actions is not None:
            data["actions_enqueued"] = actions.get("enqueued")
        emit(data, fmt)
        return
    as_of_text = str(result["as_of"]).replace("T", " ")[:19]
    title = ("Preview" if preview else f"Run {result['run_id']}") + (
        f" at {as_of_text} {result.get('timezone') or ''} ({result['engine']}, {result['seconds']:.1f} s)"
    )
    sizes = result["sizes"]
    columns = ["name", "customers", "share"] + (
        ["revenue_share"] if sizes and "revenue_share" in sizes[0] else []
    )
    emit(sizes, fmt, title=title, columns=columns)
    if preview:
        return
    transitions = result["transitions"]
    if transitions:
        emit(transitions, fmt, title="Transitions since the previous run")
    if result["baselines"]:
        note(
            f"New baseline (first run, or first after an edit; no transitions): {', '.join(result['baselines'])}"
        )
    elif not transitions:
        note("No transitions since the previous run.")
    if actions and actions.get("enqueued"):
        note(f"{actions['enqueued']} trigger action(s) enqueued; `segmentum outbox` shows them.")
