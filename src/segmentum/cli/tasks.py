"""`segmentum tasks [--assignee X] [--status open|done|all]`, `tasks assign ID USER`, `tasks done ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace

app = typer.Typer(help="Tasks for managers, created by trigger actions: list, assign, complete.")
COLUMNS = [
    "id",
    "status",
    "due_at",
    "assignee",
    "customer_id",
    "title",
    "trigger",
    "created_at",
    "completed_at",
]


@app.callback(invoke_without_command=True)
def tasks_command(
    ctx: typer.Context,
    assignee: Annotated[str | None, typer.Option("--assignee", "-a", help="Only this person's tasks")] = None,
    status: Annotated[str, typer.Option("--status", "-s", help="open, done or all")] = "open",
    customer: Annotated[str | None, typer.Option("--customer", help="Only this customer's tasks")] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """List tasks (open ones by default), the soonest due first."""
    if ctx.invoked_subcommand is not None:
        return
    from segmentum.views.tasks import tasks

    ws = open_workspace(workspace)
    rows = tasks(ws, assignee=assignee, status=status, customer_id=customer)["tasks"]
    emit(
        rows,
        fmt,
        title="Tasks",
        columns=COLUMNS + (["description", "reason"] if fmt is not OutputFormat.table else []),
    )
    if fmt is OutputFormat.table:
        note(f"{len(rows)} task(s)")


@app.command("assign")
def assign(
    task_id: Annotated[int, typer.Argument(help="Task id")],
    user: Annotated[str, typer.Argument(help="Who takes it")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Give a task to someone."""
    from segmentum.actions.tasks import assign_task

    task = assign_task(open_workspace(workspace), task_id, user)
    emit([task], fmt, columns=COLUMNS)


@app.command("done")
def done(
    task_id: Annotated[int, typer.Argument(help="Task id")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Mark a task done."""
    from segmentum.actions.tasks import complete_task

    task = complete_task(open_workspace(workspace), task_id)
    emit([task], fmt, columns=COLUMNS)
