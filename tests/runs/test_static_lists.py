"""Static lists (DESIGN section 5.2): a segment whose members are given, recorded by runs, usable in
`in_segment`, as a trigger's segment, explained, and managed from the CLI and the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runs_helpers import DEFINITIONS, make_shop, write_definitions
from segmentum.actions import list_outbox
from segmentum.errors import DefinitionError
from segmentum.runs.explain import explain
from segmentum.service import lists
from segmentum.store.lists import members, read_ids
from segmentum.workspace import Workspace

BIG = '  big: {where: "spent >= 100"}\n'
WITH_LIST = (
    DEFINITIONS.replace(
        BIG, BIG + "  big_reachable: {where: \"in_segment('big') and not in_segment('dnc')\"}\n"
    )
    + """
triggers:
  opted_out:
    on: enter
    segment: dnc
    do:
      - task: {title: "Stop contacting {{ customer.customer_id }}", due: 1d}
"""
)


def _memberships(ws: Workspace, run_id: int, name: str) -> set[str]:
    rows = ws.store.query(
        "SELECT customer_id FROM segmentum.memberships WHERE run_id = ? AND name = ?",
        [run_id, name],
    )
    return {r[0] for r in rows}


def _shop_with_list(tmp_path: Path) -> Workspace:
    ws = make_shop(tmp_path / "ws")
    assert lists.add(ws, "dnc", ["a", "x-not-a-customer-yet"]) == {
        "name": "dnc",
        "added": 2,
        "removed": 0,
        "members": 2,
    }
    assert "big_reachable" in WITH_LIST
    write_definitions(ws, WITH_LIST)
    return ws


def test_a_list_is_a_segment_in_runs_in_segment_and_triggers(tmp_path: Path) -> None:
    ws = _shop_with_list(tmp_path)
    first = ws.run(as_of="2024-03-31", deliver=False)
    assert _memberships(ws, first.run_id, "dnc") == {"a"}  # the list's ids that are customers of the run
    big = _memberships(ws, first.run_id, "big")
    assert big == {"a", "b", "c"}
    assert _memberships(ws, first.run_id, "big_reachable") == big - {"a"}

    lists.add(ws, "dnc", ["b"])
    second = ws.run(as_of="2024-04-30", deliver=False)
    assert _memberships(ws, second.run_id, "dnc") == {"a", "b"}
    assert _memberships(ws, second.run_id, "big_reachable") == {"c"}
    fired = sorted(r["idempotency_key"] for r in list_outbox(ws) if r["trigger"] == "opted_out")
    assert fired == [f"opted_out:b:{second.run_id}:0"]  # b entered the list; a was on it already

    why = explain(ws, "b", "dnc", as_of="2024-04-30")
    assert why.member and [c.condition for c in why.checks] == ["on the static list 'dnc'"]

    replaced = lists.add(ws, "dnc", ["c"], replace=True)
    assert replaced == {"name": "dnc", "added": 1, "removed": 3, "members": 1}
    assert members(ws.store, "dnc") == ["c"]


def test_a_list_name_must_be_free_and_a_removed_list_stops_validating(tmp_path: Path) -> None:
    ws = _shop_with_list(tmp_path)
    with pytest.raises(DefinitionError, match="'big' is already defined"):
        lists.add(ws, "big", ["a"])
    with pytest.raises(DefinitionError, match="invalid list name"):
        lists.add(ws, "do not", ["a"])
    assert lists.remove(ws, "dnc") == {"name": "dnc", "added": 0, "removed": 2, "members": 0}
    with pytest.raises(DefinitionError, match="dnc"):
        ws.definitions()
    # a definitions file that takes the name of an existing list is refused, with both places
    write_definitions(ws, DEFINITIONS)
    lists.add(ws, "vip_by_hand", ["a"])
    write_definitions(ws, DEFINITIONS.replace(BIG, BIG + '  vip_by_hand: {where: "spent > 0"}\n'))
    with pytest.raises(DefinitionError, match="also the name of a static list"):
        ws.definitions()


def test_adding_to_a_stored_list_does_not_reload_the_definitions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segmentum.spec.loader as loader

    ws = make_shop(tmp_path / "ws")
    loads: list[object] = []
    real = loader.load_definitions

    def counting(*args: object, **kwargs: object) -> object:
        loads.append(kwargs.get("lists"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "load_definitions", counting)
    lists.add(ws, "dnc", ["a"])
    assert loads == [["dnc"]]  # a new name: checked once, against the definitions as if the list existed
    for i in range(3):
        lists.add(ws, "dnc", [f"b{i}"])
    assert len(loads) == 1  # the stored list's name was checked when it was made
    # an id the list holds already is not added again; the counts come from the one member count
    assert lists.add(ws, "dnc", ["a", "d"]) == {"name": "dnc", "added": 1, "removed": 0, "members": 5}
    assert lists.add(ws, "dnc", ["c"], replace=True)["members"] == 1


def test_ids_are_read_from_a_csv_column_or_one_per_line(tmp_path: Path) -> None:
    csv = tmp_path / "ids.csv"
    csv.write_text("\ufeffemail;customer_id\nx@y;a\nz@y; b \nq@y;a\n", encoding="utf-8")
    plain = tmp_path / "ids.txt"
    plain.write_text("a\n\nb\nc\n", encoding="utf-8")
    assert read_ids(csv) == ["a", "b"]
    assert read_ids(plain) == ["a", "b", "c"]


def test_the_cli_adds_shows_and_removes_a_list(tmp_path: Path) -> None:
    ws = make_shop(tmp_path / "ws")
    root = ws.root
    ws.close()
    ids = tmp_path / "dnc.csv"
    ids.write_text("customer_id\na\nb\n", encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "segmentum.cli.main", *args, "--workspace", str(root)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    added = cli("lists", "add", "dnc", str(ids), "--format", "json")
    assert added.returncode == 0, added.stderr
    assert '"members": 2' in added.stdout
    shown = cli("lists", "show", "dnc", "--format", "csv")
    assert shown.stdout.split() == ["customer_id", "a", "b"]
    clash = cli("lists", "add", "big", str(ids))
    assert clash.returncode != 0 and "'big' is already defined" in clash.stderr
    removed = cli("lists", "remove", "dnc", "--customer", "a", "--format", "json")
    assert removed.returncode == 0 and '"members": 1' in removed.stdout


def test_the_api_manages_lists(tmp_path: Path) -> None:
    import httpx

    from segmentum.api.main import create_app
    from segmentum.service.keys import KeyStore
    from servers import start_app

    ws = make_shop(tmp_path / "ws")
    key = KeyStore(ws.store).create("write", "lists")[0]
    reader = KeyStore(ws.store).create("read", "reader")[0]
    server, thread, url = start_app(create_app(ws, realtime=False))
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            assert client.put("/v1/lists/dnc", json={"customer_ids": ["a", "b"]}).json()["members"] == 2
            assert client.post("/v1/lists/dnc/members", json={"customer_ids": ["c"]}).json()["members"] == 3
            assert client.post("/v1/lists/dnc/remove", json={"customer_ids": ["a"]}).json()["members"] == 2
            assert client.get("/v1/lists").json()["lists"][0]["members"] == 2
            assert client.get("/v1/lists/dnc").json()["customer_ids"] == ["b", "c"]
            assert client.put("/v1/lists/big", json={"customer_ids": ["a"]}).status_code == 422
            assert client.get("/v1/lists/nope").status_code == 404
            denied = httpx.put(
                f"{url}/v1/lists/dnc",
                json={"customer_ids": []},
                headers={"Authorization": f"Bearer {reader}"},
            )
            assert denied.status_code == 403
            assert client.delete("/v1/lists/dnc").json()["removed"] == 2
            assert client.get("/v1/lists").json()["lists"] == []
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


def test_a_static_list_suppresses_a_triggers_action(tmp_path: Path) -> None:
    """`suppress` names a static list: its members are never contacted, and the skipped action says why."""
    ws = make_shop(tmp_path / "ws")
    lists.add(ws, "do_not_contact", ["b"])
    write_definitions(
        ws,
        DEFINITIONS
        + """
triggers:
  welcome_big:
    on: enter
    segment: big
    do:
      - task: {title: "Call {{ customer.customer_id }}", due: 1d}
suppress: [do_not_contact]
""",
    )
    ws.run(as_of="2024-01-31", deliver=False)
    february = ws.run(as_of="2024-02-29", deliver=False)  # b becomes big in February
    rows = [r for r in list_outbox(ws) if r["trigger"] == "welcome_big"]
    assert [(r["customer_id"], r["status"], r["reason"]) for r in rows] == [("b", "skipped", "suppressed")]
    assert february.run_id == rows[0]["run_id"]
    # the dashboard's actions page shows it with its reason, and filters by it
    import httpx

    from segmentum.api.main import create_app
    from segmentum.api.server import web_routers
    from segmentum.service import users
    from servers import start_app

    users.add_user(ws.store, "olha", "long enough secret", role="read")
    server, thread, url = start_app(create_app(ws, extra_routers=web_routers(), realtime=False))
    try:
        with httpx.Client(base_url=url, timeout=60) as web:
            assert (
                web.post("/login", data={"user": "olha", "password": "long enough secret"}).status_code == 303
            )
            suppressed = web.get("/actions", params={"reason": "suppressed", "lang": "uk"}).text
            held = web.get("/actions", params={"reason": "quiet_hours"}).text
    finally:
        server.should_exit = True
        thread.join(15)
    assert suppressed.count('class="action-row"') == 1 and "у списку заборони" in suppressed
    assert "welcome_big" in suppressed and held.count('class="action-row"') == 0
