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
    change; results do not change, only where rows lie. Each rewritten
    table also gets an index on customer_id while the three fit in a
    quarter of DuckDB's memory limit (an ingest into it drops it). Run it after
    loading data and regularly when the server is quiet: while it runs
    (minutes for tens of millions of rows), posted events wait. The store
    file keeps the old tables' space for later writes.
    """
    rows = operation(workspace, "compact", force=force)
    emit(
        rows,
        fmt,
        title="Compaction",
        columns=["table", "rows", "tail_before", "seconds", "skipped", "indexed"],
    )
    if fmt is OutputFormat.table:
        done = [r["table"] for r in rows if not r["skipped"]]
        note(
            f"rewritten in customer order: {', '.join(done)}" if done else "every table was in order already"
        )
        bare = [r["table"] for r in rows if r["rows"] and not r["indexed"]]
        if bare:
            note(
                f"not indexed by customer_id: {', '.join(bare)} (their indexes would take more than a quarter of "
                "DuckDB's memory limit; raise engine.memory_limit in segmentum.yml to have them): real-time "
                "micro-batches scan their row groups instead"
            )
