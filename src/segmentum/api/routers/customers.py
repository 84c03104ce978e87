"""One customer: attributes, traits, segments now, history; and why they are or are not in a segment."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.runs.explain import explain as explain_customer
from segmentum.service.runtime import Runtime
from segmentum.views.catalog import check_segment
from segmentum.views.customers import customer, segments_now
from segmentum.workspace import Workspace

router = APIRouter(prefix="/customers", tags=["customers"], responses=ERROR_RESPONSES)


@router.get("/{customer_id}", summary="Attributes, traits, model outputs, segments now, history and tasks")
def get_customer(customer_id: str, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response(customer(ws, customer_id))


@router.get(
    "/{customer_id}/segments",
    summary="The customer's segments now (a lookup: real-time runs included, nothing computed)",
)
async def get_segments(customer_id: str, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    # a customer the replica holds is answered before routing, in the event loop (`api.middleware.
    # ReplicaLookups`, issue 20); what reaches this route is a customer it does not hold (not loaded yet, or
    # no run holds them), read from the store on a thread
    return json_response(await run_in_threadpool(segments_now, runtime.ws, customer_id, live=runtime.replica))


@router.get("/{customer_id}/explain/{name}", summary="Why the customer is or is not in the segment")
def explain(customer_id: str, name: str, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    check_segment(ws, name)
    return json_response(explain_customer(ws, customer_id, name).to_dict())
