"""`segmentum lists`, `lists add NAME FILE`, `lists show NAME`, `lists remove NAME`: static lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation

app = typer.Typer(
    help="Static lists: segments whose members are given (do-not-contact, VIP by hand), usable in "
    "in_segment, suppress and as a trigger's segment."
)


@app.callback(invoke_without_command=True)
def lists_command(
    ctx: typer.Context, workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table
) -> None:
    """The lists stored, with their number of members."""
    if ctx.invoked_subcommand is not None:
        return
    rows = operation(workspace, "lists")
    emit(rows, fmt, title="Static lists", columns=["name", "members", "updated_at"])


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The list's name (letters, digits, '_'), as a segment's")],
    file: Annotated[Path, typer.Argument(help="A CSV with a customer_id column, or one id per line")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Make the file's ids the only members (default: add them)")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Add the customer ids of FILE to list NAME (created on first use). It is a standalone segment from the next
    run on."""
    answer = operation(
        workspace, "lists_add", name=name, path=str(file.expanduser().resolve()), replace=replace
    )
    emit([answer], fmt, title=f"List {name}", columns=["name", "added", "removed", "members"])
    if fmt is OutputFormat.table:
        note(f"List '{name}' has {answer['members']} member(s); runs record it as the segment '{name}'.")


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The list's name")],
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """The members of list NAME."""
    rows = operation(workspace, "lists_members", name=name)
    emit([{"customer_id": c} for c in rows], fmt, title=f"List {name}", columns=["customer_id"])


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The list's name")],
    customer: Annotated[
        list[str] | None,
        typer.Option("--customer", "-c", help="Remove only these ids (repeat); default: the list"),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Remove list NAME, or only some of its members. A definition that names a removed list stops validating."""
    answer = operation(workspace, "lists_remove", name=name, ids=customer or None)
    emit([answer], fmt, title=f"List {name}", columns=["name", "removed", "members"])
