"""`segmentum ingest TABLE PATH`: load a table; rows that cannot be stored go to the quarantine."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn
from segmentum.errors import IngestError
from segmentum.schema import TABLES


class Mode(StrEnum):
    append = "append"
    upsert = "upsert"
    replace = "replace"  # type: ignore[assignment]  # the mode shadows str.replace, harmless on an enum


def ingest_command(
    table: Annotated[
        str,
        typer.Argument(help=f"Canonical table: {', '.join(TABLES)}"),
    ],
    path: Annotated[
        str,
        typer.Argument(
            help="A CSV/TSV, Excel .xlsx, Parquet or JSON lines file, or a database URL "
            "such as sqlite:///shop.db?table=orders"
        ),
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", "-m", help="Source=target column mapping (repeatable), e.g. --map 'Клиент=customer_id'"
        ),
    ] = None,
    mode: Annotated[
        Mode,
        typer.Option(
            help="append: stored keys are kept and repeats quarantined; upsert: the "
            "last row per key wins; replace: the table is replaced"
        ),
    ] = Mode.append,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding (detected: utf-8, utf-8-sig, utf-16, cp1251, cp1252; also latin-1, koi8-r)"
        ),
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter (detected), e.g. ';' or tab")] = None,
    decimal: Annotated[str | None, typer.Option(help="Decimal mark: '.' or ',' (detected)")] = None,
    thousands: Annotated[
        str | None, typer.Option(help="Thousands separator: space, ',', '.', \"'\" or none (detected)")
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="Date format, e.g. dd.mm.yyyy, mm/dd/yyyy, 'yyyy-mm-dd hh:mm', %d/%m/%Y (detected)",
        ),
    ] = None,
    na_values: Annotated[
        list[str] | None,
        typer.Option(
            "--na-values",
            help="Texts that mean a missing value (repeatable or comma-separated), e.g. --na-values 'NA,N/A,null,-'",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit with an error when any row is quarantined")] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Load a table from a file or a database; bad rows go to the quarantine (see `segmentum quarantine`)."""
    from segmentum.cli.progress import ProgressDisplay
    from segmentum.ingest.aliases import parse_mapping

    mapping = parse_mapping(map_)
    source = path if "://" in path else str(Path(path).expanduser().resolve())  # the server may run elsewhere
    with ProgressDisplay("ingest") as progress:  # drawn here when this process ingests; a server shows none
        answer = operation(
            workspace,
            "ingest",
            table=table,
            path=source,
            mode=mode.value,
            mapping=mapping,
            encoding=encoding,
            delimiter=delimiter,
            decimal=decimal,
            thousands=thousands,
            date_format=date_format,
            na_values=na_values,
            strict=strict,
            progress=progress,
        )
    report = answer["report"]
    for line in report["notes"]:
        note(f"[dim]{line}[/dim]")
    for line in report["warnings"]:
        warn(line)
    if report["derived"]:
        note(f"derived: {', '.join(report['derived'])}")
    if fmt is OutputFormat.json:
        emit(report, fmt)
        note(answer["summary"])
    else:
        typer.echo(answer["summary"])
    if report["rows_quarantined"]:
        note(f"see the quarantined rows with: segmentum quarantine --table {table}")
    if answer["error"] is not None:
        raise IngestError(answer["error"])
    if report["rows_stored"] == 0:
        raise IngestError(f"nothing from {report['source']} could be stored")
