"""`segmentum outbox [--status S] [--reason R] [--retry ID ...|--all] [--deliver [--force]] [--reprocess RUN]`:
actions waiting, delivered, failed, or skipped or held by a policy (with the reason)."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation, warn
from segmentum.errors import ActionError

COLUMNS = [
    "id",
    "status",
    "reason",
    "action_type",
    "trigger",
    "customer_id",
    "run_id",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "delivered_at",
    "idempotency_key",
]


def outbox_command(
    status: Annotated[
        str | None, typer.Option("--status", "-s", help="pending, delivered, failed or skipped")
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            "--reason",
            "-r",
            help="Only actions a policy skipped or held: cooldown, cap, suppressed, holdout or quiet_hours",
        ),
    ] = None,
    retry_ids: Annotated[
        list[str] | None,
        typer.Option(
            "--retry", help="Put this failed item back (an id, repeatable; `all` for every failed item)"
        ),
    ] = None,
    retry_all: Annotated[bool, typer.Option("--all", help="Put every failed item back")] = False,
    deliver_now: Annotated[
        bool, typer.Option("--deliver", help="Send the pending items that are due")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --deliver: also items waiting for their retry time")
    ] = False,
    run_id: Annotated[int | None, typer.Option("--run", help="Only items of this run")] = None,
    reprocess: Annotated[
        int | None,
        typer.Option(
            "--reprocess",
            help="Process this run's triggers again: enqueue what is missing and replace items that failed "
            "to render (never a second item for one transition)",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="Show at most this many rows (newest first)")
    ] = 100,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Trigger actions (tasks, webhooks, emails, exports): retry failed ones, deliver, and list them."""
    ids = []
    for value in retry_ids or []:
        if value.strip().lower() == "all":
            retry_all = True
        elif value.strip().isdigit():
            ids.append(int(value))
        else:
            raise ActionError(f"--retry {value!r}: give an outbox item id (a number) or 'all'")
    answer = operation(
        workspace,
        "outbox",
        status=status,
        reason=reason,
        retry_ids=ids,
        retry_all=retry_all,
        deliver_now=deliver_now,
        force=force,
        run_id=run_id,
        limit=limit,
        reprocess=reprocess,
    )
    for message in answer.get("warnings") or []:
        warn(message)
    for done in answer.get("resumed") or []:
        note(f"run {done['run_id']}: its transitions reached the outbox now ({done['enqueued']} new item(s))")
    done = answer.get("reprocessed")
    if done is not None:
        note(
            f"run {done['run_id']} reprocessed: {done['enqueued']} new or replaced item(s), "
            f"{done['render_errors']} failed"
        )
        for error in done["errors"][:5]:
            warn(error)
    if answer["retried"] is not None:
        note(f"{answer['retried']} item(s) put back to pending")
    report = answer["delivery"]
    if report is not None:
        note(
            f"delivered {report['delivered']}, skipped {report['skipped']}, retrying later {report['retrying']}, "
            f"failed {report['failed']}"
        )
        for error in report["errors"][:5]:
            warn(error)
    emit(answer["items"], fmt, title="Outbox", columns=COLUMNS)
    if fmt is OutputFormat.table:
        note(", ".join(f"{n} {s}" for s, n in answer["counts"].items()))
