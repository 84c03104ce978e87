"""GET /v1/health (the only endpoint without a key) and GET /v1/status."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.service.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: answers without a key")
def health() -> JSONResponse:
    from segmentum import __version__

    return json_response({"status": "ok", "version": __version__})


@router.get(
    "/status",
    summary="The real-time loop, the schedule and a batch run in progress",
    responses=ERROR_RESPONSES,
)
def status(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response(runtime.status())
