"""`segmentum profile NAME`: who is in a segment, what they are worth, what sets them apart."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, operation, out
from segmentum.i18n import Translator

# the parts of a profile that are tables (the rest are single values)
TABLES = ("top_categories", "top_products", "attributes", "numeric", "distinguishing")


def profile_command(
    name: Annotated[str, typer.Argument(help="Segment: a standalone name or segmentation.segment")],
    run: Annotated[
        int | None, typer.Option("--run", help="Run id (default: the latest complete run)")
    ] = None,
    top: Annotated[int, typer.Option(help="How many categories, products and features to show")] = 10,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Size, value, behaviour, attribute distributions and distinguishing features: shares and means against
    everyone, with lift, effect size (Cohen's h / d) and significance."""
    result = operation(workspace, "profile", name=name, run_id=run, top=top)
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    scalars = {k: v for k, v in result.items() if k not in TABLES}
    if fmt is OutputFormat.csv:
        emit([scalars], fmt)
        return
    emit([{"metric": k, "value": v} for k, v in scalars.items()], fmt, title=f"Segment {name}")
    if result["distinguishing"]:
        out.print()
        from segmentum.analysis.profile import describe_feature

        t = Translator("en")
        emit(
            [describe_feature(row, t) for row in result["distinguishing"]],
            fmt,
            title="Distinguishing features (against everyone else: p < 0.05, strongest effect first)",
        )
    for key, title in (
        ("top_categories", "Top categories"),
        ("top_products", "Top products"),
    ):
        rows = result[key]
        if rows:
            out.print()
            emit(rows, fmt, title=title)
