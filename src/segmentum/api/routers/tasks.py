"""GET /v1/tasks: tasks for managers created by triggers (empty until the actions have made any)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.views.tasks import tasks
from segmentum.workspace import Workspace

router = APIRouter(prefix="/tasks", tags=["tasks"], responses=ERROR_RESPONSES)


@router.get("", summary="Tasks, the soonest due first")
def list_tasks(
    status: str | None = Query(None, max_length=50, description="open, done or all (default: all)"),
    customer_id: str | None = Query(None, max_length=256),
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=2**62),
    ws: Workspace = Depends(get_workspace),
) -> JSONResponse:
    return json_response(tasks(ws, status=status, customer_id=customer_id, limit=limit, offset=offset))
