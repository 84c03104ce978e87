"""Who owns a workspace's store: the running `segmentum serve`, found through its record, and a client for it.

While the server runs it owns the store (DuckDB lets one process write a file). It records its address
in `<workspace>/.segmentum/server.json` (host, port, pid, url, started_at and an admin token that lives
only as long as the server; the file is readable by its owner only). CLI commands call
`running_server(root)`: when it returns a record they talk to the server over HTTP with `ServerClient`
instead of opening the store (DESIGN.md principle 6).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from segmentum import errors
from segmentum.errors import NotFoundError, SegmentumError

SERVER_FILE = Path(".segmentum") / "server.json"


class ServerError(SegmentumError, RuntimeError):
    """The running server answered an error or cannot be reached."""


@dataclass(frozen=True)
class ServerRecord:
    host: str
    port: int
    pid: int
    token: str
    started_at: str

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        return f"http://{host}:{self.port}"


def server_file(root: Path) -> Path:
    return root / SERVER_FILE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_server(root: Path) -> ServerRecord | None:
    """The server serving this workspace now, or None (a record left by a dead process is removed)."""
    path = server_file(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = ServerRecord(
            str(data["host"]),
            int(data["port"]),
            int(data["pid"]),
            str(data["token"]),
            str(data.get("started_at", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(record.pid):
        path.unlink(missing_ok=True)
        return None
    return record


def write_record(root: Path, host: str, port: int, token: str) -> ServerRecord:
    record = ServerRecord(host, port, os.getpid(), token, datetime.now().isoformat(timespec="seconds"))
    path = server_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**asdict(record), "url": record.url}, fh, indent=2)
    return record


def remove_record(root: Path) -> None:
    path = server_file(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if data.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


class ServerClient:
    """Calls the running server with its admin token; error answers become SegmentumErrors."""

    def __init__(self, record: ServerRecord, *, timeout: float | None = 30.0) -> None:
        self.record = record
        self.timeout = timeout

    def request(
        self, method: str, path: str, *, json_body: Any = None, params: dict[str, Any] | None = None
    ) -> Any:
        import httpx

        try:
            response = httpx.request(
                method,
                self.record.url + path,
                json=json_body,
                params=params,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.record.token}"},
            )
        except httpx.HTTPError as exc:
            raise ServerError(
                f"segmentum serve at {self.record.url} (pid {self.record.pid}) cannot be reached: "
                f"{exc}; stop it or remove {SERVER_FILE} if it is gone"
            ) from exc
        if response.status_code >= 400:
            raise _library_error(response.status_code, response)
        return response.json() if response.content else None


def _library_error(status: int, response: Any) -> SegmentumError:
    """The error the server answered, as the library error it was there (same class and message), so a
    command reads the same whether the server or this process ran it."""
    try:
        error = response.json()["error"]
        message = str(error["message"])
        kind = (error.get("details") or {}).get("type")
    except (ValueError, KeyError, TypeError, AttributeError):
        return ServerError(f"the server answered {status}: {response.text[:500]}")
    cls = getattr(errors, kind, None) if isinstance(kind, str) else None
    if isinstance(cls, type) and issubclass(cls, SegmentumError):
        try:
            return cls(message)
        except TypeError:  # an error class whose constructor takes more than the message
            pass
    if status == 404:
        return NotFoundError(message)
    if status == 409:  # its details are the work in progress, not an error type
        return errors.BusyError(message, details=error.get("details"))
    return ServerError(message if status < 500 else f"the server answered {status}: {message}")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
