"""`segmentum users add|list|remove`: who may sign in to the dashboard (passwords stored as scrypt hashes)."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation

app = typer.Typer(help="Dashboard users (sign-in with a user name and password).", no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, '_', '.', '@', '-')")],
    password: Annotated[
        str | None,
        typer.Option(
            "--password", help="The password (asked for, hidden, when not given; at least 8 characters)"
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Set a new password for an existing user")
    ] = False,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="read (look only), write (also edit definitions, complete tasks) or admin, like API key "
            "scopes (default: read; with --replace the role stays unless given)",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a dashboard user (or give one a new password with --replace)."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    operation(workspace, "users.add", name=name, password=password, replace=replace, role=role)
    note(
        f"{'Updated' if replace else 'Added'} dashboard user {name!r}; sign in at /login of `segmentum serve`."
    )


@app.command("list")
def list_users(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """Dashboard users, their roles and when they were created (never the password hashes)."""
    emit(
        operation(workspace, "users.list"),
        fmt,
        title="Dashboard users",
        columns=["name", "role", "created_at"],
    )


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="User name")], workspace: WorkspaceOpt = None) -> None:
    """Remove a dashboard user (their open sessions end at once)."""
    operation(workspace, "users.remove", name=name)
    note(f"Removed dashboard user {name!r}.")
