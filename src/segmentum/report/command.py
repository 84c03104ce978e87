"""The `report` operation of the CLI's command channel (segmentum.service.commands, DESIGN.md principle 6).

Registered here rather than in service/commands.py because the report package is in the layer above the
service; the CLI (which runs it when no server does) and the server's command route import this module.
"""

from __future__ import annotations

from typing import Any

from segmentum.report.build import write_report
from segmentum.service.commands import command
from segmentum.workspace import Workspace


@command("report", writes=True)
def _report(
    ws: Workspace,
    *,
    output: str | None = None,
    lang: str = "en",
    run_id: int | None = None,
    progress: Any = None,
) -> dict[str, str]:
    """Write the HTML report (to `output`, an absolute path, else the workspace default); where it went.
    `progress` (segmentum.progress) is given only when this process runs it: a server's client shows none."""
    return {"written": str(write_report(ws, output, lang=lang, run_id=run_id, progress=progress))}
