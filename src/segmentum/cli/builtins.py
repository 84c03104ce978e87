"""`segmentum builtins [show NAME]`: the built-in segmentations, what they need, and their YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, open_workspace, operation
from segmentum.errors import WorkspaceNotFoundError
from segmentum.spec.builtins import builtin_names, load_builtin, render_builtin_yaml

app = typer.Typer(
    help="The built-in segmentations: list them, or show one as YAML.",
    no_args_is_help=False,
    invoke_without_command=True,
)


def _needs(requires: dict[str, list[str]]) -> str:
    parts = []
    for table, columns in requires.items():
        shown = [c for c in columns if c != "customer_id"]
        parts.append(f"{table}({', '.join(shown)})" if table == "customers" else table)
    return ", ".join(parts)


def builtin_rows(workspace: Path | None) -> list[dict[str, object]]:
    """One row per built-in: name, title, needs, enabled and whether the workspace has its data."""
    ws = None
    try:
        ws = open_workspace(workspace)
    except WorkspaceNotFoundError:
        if workspace is not None:
            raise
    # what each built-in lacks is read from the store, so where its owner is (the running server, else here)
    missing = operation(ws.root, "builtins") if ws is not None else None
    rows: list[dict[str, object]] = []
    for name in builtin_names():
        builtin = load_builtin(name, ws.config.builtin_settings.get(name) if ws else None)
        row: dict[str, object] = {"name": name, "title": builtin.title, "needs": _needs(builtin.requires)}
        if ws is not None and missing is not None:
            row["enabled"] = "yes" if name in ws.config.builtins else "no"
            row["has_data"] = "no" if missing[name] else "yes"
            from segmentum.analysis.coverage import describe_missing

            row["why_not"] = describe_missing(missing[name])
        rows.append(row)
    return rows


@app.callback()
def builtins_command(
    ctx: typer.Context, workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table
) -> None:
    """List the built-in segmentations: name, title, what each needs and whether this workspace has the data."""
    if ctx.invoked_subcommand is not None:
        return
    rows = builtin_rows(workspace)
    columns = list(rows[0]) if rows else None
    emit(rows, fmt, title="Built-in segmentations", columns=columns)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Built-in to show, e.g. rfm")], workspace: WorkspaceOpt = None
) -> None:
    """Print a built-in's definitions as YAML, with this workspace's settings applied (copy it to definitions/)."""
    overrides = None
    try:
        ws = open_workspace(workspace)
        overrides = ws.config.builtin_settings.get(name)
        ws.close()
    except WorkspaceNotFoundError:
        if workspace is not None:
            raise
    typer.echo(render_builtin_yaml(name, overrides), nl=False)
