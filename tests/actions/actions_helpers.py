"""Real workspaces with two (or more) hand-written snapshots, a real HTTP receiver and a real SMTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from segmentum.actions.sinks.webhook import signature
from segmentum.store import META
from segmentum.store.memberships import add as add_memberships
from segmentum.workspace import Workspace

SECRET = "s3cr3t-for-tests"

DEFINITIONS = """\
traits:
  revenue: {sum: orders.amount}
segments:
  big_spenders: {where: "revenue >= 1000", offer: "10% off", channel: email}
segmentations:
  tier:
    segments:
      - {name: vip, where: "revenue >= 5000", offer: Concierge, channel: call}
      - {name: regular, where: "revenue >= 500"}
    else: low
triggers:
  slipping:
    on: move
    from: tier.vip
    to: tier.regular
    do:
      - task: {title: "Call {{ customer.name }}: dropped to {{ segment.segment }}", assignee: "{{ customer.account_owner }}", due: 3d}
      - webhook: {url: "http://127.0.0.1:PORT/hooks/segmentum", secret_env: SEG_TEST_SECRET}
  welcome_big:
    on: enter
    segment: big_spenders
    do:
      - email: {template: templates/welcome.html, subject: "Thanks, {{ customer.name }}"}
"""

CUSTOMERS = [
    # id, name, email, opt_in, owner
    ("c1", "Ann", "Ann@Example.com ", True, "olga"),
    ("c2", "Bob", "bob@example.com", True, "petro"),
    ("c3", "Cid", "cid@example.com", False, "olga"),
    ("c4", "Dee", "dee@example.com", None, None),
    ("c5", "Eve", None, True, "olga"),
    ("c6", "Fay", "fay@example.com", True, "olga"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_workspace(
    root: Path, *, port: int = 9, definitions: str = DEFINITIONS, extra_config: str = ""
) -> Workspace:
    ws = Workspace.init(root, name="actions-test")
    config = (root / "segmentum.yml").read_text()
    config = config.replace("builtins: [rfm, abc, lifecycle]", "builtins: []")
    config += f'\nwebhooks:\n  allow: ["http://127.0.0.1:{port}/hooks/"]\n  max_attempts: 3\n' + extra_config
    (root / "segmentum.yml").write_text(config)
    (root / "definitions" / "shop.yml").write_text(definitions.replace("PORT", str(port)))
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "welcome.html").write_text(
        "<html><body><h1>Hello {{ customer.name }}</h1><p>Your offer: {{ segment.offer }}</p>"
        "<p>Revenue {{ customer.revenue }}</p></body></html>"
    )
    ws = Workspace(root)
    con = ws.store.cursor()
    con.execute(
        "CREATE TABLE main.customers (customer_id VARCHAR PRIMARY KEY, name VARCHAR, email VARCHAR, "
        "email_opt_in BOOLEAN, account_owner VARCHAR)"
    )
    con.executemany("INSERT INTO main.customers VALUES (?, ?, ?, ?, ?)", CUSTOMERS)
    return ws


def write_run(
    ws: Workspace,
    run_id: int,
    state: dict[str, dict[str, Any]],
    *,
    kind: str = "batch",
    hashes: dict[str, str] | None = None,
    status: str = "complete",
) -> None:
    """A snapshot: state = {customer_id: {"tier": "vip", "big_spenders": True, "revenue": 6000}}."""
    defs = ws.definitions()
    if hashes is None:
        hashes = {n: defs.hashes[n] for n in ("big_spenders", "tier")}
    con = ws.store.cursor()
    con.execute(
        f"INSERT INTO {META}.runs VALUES (?, ?, ?, ?, ?, 'duckdb', ?, 'h', ?, ?, NULL)",
        [
            run_id,
            datetime(2024, 1, run_id),
            datetime(2024, 1, run_id),
            datetime(2024, 1, run_id),
            status,
            kind,
            json.dumps(hashes),
            len(state),
        ],
    )
    con.execute(f"CREATE TABLE {META}.traits_{run_id} (customer_id VARCHAR, revenue DECIMAL(38, 6))")
    for cid, s in state.items():
        con.execute(f"INSERT INTO {META}.traits_{run_id} VALUES (?, ?)", [cid, s.get("revenue")])
        if kind != "batch":
            con.execute(f"INSERT INTO {META}.run_customers VALUES (?, ?)", [run_id, cid])
        if "tier" in s:
            add_memberships(
                con,
                "VALUES (?, ?, 'tier', ?, ?)",
                [run_id, cid, s["tier"], f"tier.{s['tier']}"],
            )
        if s.get("big_spenders"):
            add_memberships(
                con,
                "VALUES (?, ?, NULL, 'big_spenders', 'big_spenders')",
                [run_id, cid],
            )


RUN1 = {
    "c1": {"tier": "vip", "big_spenders": True, "revenue": 6000},
    "c2": {"tier": "vip", "big_spenders": True, "revenue": 5500},
    "c3": {"tier": "regular", "revenue": 600},
    "c4": {"tier": "low", "revenue": 100},
    "c5": {"tier": "low", "revenue": 0},
    "c6": {"tier": "regular", "revenue": 700},
}
RUN2 = {
    "c1": {"tier": "regular", "big_spenders": True, "revenue": 2000},  # vip -> regular: slipping
    "c2": {"tier": "regular", "revenue": 900},  # vip -> regular, leaves big_spenders
    "c3": {"tier": "vip", "big_spenders": True, "revenue": 7000},  # enters big_spenders (opted out)
    "c4": {"tier": "regular", "big_spenders": True, "revenue": 1200},  # enters big_spenders
    "c5": {"tier": "low", "big_spenders": True, "revenue": 1000},  # enters big_spenders (no email)
    "c6": {"tier": "regular", "revenue": 700},  # unchanged
}


@pytest.fixture
def two_runs(tmp_path: Path, receiver: Receiver) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path / "ws", port=receiver.port)
    write_run(ws, 1, RUN1)
    write_run(ws, 2, RUN2)
    yield ws
    ws.close()


# ------------------------------------------------------------------------------------------- HTTP receiver


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that checks signatures and records deliveries."""

    port: int
    secret: str = SECRET
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": json.loads(body),
                            "signature_ok": self.headers.get("X-Segmentum-Signature")
                            == signature(body, receiver.secret),
                        }
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def keys(self) -> list[str]:
        return [r["headers"]["Idempotency-Key"] for r in self.requests]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("SEG_TEST_SECRET", SECRET)
    r = Receiver(free_port())
    r.start()
    yield r
    r.stop()


# ---------------------------------------------------------------------------------------------- SMTP server


@dataclass
class Mailbox:
    port: int
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
            box.messages.append({"rcpt": list(envelope.rcpt_tos), "msg": msg})
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()
