"""`segmentum explain ID NAME`: why a customer is or is not in a segment."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def explain_command(
    customer_id: Annotated[str, typer.Argument(help="The customer's id")],
    name: Annotated[
        str, typer.Argument(help="A standalone segment, segmentation.segment, or a segmentation")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Default: the as_of of the newest batch run")
    ] = None,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Each condition of the segment (and of the segmentation's earlier rules) with the customer's values."""
    result = operation(workspace, "explain", customer_id=customer_id, name=name, as_of=as_of)
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    rows = [
        {
            "segment": c["segment"],
            "condition": "  " * c["depth"] + c["condition"],
            "held": "yes" if c["held"] else "no",
            "values": ", ".join(f"{k}={v}" for k, v in c["values"].items()),
        }
        for c in result["checks"]
    ]
    emit(
        rows,
        fmt,
        title=f"{customer_id} / {name} at {str(result['as_of']).replace('T', ' ')[:19]}",
        columns=["segment", "condition", "held", "values"],
    )
    actual = result["actual_segment"]
    where = f" (in {name.partition('.')[0]}.{actual})" if actual else ""
    note(f"{customer_id} is {'' if result['member'] else 'not '}in {name}{where}.")
    for line in result.get("notes", []):
        note(line)
