"""`segmentum tasks [--assignee X] [--status open|done|all]`, `tasks assign ID USER`, `tasks done ID`."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation

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
    rows = operation(
        workspace,
        "tasks",
        assignee=assignee,
        status=None if status == "all" else status,
        customer_id=customer,
    )
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
    task = operation(workspace, "tasks.assign", task_id=task_id, user=user)
    emit([task], fmt, columns=COLUMNS)


@app.command("done")
def done(
    task_id: Annotated[int, typer.Argument(help="Task id")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Mark a task done."""
    task = operation(workspace, "tasks.complete", task_id=task_id)
    emit([task], fmt, columns=COLUMNS)
