"""Identities (DESIGN section 5.1): from `linked_at` on, every row of an alias counts for its customer, whatever
its timestamp, and the alias is no customer; in earlier runs it is a customer of its own."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from runs_helpers import make_shop, write_definitions
from segmentum.errors import IngestError
from segmentum.store.identities import link
from segmentum.workspace import Workspace

DEFINITIONS = """
traits:
  spent: {sum: orders.amount}
  orders_n: {count: orders}
  pages: {count: events}
segments:
  big: {where: "spent >= 100"}
"""


def _members(ws: Workspace, run_id: int) -> dict[str, tuple]:
    traits = ws.store.query(
        f"SELECT customer_id, spent, orders_n, pages FROM segmentum.traits_{run_id} ORDER BY 1"
    )
    return {r[0]: tuple(float(v) if v is not None else None for v in r[1:]) for r in traits}


def _shop(tmp_path: Path) -> Workspace:
    ws = make_shop(tmp_path / "ws")
    write_definitions(ws, DEFINITIONS)
    con = ws.store.cursor()
    # anon-1 browsed and bought as a guest before signing up as b (linked on 2024-02-20)
    con.execute("INSERT INTO main.customers VALUES ('anon-1')")
    con.execute("INSERT INTO main.orders VALUES ('g1', 'anon-1', '2024-01-15', 80, NULL)")
    con.execute(
        "CREATE TABLE main.events (event_id VARCHAR, customer_id VARCHAR, event VARCHAR, occurred_at TIMESTAMP, "
        "properties JSON)"
    )
    con.execute(
        "INSERT INTO main.events VALUES ('e1', 'anon-1', 'page', '2024-01-14', NULL), "
        "('e2', 'anon-1', 'page', '2024-03-02', NULL), ('e3', 'b', 'page', '2024-02-01', NULL)"
    )
    link(ws.store, "anon-1", "b", datetime(2024, 2, 20))
    return ws


def test_before_the_link_the_alias_is_a_customer_after_it_its_rows_are_the_customers(tmp_path: Path) -> None:
    ws = _shop(tmp_path)
    january = ws.run(as_of="2024-01-31", deliver=False)
    march = ws.run(as_of="2024-03-31", deliver=False)
    before, after = _members(ws, january.run_id), _members(ws, march.run_id)
    assert before["anon-1"] == (80.0, 1.0, 1.0)  # a customer of its own
    assert before["b"] == (50.0, 1.0, 0.0)
    assert "anon-1" not in after  # in no segment, rank or count
    # every row of the alias, whatever its timestamp (the January order and page, the March page)
    assert after["b"] == (50.0 + 100.0 + 80.0, 3.0, 3.0)
    big = {
        r[0]
        for r in ws.store.query(
            "SELECT customer_id FROM segmentum.memberships WHERE run_id = ? AND name = 'big'", [march.run_id]
        )
    }
    assert "b" in big and "anon-1" not in big


def test_a_link_is_checked(tmp_path: Path) -> None:
    ws = _shop(tmp_path)
    assert link(ws.store, "anon-1", "b", datetime(2024, 5, 1))["created"] is False  # the same link again
    with pytest.raises(IngestError, match="already linked to 'b'"):
        link(ws.store, "anon-1", "c", datetime(2024, 5, 1))
    with pytest.raises(IngestError, match="is itself an alias"):
        link(ws.store, "anon-2", "anon-1", datetime(2024, 5, 1))
    with pytest.raises(IngestError, match="never itself linked to"):
        link(ws.store, "b", "c", datetime(2024, 5, 1))
    with pytest.raises(IngestError, match="to itself"):
        link(ws.store, "c", "c", datetime(2024, 5, 1))


def test_post_identify_links_an_anonymous_id(tmp_path: Path) -> None:
    from segmentum.api.main import create_app
    from segmentum.service.keys import KeyStore
    from servers import start_app

    ws = make_shop(tmp_path / "ws")
    key = KeyStore(ws.store).create("write", "identify")[0]
    server, thread, url = start_app(create_app(ws, realtime=False))
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            made = client.post(
                "/v1/identify",
                json={"alias_id": "anon-9", "customer_id": "a", "linked_at": "2024-02-01T00:00:00"},
            )
            again = client.post("/v1/identify", json={"alias_id": "anon-9", "customer_id": "a"})
            clash = client.post("/v1/identify", json={"alias_id": "anon-9", "customer_id": "b"})
        assert made.status_code == 201 and made.json()["linked_at"].startswith("2024-02-01")
        assert again.status_code == 200 and again.json()["created"] is False
        assert clash.status_code == 422 and "already linked to 'a'" in clash.json()["error"]["message"]
        assert ws.store.query("SELECT alias_id, customer_id FROM main.identities") == [("anon-9", "a")]
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


def test_an_event_of_a_linked_alias_moves_its_customer_in_real_time(tmp_path: Path) -> None:
    """Real time re-evaluates the customer an alias is linked to, with the alias's rows counted for them."""
    import time

    from segmentum.api.main import create_app
    from segmentum.service.keys import KeyStore
    from servers import start_app

    ws = make_shop(tmp_path / "ws")
    write_definitions(ws, DEFINITIONS + '  browsing: {where: "pages >= 2"}\n')
    ws.run(deliver=False)  # the batch run real time builds on
    key = KeyStore(ws.store).create("write", "rt")[0]
    server, thread, url = start_app(create_app(ws, micro_batch_seconds=0.2))
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            linked = client.post("/v1/identify", json={"alias_id": "anon-5", "customer_id": "a"})
            assert linked.status_code == 201, linked.text
            at = datetime.now().replace(microsecond=0).isoformat()
            events = [{"customer_id": "anon-5", "event": "page", "occurred_at": at} for _ in range(2)]
            assert client.post("/v1/events", json={"events": events}).status_code == 202
            deadline = time.monotonic() + 90
            segments: list[str] = []
            while time.monotonic() < deadline:
                answer = client.get("/v1/customers/a/segments")
                segments = answer.json().get("segments", []) if answer.status_code == 200 else []
                if "browsing" in segments:
                    break
                time.sleep(0.3)
            assert "browsing" in segments
            assert client.get("/v1/customers/anon-5/segments").status_code == 404 or "browsing" not in (
                client.get("/v1/customers/anon-5/segments").json().get("segments", [])
            )
    finally:
        server.should_exit = True
        thread.join(15)
        ws.close()


def test_a_run_before_any_link_skips_the_join_and_finds_the_same_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`identities_at` joins the fact tables with the links only when a link is due at as_of; a run before
    the first link reads the tables as they are, with the same traits and memberships as with the join."""
    import segmentum.compile.rules as rules
    from segmentum.runs.execute import compiled_sql as sql_for

    ws = _shop(tmp_path)  # the only link is due on 2024-02-20
    assert "__linked_to" not in sql_for(ws, as_of="2024-01-31")  # no join per table
    assert "__linked_to" in sql_for(ws, as_of="2024-03-31")
    skipped = ws.run(as_of="2024-01-31", deliver=False)
    monkeypatch.setattr(rules, "any_link_due", lambda due: True)  # the join, as before the check
    joined = ws.run(as_of="2024-01-31", deliver=False)
    assert "__linked_to" in sql_for(ws, as_of="2024-01-31")
    assert _members(ws, skipped.run_id) == _members(ws, joined.run_id)
    memberships = "SELECT name, customer_id FROM segmentum.memberships WHERE run_id = ? ORDER BY ALL"
    assert ws.store.query(memberships, [skipped.run_id]) == ws.store.query(memberships, [joined.run_id])
    assert _members(ws, skipped.run_id)["anon-1"] == (80.0, 1.0, 1.0)
