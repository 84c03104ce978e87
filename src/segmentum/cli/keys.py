"""`segmentum keys create|list|revoke`: API keys (through the running server when `segmentum serve` runs)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from segmentum.cli.common import FormatOpt, OutputFormat, WorkspaceOpt, emit, note, open_workspace

app = typer.Typer(help="API keys for the HTTP API (scopes: read < write < admin).", no_args_is_help=True)


def _local_or_server(workspace: Any) -> tuple[Any, Any]:
    """(workspace, server client or None): while the server owns the store, keys are managed through it."""
    from segmentum.service.ownership import ServerClient, running_server
    from segmentum.workspace import Workspace

    ws: Workspace = open_workspace(workspace)
    record = running_server(ws.root)
    return ws, (ServerClient(record) if record is not None else None)


@app.command("create")
def create(
    scope: Annotated[str, typer.Option("--scope", "-s", help="read, write or admin")] = "read",
    name: Annotated[str | None, typer.Option("--name", "-n", help="What the key is for")] = None,
    workspace: WorkspaceOpt = None,
) -> None:
    """Create a key. It is printed once, alone on the last line; only its hash is stored."""
    from segmentum.service.keys import KeyStore, check_scope

    check_scope(scope)
    ws, client = _local_or_server(workspace)
    if client is not None:
        answer = client.request("POST", "/v1/keys", json_body={"scope": scope, "name": name})
        key, prefix = answer["key"], answer["prefix"]
    else:
        key, record = KeyStore(ws.store).create(scope, name)
        prefix = record.prefix
    note(f"Created API key {prefix} with scope '{scope}'. Keep it now: it cannot be shown again.")
    sys.stdout.write(key + "\n")


@app.command("list")
def list_keys(workspace: WorkspaceOpt = None, fmt: FormatOpt = OutputFormat.table) -> None:
    """Keys with their prefix, name, scope, creation and revocation (never the key itself)."""
    from segmentum.service.keys import KeyStore

    ws, client = _local_or_server(workspace)
    if client is not None:
        rows = client.request("GET", "/v1/keys")["keys"]
    else:
        rows = [k.as_dict() for k in KeyStore(ws.store).list()]
    emit(
        rows, fmt, title="API keys", columns=["prefix", "name", "scope", "created_at", "revoked_at", "active"]
    )


@app.command("revoke")
def revoke(
    prefix: Annotated[
        str, typer.Argument(help="The key's prefix as `segmentum keys list` shows it (sgm_xxxxxxxx)")
    ],
    workspace: WorkspaceOpt = None,
) -> None:
    """Revoke a key: requests with it answer 401 from now on."""
    from segmentum.service.keys import KeyStore, normalize_prefix

    ws, client = _local_or_server(workspace)
    if client is not None:
        answer = client.request("DELETE", f"/v1/keys/{normalize_prefix(prefix)}")
        note(f"Revoked API key {answer['prefix']} (scope '{answer['scope']}').")
    else:
        record = KeyStore(ws.store).revoke(prefix)
        note(f"Revoked API key {record.prefix} (scope '{record.scope}').")
