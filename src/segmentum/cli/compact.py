"""`segmentum compact`: the order and event tables rewritten in customer order, for the real-time path."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, operation


def compact_command(
    force: Annotated[
        bool, typer.Option("--force", help="Rewrite every table, even one whose appended tail is small")
    ] = False,
    workspace: WorkspaceOpt = None,
    fmt: FormatOpt = OutputFormat.table,
) -> None:
    """Rewrite orders, order items and events in customer order, so that real-time micro-batches read only their customers' rows.

    A table is rewritten when it never was, when the rows appended
    since its last rewrite (ingest, events posted to `segmentum serve`)
    exceed a tenth of it, when DuckDB has merged its small row groups
    since, or when its row group size (about 280 customers' rows) would
    change; results do not change, only where rows lie. Run it after
    loading data and regularly when the server is quiet: while it runs
    (minutes for tens of millions of rows), posted events wait. The store
    file keeps the old tables' space for later writes.
    """
    rows = operation(workspace, "compact", force=force)
    emit(
        rows,
        fmt,
        title="Compaction",
        columns=["table", "rows", "tail_before", "seconds", "skipped"],
    )
    if fmt is OutputFormat.table:
        done = [r["table"] for r in rows if not r["skipped"]]
        note(
            f"rewritten in customer order: {', '.join(done)}" if done else "every table was in order already"
        )
