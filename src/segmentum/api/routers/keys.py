"""API keys over the API (admin scope): how the CLI manages keys while `segmentum serve` owns the store."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.api.models import KeyIn
from segmentum.service.runtime import Runtime

router = APIRouter(prefix="/keys", tags=["keys"], responses=ERROR_RESPONSES)


@router.get("", summary="API keys (prefix, name, scope; never the secret)")
def list_keys(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response({"keys": [k.as_dict() for k in runtime.keys.list()]})


@router.post("", status_code=201, summary="Create a key; the answer holds it, once")
def create_key(body: KeyIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    key, record = runtime.keys.create(body.scope, body.name)
    return json_response({"key": key, **record.as_dict()}, status_code=201)


@router.delete("/{prefix}", summary="Revoke a key by its prefix")
def revoke_key(prefix: str, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response(runtime.revoke(prefix).as_dict())
