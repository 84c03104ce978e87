"""The HTTP API application: wiring only (routers, checks before routing, the one error shape)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from segmentum.api.errors import install_error_handlers
from segmentum.api.middleware import DEFAULT_MAX_BODY, AuthMiddleware, BodyLimitMiddleware, ReplicaLookups
from segmentum.api.routers import (
    commands,
    customers,
    definitions,
    events,
    health,
    identify,
    keys,
    lists,
    runs,
    segments,
    tasks,
    triggers,
)
from segmentum.service.runtime import Runtime
from segmentum.workspace import Workspace

API_PREFIX = "/v1"
ROUTERS = (
    health.router,
    segments.router,
    customers.router,
    runs.router,
    definitions.router,
    tasks.router,
    lists.router,
    triggers.router,
    events.router,
    identify.router,
    keys.router,
    commands.router,
)


def create_app(
    ws: Workspace,
    *,
    extra_routers: Iterable[APIRouter] = (),
    realtime: bool = True,
    schedule: str | None = None,
    internal_token: str | None = None,
    micro_batch_seconds: float | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    warm_latest: bool = False,
    settle_heap: bool = False,
) -> FastAPI:
    """The API of one workspace under /v1 (OpenAPI at /v1/openapi.json, docs at /v1/docs).

    Parameters
    ----------
    extra_routers:
        routers mounted as they are (the dashboard's); they sit behind the same key check.
    realtime:
        run the micro-batch loop that re-evaluates customers touched by posted events.
    schedule:
        batch runs while serving: '15m', '2h', 'daily 02:00' (default: `serve.schedule` of segmentum.yml).
    internal_token:
        an extra admin token, held only in memory and in `.segmentum/server.json`, for the local CLI.
    warm_latest:
        store the segment profiles of the latest run in the background on start (`segmentum serve`).
    settle_heap:
        exempt the process's long-lived objects from Python's full collections after each load of the
        lookups' replica and each warming (`service.runtime.settle_heap`; process-wide: `segmentum serve`).
    """
    runtime = Runtime(
        ws,
        realtime=realtime,
        schedule=schedule,
        internal_token=internal_token,
        micro_batch_seconds=micro_batch_seconds,
        warm_latest=warm_latest,
        settle_heap=settle_heap,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        try:
            yield
        finally:
            runtime.stop()

    from segmentum import __version__

    app = FastAPI(
        title="segmentum",
        version=__version__,
        lifespan=lifespan,
        description="Customer segments, customers, runs and real-time events of one segmentum workspace. "
        "Every endpoint but /v1/health needs `Authorization: Bearer KEY`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    pages: list[Any] = []
    for router in extra_routers:
        app.include_router(router)
        pages += list(router.routes)
    # Added last = runs first: the body limit, then the key check, then a lookup the replica answers, all
    # before routing.
    app.add_middleware(ReplicaLookups, runtime=runtime)
    app.add_middleware(AuthMiddleware, runtime=runtime, pages=pages)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the bearer key declared for every operation but health."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "an API key from `segmentum keys create`",
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            if path == f"{API_PREFIX}/health":
                operation["security"] = []
            else:
                operation["security"] = [{"apiKey": []}]
                operation.setdefault("responses", {}).setdefault("401", {"description": "no or invalid key"})
                operation["responses"].setdefault("403", {"description": "the key's scope is too narrow"})
    app.openapi_schema = schema
    return schema
