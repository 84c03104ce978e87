"""A real API server on 127.0.0.1 (uvicorn in a thread) over a real workspace store, and keys of each scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import LiveServer, start_server  # noqa: F401  (re-exported for the tests)

from segmentum.api.main import create_app
from segmentum.service.keys import KeyStore
from segmentum.workspace import Workspace


@pytest.fixture
def live(workspace: Workspace) -> Iterator[LiveServer]:
    keys = KeyStore(workspace.store)
    created = {scope: keys.create(scope, f"test {scope}")[0] for scope in ("read", "write", "admin")}
    app = create_app(workspace, micro_batch_seconds=0.2)
    server, thread, url = start_server(app)
    try:
        yield LiveServer(url, app, workspace, created)
    finally:
        server.should_exit = True
        thread.join(15)
