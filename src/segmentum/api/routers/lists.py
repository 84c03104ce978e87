"""Static lists (DESIGN section 5.2): segments whose members are given, usable in `in_segment`, `suppress` and as
a trigger's segment. A list is recorded as the standalone segment of its name from the next run on."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from segmentum.api.deps import get_runtime, get_workspace, json_response
from segmentum.api.errors import ERROR_RESPONSES
from segmentum.api.models import ListMembersIn
from segmentum.service import lists
from segmentum.service.runtime import Runtime
from segmentum.store.lists import members
from segmentum.workspace import Workspace

router = APIRouter(prefix="/lists", tags=["lists"], responses=ERROR_RESPONSES)


@router.get("", summary="The static lists, with their number of members")
def list_lists(ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    return json_response({"lists": lists.listing(ws)})


@router.get("/{name}", summary="The members of one list")
def get_list(name: str, ws: Workspace = Depends(get_workspace)) -> JSONResponse:
    ids = members(ws.store, name)
    return json_response({"name": name, "members": len(ids), "customer_ids": ids})


@router.put("/{name}", summary="Make these ids the list's only members (creates the list)")
def put_list(name: str, body: ListMembersIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    # a run or a micro-batch never sees half a list (the one rule of a change: Runtime.write)
    return json_response(runtime.write(lists.add, runtime.ws, name, body.customer_ids, replace=True))


@router.post("/{name}/members", summary="Add ids to a list (creates the list)")
def add_members(name: str, body: ListMembersIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response(runtime.write(lists.add, runtime.ws, name, body.customer_ids))


@router.post("/{name}/remove", summary="Remove ids from a list")
def remove_members(name: str, body: ListMembersIn, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response(runtime.write(lists.remove, runtime.ws, name, body.customer_ids))


@router.delete("/{name}", summary="Delete a list (a definition that names it stops validating)")
def delete_list(name: str, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    return json_response(runtime.write(lists.remove, runtime.ws, name))
