"""What routes depend on: the runtime, the workspace, and JSON that any value converts to."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from segmentum.jsonable import jsonable
from segmentum.service.runtime import Runtime
from segmentum.workspace import Workspace


# async: FastAPI awaits these in the event loop; a plain `def` would cost every request a hop to the thread
# pool and back (and the wait for a free thread and the GIL there) for an attribute read
async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_workspace(request: Request) -> Workspace:
    return request.app.state.runtime.ws


def json_response(data: Any, status_code: int = 200) -> JSONResponse:
    """Decimals, timestamps, numpy and pandas values as JSON (timestamps are workspace wall-clock time)."""
    return JSONResponse(jsonable(data), status_code=status_code)
