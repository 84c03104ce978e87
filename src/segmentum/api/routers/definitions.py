"""Definitions: what is defined, validation of unsaved text, and preview of its effect."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.api.models import DefinitionsIn
from segmentum.errors import SegmentumError
from segmentum.runs.preview import preview as preview_definitions
from segmentum.spec.yamlio import NestingError
from segmentum.workspace import Workspace

router = APIRouter(prefix="/definitions", tags=["definitions"], responses=ERROR_RESPONSES)


def summarize(defs: Any) -> dict[str, Any]:
    return {
        "traits": [
            {
                "name": t.name,
                "kind": t.kind,
                "location": t.location,
                "builtin": t.builtin,
                "population": t.population,
            }
            for t in defs.traits.values()
        ],
        "segments": [
            {
                "name": s.name,
                "where": s.where_text,
                "description": s.description,
                "location": s.location,
                "builtin": s.builtin,
            }
            for s in defs.segments.values()
        ],
        "segmentations": [
            {
                "name": g.name,
                "description": g.description,
                "location": g.location,
                "builtin": g.builtin,
                "segments": [
                    {"name": s.name, "where": s.where_text, "description": s.description} for s in g.segments
                ],
            }
            for g in defs.segmentations.values()
        ],
        "triggers": [{"name": t.name, "location": t.location} for t in defs.triggers.values()],
        "builtins": list(defs.builtins),
        "skipped": dict(defs.skipped),
        "files": list(defs.files),
        "hashes": dict(defs.hashes),
    }


@router.get("", summary="The workspace's definitions (built-ins included)")
def get_definitions(ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response(summarize(ws.definitions()))


@router.post("/validate", summary="Validate definitions, with unsaved files in place of those on disk")
def validate(body: DefinitionsIn, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    try:
        defs = ws.definitions(overrides=body.files or None)
    except NestingError:
        raise  # past a limit of what the server parses: a refused request (422), not an answer about definitions
    except SegmentumError as exc:
        # An invalid definition is an answer, not a failed request.
        return json_response({"valid": False, "error": str(exc), "type": type(exc).__name__})
    return json_response({"valid": True, **summarize(defs)})


@router.post("/preview", summary="Who would enter and leave with the unsaved definitions (nothing is stored)")
def preview(body: DefinitionsIn, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response(preview_definitions(ws, overrides=body.files or None).to_dict())
