"""`segmentum coverage`: which attributes and built-ins have the data they need, and what to collect next."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn


class Section(StrEnum):
    all = "all"
    attributes = "attributes"
    tables = "tables"
    builtins = "builtins"
    suggestions = "suggestions"


SectionOpt = Annotated[Section, typer.Option("--section", "-s", help="Part of the report to print")]


def coverage_command(
    workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table, section: SectionOpt = Section.all
) -> None:
    """Data coverage: how many customers have each attribute, which built-ins can run and for how many
    customers, and which data to collect next (with the question to ask)."""
    data = operation(workspace, "coverage")
    if fmt is OutputFormat.json:
        emit(data if section is Section.all else {section.value: data[section.value]}, fmt)
        return
    if fmt is OutputFormat.csv and section is Section.all:
        note("CSV holds one table; printing --section builtins (choose another with --section)")
        section = Section.builtins
    wanted = list(Section)[1:] if section is Section.all else [section]
    if fmt is OutputFormat.table:
        note(f"{data['customers']:,} customers ({data['customers_source']})")
        if data.get("missing_rates") and section in (Section.all, Section.tables):
            warn(data["missing_rates"]["message"])
    for part in wanted:
        if part is Section.attributes:
            rows = [
                {
                    "attribute": a["attribute"],
                    "present": "yes" if a["present"] else "no",
                    "customers": a["customers"],
                    "share": f"{a['share']:.1%}",
                    "of": a.get("base"),
                    "source": a["source"],
                }
                for a in data["attributes"]
            ]
            emit(
                rows,
                fmt,
                title="Attributes",
                columns=["attribute", "present", "customers", "share", "of", "source"],
            )
        elif part is Section.tables:
            rows = [
                {
                    "table": t["table"],
                    "present": "yes" if t["present"] else "no",
                    "rows": t["rows"],
                    "customers": t["customers"],
                    "share": f"{t['share']:.1%}",
                }
                for t in data["tables"]
            ]
            emit(rows, fmt, title="Tables", columns=["table", "present", "rows", "customers", "share"])
        elif part is Section.builtins:
            rows = [
                {
                    "builtin": b["builtin"],
                    "can_run": "yes" if b["can_run"] else "no",
                    "customers": b["customers"],
                    "share": f"{b['share']:.1%}",
                    "of": b.get("base"),
                    "why_not": b["reason"],
                }
                for b in data["builtins"]
            ]
            emit(
                rows,
                fmt,
                title="Built-ins",
                columns=["builtin", "can_run", "customers", "share", "of", "why_not"],
            )
        elif part is Section.suggestions:
            rows = [
                {
                    "collect": s["item"],
                    "kind": s["kind"],
                    "unlocks": s["unlocks"],
                    "needed_by": ", ".join(s["builtins"]),
                    "customers_missing": s["customers_missing"],
                    "question": s["question"],
                }
                for s in data["suggestions"]
            ]
            emit(
                rows,
                fmt,
                title="What to collect next",
                columns=["collect", "kind", "unlocks", "needed_by", "customers_missing", "question"],
            )
