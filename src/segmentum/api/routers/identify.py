"""POST /v1/identify: link an anonymous id to a known customer (DESIGN section 5.1)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.api.models import IdentifyIn
from segmentum.runs.realtime import now_wall_clock, to_wall_clock
from segmentum.service.runtime import Runtime
from segmentum.store.identities import link

router = APIRouter(prefix="/identify", tags=["customers"], responses=ERROR_RESPONSES)


@router.post(
    "",
    summary="Link an anonymous id to a known customer: from linked_at on, its rows count for the customer",
)
def identify(body: IdentifyIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    ws = runtime.ws
    at = (
        to_wall_clock(body.linked_at, runtime.zone)
        if body.linked_at is not None
        else now_wall_clock(runtime.zone)
    )
    answer = runtime.write(
        link, ws.store, body.alias_id, body.customer_id, at
    )  # never in the middle of a run
    if runtime.realtime:
        runtime.micro.enqueue([answer["customer_id"]])  # the customer now holds the alias's rows
    return json_response(answer, status_code=201 if answer["created"] else 200)
