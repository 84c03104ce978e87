"""`segmentum forget ID`: erase a customer from every table and snapshot (right to erasure), logged."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn


def forget_command(
    customer_id: Annotated[str, typer.Argument(help="The customer to erase")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Erase a customer from every table, snapshot, task and outbox row; the audit log records it (hashed id)."""
    if not yes:
        typer.confirm(
            f"Erase customer {customer_id} from every table and snapshot? This cannot be undone",
            abort=True,
            err=True,
        )
    result = operation(workspace, "forget", customer_id=customer_id)
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    emit(
        [{"table": t, "rows_deleted": n} for t, n in result["rows_deleted"].items()],
        fmt,
        title=f"Customer {customer_id} erased",
    )
    note(f"{result['total']} rows deleted; the erasure is recorded in the audit log.")
    for folder in result["files_not_changed"]:
        warn(
            f"files already written under {folder}/ were not changed; remove the customer there by hand if needed"
        )
