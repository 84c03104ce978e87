"""Triggers: how a trigger's action did against its hold-out group, and the outbox with why actions were
skipped or held (cooldown, cap, suppressed, holdout, quiet_hours)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from segmentum.actions.outbox import STATUSES, list_outbox
from segmentum.analysis.uplift import uplift
from segmentum.api.deps import get_runtime, get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.api.routers.runs import parse_as_of
from segmentum.service.runtime import Runtime
from segmentum.workspace import Workspace

router = APIRouter(tags=["triggers"], responses=ERROR_RESPONSES)


@router.get("/triggers/{name}/uplift", summary="Treated vs hold-out customers after the trigger's transition")
def trigger_uplift(
    name: str = Path(max_length=200),
    as_of: str | None = Query(
        None, max_length=64, description="windows ended by then (default: latest, the end of the data)"
    ),
    ws: Workspace = Depends(get_workspace),
    runtime: Runtime = Depends(get_runtime),
) -> JSONResponse:
    # parse_as_of reads "now" as None (a run's default); here None means latest, so now is passed as such
    moment = (
        "now" if (as_of or "").strip().lower() == "now" else (parse_as_of(as_of, runtime) if as_of else None)
    )
    return json_response(uplift(ws, name, as_of=moment).as_dict())


@router.get("/outbox", summary="Trigger actions, newest first, with the reason a policy skipped or held one")
def outbox(
    status: str | None = Query(None, max_length=20, description=", ".join(STATUSES)),
    reason: str | None = Query(
        None, max_length=20, description="cooldown, cap, suppressed, holdout or quiet_hours"
    ),
    trigger: str | None = Query(None, max_length=200),
    run_id: int | None = Query(None, ge=0, le=2**62),
    limit: int = Query(100, ge=1, le=10_000),
    ws: Workspace = Depends(get_workspace),
) -> JSONResponse:
    return json_response(
        list_outbox(ws, status=status, reason=reason, trigger=trigger, run_id=run_id, limit=limit)
    )
