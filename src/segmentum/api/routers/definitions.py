"""Definitions: what is defined, validation of unsaved text, and preview of its effect."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from segmentum.api.deps import get_runtime, get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.api.models import DefinitionFileIn, DefinitionsIn, RollbackIn
from segmentum.errors import NotFoundError, SegmentumError
from segmentum.runs.preview import preview as preview_definitions
from segmentum.service import definitions as versions
from segmentum.service.runtime import Runtime
from segmentum.spec.yamlio import NestingError
from segmentum.workspace import Workspace

router = APIRouter(prefix="/definitions", tags=["definitions"], responses=ERROR_RESPONSES)


class DefinitionsFileConvertor(Convertor[str]):
    """A definitions file name in a path (`shop.yml`): so `/v1/definitions/validate` stays its own route and a
    PUT there is a 405, not a file named 'validate'."""

    regex = versions.FILE_NAME.pattern.removeprefix("^").removesuffix("$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("definitions_file", DefinitionsFileConvertor())


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


# ------------------------------------------------------------------ one file, its versions (DESIGN section 5.2)
def _saved_by(request: Request) -> str | None:
    key = getattr(request.state, "api_key", None)
    return f"key:{key.name or key.prefix}" if key is not None else None


def _saved(ws: Workspace, saved: versions.Version, status: int) -> JSONResponse:
    defs = ws.definitions()
    body = {**saved.as_dict(), "hashes": {n: h for n, h in defs.hashes.items()}}
    response = json_response(body, status_code=status)
    response.headers["ETag"] = saved.etag
    return response


@router.get(
    "/{file:definitions_file}",
    summary="One definitions file: its text and version tag (the ETag to send in If-Match)",
)
def get_file(file: str, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    current = versions.state(ws, file)
    if current.text is None:
        raise NotFoundError(
            f"definitions/{file} does not exist; files: {', '.join(versions.files(ws)) or 'none'}"
        )
    response = json_response(
        {"file": file, "text": current.text, "etag": current.etag, "version": current.version}
    )
    response.headers["ETag"] = current.etag or ""
    return response


@router.put(
    "/{file:definitions_file}",
    summary="Create or change a definitions file (If-Match: the version changed; validated before it is written)",
    status_code=200,
    responses={
        201: {"description": "created"},
        412: {"description": "If-Match is not the current version"},
        428: {"description": "If-Match is missing for a file that exists"},
    },
)
def put_file(
    file: str,
    body: DefinitionFileIn,
    request: Request,
    if_match: str | None = Header(None, description="the ETag of the version this change was made against"),
    runtime: Runtime = Depends(get_runtime),
) -> JSONResponse:
    ws = runtime.ws
    existed = versions.state(ws, file).text is not None
    saved = runtime.write(versions.save, ws, file, body.text, by=_saved_by(request), if_match=if_match)
    return _saved(ws, saved, 200 if existed else 201)


@router.get(
    "/{file:definitions_file}/versions",
    summary="Every saved version of a definitions file, oldest first, with who saved it",
)
def list_versions(file: str, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    current = versions.state(ws, file)
    return json_response(
        {
            "file": file,
            "current": {"etag": current.etag, "version": current.version},
            "versions": [v.as_dict() for v in versions.versions(ws, file)],
        }
    )


@router.get(
    "/{file:definitions_file}/versions/{number}",
    summary="One saved version of a definitions file, with its text",
)
def get_version(file: str, number: int, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response(versions.version(ws, file, number).as_dict(text=True))


@router.post(
    "/{file:definitions_file}/rollback",
    summary="Save the text of an earlier version as the new version (If-Match: the current version)",
    responses={
        412: {"description": "If-Match is not the current version"},
        428: {"description": "no If-Match"},
    },
)
def rollback(
    file: str,
    body: RollbackIn,
    request: Request,
    if_match: str | None = Header(None, description="the ETag of the current version"),
    runtime: Runtime = Depends(get_runtime),
) -> JSONResponse:
    saved = runtime.write(
        versions.rollback, runtime.ws, file, body.version, by=_saved_by(request), if_match=if_match
    )
    return _saved(runtime.ws, saved, 200)
