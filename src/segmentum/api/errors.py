"""The API's one error shape, `{"error": {"code", "message", "details"}}`, and the handlers that produce it.

Every error path answers in this shape: our own errors, library errors (SegmentumError), FastAPI's
validation errors, Starlette's 404/405, and anything unexpected (500, without internals).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from segmentum.errors import (
    BusyError,
    ConfigError,
    DefinitionError,
    IngestError,
    NotFoundError,
    RunError,
    SegmentumError,
    StoreError,
    VersionConflictError,
)

log = logging.getLogger("segmentum.api")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The shape of every error the API answers."""

    error: ErrorBody


# For `responses=` of routes, so the OpenAPI document describes errors as they are.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": STATUS_CODES[code].replace("_", " ")}
    for code in (400, 401, 403, 404, 413, 422)
}


class ApiError(Exception):
    """Raise from a route to answer an error of the one shape."""

    def __init__(self, status: int, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or STATUS_CODES.get(status, "error")
        self.message = message
        self.details = details


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    from segmentum.jsonable import jsonable

    body = {
        "error": {
            "code": code or STATUS_CODES.get(status, "error"),
            "message": message,
            "details": jsonable(details),
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(exc: SegmentumError) -> int:
    """The HTTP status a library error maps to."""
    if isinstance(exc, VersionConflictError):
        return 428 if exc.required else 412
    if isinstance(exc, BusyError):
        return 409
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, (DefinitionError, ConfigError, IngestError)):
        return 422
    if isinstance(exc, (RunError, StoreError)):
        return 409
    if isinstance(exc, ValueError):
        return 422
    return 400


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "message": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods some route of the app answers on this request's path (the `Allow` header of a 405)."""
    routes = request.app.router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, code=exc.code, details=exc.details)

    @app.exception_handler(SegmentumError)
    async def _library_error(request: Request, exc: SegmentumError) -> JSONResponse:
        status = status_of(exc)
        details = (
            getattr(exc, "details", None)
            if isinstance(exc, (BusyError, VersionConflictError))
            else {"type": type(exc).__name__}
        )
        return error_response(status, str(exc), code=STATUS_CODES.get(status), details=details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"loc": [], "message": "invalid request"}
        where = ".".join(first["loc"]) or "request"
        return error_response(422, f"invalid request: {where}: {first['message']}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = exc.status_code
        if status == 404 and exc.detail == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}; the API is described at /v1/openapi.json"
        elif status == 405:
            allowed = allowed_methods(request)
            message = (
                f"method {request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
            )
            # Starlette names the methods of the first route whose path matches; a path served by two routes
            # (GET and POST /v1/runs) needs the methods of all of them
            return error_response(status, message, headers={"Allow": ", ".join(allowed)})
        else:
            message = str(exc.detail)
        return error_response(status, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); see the server log")
