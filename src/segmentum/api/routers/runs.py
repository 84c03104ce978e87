"""Runs: the list, one run, and starting a batch run (in the background; one at a time)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES, ApiError
from segmentum.api.models import BackfillIn, RunIn
from segmentum.runs.realtime import to_wall_clock
from segmentum.service.runtime import Runtime
from segmentum.store import snapshots as snapshot
from segmentum.workspace import Workspace

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERROR_RESPONSES)


def parse_as_of(text: str | None, runtime: Runtime) -> datetime | str | None:
    """None (now), 'latest', a date (its last microsecond) or a timestamp (converted to workspace time)."""
    if text is None or text.strip() == "":
        return None
    value = text.strip()
    if value.lower() in ("latest", "now"):
        return value.lower() if value.lower() == "latest" else None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.max)
        return to_wall_clock(datetime.fromisoformat(value), runtime.zone)
    except (ValueError, OverflowError) as exc:
        raise ApiError(
            422,
            f"as_of {text!r} is not a date or timestamp; use e.g. '2011-12-09', "
            "'2011-12-09T18:00:00', 'latest', or leave it out for now",
            details={"field": "as_of"},
        ) from exc


@router.get("", summary="Runs, newest first, and the batch run in progress")
def list_runs(
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0, le=2**62),
    kind: str | None = Query(None, pattern="^(batch|realtime)$"),
    ws: Workspace = Depends(get_workspace),
    runtime: Runtime = Depends(get_runtime),
) -> JSONResponse:
    runs = [r for r in snapshot.list_runs(ws.store) if kind is None or r.kind == kind]
    job = runtime.running_job()
    body: dict[str, Any] = {
        "total": len(runs),
        "limit": limit,
        "offset": offset,
        "runs": [r.to_dict() for r in runs[offset : offset + limit]],
        "in_progress": job.as_dict() if job else None,
        "jobs": [j.as_dict() for j in reversed(runtime.jobs[-10:])],
    }
    return json_response(body)


@router.post(
    "/backfill",
    status_code=202,
    summary="Start runs at past points in time (202; follow the job with GET /v1/runs/jobs/{job_id})",
    responses={409: {"description": "a batch run or backfill is in progress already"}},
)
def start_backfill(body: BackfillIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    job = runtime.start_backfill(body.from_, body.to, body.every, body.only)
    return json_response(job.as_dict(), status_code=202)


@router.get("/jobs/{job_id}", summary="A batch run or backfill started through the API, with its progress")
def get_job(job_id: int, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response(runtime.job(job_id).as_dict())


@router.get("/{run_id}", summary="One run")
def get_run(run_id: int, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    if run_id < 0 or run_id > 2**62:
        raise ApiError(404, f"no run {run_id}; GET /v1/runs lists the runs")
    return json_response(snapshot.get_run(ws.store, run_id).to_dict())


@router.post(
    "",
    status_code=202,
    summary="Start a batch run that fires its triggers, as `segmentum run` does (202; follow it with GET /v1/runs)",
    responses={
        409: {"description": "a batch run is in progress already"},
        501: {"description": "the run engine is not available in this build"},
    },
)
def start_run(body: RunIn | None = None, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    body = body or RunIn(as_of=None, only=None)
    job = runtime.start_batch(parse_as_of(body.as_of, runtime), body.only)
    return json_response(job.as_dict(), status_code=202)
