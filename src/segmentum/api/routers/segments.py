"""Segments: sizes, history, members (paged, filtered, CSV and Excel through the one export home)."""

from __future__ import annotations

import re
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from segmentum.actions.sinks.export import MEDIA_TYPES, choose_columns, export_bytes, export_options
from segmentum.analysis.profile import stored_profile
from segmentum.api.deps import get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.views.catalog import check_segment
from segmentum.views.frames import records
from segmentum.views.members import members
from segmentum.views.segments import overview, segment_detail
from segmentum.workspace import Workspace

router = APIRouter(prefix="/segments", tags=["segments"], responses=ERROR_RESPONSES)


@router.get("", summary="Every segment and segmentation with sizes in the newest complete batch run")
def list_segments(ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response(overview(ws))


@router.get("/{name}", summary="One segment: size now and across complete batch runs")
def get_segment(name: str, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response(segment_detail(ws, name))


@router.get(
    "/{name}/members", summary="Members of a segment with their traits (paged; filters; CSV or Excel)"
)
def get_members(
    name: str,
    run: int | None = Query(
        None, ge=1, le=2**62, description="a complete run id; default the newest batch run"
    ),
    filter: list[str] = Query(
        default_factory=list,
        description="a condition in the definition language over the run's traits and the customer's "
        "attributes, e.g. country = 'UK' and revenue_365d > 100; repeat for AND",
    ),
    limit: int | None = Query(None, ge=1, le=100_000, description="page size (JSON default 100; files: all)"),
    offset: int = Query(0, ge=0, le=2**62),
    format: Literal["json", "csv", "xlsx"] = Query("json"),
    columns: list[str] = Query(
        default_factory=list,
        description="only these columns (attributes, traits, model outputs such as clv_12m), in this order; "
        "repeat; default: the traits",
    ),
    delimiter: Literal[",", ";"] | None = Query(
        None, description="CSV delimiter (default: exports.delimiter)"
    ),
    ws: Workspace = Depends(get_workspace),
) -> Response:
    if limit is None and format == "json":
        limit = 100
    page = members(
        ws,
        name,
        run_id=run,
        filters=filter,
        attributes=bool(columns),
        traits=True,
        limit=limit,
        offset=offset,
        scores=columns,
    )
    df = choose_columns(page.rows, columns or None)
    if format in ("csv", "xlsx"):
        # the one export home: BOM and delimiter, money with the workspace's decimals, typed Excel cells
        content = export_bytes(df, format, export_options(ws, delimiter))
        filename = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        return Response(
            content,
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{filename}.{format}"'},
        )
    return json_response({**page.to_dict(), "members": records(df)} if columns else page.to_dict())


@router.get("/{name}/profile", summary="Size, value, attribute distributions and distinguishing features")
def get_profile(
    name: str,
    run: int | None = Query(
        None, ge=1, le=2**62, description="a complete run id; default the newest batch run"
    ),
    top: int = Query(10, ge=1, le=100, description="values listed per attribute"),
    ws: Workspace = Depends(get_workspace),
) -> JSONResponse:
    check_segment(ws, name)
    # computed once per run, segment and `top` (the dashboard's are warmed after a batch run), then read back
    return json_response(stored_profile(ws, name, run_id=run, top=top))
