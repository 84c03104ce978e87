"""`segmentum keys` and `segmentum serve` as a user runs them (real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from segmentum.service.ownership import free_port, running_server, server_file
from servers import start_serve


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "segmentum.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow  # five CLI processes
def test_keys_create_prints_the_key_alone_on_the_last_line(workspace) -> None:
    root = str(workspace.root)
    workspace.close()
    created = cli("keys", "create", "--scope", "write", "--name", "crm", "-w", root)
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sgm_") and " " not in key
    listed = json.loads(cli("keys", "list", "--format", "json", "-w", root).stdout)
    assert [(k["name"], k["scope"], k["active"]) for k in listed] == [("crm", "write", True)]
    assert key not in json.dumps(listed)
    cli("keys", "revoke", listed[0]["prefix"], "-w", root)
    assert json.loads(cli("keys", "list", "--format", "json", "-w", root).stdout)[0]["active"] is False
    bad = cli("keys", "create", "--scope", "root", "-w", root, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: unknown scope 'root'")


@pytest.mark.slow
def test_serve_owns_the_store_and_the_cli_manages_keys_through_it(workspace) -> None:
    root = str(workspace.root)
    workspace.close()
    proc, url = start_serve(workspace.root, stdout=subprocess.PIPE)
    port = int(url.rsplit(":", 1)[1])
    try:
        record = json.loads(server_file(workspace.root).read_text())
        assert record["port"] == port and record["pid"] == proc.pid
        assert workspace.server().url == f"http://127.0.0.1:{port}"
        assert oct(server_file(workspace.root).stat().st_mode & 0o777) == "0o600"
        # the store is locked by the server: the CLI goes through its API
        key = cli("keys", "create", "--scope", "read", "-w", root).stdout.strip().splitlines()[-1]
        response = httpx.get(
            f"http://127.0.0.1:{port}/v1/segments", headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200
        listed = json.loads(cli("keys", "list", "--format", "json", "-w", root).stdout)
        assert [k["scope"] for k in listed] == ["read"]
        second = cli("serve", "--port", str(free_port()), "-w", root, check=False)
        assert second.returncode == 1 and "already runs" in second.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert not server_file(workspace.root).exists()
    assert running_server(workspace.root) is None and workspace.server() is None


@pytest.mark.slow  # a serve process per signal
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_server_record_with_its_admin_token_is_removed_when_serve_is_stopped_by_a_signal(
    workspace, stop: signal.Signals
) -> None:
    # uvicorn raises SIGTERM again after its graceful shutdown: with the default handler the process died
    # before `finally`, and `.segmentum/server.json` kept an admin token of a dead server
    workspace.close()
    proc, _ = start_serve(workspace.root)
    try:
        token = json.loads(server_file(workspace.root).read_text())["token"]
        assert token.startswith("sgm_internal_")
    finally:
        proc.send_signal(stop)
        proc.wait(30)
    assert not server_file(workspace.root).exists()


def test_serve_answers_on_uvloop_and_httptools(workspace) -> None:
    # uvicorn falls back to asyncio's loop and the pure-Python h11 without a word when they are missing; with
    # them the lookups beside the events' load answered in 75 ms at p99 against 2.1 s (BENCHMARKS.md): the
    # running server must have loaded both (their compiled modules are mapped into its memory)
    workspace.close()
    proc, url = start_serve(workspace.root)
    try:
        assert httpx.get(f"{url}/v1/health", timeout=10).status_code == 200
        mapped = Path(f"/proc/{proc.pid}/maps").read_text()
    finally:
        proc.terminate()
        proc.wait(30)
    assert "/uvloop/loop." in mapped, "segmentum serve runs on asyncio's loop: is uvloop installed?"
    assert "/httptools/parser/parser." in mapped, (
        "segmentum serve parses HTTP with h11: is httptools installed?"
    )
