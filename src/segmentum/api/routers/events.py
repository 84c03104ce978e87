"""POST /v1/events: append events and queue the customers they touch for real-time evaluation."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, json_response
from segmentum.api.errors import ERROR_RESPONSES, ApiError, error_response
from segmentum.api.models import EventsAccepted, EventsIn
from segmentum.runs.realtime import EventRow, WriterBusy
from segmentum.service.runtime import Runtime
from segmentum.store.identities import customer_of

router = APIRouter(prefix="/events", tags=["events"], responses=ERROR_RESPONSES)


@router.post(
    "",
    status_code=202,
    response_model=EventsAccepted,
    summary="Append events (stored before the answer); their customers are re-evaluated within seconds",
)
def post_events(body: EventsIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    if runtime.realtime and runtime.micro.full:
        # back-pressure: nothing of this request is stored, so what was accepted is exactly what is stored
        runtime.micro.refused += 1
        wait = runtime.micro.retry_after()
        return error_response(
            429,
            f"real time is behind: {runtime.micro.pending} customers wait for re-evaluation (at most "
            f"{runtime.micro.max_pending}); nothing of this request was stored, send it again in {wait} s",
            details={"pending": runtime.micro.pending, "max_pending": runtime.micro.max_pending},
            headers={"Retry-After": str(wait)},
        )
    rows = [EventRow(str(e.customer_id), e.event, e.occurred_at, e.properties) for e in body.events]
    try:
        result = runtime.events.append(rows)
    except WriterBusy as exc:
        # an ingest, erasure or compaction through the server holds the writer: back-pressure as above
        return error_response(
            429, str(exc), details=exc.details, headers={"Retry-After": str(exc.retry_after)}
        )
    except OverflowError as exc:
        raise ApiError(422, f"an occurred_at cannot be converted to the workspace time zone ({exc})") from exc
    if runtime.realtime:
        ids = list(result.customer_ids)
        linked = customer_of(runtime.ws.store, ids)  # a linked alias's events are its customer's (DESIGN 5.1)
        runtime.micro.enqueue([linked.get(i, i) for i in ids])
    return json_response(
        {
            "accepted": result.accepted,
            "customers": result.customers,
            "new_customers": result.new_customers,
            "queued_for_realtime": runtime.realtime,
        },
        status_code=202,
    )
