"""Real servers for tests, on free ports of 127.0.0.1: an app in this process (uvicorn on a thread), or
`segmentum serve` as a user starts it (a subprocess). One home, so every test waits for readiness the same way."""

from __future__ import annotations

import atexit
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from segmentum.service.ownership import free_port


def start_app(app: Any, *, timeout: float = 30.0) -> tuple[uvicorn.Server, threading.Thread, str]:
    """`app` on a real uvicorn in this process: (server, thread, url). Stop it with `server.should_exit = True`."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def start_serve(
    root: Path,
    *,
    env: dict[str, str] | None = None,
    stdout: Any = subprocess.DEVNULL,
    timeout: float = 60.0,
) -> tuple[subprocess.Popen[str], str]:
    """`segmentum serve -w root` in a subprocess, once `/v1/health` answers: (process, url).

    The server's log (its standard error) goes to a file, `proc.log_path`, read with `serve_log(proc)`: a pipe
    nobody reads would lose it and, once full, block the server. The caller terminates the process
    (`proc.terminate(); proc.wait(30)`)."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the file outlives this call: the server writes it
        prefix="segmentum-serve-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "segmentum.cli.main", "serve", "--port", str(port), "-w", str(root)],
        stdout=stdout,
        stderr=log,
        text=True,
        env=env,
    )
    log.close()  # the server has its own descriptor of the file
    proc.log_path = Path(log.name)  # type: ignore[attr-defined]
    atexit.register(proc.log_path.unlink, missing_ok=True)  # read by then (`serve_log`), if ever
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"segmentum serve exited: {serve_log(proc)}")
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"segmentum serve did not start: {serve_log(proc)}")
        time.sleep(0.2)


def serve_log(proc: subprocess.Popen[str], tail: int = 20_000) -> str:
    """The last `tail` characters of the log of a server `start_serve` started."""
    text = Path(proc.log_path).read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
    return text[-tail:]
