"""`segmentum sql NAME`: the SQL a run of NAME executes."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from segmentum.cli.common import WorkspaceOpt, operation


class Dialect(StrEnum):
    duckdb = "duckdb"
    pyspark = "pyspark"
    postgres = "postgres"


def sql_command(
    name: Annotated[
        str | None, typer.Argument(help="Segment, segmentation, built-in or trait (default: all)")
    ] = None,
    dialect: Annotated[
        Dialect, typer.Option(help="SQL dialect: duckdb, pyspark (Spark SQL) or postgres")
    ] = Dialect.duckdb,
    as_of: Annotated[str, typer.Option("--as-of", help="Point in time compiled into the SQL")] = "latest",
    workspace: WorkspaceOpt = None,
) -> None:
    """Print the compiled SQL (one query: customers, per-table aggregates, derived traits, segments)."""
    text = operation(workspace, "sql", name=name, dialect=dialect.value, as_of=as_of)
    sys.stdout.write(text.rstrip() + ";\n")
