"""Shared CLI plumbing: options every command takes, output in table/json/csv, the workspace."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from segmentum.csvsafe import safe_cell
from segmentum.jsonable import jsonable

if TYPE_CHECKING:
    from segmentum.workspace import Workspace

# Standard output holds only data; progress, warnings and notes go to standard error.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (else $SEGMENTUM_WORKSPACE, else the nearest segmentum.yml upward)",
        show_default=False,
    ),
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format")]


def open_workspace(path: Path | None, *, read_only: bool = False) -> Workspace:
    from segmentum.workspace import Workspace  # here, not at import: `--help` must not load the engine

    return Workspace(path, read_only=read_only)


def operation(workspace: Path | None, name: str, /, **params: Any) -> Any:
    """Run library operation `name` (segmentum.service.commands) where the store's owner is: through
    `segmentum serve` while it runs for this workspace, else in this process. The answer is JSON values."""
    from segmentum.service.commands import call

    ws = open_workspace(workspace)
    try:
        return call(ws, name, **params)
    finally:
        ws.close()


def _is_id(column: str) -> bool:
    """An id column (run_id, id, from_run): printed as the integer it is, never as `1,234` or `12.0`."""
    return column == "id" or column.endswith(("_id", "_run")) or column == "run"


def _text(value: Any) -> Any:
    """A cell's value for a table or a CSV: a list (interests, segments) as `a, b, c`, not a Python repr."""
    value = jsonable(value)
    if isinstance(value, list):
        return ", ".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _cell(value: Any, column: str = "") -> str:
    value = _text(value)
    if value is None:
        return ""
    if _is_id(column) and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def emit(rows: Any, fmt: OutputFormat, *, title: str | None = None, columns: list[str] | None = None) -> None:
    """Print rows (a list of dicts, a pandas DataFrame, or one dict for json) in the chosen format."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        columns = columns or [str(c) for c in rows.columns]
        rows = rows.to_dict(orient="records")
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(jsonable(rows), ensure_ascii=False, indent=2) + "\n")
        return
    if isinstance(rows, dict):
        rows = [{"key": k, "value": v} for k, v in rows.items()]
    rows = list(rows)
    columns = columns or (list(rows[0].keys()) if rows else [])
    if fmt is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([safe_cell(c) for c in columns])
        for row in rows:
            # safe_cell: no text a spreadsheet would run as a formula (numbers stay numbers)
            writer.writerow(
                ["" if _text(row.get(c)) is None else safe_cell(_text(row.get(c))) for c in columns]
            )
        sys.stdout.write(buf.getvalue())
        return
    print_table(make_table(rows, columns, title))


def fits(table: Table) -> bool:
    """Whether `table` fits the terminal without folding a cell (always true in a pipe: it takes its width)."""
    if not out.is_terminal:
        return True
    return out.measure(table, options=out.options.update_width(10_000)).maximum <= out.width


def make_table(
    rows: list[dict[str, Any]], columns: list[str], title: str | None = None, *, compact: bool = False
) -> Table:
    """The Rich table `emit` prints, for a command that decides how to show it (see `fits`); `compact`: no
    vertical rules, for a table that must fit 80 columns."""
    from rich import box

    table = Table(
        title=title,
        show_lines=False,
        box=box.SIMPLE_HEAD if compact else box.HEAVY_HEAD,
        pad_edge=not compact,
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(c), c) for c in columns))
    return table


def print_table(table: Table) -> None:
    """Print a table on standard output. In a pipe or a file (no terminal to fit) the table takes its natural
    width, so that no cell folds at the 80 columns Rich assumes there; on a terminal it fits the screen."""
    if out.is_terminal:
        out.print(table)
        return
    natural = out.measure(table, options=out.options.update_width(10_000)).maximum
    # Console.print(width=) cannot go beyond the console's width: a console as wide as the table prints it
    Console(file=out.file, width=max(natural, out.width), soft_wrap=True, no_color=out.no_color).print(table)


def note(message: str) -> None:
    err.print(message, highlight=False)


def warn(message: str) -> None:
    err.print(f"[yellow]Warning:[/yellow] {message}", highlight=False)
