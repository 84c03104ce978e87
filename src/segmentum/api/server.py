"""Running the API and the dashboard (`segmentum serve`); the record of the running server and its client
live in `segmentum.service.ownership`."""

from __future__ import annotations

import os
import secrets
import signal
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from segmentum.errors import StoreError
from segmentum.service.ownership import remove_record, running_server, write_record
from segmentum.workspace import Workspace


def web_routers() -> list[Any]:
    """The dashboard's routes, served beside the API."""
    from segmentum.web.routes import router

    return [router]


def serve(
    ws: Workspace,
    *,
    host: str | None = None,
    port: int | None = None,
    schedule: str | None = None,
    extra_routers: Iterable[Any] | None = None,
    log_level: str = "info",
) -> None:
    """Run the API (and the dashboard, when installed) until interrupted; own the store meanwhile."""
    import uvicorn

    from segmentum.api.main import create_app

    other = running_server(ws.root)
    if other is not None and other.pid != os.getpid():
        raise StoreError(
            f"segmentum serve already runs for this workspace at {other.url} (pid {other.pid}); "
            "stop it first or use its API"
        )
    host = host or ws.config.serve.host
    port = ws.config.serve.port if port is None else port
    ws.store.con  # noqa: B018 - open (and lock) the store now, so a busy store fails before listening
    token = "sgm_internal_" + secrets.token_urlsafe(32)
    app = create_app(
        ws,
        extra_routers=web_routers() if extra_routers is None else extra_routers,
        schedule=schedule,
        internal_token=token,
        # a run the CLI made before the server started: its segment pages read the stored profiles
        # (SEGMENTUM_WARM_ON_START=0 leaves them to the first visits, e.g. for a benchmark of other pages)
        warm_latest=os.environ.get("SEGMENTUM_WARM_ON_START", "1") != "0",
        settle_heap=True,  # this process only serves: its long-lived objects are left out of collections
    )
    # loop and http left to "auto": uvloop and httptools (dependencies where they build) over asyncio's loop
    # and h11; a request costs the one event loop a fraction of the CPU (BENCHMARKS.md, "uvloop and httptools")
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False)
    server = uvicorn.Server(config)
    write_record(ws.root, host, port, token)
    try:
        with _exit_on_terminate():
            server.run()
    finally:
        remove_record(ws.root)  # the record holds an admin token: it must not outlive the server


@contextmanager
def _exit_on_terminate() -> Iterator[None]:
    """Make SIGTERM end the process through Python, so `finally` blocks run.

    uvicorn shuts down gracefully on SIGTERM and then raises the signal again with the handler it found; with
    the default handler that kills the process before any `finally`, leaving `server.json` (and its admin
    token) behind. SIGINT raises KeyboardInterrupt by default, which unwinds already.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only; a server on another thread is stopped by its owner
        return

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
