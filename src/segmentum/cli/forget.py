"""`segmentum forget ID`: erase a customer from every table and snapshot (right to erasure), logged."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn


def forget_command(
    customer_id: Annotated[str, typer.Argument(help="The customer to erase")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    delete_files: Annotated[
        bool,
        typer.Option(
            "--delete-files",
            help="Also delete the files outside the store that hold the customer (exports, emails, reports) "
            "without asking",
        ),
    ] = False,
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
    files = result.get("files") or []
    if files and (delete_files or (not yes and _ask(files))):
        result["deleted_files"] = operation(workspace, "forget", customer_id=customer_id, delete_files=files)[
            "deleted_files"
        ]
    if fmt is OutputFormat.json:
        emit(result, fmt)
        return
    emit(
        [{"table": t, "rows_deleted": n} for t, n in result["rows_deleted"].items()],
        fmt,
        title=f"Customer {customer_id} erased",
    )
    note(
        f"{result['total']} rows deleted; the store file was rewritten, so none of them is left in it; "
        "the erasure is recorded in the audit log."
    )
    if result.get("aliases"):
        note(f"linked ids erased with the customer: {', '.join(result['aliases'])}")
    gone = set(result.get("deleted_files") or [])
    for path in gone:
        note(f"deleted {path}")
    for path in [f for f in files if f not in gone]:
        warn(f"{path} still holds the customer; delete it, or remove the customer from it, by hand")


def _ask(files: list[str]) -> bool:
    listed = "\n".join(f"  {f}" for f in files)
    return typer.confirm(
        f"These files written outside the store hold the customer:\n{listed}\nDelete them?", err=True
    )
