"""`segmentum init`: a new workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentum.cli.common import note


def init_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder for the new workspace (created if needed)")
    ] = Path("."),
    name: Annotated[str | None, typer.Option(help="Workspace name (default: the folder's name)")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the data, e.g. Europe/Kyiv")] = "UTC",
    currency: Annotated[str, typer.Option(help="Currency code used in reports")] = "USD",
) -> None:
    """Create a new workspace with a commented segmentum.yml."""
    from segmentum.workspace import Workspace

    ws = Workspace.init(directory, name=name, timezone=timezone, currency=currency)
    note(f"Created workspace {ws.config.name!r} in {ws.root}")
    note(f"Next: segmentum ingest order_items FILE --workspace {directory}")
