"""`segmentum serve`: the HTTP API (and the dashboard when installed); it owns the store while it runs."""

from __future__ import annotations

from typing import Annotated

import typer

from segmentum.cli.common import WorkspaceOpt, note, open_workspace


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: serve.host, 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: serve.port, 8000)")] = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="Batch runs while serving: an interval ('15m', '2h') or 'daily HH:MM' in the workspace time zone"
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Serve the HTTP API under /v1 (docs at /v1/docs) with real-time membership from posted events."""
    from segmentum.api.server import serve
    from segmentum.service.schedule import parse_schedule

    ws = open_workspace(workspace)
    if schedule:
        parse_schedule(schedule)  # a bad schedule fails before the store is taken
    h = host or ws.config.serve.host
    p = ws.config.serve.port if port is None else port
    note(
        f"segmentum API for {ws.config.name!r} on http://{h}:{p}/v1 (OpenAPI: /v1/openapi.json); Ctrl+C stops it"
    )
    note(f"Dashboard on http://{h}:{p}/ (sign in with a user from `segmentum users add NAME` or an API key)")
    if h not in ("127.0.0.1", "localhost", "::1"):
        note(
            "Listening beyond loopback: every request but /v1/health needs an API key (`segmentum keys create`)"
        )
    serve(ws, host=h, port=p, schedule=schedule)
