"""The local CLI's channel while `segmentum serve` owns the store: one route that runs a named operation of
`segmentum.service.commands` in this process (DESIGN.md principle 6).

Only the server's internal token (written to `.segmentum/server.json`, readable by the workspace owner only)
may call it: operations such as ingest read files and members exports write them, which no API key should
be able to ask of the server. Everything else a client needs has its own documented route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, json_response
from segmentum.api.errors import ERROR_RESPONSES, ApiError
from segmentum.report import command as _report_command  # noqa: F401 - registers the `report` operation
from segmentum.service.runtime import Runtime

router = APIRouter(prefix="/commands", tags=["commands"], responses=ERROR_RESPONSES, include_in_schema=False)


def _local_cli_only(request: Request) -> None:
    key = getattr(request.state, "api_key", None)
    if key is None or key.prefix != "internal":
        raise ApiError(
            403, "this route is the local CLI's channel to the server; use the documented /v1 routes"
        )


@router.post("/{name}", summary="Run a CLI operation in the process that owns the store (local CLI only)")
def run_command(
    name: str,
    request: Request,
    params: dict[str, Any] = Body(default_factory=dict),
    tag: str | None = Query(None, max_length=64, description="names the progress record of the operation"),
    runtime: Runtime = Depends(get_runtime),
) -> JSONResponse:
    _local_cli_only(request)
    return json_response(runtime.command(name, params, tag))


@router.get("/progress/{tag}", summary="The progress of a CLI operation running here (local CLI only)")
def command_progress(tag: str, request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    _local_cli_only(request)
    state = runtime.command_progress(tag)
    if state is None:
        raise ApiError(404, f"no operation of the command channel is tagged '{tag}' (not started yet?)")
    return json_response(state)
