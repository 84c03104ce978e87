"""`segmentum members NAME`: the members of a segment, printed or written to a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def members_command(
    name: Annotated[
        str, typer.Argument(help="A standalone segment, segmentation.segment, or segmentation.* (all of it)")
    ],
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the newest complete batch run)")
    ] = None,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="Only members for whom this condition holds, in the definition language over traits and "
            "attributes (e.g. \"country = 'UK' and revenue_365d > 100\"); repeat for AND",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to FILE instead of printing: .csv (UTF-8 with a BOM, for Excel), .xlsx, .json, .jsonl, "
            ".parquet",
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            "-c",
            help="Only these columns, comma-separated, in this order: attributes, traits, model outputs "
            "(e.g. email,name,revenue_365d,clv_12m)",
        ),
    ] = None,
    delimiter: Annotated[
        str | None,
        typer.Option(
            "--delimiter", help="CSV delimiter: ',' or ';' (default: exports.delimiter of segmentum.yml)"
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Members of a segment (customer_id first, then their attributes)."""
    target = str(output.expanduser().resolve()) if output is not None else None  # the server may write it
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    answer = operation(
        workspace,
        "members",
        name=name,
        run_id=run,
        filters=filters,
        output=target,
        columns=chosen,
        delimiter=delimiter,
    )
    if target is not None:
        note(f"{answer['count']:,} customers of {name} written to {answer['written']}")
        return
    emit(answer["rows"], fmt, title=f"{name}: {answer['count']:,} customers", columns=answer["columns"])
